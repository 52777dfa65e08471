"""Indexes on open queue items for the billers' work page: its counts and filters.

The work page counts open items due this week and past their deadline, and filters open
items by payer and clinician; with 100,000 open items each of those read the whole table
(0.1-0.5 s a page). Partial indexes on open items only (resolved items, the bulk over
time, stay out of them, as for `queue_items_open_by_priority`):
`queue_items_open_by_deadline`, `queue_items_open_by_payer`, `queue_items_open_by_clinician`.

Revision ID: 0011_open_item_indexes
Revises: 0010_password_reset
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_open_item_indexes"
down_revision = "0010_password_reset"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")
INDEXES = {
    "queue_items_open_by_deadline": ["tenant", "deadline"],
    "queue_items_open_by_payer": ["tenant", "payer_id"],
    "queue_items_open_by_clinician": ["tenant", "clinician_id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "queue_items", columns, postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="queue_items")
