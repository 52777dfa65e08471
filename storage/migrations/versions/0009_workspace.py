"""The billers' workspace: what a queue row shows and filters by, assignments, notes,
saved appeal letters and password resets.

- `queue_items` gains the denied claim's `patient_id`, `program`, `clinician_id` (the
  rendering provider) and the remit's `carc_codes` and `rarc_codes` (`;`-separated, as in
  the contract), refreshed with the ranking (NULL on items loaded before this revision,
  until the next load), and `assigned_to`: the biller a billing lead assigned it to.
- `appeal_letters`: each saved version of an item's appeal letter, per tenant (row-level
  security on PostgreSQL, as revision 0006 set for the other tenant tables).
- The trail's event CHECK admits `note_added`, `assigned`, `action_changed` and
  `letter_saved`.

Downgrading is refused once a letter or one of the new events exists: 0008 has nowhere
to keep them, and the trail is evidence.

Revision ID: 0009_workspace
Revises: 0008_unique_usernames
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_workspace"
down_revision = "0008_unique_usernames"
branch_labels = None
depends_on = None

OLD_EVENTS = (
    "'loaded', 'refreshed', 'leased', 'renewed', 'released', 'resolved', 'outcome', "
    "'outcome_corrected', 'policy_saved', 'model_reloaded', 'key_created', 'key_revoked', "
    "'reconciled', 'reopened', 'tenant_created', 'user_added', 'user_disabled', "
    "'user_enabled', 'role_changed', 'signed_in', 'sign_in_failed', 'signed_out', "
    "'session_expired'"
)
WORKSPACE_EVENTS = ("note_added", "assigned", "action_changed", "letter_saved")
NEW_EVENTS = f"{OLD_EVENTS}, {', '.join(repr(event) for event in WORKSPACE_EVENTS)}"
ITEM_COLUMNS = (
    ("patient_id", 64),
    ("program", 16),
    ("clinician_id", 64),
    ("carc_codes", 256),
    ("rarc_codes", 256),
    ("assigned_to", 64),
)
SQLITE_APPEND_ONLY = tuple(
    f"CREATE TRIGGER queue_audit_no_{verb} BEFORE {verb.upper()} ON queue_audit "
    "BEGIN SELECT RAISE(ABORT, 'queue_audit is append-only'); END"
    for verb in ("update", "delete")
)
"""As revision 0006 created them (a migration never imports another's constants)."""
SETTING = "current_setting('denialops.tenant', true)"


def upgrade() -> None:
    with op.batch_alter_table("queue_items") as batch:
        for name, length in ITEM_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))
    op.create_table(
        "appeal_letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), sa.ForeignKey("tenants.name"), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("saved_by", sa.String(64), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant", "claim_id", "version", name="appeal_letters_version"),
    )
    _audit_events(NEW_EVENTS)
    if _postgresql():
        _row_level_security("appeal_letters")


def downgrade() -> None:
    bind = op.get_bind()
    trail = sa.table("queue_audit", sa.column("event"))
    letters = bind.execute(
        sa.select(sa.func.count()).select_from(sa.table("appeal_letters"))
    ).scalar()
    events = bind.execute(
        sa.select(sa.func.count()).where(trail.c.event.in_(WORKSPACE_EVENTS))
    ).scalar()
    if letters or events:
        raise RuntimeError(
            f"the store holds {letters} appeal letter(s) and {events} workspace event(s) in the "
            "audit trail, which revision 0008 cannot keep: not downgrading"
        )
    _audit_events(OLD_EVENTS)
    op.drop_table("appeal_letters")  # PostgreSQL drops its policy with it
    with op.batch_alter_table("queue_items") as batch:
        for name, _length in ITEM_COLUMNS:
            batch.drop_column(name)


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


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"
