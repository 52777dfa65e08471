"""Revision 0007_people on both databases: a downgrade refuses to drop people or their
trail, and otherwise leaves the store as 0006 had it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from accounts.people import UserStore
from queues.policy import PolicyStore, default_policy
from settings import Settings
from storage.audit import verify
from storage.database import Database
from storage.migrate import alembic_config

PASSWORD = "correct horse battery staple"
PEOPLE_TABLES = {"users", "sessions", "login_throttle"}


def test_downgrading_refuses_while_people_exist(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    with Database.from_settings(settings) as database:
        UserStore.from_settings(database, settings).add(
            "default", "ana", "admin", PASSWORD, by="ops"
        )
    engine = sa.create_engine(database_url)
    with (
        pytest.raises(RuntimeError, match=r"1 user\(s\) and 1 people event\(s\)"),
        engine.begin() as connection,
    ):
        command.downgrade(alembic_config(connection=connection), "0006_tenants")
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) >= PEOPLE_TABLES
    engine.dispose()


def test_down_to_0006_and_up_again_keeps_the_trail_append_only(database_url: str) -> None:
    with Database.from_settings(Settings(database_url=database_url)) as database:
        PolicyStore(database).save(default_policy(), "revops")
    engine = sa.create_engine(database_url)
    trail = "SELECT id, event, row_hash FROM queue_audit ORDER BY id"
    with engine.begin() as connection:
        before = connection.exec_driver_sql(trail).all()
        command.downgrade(alembic_config(connection=connection), "0006_tenants")
        assert not PEOPLE_TABLES & set(sa.inspect(connection).get_table_names())
        assert connection.exec_driver_sql(trail).all() == before
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), connection.begin_nested():
            connection.exec_driver_sql("DELETE FROM queue_audit")
        command.upgrade(alembic_config(connection=connection), "head")
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), connection.begin_nested():
            connection.exec_driver_sql("UPDATE queue_audit SET actor = 'x'")
    engine.dispose()
    with (
        Database.from_settings(Settings(database_url=database_url)) as database,
        database.scope().engine.connect() as connection,
    ):
        result = verify(connection)
    assert (result.ok, result.rows) == (True, len(before))
