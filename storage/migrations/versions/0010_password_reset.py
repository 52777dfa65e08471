"""Password resets: the audit event `password_reset`, and sessions ended by one.

- queue_audit accepts the event password_reset (`denialops users password`).
- sessions.end_reason accepts password_reset: a reset ends the person's open sessions, so
  whoever knew the old password is signed out, and the session says why it ended.

SQLite cannot alter a CHECK constraint: batch mode copies both tables. queue_audit's
append-only triggers, which the copy does not carry, are dropped before and re-created
after (nothing in the trail is updated or deleted: the copy inserts every row, keys kept).

Revision ID: 0010_password_reset
Revises: 0009_workspace
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_password_reset"
down_revision = "0009_workspace"
branch_labels = None
depends_on = None

RESET = "password_reset"
OLD_EVENTS = (
    "'loaded', 'refreshed', 'leased', 'renewed', 'released', 'resolved', 'outcome', "
    "'outcome_corrected', 'policy_saved', 'model_reloaded', 'key_created', 'key_revoked', "
    "'reconciled', 'reopened', 'tenant_created', 'user_added', 'user_disabled', "
    "'user_enabled', 'role_changed', 'signed_in', 'sign_in_failed', 'signed_out', "
    "'session_expired', 'note_added', 'assigned', 'action_changed', 'letter_saved'"
)
OLD_END_REASONS = "'signed_out', 'idle', 'absolute', 'disabled'"
SQLITE_APPEND_ONLY = tuple(
    f"CREATE TRIGGER queue_audit_no_{verb} BEFORE {verb.upper()} ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END"
    for verb in ("update", "delete")
)
"""As revision 0007 re-created them (a migration never imports another's constants)."""


def upgrade() -> None:
    _audit_events(f"{OLD_EVENTS}, '{RESET}'")
    _end_reasons(f"{OLD_END_REASONS}, '{RESET}'")


def downgrade() -> None:
    """Back to 0009, refused once the trail holds a reset or a reset ended a session:
    0009 has no word for them, and the trail is evidence."""
    bind = op.get_bind()
    trail = sa.table("queue_audit", sa.column("event"))
    sessions = sa.table("sessions", sa.column("end_reason"))
    events = bind.execute(sa.select(sa.func.count()).where(trail.c.event == RESET)).scalar()
    ended = bind.execute(sa.select(sa.func.count()).where(sessions.c.end_reason == RESET)).scalar()
    if events or ended:
        raise RuntimeError(
            f"the store holds {events} password reset(s) in the audit trail and {ended} "
            "session(s) ended by one, which revision 0009 cannot keep: not downgrading"
        )
    _end_reasons(OLD_END_REASONS)
    _audit_events(OLD_EVENTS)


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _audit_events(events: str) -> None:
    """queue_audit's event CHECK as `events`; on SQLite the copy's triggers re-created."""
    if _postgresql():
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


def _end_reasons(reasons: str) -> None:
    """sessions' end_reason CHECK as `reasons` (PostgreSQL in place; SQLite: a copy)."""
    rule = (
        "(ended_at IS NULL AND end_reason IS NULL) OR (ended_at IS NOT NULL AND "
        f"end_reason IS NOT NULL AND end_reason IN ({reasons}))"
    )
    if _postgresql():
        op.drop_constraint("sessions_end_reason", "sessions", type_="check")
        op.create_check_constraint("sessions_end_reason", "sessions", rule)
        return
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint("sessions_end_reason", type_="check")
        batch.create_check_constraint("sessions_end_reason", rule)
