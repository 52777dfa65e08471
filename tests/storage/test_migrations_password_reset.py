"""Revision 0010_password_reset on both databases: the trail takes `password_reset` and a
session may end by one; a downgrade refuses once either is stored, and otherwise leaves the
trail and the sessions as they were, append-only still."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from accounts.people import UserStore
from settings import Settings
from storage.database import Database
from storage.migrate import alembic_config

PASSWORD = "correct horse battery staple"
TRAIL = "SELECT id, event, row_hash FROM queue_audit ORDER BY id"
SESSIONS = "SELECT id, ended_at, end_reason FROM sessions ORDER BY id"


def _people(database_url: str, *, reset: bool) -> None:
    """Ana added and signed in (a live session), her password reset if `reset`."""
    settings = Settings(database_url=database_url)
    with Database.from_settings(settings) as database:
        people = UserStore.from_settings(database, settings)
        people.add("default", "ana", "biller", PASSWORD, by="ops")
        people.authenticate("default", "ana", PASSWORD, "192.0.2.1")
        if reset:
            people.reset_password("default", "ana", PASSWORD + " again", by="ops")


def test_downgrading_refuses_once_a_password_was_reset(database_url: str) -> None:
    _people(database_url, reset=True)
    engine = sa.create_engine(database_url)
    with (
        pytest.raises(RuntimeError, match=r"1 password reset\(s\) .* and 1 session\(s\) ended"),
        engine.begin() as connection,
    ):
        command.downgrade(alembic_config(connection=connection), "0009_workspace")
    with engine.connect() as connection:
        events = connection.exec_driver_sql("SELECT event FROM queue_audit").scalars().all()
    assert events[-1] == "password_reset"
    engine.dispose()


def test_down_to_0009_and_up_again_keeps_trail_and_sessions(database_url: str) -> None:
    _people(database_url, reset=False)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        before = connection.exec_driver_sql(TRAIL).all(), connection.exec_driver_sql(SESSIONS).all()
        command.downgrade(alembic_config(connection=connection), "0009_workspace")
        with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
            connection.exec_driver_sql(
                "UPDATE sessions SET ended_at = created_at, end_reason = 'password_reset'"
            )
        command.upgrade(alembic_config(connection=connection), "head")
        after = connection.exec_driver_sql(TRAIL).all(), connection.exec_driver_sql(SESSIONS).all()
        assert after == before
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), connection.begin_nested():
            connection.exec_driver_sql("DELETE FROM queue_audit")
    engine.dispose()
