"""Many billers working one queue at once: the drill the concurrency tests and the benchmark share.

Each biller is a thread with its own pooled connection that leases the next
item, resolves it and asks again until nothing is left for it, as billers
clearing a queue would, only without the hours in between. Every lease is timed.
On a shared PostgreSQL server, `scratch_schema` keeps each run to its own tables.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_contracts.enums import APPEAL_ACTIONS, DENIAL_CATEGORIES, PROGRAMS
from queues.store import WorkQueue


@dataclass(frozen=True)
class DrillResult:
    leased: dict[str, list[str]]
    """Claim ids each biller leased (and resolved), in order."""
    lease_seconds: np.ndarray
    """Wall time of every `next` that returned an item."""
    elapsed_seconds: float

    def lease_ms(self, percentile: float) -> float:
        return float(np.percentile(self.lease_seconds, percentile) * 1000)

    @property
    def items_per_second(self) -> float:
        """Items leased and resolved per second by all billers together."""
        return len(self.lease_seconds) / self.elapsed_seconds

    def summary(self) -> str:
        return (
            f"{len(self.leased)} billers, {len(self.lease_seconds):,} items in "
            f"{self.elapsed_seconds:.2f} s ({self.items_per_second:,.0f} items/s); lease "
            f"p50 {self.lease_ms(50):.2f} ms, p99 {self.lease_ms(99):.2f} ms"
        )


def drill_items(count: int, seed: int = 0) -> pd.DataFrame:
    """`count` ranked denials in the shape `WorkQueue.load` takes, with some tied priorities
    and the details a biller filters by (programs, ~200 clinicians, remit codes)."""
    rng = np.random.default_rng(seed)
    recoverable = rng.gamma(2.0, 150.0, count).round(2)
    p_recover = rng.uniform(0.05, 0.95, count)
    effort = rng.integers(5, 90, count).astype(float)
    priority = (recoverable * p_recover / effort).round(1)
    rank = pd.Series(-priority).rank(method="first").astype(int)
    return pd.DataFrame(
        {
            "claim_id": [f"DRILL{seed}-{index:07d}" for index in range(count)],
            "payer_id": rng.choice([f"P{payer:02d}" for payer in range(12)], count),
            "denial_category": rng.choice(DENIAL_CATEGORIES, count),
            "action": rng.choice(APPEAL_ACTIONS, count),
            "p_recover": p_recover,
            "recoverable_amount": recoverable,
            "billed_amount": (recoverable * 1.5).round(2),
            "expected_recovery": recoverable * p_recover,
            "effort_minutes": effort,
            "deadline": pd.Timestamp("2027-01-01")
            + pd.to_timedelta(rng.integers(0, 90, count), "D"),
            "priority": priority,
            "rank": rank,
            "reason": "drill item",
            "patient_id": [f"PT{p:06d}" for p in rng.integers(0, count // 4 + 1, count)],
            "program": rng.choice(PROGRAMS, count),
            "clinician_id": [f"R{clinician:04d}" for clinician in rng.integers(0, 200, count)],
            "carc_codes": rng.choice(["CO-197", "CO-50", "CO-16;PR-3", "CO-119", "CO-29"], count),
            "rarc_codes": rng.choice(["N54", "M127", "", "N290"], count),
        }
    )


def work_queue(queue: WorkQueue, billers: int) -> DrillResult:
    """Let `billers` threads lease and resolve until the queue is empty.

    The queue's connection pool needs at least `billers` connections, or the
    timings include waiting for one.
    """
    start = threading.Barrier(billers)

    def biller(name: str) -> tuple[list[str], list[float]]:
        leased: list[str] = []
        timings: list[float] = []
        start.wait()
        while True:
            began = time.perf_counter()
            item = queue.next(name)
            if item is None:
                return leased, timings
            timings.append(time.perf_counter() - began)
            leased.append(item.claim_id)
            queue.resolve(item.claim_id, name, item.action, int(item.effort_minutes))

    names = [f"biller-{index:02d}" for index in range(billers)]
    began = time.perf_counter()
    with ThreadPoolExecutor(billers) as pool:
        results = list(pool.map(biller, names))
    elapsed = time.perf_counter() - began
    return DrillResult(
        leased={name: leased for name, (leased, _) in zip(names, results, strict=True)},
        lease_seconds=np.array([seconds for _, timings in results for seconds in timings]),
        elapsed_seconds=elapsed,
    )


@contextlib.contextmanager
def scratch_schema(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty schema on `postgres_url`'s server, dropped on exit, so runs
    sharing a server (CI jobs, benchmarks, colleagues) never meet each other's rows."""
    schema = f"queue_scratch_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, poolclass=sa.NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
