"""People: users who sign in, their browser sessions, and the failed sign-in counters.

- `users` (tenant, username) with one of the five person roles (CHECK users_role), an
  argon2 password hash, created_at/by, password_changed_at and disabled_at. A username is
  unique within its tenant; another tenant may have the same one.
- `sessions`: id = the SHA-256 of the cookie's token, the person (a foreign key to users),
  created_at, last_seen_at, the idle timeout and absolute expiry fixed at start, and when
  and why it ended (signed_out, idle, absolute, disabled; CHECK sessions_end_reason).
- `login_throttle`: the counters of `accounts.throttle`, keyed by a SHA-256 (never what
  was typed). Not a tenant table: a client address's counter spans tenants.
- queue_audit accepts the events user_added, user_disabled, user_enabled, role_changed,
  signed_in, sign_in_failed, signed_out and session_expired.
- PostgreSQL: row-level security on users and sessions as revision 0006 set it on every
  tenant table.

SQLite cannot alter a CHECK constraint: batch mode copies queue_audit, and its append-only
triggers, which the copy does not carry, are dropped before and re-created after (nothing
in the trail is updated or deleted: the copy inserts every row, keys kept).

Revision ID: 0007_people
Revises: 0006_tenants
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_people"
down_revision = "0006_tenants"
branch_labels = None
depends_on = None

ROLES = "'biller', 'billing_lead', 'revops', 'data_scientist', 'admin'"
END_REASONS = "'signed_out', 'idle', 'absolute', 'disabled'"
OLD_EVENTS = (
    "'loaded', 'refreshed', 'leased', 'renewed', 'released', 'resolved', 'outcome', "
    "'outcome_corrected', 'policy_saved', 'model_reloaded', 'key_created', 'key_revoked', "
    "'reconciled', 'reopened', 'tenant_created'"
)
PEOPLE_EVENTS = (
    "user_added",
    "user_disabled",
    "user_enabled",
    "role_changed",
    "signed_in",
    "sign_in_failed",
    "signed_out",
    "session_expired",
)
NEW_EVENTS = f"{OLD_EVENTS}, {', '.join(repr(event) for event in PEOPLE_EVENTS)}"
SQLITE_APPEND_ONLY = tuple(
    f"CREATE TRIGGER queue_audit_no_{verb} BEFORE {verb.upper()} ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END"
    for verb in ("update", "delete")
)
"""As revision 0006 re-created them (a migration never imports another's constants)."""
SETTING = "current_setting('denialops.tenant', true)"
TENANT_TABLES = ("users", "sessions")


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("tenant", sa.String(64), sa.ForeignKey("tenants.name"), primary_key=True),
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"role IN ({ROLES})", name="users_role"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idle_timeout_seconds", sa.Float, nullable=False),
        sa.Column("absolute_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant", "username"],
            ["users.tenant", "users.username"],
            name="sessions_user_fkey",
        ),
        sa.CheckConstraint(
            "(ended_at IS NULL AND end_reason IS NULL) OR (ended_at IS NOT NULL AND "
            f"end_reason IS NOT NULL AND end_reason IN ({END_REASONS}))",
            name="sessions_end_reason",
        ),
    )
    op.create_index("sessions_by_user", "sessions", ["tenant", "username"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    _audit_events(NEW_EVENTS)
    if _postgresql():
        for table in TENANT_TABLES:
            _row_level_security(table)


def downgrade() -> None:
    """Back to 0006, refused once a person exists or the trail holds a people event: 0006
    has nowhere to keep them, and the trail is evidence."""
    bind = op.get_bind()
    trail = sa.table("queue_audit", sa.column("event"))
    users = bind.execute(sa.select(sa.func.count()).select_from(sa.table("users"))).scalar()
    events = bind.execute(
        sa.select(sa.func.count()).where(trail.c.event.in_(PEOPLE_EVENTS))
    ).scalar()
    if users or events:
        raise RuntimeError(
            f"the store holds {users} user(s) and {events} people event(s) in the audit trail, "
            "which revision 0006 cannot keep: not downgrading"
        )
    _audit_events(OLD_EVENTS)
    op.drop_table("login_throttle")
    op.drop_index("sessions_by_user", "sessions")
    op.drop_table("sessions")  # PostgreSQL drops its policy with it
    op.drop_table("users")


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


def _row_level_security(table: str) -> None:
    """Rows of the transaction's tenant only, or all for `*` (admin), as in revision 0006."""
    rule = f"(tenant = {SETTING} OR {SETTING} = '*')"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_tenant ON {table} USING {rule} WITH CHECK {rule}")
