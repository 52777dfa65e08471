"""Contract reader speed: load and check a synthetic data directory of N claims (CSV and Parquet).

Run: `.venv/bin/python benchmarks/bench_reader.py [--claims 1000000] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _machine import describe_machine, peak_rss_mib

from data_contracts.reader import read_data_dir
from synthetic import generate, write_synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    data = generate(args.claims, seed=0)
    rows = sum(len(frame) for frame in data.tables.values())
    print(f"{args.claims:,} claims, {rows:,} rows in all tables")
    for fmt in ("csv", "parquet"):
        with tempfile.TemporaryDirectory() as out:
            write_synthetic(data, out, fmt)
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                read_data_dir(Path(out))
                times.append(time.perf_counter() - started)
        median = statistics.median(times)
        rate = rows / median
        print(f"{fmt:>8}: median {median:.1f} s over {args.repeat} reads ({rate:,.0f} rows/s)")
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
