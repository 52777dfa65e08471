"""Queue reconciliation: items whose claims leave the ranking are closed with a reason.

- queue_items.status takes `stale` (gone from the ranking while a biller holds the lease,
  which stays theirs) and `closed`; the new `closed_reason` (appeal_closed, not_denied,
  not_in_data, not_in_ranking) is set exactly on stale and closed items (CHECK).
- queue_audit accepts the events `reconciled` and `reopened`.

PostgreSQL alters both tables in place. SQLite cannot alter a CHECK constraint, so batch
mode copies each table: queue_items' partial indexes are dropped first and re-created
with their WHERE clauses after the copy, and queue_audit's append-only triggers, which
the copy does not carry, are re-created the same way (nothing in the trail is updated or
deleted: the copy inserts every row, ids kept, and dropping a table fires no trigger).

Revision ID: 0004_reconcile
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0004_reconcile"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_STATUSES = "'open', 'resolved'"
NEW_STATUSES = "'open', 'resolved', 'stale', 'closed'"
REASONS = "'appeal_closed', 'not_denied', 'not_in_data', 'not_in_ranking'"
CLOSED_REASON_CHECK = (
    "(status IN ('stale', 'closed') AND closed_reason IS NOT NULL "
    f"AND closed_reason IN ({REASONS})) "
    "OR (status IN ('open', 'resolved') AND closed_reason IS NULL)"
)
OLD_EVENTS = (
    "'loaded', 'refreshed', 'leased', 'renewed', 'released', 'resolved', 'outcome', "
    "'outcome_corrected', 'policy_saved', 'model_reloaded', 'key_created', 'key_revoked'"
)
NEW_EVENTS = f"{OLD_EVENTS}, 'reconciled', 'reopened'"
SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER queue_audit_no_update BEFORE UPDATE ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END",
    "CREATE TRIGGER queue_audit_no_delete BEFORE DELETE ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END",
)
"""As revision 0001 created them (a migration never imports another's constants)."""
SQLITE_TRIGGERS = ("queue_audit_no_update", "queue_audit_no_delete")
PARTIAL_INDEXES = (
    ("queue_items_open_by_priority", [sa.text("priority DESC"), "id"], "status = 'open'"),
    ("queue_items_leased", ["lease_holder"], "lease_holder IS NOT NULL"),
)
"""queue_items' partial indexes as revisions 0001 and 0002 created them."""


def upgrade() -> None:
    with _items_copied() as batch:
        batch.add_column(sa.Column("closed_reason", sa.String(16), nullable=True))
        batch.drop_constraint("queue_items_status", type_="check")
        batch.create_check_constraint("queue_items_status", f"status IN ({NEW_STATUSES})")
        batch.create_check_constraint("queue_items_closed_reason", CLOSED_REASON_CHECK)
    _audit_events(NEW_EVENTS)


def downgrade() -> None:
    """Back to 0003, refused once anything was reconciled: 0003 has no stale or closed item
    to keep, and the trail's reconciled and reopened events are evidence."""
    bind = op.get_bind()
    items = sa.table("queue_items", sa.column("status"))
    trail = sa.table("queue_audit", sa.column("event"))
    closed = bind.execute(
        sa.select(sa.func.count()).where(items.c.status.in_(("stale", "closed")))
    ).scalar()
    events = bind.execute(
        sa.select(sa.func.count()).where(trail.c.event.in_(("reconciled", "reopened")))
    ).scalar()
    if closed or events:
        raise RuntimeError(
            f"the queue holds {closed} stale or closed item(s) and {events} reconciliation "
            "event(s), which revision 0003 cannot keep: not downgrading"
        )
    _audit_events(OLD_EVENTS)
    with _items_copied() as batch:
        batch.drop_constraint("queue_items_closed_reason", type_="check")
        batch.drop_constraint("queue_items_status", type_="check")
        batch.create_check_constraint("queue_items_status", f"status IN ({OLD_STATUSES})")
        batch.drop_column("closed_reason")


@contextmanager
def _items_copied() -> Iterator[BatchOperations]:
    """`op.batch_alter_table("queue_items")`, with the partial indexes kept on SQLite.

    Batch mode re-creates the indexes it reflects, and a reflected SQLite index may lose
    its WHERE clause: dropped before the copy and re-created after, they keep it.
    """
    sqlite = op.get_context().dialect.name == "sqlite"
    if sqlite:
        for name, _columns, _where in PARTIAL_INDEXES:
            op.drop_index(name, "queue_items")
    with op.batch_alter_table("queue_items") as batch:
        yield batch
    if sqlite:
        for name, columns, where in PARTIAL_INDEXES:
            op.create_index(name, "queue_items", columns, sqlite_where=sa.text(where))


def _audit_events(events: str) -> None:
    """queue_audit's event CHECK as `events`; on SQLite the copy's triggers re-created."""
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint("queue_audit_event", "queue_audit", type_="check")
        op.create_check_constraint("queue_audit_event", "queue_audit", f"event IN ({events})")
        return
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("queue_audit") as batch:
        batch.drop_constraint("queue_audit_event", type_="check")
        batch.create_check_constraint("queue_audit_event", f"event IN ({events})")
    for statement in SQLITE_APPEND_ONLY:
        op.execute(statement)
