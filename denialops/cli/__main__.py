"""`python -m denialops.cli`, as the benchmarks start the service."""

from denialops.cli import app

app()
