"""The append-only audit trail of scoring decisions: who asked, which model, what it said.

No PHI: claim ids, model versions, risks and bands only. On SQLite, triggers refuse
UPDATE and DELETE, so the trail cannot be edited through the database either.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

METADATA = sa.MetaData()
SCORING_AUDIT = sa.Table(
    "scoring_audit",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("claim_id", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("p_denial", sa.Float, nullable=False),
    sa.Column("band", sa.String(8), nullable=False),
)
APPEND_ONLY = (
    "CREATE TRIGGER IF NOT EXISTS scoring_audit_no_update BEFORE UPDATE ON scoring_audit "
    "BEGIN SELECT RAISE(ABORT, 'scoring_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS scoring_audit_no_delete BEFORE DELETE ON scoring_audit "
    "BEGIN SELECT RAISE(ABORT, 'scoring_audit is append-only'); END",
)


class AuditLog:
    def __init__(self, database_url: str):
        self.engine = sa.create_engine(database_url)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_wal)
        METADATA.create_all(self.engine)
        if self.engine.dialect.name == "sqlite":
            with self.engine.begin() as connection:
                for statement in APPEND_ONLY:
                    connection.exec_driver_sql(statement)

    def record(self, key_id: str, model_version: str, decisions: list[tuple[str, float, str]]):
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
        with self.engine.begin() as connection:
            connection.execute(SCORING_AUDIT.insert(), rows)


def _sqlite_wal(connection, _record) -> None:
    """Write-ahead log, synced at checkpoints: a committed decision survives a crash of the
    service, and recording one costs no fsync on the request's path."""
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
