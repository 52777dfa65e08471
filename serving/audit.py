"""The append-only audit trail of scoring decisions: who asked, which model, what it said.

No PHI: claim ids, model versions, risks and bands only. The table (`scoring_audit`,
storage/schema.py) is made by the migrations, with triggers refusing UPDATE and DELETE,
so the trail cannot be edited through the database either. Each decision belongs to the
tenant it was made for.
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage.database import Database
from storage.schema import SCORING_AUDIT
from storage.tenancy import DEFAULT_TENANT


class AuditLog:
    """The scoring decisions of `tenant` in `database` (shared with the queue)."""

    def __init__(self, database: Database, *, tenant: str = DEFAULT_TENANT):
        self._database = database.scope(tenant)

    def record(
        self, key_id: str, model_version: str, decisions: list[tuple[str, float, str]]
    ) -> None:
        """One row per (claim_id, p_denial, band)."""
        now = datetime.now(UTC)
        rows = [
            {
                "at": now,
                "key_id": key_id,
                "claim_id": c,
                "model_version": model_version,
                "p_denial": p,
                "band": b,
            }
            for c, p, b in decisions
        ]
        with self._database.writing() as connection:
            connection.execute(SCORING_AUDIT.insert(), rows)
