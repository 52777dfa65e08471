"""The queue's Alembic migrations: they build what the store queries, and share a database."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from queues.migrate import alembic_config
from queues.schema import METADATA, VERSION_TABLE
from queues.store import WorkQueue
from serving.audit import AuditLog
from settings import Settings


def test_the_migrations_build_the_tables_the_store_queries(database_url: str) -> None:
    queue = WorkQueue.from_settings(Settings(database_url=database_url))
    with queue, queue.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, METADATA) == []
        assert context.get_current_revision() == "0003"


def test_the_queue_shares_a_database_with_the_scoring_audit(database_url: str) -> None:
    AuditLog(database_url).engine.dispose()
    for _ in range(2):  # opening again finds nothing to migrate
        WorkQueue.from_settings(Settings(database_url=database_url)).close()
    engine = sa.create_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"scoring_audit", "queue_items", "queue_audit", VERSION_TABLE} <= tables
    assert "alembic_version" not in tables


def test_the_migrations_downgrade_to_nothing_and_back(database_url: str) -> None:
    WorkQueue.from_settings(Settings(database_url=database_url)).close()
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "base")
        assert set(sa.inspect(connection).get_table_names()) == {VERSION_TABLE}
        command.upgrade(alembic_config(connection=connection), "head")
        assert {"queue_items", "queue_audit"} <= set(sa.inspect(connection).get_table_names())
    engine.dispose()
