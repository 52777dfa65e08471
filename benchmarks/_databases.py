"""The databases a benchmark runs on: SQLite always, PostgreSQL when a server is named."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from queues.drill import scratch_schema

SKIPPED = "PostgreSQL skipped: pass --postgres URL or set DENIALOPS_TEST_POSTGRES_URL"


def add_postgres_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DENIALOPS_TEST_POSTGRES_URL", ""),
        help="PostgreSQL server URL (default: DENIALOPS_TEST_POSTGRES_URL); SQLite only if empty",
    )


def backends(args: argparse.Namespace) -> list[str]:
    """SQLite, and PostgreSQL when `--postgres` names a server."""
    return ["sqlite"] + (["postgresql"] if args.postgres else [])


@contextlib.contextmanager
def fresh_database(backend: str, postgres_url: str) -> Iterator[str]:
    """A database URL nobody else uses: a temporary SQLite file or a throwaway schema."""
    if backend == "postgresql":
        with scratch_schema(postgres_url) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'queue.db'}"
