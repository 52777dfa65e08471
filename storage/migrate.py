"""Bring a database's queue tables to the latest migration (Alembic, `storage/migrations/`).

`WorkQueue` runs `upgrade` when it opens, so a new SQLite file or an empty
PostgreSQL database needs no set-up step, and a deployed database catches up
with the code that opens it. To write a new migration after changing
`storage/schema.py`, point Alembic at a scratch database that is at head:

    .venv/bin/python -c "from alembic import command; from storage.migrate import alembic_config;
    command.revision(alembic_config('sqlite:///scratch.db'), 'what changed', autogenerate=True)"

then read and complete the file it writes under `storage/migrations/versions/`.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: PostgreSQL advisory locks are keyed by a bigint the lockers agree on.
_MIGRATION_LOCK = 0x64656E69616C71  # "denialq"


def alembic_config(url: str | None = None, connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration for the queue, without an alembic.ini to ship or find."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # The ini syntax interpolates %: an URL-encoded password must survive it.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: sa.Connection) -> None:
    """Migrate to head inside the caller's transaction.

    Several processes may open the queue at once (API workers, a CLI load). On
    PostgreSQL an advisory lock lets one migrate while the others wait and then
    find nothing to do; on SQLite the caller's BEGIN IMMEDIATE does the same.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    command.upgrade(alembic_config(connection=connection), "head")
