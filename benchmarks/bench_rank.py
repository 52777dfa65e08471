"""Ranking a million open denials: the queue's order, reasons included.

Run: `.venv/bin/python benchmarks/bench_rank.py [--items 1000000] [--repeats 3]`.
Builds work items from a synthetic data set (recovery model fitted on it), then
resamples them to `--items` rows (fresh claim ids, jittered amounts and
deadlines) and times `rank_items` on the lot: median of the repeats. Also
reports the cost of building the items per denial (features, hard rules,
recovery model), which scales with the data set rather than the queue.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from _machine import describe_machine, peak_rss_mib
from _synthetic import synthetic_store

from features.pipeline import day_after_latest
from queues.items import work_items
from queues.policy import default_policy
from queues.ranking import rank_items
from settings import Settings
from training.recovery import fit_recovery


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    with tempfile.TemporaryDirectory() as folder:
        data, _, _ = synthetic_store(args.claims, 2, Path(folder))
    recovery = fit_recovery(data, Settings()).bundle
    policy = default_policy()
    started = time.perf_counter()
    items = work_items(data, recovery, policy, day_after_latest(data))
    build = time.perf_counter() - started
    rng = np.random.default_rng(0)
    many = items.iloc[rng.integers(0, len(items), args.items)].reset_index(drop=True)
    many["claim_id"] = [f"Q{i:08d}" for i in range(len(many))]
    many["recoverable_amount"] *= rng.uniform(0.5, 1.5, len(many))
    shift = rng.integers(-20, 20, len(many))
    many["deadline_day"] += shift
    many["write_off_day"] += shift
    timings = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        ranked = rank_items(many, policy)
        timings.append(time.perf_counter() - started)
    assert ranked["rank"].is_monotonic_increasing
    print(
        f"built {len(items):,} work items from {args.claims:,} claims in {build:.1f} s "
        f"({build / max(len(items), 1) * 1e6:.0f} µs an item)"
    )
    print(
        f"rank_items on {len(many):,} open denials: median {statistics.median(timings):.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in timings)}); peak RSS {peak_rss_mib():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
