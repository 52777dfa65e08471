"""`denialops synth` speed: generate and write N claims; the target is 1,000,000 in under 60 s.

Run: `.venv/bin/python benchmarks/bench_synth.py [--sizes 250000 1000000] [--repeat 3]`.
Prints the median of the repeats per size (generate, write CSV, total) and the
cost per claim, so linear growth is visible.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from _machine import describe_machine, peak_rss_mib

from synthetic import generate, write_synthetic


def measure(n_claims: int, seed: int) -> tuple[float, float]:
    started = time.perf_counter()
    data = generate(n_claims, seed)
    generated = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        write_synthetic(data, out, "csv")
    return generated - started, time.perf_counter() - generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    print(f"{'claims':>10} {'generate s':>11} {'write s':>8} {'total s':>8} {'µs/claim':>9}")
    for size in args.sizes:
        runs = [measure(size, seed) for seed in range(args.repeat)]
        gen = statistics.median(run[0] for run in runs)
        write = statistics.median(run[1] for run in runs)
        total = statistics.median(sum(run) for run in runs)
        print(f"{size:>10,} {gen:>11.1f} {write:>8.1f} {total:>8.1f} {total / size * 1e6:>9.1f}")
    print(f"peak RSS {peak_rss_mib():,.0f} MiB; median of {args.repeat} runs per size")


if __name__ == "__main__":
    main()
