"""Revision 0009_workspace on both databases: a store filled at 0008 keeps every row (the new
columns empty until the next load), and the downgrade is refused once a letter or a workspace
event exists, which 0008 has nowhere to keep."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from queues.store import WorkQueue
from settings import Settings
from storage.audit import verify
from storage.migrate import alembic_config
from storage.schema import APPEAL_LETTERS
from tests.queues.test_store import ranking
from tests.storage.test_migrations import _columns, _rows

WORKSPACE_COLUMNS = ("patient_id", "program", "clinician_id", "carc_codes", "rarc_codes")
NEW_COLUMNS = {*WORKSPACE_COLUMNS, "assigned_to"}


def _filled(database_url: str, clock) -> None:
    """A store with open, leased and resolved items and their trail, then taken down to 0008
    (the downgrade goes through: nothing of 0009's is in it yet)."""
    details = {"program": "IOP", "clinician_id": "DR1", "carc_codes": "CO-197;CO-16"}
    with WorkQueue.from_settings(Settings(database_url=database_url), clock=clock) as queue:
        queue.load(
            ranking({"C1": 3.0, "C2": 2.0, "C3": 1.0}, **details),
            actor="ranker",
            policy_version="v1",
        )
        queue.next("ana")
        queue.next("ben")
        queue.resolve("C2", "ben", "appeal", 20)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "0008_unique_usernames")
        assert not NEW_COLUMNS & set(_columns(connection, "queue_items"))
        assert "appeal_letters" not in sa.inspect(connection).get_table_names()
    engine.dispose()


def test_a_store_filled_at_0008_upgrades_keeping_every_row(database_url: str, clock) -> None:
    _filled(database_url, clock)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        old_columns = _columns(connection, "queue_items")
        items, trail = _rows(connection, "queue_items"), _rows(connection, "queue_audit")
        command.upgrade(alembic_config(connection=connection), "head")
        assert set(_columns(connection, "queue_items")) == {*old_columns, *NEW_COLUMNS}
        assert _rows(connection, "queue_items", old_columns) == items
        assert _rows(connection, "queue_audit") == trail
        assert set(_rows(connection, "queue_items", sorted(NEW_COLUMNS))) == {(None,) * 6}
    engine.dispose()

    with WorkQueue.from_settings(Settings(database_url=database_url), clock=clock) as queue:
        assert [queue.item(claim).status for claim in ("C1", "C2", "C3")] == [
            "open",
            "resolved",
            "open",
        ]
        assert queue.item("C1").lease_holder == "ana"
        queue.load(
            ranking({"C3": 1.0}, program="OP"), actor="ranker", policy_version="v2", force=True
        )
        assert queue.item("C3").program == "OP", "the next load fills them"
        queue.assign(["C3"], "ana", "lead")
        with queue.engine.connect() as connection:
            assert verify(connection).ok


def _note(queue: WorkQueue) -> None:
    queue.add_note("C3", "ana", "called the payer")


def _letter(queue: WorkQueue) -> None:
    with queue.engine.begin() as connection:
        connection.execute(
            APPEAL_LETTERS.insert().values(
                claim_id="C3",
                version=1,
                category="missing_auth",
                body="Dear payer",
                saved_by="ana",
                saved_at=datetime(2026, 11, 23, 15, tzinfo=UTC),
            )
        )


@pytest.mark.parametrize(
    ("write", "held"),
    [(_note, "0 appeal letter(s) and 1 workspace event(s)"), (_letter, "1 appeal letter(s) and 0")],
)
def test_the_downgrade_is_refused_once_a_letter_or_workspace_event_exists(
    database_url: str, clock, write: Callable[[WorkQueue], None], held: str
) -> None:
    _filled(database_url, clock)
    with WorkQueue.from_settings(Settings(database_url=database_url), clock=clock) as queue:
        write(queue)
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        before = _rows(connection, "queue_audit"), _rows(connection, "appeal_letters")
    with (
        pytest.raises(RuntimeError, match=rf"holds {re.escape(held)}.*not downgrading"),
        engine.begin() as connection,
    ):
        command.downgrade(alembic_config(connection=connection), "0008_unique_usernames")
    with engine.connect() as connection:
        assert (_rows(connection, "queue_audit"), _rows(connection, "appeal_letters")) == before
        assert "assigned_to" in _columns(connection, "queue_items")
    engine.dispose()
