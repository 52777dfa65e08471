"""The audit event `exported`: a view of the queue downloaded as CSV.

Billing data leaving the service is audited: queue_audit's event CHECK accepts
`exported` (no claim_id; who, the view's query string and the row count are in the
row). SQLite cannot alter a CHECK constraint: batch mode copies the trail, its
append-only triggers dropped before and re-created after (nothing in the trail is
updated or deleted: the copy inserts every row, keys kept).

Revision ID: 0012_export_event
Revises: 0011_open_item_indexes
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_export_event"
down_revision = "0011_open_item_indexes"
branch_labels = None
depends_on = None

EXPORTED = "exported"
OLD_EVENTS = (
    "'loaded', 'refreshed', 'leased', 'renewed', 'released', 'resolved', 'outcome', "
    "'outcome_corrected', 'policy_saved', 'model_reloaded', 'key_created', 'key_revoked', "
    "'reconciled', 'reopened', 'tenant_created', 'user_added', 'user_disabled', "
    "'user_enabled', 'role_changed', 'signed_in', 'sign_in_failed', 'signed_out', "
    "'session_expired', 'note_added', 'assigned', 'action_changed', 'letter_saved', "
    "'password_reset'"
)
SQLITE_APPEND_ONLY = tuple(
    f"CREATE TRIGGER queue_audit_no_{verb} BEFORE {verb.upper()} ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END"
    for verb in ("update", "delete")
)
"""As revision 0010 re-created them (a migration never imports another's constants)."""


def upgrade() -> None:
    _audit_events(f"{OLD_EVENTS}, '{EXPORTED}'")


def downgrade() -> None:
    """Back to 0011, refused once the trail holds an export: 0011 has no word for it, and
    the trail is evidence."""
    trail = sa.table("queue_audit", sa.column("event"))
    query = sa.select(sa.func.count()).where(trail.c.event == EXPORTED)
    exports = op.get_bind().execute(query).scalar()
    if exports:
        raise RuntimeError(
            f"the store holds {exports} export(s) in the audit trail, which revision 0011 "
            "cannot keep: not downgrading"
        )
    _audit_events(OLD_EVENTS)


def _audit_events(events: str) -> None:
    """queue_audit's event CHECK as `events`; on SQLite the copy's triggers re-created."""
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint("queue_audit_event", "queue_audit", type_="check")
        op.create_check_constraint("queue_audit_event", "queue_audit", f"event IN ({events})")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER queue_audit_no_{verb}")
    with op.batch_alter_table("queue_audit") as batch:
        batch.drop_constraint("queue_audit_event", type_="check")
        batch.create_check_constraint("queue_audit_event", f"event IN ({events})")
    for statement in SQLITE_APPEND_ONLY:
        op.execute(statement)
