"""Work items say whether their deadline is verified.

- `queue_items.deadline_unverified` (nullable): true when the payer's deadline is neither
  configured nor backed by its refusals of late work, so the item is worked, never written
  off as late. NULL on items loaded before this revision (not known then).
  `queue_items.deadline` is already nullable: an unknown deadline is NULL.

Revision ID: 0005_deadlines
Revises: 0004_reconcile
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_deadlines"
down_revision = "0004_reconcile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queue_items") as batch:
        batch.add_column(sa.Column("deadline_unverified", sa.Boolean, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue_items") as batch:
        batch.drop_column("deadline_unverified")
