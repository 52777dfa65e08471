"""Contract reader speed: load and check a synthetic data directory of N claims (CSV and Parquet),
and the CSV directory again with 0.5% of its claims broken, read with the quarantine (the
claims and their lines, remits and appeals set aside and written down).

Run: `.venv/bin/python benchmarks/bench_reader.py [--claims 1000000] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
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
    for fmt in ("csv", "parquet", "quarantine"):
        with tempfile.TemporaryDirectory() as out:
            write_synthetic(data, out, "parquet" if fmt == "parquet" else "csv")
            ceiling = _spoil(Path(out), BAD_SHARE) if fmt == "quarantine" else None
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                loaded = read_data_dir(Path(out), ceiling)
                times.append(time.perf_counter() - started)
        median = statistics.median(times)
        rate = rows / median
        aside = f"; {loaded.quarantine.rows:,} rows set aside" if loaded.quarantine else ""
        print(
            f"{fmt:>10}: median {median:.1f} s over {args.repeat} reads ({rate:,.0f} rows/s)"
            + aside
        )
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


BAD_SHARE = 0.005


def _spoil(out: Path, share: float) -> float:
    """Give `share` of the claims an unknown plan type; the ceiling that lets them be set aside."""
    claims = pd.read_csv(out / "claims.csv", dtype=str, keep_default_na=False)
    rows = np.random.default_rng(0).choice(len(claims), int(share * len(claims)), replace=False)
    claims.loc[rows, "plan_type"] = "ppo"
    claims.to_csv(out / "claims.csv", index=False)
    return 2 * share


if __name__ == "__main__":
    main()
