"""The login throttle's counters in the database: the ThrottleStore protocol, atomic under
concurrent failures, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from accounts.throttle import FailureRecord, account_key, address_key
from accounts.throttle_store import DatabaseThrottleStore, stored_key
from storage.database import Database
from storage.schema import LOGIN_THROTTLE
from tests.accounts.conftest import FakeClock


def count(now: datetime) -> Callable[[FailureRecord | None], FailureRecord]:
    """One more failure at `now`, as LoginThrottle's change functions count."""

    def change(record: FailureRecord | None) -> FailureRecord:
        failures = 0 if record is None else record.failures
        return FailureRecord(failures + 1, now)

    return change


def test_records_are_kept_replaced_and_cleared(database: Database, clock: FakeClock) -> None:
    store = DatabaseThrottleStore(database)
    key = account_key("default", "Ana ")
    assert store.get(key) is None
    assert store.update(key, lambda _r: None) is None  # clearing nothing is fine
    locked = FailureRecord(3, clock.now, clock.now + timedelta(minutes=15))
    assert store.update(key, lambda _r: locked) == locked
    assert store.get(account_key("default", "ana")) == locked  # the same person
    assert store.get(account_key("other", "ana")) is None  # not in another tenant
    assert store.update(key, lambda record: record and FailureRecord(4, record.last_failure)) == (
        FailureRecord(4, clock.now)
    )
    assert store.update(key, lambda _r: None) is None
    assert store.get(key) is None


def test_concurrent_failures_all_count(database: Database, clock: FakeClock) -> None:
    """Threads failing on one fresh counter at once: every failure counts, the first ones
    (which race to insert the row) included."""
    store = DatabaseThrottleStore(database)
    key = address_key("198.51.100.9")
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _i: store.update(key, count(clock.now)), range(30)))
    assert store.get(key).failures == 30


def test_two_first_failures_racing_to_insert_both_count(
    database: Database, clock: FakeClock
) -> None:
    """PostgreSQL has no row to lock for a counter's first failure: two processes both find
    none and both insert. The loser's insert fails, and it counts on the winner's row."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE serialises the updates: no race to insert")
    store = DatabaseThrottleStore(database)
    key = account_key("default", "ana")
    both_read = threading.Barrier(2, timeout=10)
    first = count(clock.now)

    def change(record: FailureRecord | None) -> FailureRecord:
        if record is None:
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait()  # only the first read of each thread meets the other
        return first(record)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _i: store.update(key, change), range(2)))
    assert sorted(record.failures for record in results) == [1, 2]
    assert store.get(key).failures == 2


def test_purge_forgets_only_records_that_no_longer_matter(
    database: Database, clock: FakeClock
) -> None:
    store = DatabaseThrottleStore(database)
    old = clock.now - timedelta(hours=2)
    store.update(account_key("t", "old"), lambda _r: FailureRecord(2, old))
    store.update(
        account_key("t", "locked"), lambda _r: FailureRecord(10, old, clock.now + timedelta(1))
    )
    store.update(account_key("t", "recent"), lambda _r: FailureRecord(1, clock.now))
    assert store.purge(clock.now - timedelta(hours=1)) == 1
    assert store.get(account_key("t", "old")) is None
    with database.engine.connect() as connection:
        keys = set(connection.execute(sa.select(LOGIN_THROTTLE.c.key)).scalars())
    assert keys == {stored_key(account_key("t", name)) for name in ("locked", "recent")}
