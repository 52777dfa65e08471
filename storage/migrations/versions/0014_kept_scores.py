"""Every score kept for monitoring: scoring_audit's `top_fix` and `role`, and an index by claim.

- `top_fix` (VARCHAR(64), NULL): the fix code of the decision's first fix, so a fix the
  scrubber suggested can be joined to how the claim ended; NULL on rows written before and
  on decisions with no fix.
- `role` (VARCHAR(16), NOT NULL, default `champion`, CHECK champion or shadow): whether the
  decision was the answer (`champion`) or a challenger's score of the same claims kept
  beside it (`shadow`). Every existing row was an answer, so the default describes it.
- An index on (tenant, claim_id): the monitor looks up each claim's latest score.

Both columns are added in place on both databases (SQLite's ADD COLUMN takes a column
CHECK and a constant default), so the table is not copied and its append-only triggers
stay as they are; no row is updated.

Revision ID: 0014_kept_scores
Revises: 0013_wide_code_lists
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_kept_scores"
down_revision = "0013_wide_code_lists"
branch_labels = None
depends_on = None

INDEX = "scoring_audit_tenant_claim"


def upgrade() -> None:
    op.add_column("scoring_audit", sa.Column("top_fix", sa.String(64), nullable=True))
    op.execute(
        "ALTER TABLE scoring_audit ADD COLUMN role VARCHAR(16) DEFAULT 'champion' NOT NULL "
        "CONSTRAINT scoring_audit_role CHECK (role IN ('champion', 'shadow'))"
    )
    op.create_index(INDEX, "scoring_audit", ["tenant", "claim_id"])


def downgrade() -> None:
    """Back to 0013, refused while a shadow score is kept: without `role` it would read as
    an answer the service gave, and the trail is append-only, so it cannot be deleted."""
    found = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM scoring_audit WHERE role = 'shadow'"))
        .scalar()
    )
    if found:
        raise RuntimeError(
            f"the store holds {found} shadow score(s), which revision 0013 would read as "
            "answers: not downgrading"
        )
    op.drop_index(INDEX, "scoring_audit")
    op.drop_column("scoring_audit", "role")
    op.drop_column("scoring_audit", "top_fix")
