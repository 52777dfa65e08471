"""Revision 0008_unique_usernames on both databases: a username names one person across the
installation; an installation whose tenants share one is not changed, and told which."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from settings import Settings
from storage.database import Database
from storage.migrate import alembic_config
from storage.tenants import add_tenant

PERSON = (
    "INSERT INTO users (tenant, username, role, password_hash, created_at, created_by, "
    "password_changed_at) VALUES (:tenant, :username, 'biller', 'x', :at, 'ops', :at)"
)


def _add(connection: sa.Connection, tenant: str, username: str) -> None:
    connection.execute(
        sa.text(PERSON), {"tenant": tenant, "username": username, "at": "2026-12-01 08:00:00"}
    )


def test_shared_usernames_stop_the_upgrade_naming_them(database_url: str) -> None:
    with Database.from_settings(Settings(database_url=database_url)) as database:
        for tenant in ("north", "south"):
            add_tenant(database, tenant, by="ops")
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "0007_people")
        for tenant, username in (("north", "ana"), ("south", "ana"), ("south", "bo")):
            _add(connection, tenant, username)
    with (
        pytest.raises(RuntimeError, match=r"shared: 'ana' in north, south\. Remove"),
        engine.begin() as connection,
    ):
        command.upgrade(alembic_config(connection=connection), "head")
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM users WHERE tenant = 'south' AND username = 'ana'"))
        command.upgrade(alembic_config(connection=connection), "head")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        _add(connection, "north", "bo")  # south's bo: taken
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM users")).scalar() == 2
    engine.dispose()
