"""Alembic environment of the work queue (see `storage/migrate.py` for how it is run).

The queue keeps its own version table so it can share a database with other
tables (serving's scoring audit) without either mistaking the other's history.
SQLite migrations run in batch mode, since SQLite alters tables by copying them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from storage.schema import METADATA, VERSION_TABLE

OPTIONS = {"target_metadata": METADATA, "version_table": VERSION_TABLE, "compare_type": True}


def run_online(connection: sa.Connection) -> None:
    context.configure(
        connection=connection, render_as_batch=connection.dialect.name == "sqlite", **OPTIONS
    )
    with context.begin_transaction():
        context.run_migrations()


config = context.config
if context.is_offline_mode():
    # `--sql`: the DDL as a script, for a DBA who applies it by hand.
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()
elif (shared := config.attributes.get("connection")) is not None:
    run_online(shared)
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.NullPool)
    with engine.connect() as connection:
        run_online(connection)
