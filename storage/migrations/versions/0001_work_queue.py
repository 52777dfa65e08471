"""The work queue: one item per denied claim, and its append-only audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ACTIONS = "'appeal', 'corrected_claim', 'rebill', 'bill_patient', 'write_off'"
OUTCOMES = "'overturned', 'upheld', 'pending'"
EVENTS = "'loaded', 'refreshed', 'leased', 'released', 'resolved', 'outcome'"

# The trail is evidence: the database itself refuses edits, whatever client connects.
SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER queue_audit_no_update BEFORE UPDATE ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END",
    "CREATE TRIGGER queue_audit_no_delete BEFORE DELETE ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END",
)
POSTGRESQL_APPEND_ONLY = (
    "CREATE FUNCTION queue_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'queue_audit is append-only: % refused', TG_OP; END $$",
    "CREATE TRIGGER queue_audit_no_change BEFORE UPDATE OR DELETE ON queue_audit "
    "FOR EACH ROW EXECUTE FUNCTION queue_audit_append_only()",
    "CREATE TRIGGER queue_audit_no_truncate BEFORE TRUNCATE ON queue_audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION queue_audit_append_only()",
)


def upgrade() -> None:
    instant = sa.DateTime(timezone=True)
    op.create_table(
        "queue_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("claim_id", sa.String(64), nullable=False, unique=True),
        sa.Column("payer_id", sa.String(64), nullable=False),
        sa.Column("denial_category", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("p_recover", sa.Float, nullable=False),
        sa.Column("recoverable_amount", sa.Float, nullable=False),
        sa.Column("expected_recovery", sa.Float, nullable=False),
        sa.Column("effort_minutes", sa.Float, nullable=False),
        sa.Column("deadline", sa.Date, nullable=True),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("loaded_at", instant, nullable=False),
        sa.Column("updated_at", instant, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lease_holder", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", instant, nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.Column("resolved_at", instant, nullable=True),
        sa.Column("resolved_action", sa.String(16), nullable=True),
        sa.Column("action_date", sa.Date, nullable=True),
        sa.Column("resolved_effort_minutes", sa.Integer, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("recovered_amount", sa.Float, nullable=True),
        sa.Column("closed_date", sa.Date, nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="queue_items_status"),
        sa.CheckConstraint(f"action IN ({ACTIONS})", name="queue_items_action"),
        sa.CheckConstraint(
            f"resolved_action IS NULL OR resolved_action IN ({ACTIONS})",
            name="queue_items_resolved_action",
        ),
        sa.CheckConstraint(
            f"outcome IS NULL OR outcome IN ({OUTCOMES})", name="queue_items_outcome"
        ),
    )
    op.create_index(
        "queue_items_open_by_priority",
        "queue_items",
        [sa.text("priority DESC"), "id"],
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "queue_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", instant, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.CheckConstraint(f"event IN ({EVENTS})", name="queue_audit_event"),
    )
    op.create_index("ix_queue_audit_claim_id", "queue_audit", ["claim_id"])
    dialect = op.get_context().dialect.name
    for statement in POSTGRESQL_APPEND_ONLY if dialect == "postgresql" else SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("queue_audit")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION queue_audit_append_only()")
    op.drop_table("queue_items")
