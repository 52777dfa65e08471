"""Billed amounts bound outcomes; leases are capped and renewed; outcomes are corrected.

- queue_items.billed_amount (nullable: items loaded before this revision have none),
  and a partial index on leased items, which `next` counts per biller.
- queue_audit accepts the events `renewed` and `outcome_corrected`; `event` widens
  to 32 characters for the latter.

queue_audit is touched only for its event CHECK constraint and width. PostgreSQL
alters both in place. SQLite cannot alter a CHECK constraint, so the table is
rebuilt: copied row for row (ids kept) into a new table, which then takes the old
one's name, index and append-only triggers. Dropping the old table fires no
trigger, and nothing is deleted from the trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_EVENTS = ("loaded", "refreshed", "leased", "released", "resolved", "outcome")
NEW_EVENTS = (*OLD_EVENTS[:3], "renewed", *OLD_EVENTS[3:], "outcome_corrected")
SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER queue_audit_no_update BEFORE UPDATE ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END",
    "CREATE TRIGGER queue_audit_no_delete BEFORE DELETE ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END",
)
"""As revision 0001 created them (a migration never imports another's constants)."""


def _events_check(events: tuple[str, ...]) -> str:
    return f"event IN ({', '.join(repr(event) for event in events)})"


def upgrade() -> None:
    op.add_column("queue_items", sa.Column("billed_amount", sa.Float, nullable=True))
    op.create_index(
        "queue_items_leased",
        "queue_items",
        ["lease_holder"],
        postgresql_where=sa.text("lease_holder IS NOT NULL"),
        sqlite_where=sa.text("lease_holder IS NOT NULL"),
    )
    _audit_events(NEW_EVENTS, width=32)


def downgrade() -> None:
    """Refused by the database if the trail already holds a new event: evidence stays."""
    _audit_events(OLD_EVENTS, width=16)
    op.drop_index("queue_items_leased", "queue_items")
    with op.batch_alter_table("queue_items") as batch:
        batch.drop_column("billed_amount")


def _audit_events(events: tuple[str, ...], width: int) -> None:
    """queue_audit's event column at `width` characters, checked against `events`."""
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint("queue_audit_event", "queue_audit", type_="check")
        op.alter_column(
            "queue_audit",
            "event",
            type_=sa.String(width),
            existing_type=sa.String(32 if width == 16 else 16),
            existing_nullable=False,
        )
        op.create_check_constraint("queue_audit_event", "queue_audit", _events_check(events))
        return
    columns = "id, at, actor, claim_id, event, detail"
    op.create_table(
        "queue_audit_rebuilt",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(width), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.CheckConstraint(_events_check(events), name="queue_audit_event"),
    )
    op.execute(f"INSERT INTO queue_audit_rebuilt ({columns}) SELECT {columns} FROM queue_audit")
    op.drop_table("queue_audit")  # its index and triggers go with it
    op.rename_table("queue_audit_rebuilt", "queue_audit")
    op.create_index("ix_queue_audit_claim_id", "queue_audit", ["claim_id"])
    for statement in SQLITE_APPEND_ONLY:
        op.execute(statement)
