"""X12 837P/837I/835 ingestion into contract tables, and contract tables back to X12.

`tokens` reads any file leniently into numbered segments, `loops` assembles
835 remittances and 837 claims.
"""

from data_contracts.x12.errors import X12Error, X12Problem

__all__ = ["X12Error", "X12Problem"]
