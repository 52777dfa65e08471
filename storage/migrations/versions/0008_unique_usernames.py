"""Usernames unique across the installation: a username alone names a person's tenant.

The billers' sign-in page asks for a username and a password only, so the username must
say which tenant the person belongs to: a unique index `users_username` on
`users.username`. The (tenant, username) key stays, so sessions still point at it.

An installation whose tenants already share a username is not changed: the upgrade stops
naming the usernames and their tenants: the duplicate people (and their sessions) must be
removed from all but one tenant, by hand, before upgrading again.

Revision ID: 0008_unique_usernames
Revises: 0007_people
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_unique_usernames"
down_revision = "0007_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    shared = op.get_bind().execute(
        sa.text(
            "SELECT username, tenant FROM users WHERE username IN "
            "(SELECT username FROM users GROUP BY username HAVING COUNT(*) > 1) "
            "ORDER BY username, tenant"
        )
    )
    found: dict[str, list[str]] = {}
    for username, tenant in shared:
        found.setdefault(username, []).append(tenant)
    if found:
        named = "; ".join(f"{name!r} in {', '.join(tenants)}" for name, tenants in found.items())
        raise RuntimeError(
            f"revision 0008 makes usernames unique across tenants, and these are shared: "
            f"{named}. Remove the duplicate people (and their sessions) from all but one tenant, "
            "then upgrade."
        )
    op.create_index("users_username", "users", ["username"], unique=True)


def downgrade() -> None:
    op.drop_index("users_username", table_name="users")
