"""Policy versions and API keys in the database; the audit trail takes service events and a
hash chain.

- `policy_versions`: one row per saved policy; the primary key decides concurrent saves.
- `api_keys`: hashed keys with role, creator, revocation and last use.
- `queue_audit`: `claim_id` may be empty (policy saves, model reloads, keys), four new
  events, and `prev_hash`/`row_hash` chaining every row to the one before. Rows written
  under revisions 0001 and 0002 are chained here, in id order, losing nothing; the append-only
  triggers are lifted for that one UPDATE (SQLite: dropped and re-created, as the table
  is copied anyway; PostgreSQL: disabled and enabled in the same transaction).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.audit import GENESIS, link_hash
from storage.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

QUEUE_EVENTS = (
    "'loaded', 'refreshed', 'leased', 'renewed', 'released', 'resolved', 'outcome', "
    "'outcome_corrected'"
)
SERVICE_EVENTS = "'policy_saved', 'model_reloaded', 'key_created', 'key_revoked'"
SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER queue_audit_no_update BEFORE UPDATE ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END",
    "CREATE TRIGGER queue_audit_no_delete BEFORE DELETE ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END",
)
SQLITE_ALLOW_CHANGES = (
    "DROP TRIGGER queue_audit_no_update",
    "DROP TRIGGER queue_audit_no_delete",
)
POSTGRESQL_APPEND_ONLY = ("ALTER TABLE queue_audit ENABLE TRIGGER queue_audit_no_change",)
POSTGRESQL_ALLOW_CHANGES = ("ALTER TABLE queue_audit DISABLE TRIGGER queue_audit_no_change",)
_BATCH = 5000


def upgrade() -> None:
    instant = sa.DateTime(timezone=True)
    op.create_table(
        "policy_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("saved_by", sa.String(64), nullable=False),
        sa.Column("saved_at", instant, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", instant, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("revoked_at", instant, nullable=True),
        sa.Column("last_used_at", instant, nullable=True),
    )
    _append_only(False)
    with op.batch_alter_table("queue_audit") as batch:
        batch.alter_column("claim_id", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(64), nullable=True))
        batch.drop_constraint("queue_audit_event", type_="check")
        batch.create_check_constraint(
            "queue_audit_event", f"event IN ({QUEUE_EVENTS}, {SERVICE_EVENTS})"
        )
    _chain_existing_rows(op.get_bind())
    with op.batch_alter_table("queue_audit") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("row_hash", existing_type=sa.String(64), nullable=False)
        batch.create_index("queue_audit_one_successor", ["prev_hash"], unique=True)
    _append_only(True)


def downgrade() -> None:
    """Back to 0002, refused once the trail holds service events: 0002 has nowhere to keep
    them, and the trail is evidence."""
    bind = op.get_bind()
    audit = sa.table("queue_audit", sa.column("claim_id"))
    if bind.execute(sa.select(sa.func.count()).where(audit.c.claim_id.is_(None))).scalar():
        raise RuntimeError(
            "queue_audit holds policy, reload or key events, which revision 0002 cannot keep: "
            "not downgrading"
        )
    _append_only(False)
    with op.batch_alter_table("queue_audit") as batch:
        batch.drop_index("queue_audit_one_successor")
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
        batch.alter_column("claim_id", existing_type=sa.String(64), nullable=False)
        batch.drop_constraint("queue_audit_event", type_="check")
        batch.create_check_constraint("queue_audit_event", f"event IN ({QUEUE_EVENTS})")
    _append_only(True)
    op.drop_table("api_keys")
    op.drop_table("policy_versions")


def _append_only(on: bool) -> None:
    """Lift (False) or restore (True) the triggers refusing UPDATE and DELETE on the trail."""
    if op.get_context().dialect.name == "postgresql":
        statements = POSTGRESQL_APPEND_ONLY if on else POSTGRESQL_ALLOW_CHANGES
    else:
        statements = SQLITE_APPEND_ONLY if on else SQLITE_ALLOW_CHANGES
    for statement in statements:
        op.execute(statement)


def _chain_existing_rows(connection: sa.Connection) -> None:
    """Give the rows written before the chain existed their hashes, in id order."""
    audit = sa.table(
        "queue_audit",
        sa.column("id", sa.BigInteger),
        sa.column("at", UTCDateTime()),
        sa.column("actor", sa.String),
        sa.column("claim_id", sa.String),
        sa.column("event", sa.String),
        sa.column("detail", sa.JSON()),
        sa.column("prev_hash", sa.String),
        sa.column("row_hash", sa.String),
    )
    chain = (
        sa.update(audit)
        .where(audit.c.id == sa.bindparam("b_id"))
        .values(prev_hash=sa.bindparam("b_prev"), row_hash=sa.bindparam("b_hash"))
    )
    prev_hash, last_id = GENESIS, None
    while True:
        query = sa.select(audit).order_by(audit.c.id).limit(_BATCH)
        if last_id is not None:
            query = query.where(audit.c.id > last_id)
        rows = connection.execute(query).mappings().all()
        if not rows:
            return
        links = []
        for row in rows:
            row_hash = link_hash(prev_hash, row)
            links.append({"b_id": row["id"], "b_prev": prev_hash, "b_hash": row_hash})
            prev_hash = row_hash
        connection.execute(chain, links)
        last_id = rows[-1]["id"]
