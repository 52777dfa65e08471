"""The audit trail's hash chain: every writer appends to one chain, and tampering is named.

Tampering needs the append-only triggers out of the way, which is what someone with
the SQLite file can do; PostgreSQL runs the concurrent writers.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from queues.policy import PolicyStore, default_policy
from queues.store import WorkQueue
from storage.audit import AuditError, append, verify
from storage.database import Database
from tests.queues.test_store import load

AT = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)


def _row(index: int, claim_id: str | None = None) -> dict:
    return {
        "at": AT,
        "actor": f"actor-{index}",
        "claim_id": claim_id,
        "event": "model_reloaded" if claim_id is None else "loaded",
        "detail": {"index": index, "share": 0.1 + index / 3, "note": "é ✓"},
    }


def _write(database: Database, rows: list[dict]) -> list[int]:
    with database.scope().writing() as connection:
        return append(connection, rows)


def _verify(database: Database):
    with database.scope().engine.connect() as connection:
        return verify(connection)


def _tamper(database: Database, *statements: str) -> None:
    """Change the trail behind the database's back, as someone holding the file can."""
    with database.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER queue_audit_no_update")
        connection.exec_driver_sql("DROP TRIGGER queue_audit_no_delete")
        for statement in statements:
            connection.exec_driver_sql(statement)


@pytest.fixture
def sqlite_database(tmp_path):
    with Database(
        f"sqlite:///{tmp_path / 'trail.db'}", pool_size=2, busy_timeout_seconds=5
    ) as database:
        yield database


def test_an_untouched_trail_of_every_writer_verifies(queue: WorkQueue, clock) -> None:
    load(queue, {"C1": 2.0, "C2": 1.0})
    queue.next("ana")
    PolicyStore(queue.database).save(default_policy(), "revops")
    queue.resolve("C1", "ana", "appeal", 20)
    ids = _write(queue.database, [_row(1), _row(2, "C2")])
    result = _verify(queue.database)
    assert result.ok, result.problem
    assert result.rows == len(queue.audit()) == 7
    assert ids == [6, 7] == [result.head_id - 1, result.head_id]
    assert [event.claim_id for event in queue.audit()][3:5] == [None, "C1"]
    assert queue.audit()[0].at == clock.now


def test_an_empty_trail_verifies(database: Database) -> None:
    result = _verify(database)
    assert (result.ok, result.rows, result.head_id) == (True, 0, None)


def test_an_edited_row_is_named(sqlite_database: Database) -> None:
    _write(sqlite_database, [_row(index) for index in range(5)])
    _tamper(sqlite_database, "UPDATE queue_audit SET actor = 'mallory' WHERE id = 3")
    result = _verify(sqlite_database)
    assert (result.broken_id, result.rows, result.head_id) == (3, 2, 2)
    assert result.problem.startswith("edited")


def test_an_edited_detail_is_named(sqlite_database: Database) -> None:
    _write(sqlite_database, [_row(index) for index in range(5)])
    _tamper(sqlite_database, """UPDATE queue_audit SET detail = '{"index": 40}' WHERE id = 5""")
    assert (_verify(sqlite_database).broken_id, _verify(sqlite_database).rows) == (5, 4)


def test_a_deleted_row_is_named_by_the_row_after_it(sqlite_database: Database) -> None:
    _write(sqlite_database, [_row(index) for index in range(5)])
    _tamper(sqlite_database, "DELETE FROM queue_audit WHERE id = 3")
    result = _verify(sqlite_database)
    assert result.broken_id == 4
    assert "missing" in result.problem
    assert "ids jump from 2 to 4" in result.problem


def test_a_deleted_first_row_is_named(sqlite_database: Database) -> None:
    _write(sqlite_database, [_row(index) for index in range(3)])
    _tamper(sqlite_database, "DELETE FROM queue_audit WHERE id = 1")
    result = _verify(sqlite_database)
    assert (result.broken_id, result.rows) == (2, 0)
    assert "missing" in result.problem


def test_swapped_rows_are_named_as_reordered(sqlite_database: Database) -> None:
    _write(sqlite_database, [_row(index) for index in range(5)])
    _tamper(
        sqlite_database,
        "UPDATE queue_audit SET id = -1 WHERE id = 2",
        "UPDATE queue_audit SET id = 2 WHERE id = 3",
        "UPDATE queue_audit SET id = 3 WHERE id = -1",
    )
    result = _verify(sqlite_database)
    assert result.broken_id == 2
    assert result.problem.startswith("re-ordered: it was written after row 3")


def test_appending_after_a_break_does_not_hide_it(sqlite_database: Database) -> None:
    _write(sqlite_database, [_row(index) for index in range(3)])
    _tamper(sqlite_database, "UPDATE queue_audit SET actor = 'mallory' WHERE id = 2")
    _write(sqlite_database, [_row(9)])
    assert _verify(sqlite_database).broken_id == 2


def test_sqlite_writers_must_hold_the_write_lock(sqlite_database: Database) -> None:
    with (
        pytest.raises(RuntimeError, match="writing"),
        sqlite_database.scope().engine.begin() as connection,
    ):
        append(connection, [_row(1)])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event": "burned"}, "event 'burned'"),
        ({"at": datetime(2026, 1, 1)}, "aware"),
        ({"detail": {"amount": float("nan")}}, "not JSON"),
        ({"detail": ["a"]}, "not a mapping"),
        ({"extra": 1}, "exactly"),
    ],
)
def test_a_bad_row_is_refused_naming_the_field(database: Database, change, message) -> None:
    with pytest.raises(AuditError, match=message):
        _write(database, [_row(1) | change])
    assert _verify(database).rows == 0


def test_a_fork_is_impossible_even_for_a_writer_that_skips_append(database: Database) -> None:
    _write(database, [_row(1)])
    with database.engine.connect() as connection:
        first = connection.exec_driver_sql("SELECT prev_hash FROM queue_audit").scalar_one()
    fork = (
        "INSERT INTO queue_audit (tenant, id, at, actor, event, detail, prev_hash, row_hash) "
        "VALUES "
    )
    with pytest.raises(sa.exc.IntegrityError, match="prev_hash"), database.engine.begin() as db:
        db.exec_driver_sql(
            fork + f"('default', 9, '2026-12-01 00:00:00', 'x', 'loaded', '{{}}', '{first}', 'f')"
        )


def test_concurrent_writers_make_one_unbroken_chain(database: Database) -> None:
    """Eight writers append at once (PostgreSQL: eight connections racing for the tail)."""
    start = threading.Barrier(8)

    def writer(slot: int) -> None:
        start.wait()
        for index in range(20):
            _write(database, [_row(100 * slot + index), _row(100 * slot + index, f"C{slot}")])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, range(8)))
    result = _verify(database)
    assert result.ok, result.problem
    assert (result.rows, result.head_id) == (320, 320)
