"""X12 ingestion speed: the 835s of N synthetic claims into a directory holding their claims.

Run: `.venv/bin/python benchmarks/bench_x12.py [--claims 10000] [--repeat 3]`.
The target is 10,000 claims' worth of 835 in at most 2 s (median of the repeats).
Each repeat copies the directory as it stands after the 837s and ingests every 835
file into it (read, check claim by claim, flag, merge, fold reversals, write the
tables and exceptions.csv); the 837 ingest and an idempotent rerun of the 835s are
timed too. Ingest pauses the cyclic garbage collector while it reads: a run makes
millions of small objects that live until it ends, and the collector's full passes
over them cost about a fifth of the time (measured: 1.70 s with it running, 1.40 s
paused, medians of 6 on a loaded 2-core machine).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _machine import describe_machine, peak_rss_mib

from data_contracts.x12 import expand_paths, ingest
from data_contracts.x12.write import write_x12
from synthetic import generate


def timed(paths: list[Path], out: Path) -> tuple[float, int]:
    started = time.perf_counter()
    summary = ingest(paths, out)
    if summary.set_aside:
        raise SystemExit(f"set aside: {(summary.failures or summary.exceptions)[0]}")
    return time.perf_counter() - started, summary.adjudications_read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    data = generate(args.claims, seed=0)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_x12(root / "x12", data.tables)
        claim_files = expand_paths([str(root / "x12" / "837*.x12")])
        remit_files = expand_paths([str(root / "x12" / "835*.x12")])
        megabytes = sum(path.stat().st_size for path in remit_files) / 2**20
        claims_seconds, _ = timed(claim_files, root / "claims")
        runs = []
        for repeat in range(args.repeat):
            out = root / f"run{repeat}"
            shutil.copytree(root / "claims", out)
            runs.append(timed(remit_files, out))
        rerun, adjudications = timed(remit_files, root / "run0")
    median = statistics.median(seconds for seconds, _ in runs)
    print(f"{args.claims:,} claims: 837 ingest {claims_seconds:.2f} s ({len(claim_files)} files)")
    print(
        f"835 ingest: median {median:.2f} s over {args.repeat} runs "
        f"({len(remit_files)} files, {megabytes:.1f} MiB, {adjudications:,} adjudications, "
        f"{median / adjudications * 1e6:.0f} µs each); target ≤ 2 s"
    )
    print(f"835 again (nothing changes): {rerun:.2f} s")
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
