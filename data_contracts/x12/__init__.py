"""X12 837P/837I/835 ingestion into contract tables, and contract tables back to X12.

`tokens` reads any file leniently into numbered segments, `loops` assembles
835 remittances and 837 claims, `mapping` is the one place where segments
become contract columns (and back), `ingest` merges files into a data
directory, and `write` renders contract tables as X12 for round trips.
"""

from data_contracts.x12.errors import X12Error, X12Problem
from data_contracts.x12.ingest import IngestSummary, expand_paths, ingest, read_file

__all__ = ["IngestSummary", "X12Error", "X12Problem", "expand_paths", "ingest", "read_file"]
