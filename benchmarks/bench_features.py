"""Feature pipeline speed: build features for N claims, and look one claim up in the state.

Run: `.venv/bin/python benchmarks/bench_features.py [--sizes 250000 500000 1000000] [--repeat 3]`.
Prints, per size, the median time of `build_features` (reading excluded) and the cost per
claim, so linear growth is visible; then the median time to look up every tally of one
claim in the serving state, and for reference the whole batch path for a one-claim batch.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
from _machine import describe_machine, peak_rss_mib

from data_contracts.reader import read_data_dir
from features.claim_level import claim_features
from features.events import claim_events
from features.pipeline import build_features, build_state, features_for_claims
from features.state import key_tuples
from features.tallies import TALLIES
from synthetic import generate, write_synthetic


def time_build(size: int, repeat: int):
    with tempfile.TemporaryDirectory() as out:
        write_synthetic(generate(size, seed=1), out, "parquet")
        data = read_data_dir(out)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        build_features(data)
        runs.append(time.perf_counter() - started)
    return data, statistics.median(runs)


def time_lookup(data, samples: int = 2_000) -> tuple[float, float, float]:
    as_of = data.claims["submission_date"].quantile(0.9).date()
    state = build_state(data, as_of=as_of)
    state.warm()
    claims = data.claims[data.claims["submission_date"] >= str(as_of)].head(samples)
    base = claim_events(claims, claim_features(claims, data.claim_lines))
    keys = {tally.name: key_tuples(base, tally.keys) for tally in TALLIES}
    timings = []
    for row in range(len(base)):
        started = time.perf_counter()
        for tally in TALLIES:
            state.lookup(tally, [keys[tally.name][row]])
        timings.append(time.perf_counter() - started)
    one = claims.head(1)
    lines = data.claim_lines[data.claim_lines["claim_id"].isin(one["claim_id"])]
    batch_path = []
    for _ in range(20):
        started = time.perf_counter()
        features_for_claims(one, lines, state)
        batch_path.append(time.perf_counter() - started)
    return (
        statistics.median(timings) * 1e3,
        float(np.percentile(timings, 99)) * 1e3,
        statistics.median(batch_path) * 1e3,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    print(f"{'claims':>10} {'features s':>11} {'µs/claim':>9}")
    data = None
    for size in args.sizes:
        data, seconds = time_build(size, args.repeat)
        print(f"{size:>10,} {seconds:>11.1f} {seconds / size * 1e6:>9.1f}")
    p50, p99, batch = time_lookup(data)
    print(f"state lookup, every tally of one claim: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print(f"whole batch path for a one-claim batch (for reference): p50 {batch:.0f} ms")
    print(f"peak RSS {peak_rss_mib():,.0f} MiB; median of {args.repeat} runs per size")


if __name__ == "__main__":
    main()
