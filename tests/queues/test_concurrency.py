"""Sixteen billers clear 2,000 items at once: each item leased once, resolved once, none lost.

Runs on SQLite and, with DENIALOPS_TEST_POSTGRES_URL, on PostgreSQL (FOR UPDATE SKIP
LOCKED). Lease latencies are reported (`-s` prints them; `--junitxml` keeps them
as properties), never asserted: they depend on the machine and its neighbours.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from queues.drill import drill_items, work_queue
from queues.store import ConflictError, WorkQueue
from settings import Settings
from tests.queue_views import open_items

BILLERS = 16
ITEMS = 2_000


def test_concurrent_billers_work_every_item_exactly_once(
    database_url: str, record_property: pytest.RecordProperty
) -> None:
    settings = Settings(database_url=database_url, queue_pool_size=BILLERS)
    items = drill_items(ITEMS, seed=3)
    with WorkQueue.from_settings(settings) as queue:
        queue.load(items, actor="ranker", policy_version="drill")

        drill = work_queue(queue, BILLERS)

        claims = set(items["claim_id"])
        leased = [claim for biller in drill.leased.values() for claim in biller]
        assert len(leased) == ITEMS
        assert set(leased) == claims
        trail = Counter((event.claim_id, event.event) for event in queue.audit())
        assert {trail[claim, "leased"] for claim in claims} == {1}
        assert {trail[claim, "resolved"] for claim in claims} == {1}
        assert open_items(queue, limit=10) == []
        appeals = queue.export_appeals()
        assert len(appeals) == ITEMS
        assert set(appeals["claim_id"]) == claims
    busy = sum(1 for claims_of_one in drill.leased.values() if claims_of_one)
    record_property("lease_p50_ms", round(drill.lease_ms(50), 2))
    record_property("lease_p99_ms", round(drill.lease_ms(99), 2))
    record_property("items_per_second", round(drill.items_per_second))
    print(f"\n{queue.engine.dialect.name}: {drill.summary()}; {busy} billers got work")


def test_one_billers_simultaneous_next_calls_never_pass_the_lease_cap(database_url: str) -> None:
    """The cap is counted and the lease taken in one transaction serialised per biller;
    without that, each of these calls would count the leases before the others commit."""
    threads, cap, rounds = 8, 2, 5
    settings = Settings(
        database_url=database_url, queue_pool_size=threads, max_leases_per_biller=cap
    )
    with WorkQueue.from_settings(settings) as queue:
        queue.load(drill_items(threads * rounds, seed=4), actor="ranker", policy_version="drill")
        start = threading.Barrier(threads)

        def take(_: int) -> str | None:
            start.wait()
            try:
                return queue.next("ana").claim_id
            except ConflictError:
                return None

        for _ in range(rounds):
            with ThreadPoolExecutor(threads) as pool:
                taken = [claim for claim in pool.map(take, range(threads)) if claim]
            held = [item.claim_id for item in open_items(queue, limit=500) if item.lease_holder]
            assert len(taken) == cap
            assert sorted(held) == sorted(taken)
            for claim in taken:
                queue.resolve(claim, "ana", "appeal", 5)
