"""Billers' throughput from the store: what each person resolved over a period, the time they
recorded and what it recovered (the leadership dashboard's figures).

Every test runs on SQLite and, with DENIALOPS_TEST_POSTGRES_URL, on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from queues.store import BillerThroughput
from tests.queues.test_store import load


def work(queue, clock, biller: str, minutes: int, recovered: float | None = None) -> None:
    """`biller` takes the top item, resolves it with `minutes`, and, with `recovered`, the
    payer overturns it for that much."""
    item = queue.next(biller)
    queue.resolve(item.claim_id, biller, "appeal", minutes)
    if recovered is not None:
        queue.record_outcome(item.claim_id, biller, "overturned", recovered, clock.now.date())


def test_throughput_counts_each_persons_resolutions_time_and_recoveries(queue, clock) -> None:
    load(queue, {f"C{i}": float(10 - i) for i in range(6)})
    work(queue, clock, "ana", 30, recovered=200.0)
    work(queue, clock, "ana", 30)  # pending: nothing recovered yet
    work(queue, clock, "ben", 45, recovered=90.0)
    queue.write_off(["C5"], "lena", "small balance")
    found = queue.throughput(clock.now.date())
    assert found == [
        BillerThroughput("ana", resolved=2, effort_minutes=60, recovered=200.0),
        BillerThroughput("ben", resolved=1, effort_minutes=45, recovered=90.0),
        BillerThroughput("lena", resolved=1, effort_minutes=0, recovered=0.0),
    ]
    ana, ben, lena = found
    assert (ana.resolved_per_hour, ana.recovered_per_hour) == (2.0, 200.0)
    assert ben.resolved_per_hour == pytest.approx(1 / 0.75)
    assert ben.recovered_per_hour == pytest.approx(120.0)
    # A bulk write-off records no time: a rate per hour of nothing is unknown, not 0.
    assert (lena.resolved_per_hour, lena.recovered_per_hour) == (None, None)


def test_throughput_leaves_out_what_was_resolved_before_the_period(queue, clock) -> None:
    load(queue, {"OLD": 2.0, "NEW": 1.0})
    work(queue, clock, "ana", 20)
    clock.advance(3 * 86_400)
    work(queue, clock, "ana", 10)
    assert queue.throughput(clock.now.date()) == [BillerThroughput("ana", 1, 10, 0.0)]
    assert queue.throughput(clock.now.date() + timedelta(days=1)) == []
