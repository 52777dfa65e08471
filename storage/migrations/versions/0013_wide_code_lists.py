"""The remit's code lists as text of any length: `queue_items.carc_codes` and `rarc_codes`.

Revision 0009 made them VARCHAR(256); a remit with many adjustments lists more than that,
and PostgreSQL refused the whole queue load (SQLite never checked the length). Both become
TEXT, so every code is kept.

PostgreSQL alters the columns in place. On SQLite batch mode copies queue_items: its
partial indexes are dropped first and re-created with their WHERE clauses after the copy
(a reflected SQLite index may lose its WHERE), as revision 0004 did.

Revision ID: 0013_wide_code_lists
Revises: 0012_export_event
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_wide_code_lists"
down_revision = "0012_export_event"
branch_labels = None
depends_on = None

COLUMNS = ("carc_codes", "rarc_codes")
OLD_LENGTH = 256
OPEN = "status = 'open'"
PARTIAL_INDEXES = (
    ("queue_items_open_by_priority", ["tenant", sa.text("priority DESC"), "id"], OPEN),
    ("queue_items_leased", ["tenant", "lease_holder"], "lease_holder IS NOT NULL"),
    ("queue_items_open_by_deadline", ["tenant", "deadline"], OPEN),
    ("queue_items_open_by_payer", ["tenant", "payer_id"], OPEN),
    ("queue_items_open_by_clinician", ["tenant", "clinician_id"], OPEN),
)
"""queue_items' partial indexes as revisions 0006 and 0011 left them (a migration never
imports another's constants)."""


def upgrade() -> None:
    _code_lists(sa.String(OLD_LENGTH), sa.Text())


def downgrade() -> None:
    """Back to VARCHAR(256), refused while a code list is longer: 0012 cannot keep it,
    and cutting codes off would change what the remit said."""
    items = sa.table("queue_items", *(sa.column(name) for name in COLUMNS))
    longer = sa.or_(*(sa.func.length(items.c[name]) > OLD_LENGTH for name in COLUMNS))
    found = op.get_bind().execute(sa.select(sa.func.count()).where(longer)).scalar()
    if found:
        raise RuntimeError(
            f"the store holds {found} queue item(s) with CARC or RARC codes longer than "
            f"{OLD_LENGTH} characters, which revision 0012 cannot keep: not downgrading"
        )
    _code_lists(sa.Text(), sa.String(OLD_LENGTH))


def _code_lists(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    """carc_codes and rarc_codes from `old` to `new` (PostgreSQL in place; SQLite a copy
    keeping the partial indexes)."""
    sqlite = op.get_context().dialect.name == "sqlite"
    if sqlite:
        for name, _columns, _where in PARTIAL_INDEXES:
            op.drop_index(name, "queue_items")
    with op.batch_alter_table("queue_items") as batch:
        for name in COLUMNS:
            batch.alter_column(name, existing_type=old, type_=new, existing_nullable=True)
    if sqlite:
        for name, columns, where in PARTIAL_INDEXES:
            op.create_index(name, "queue_items", columns, sqlite_where=sa.text(where))
