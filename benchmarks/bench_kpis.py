"""Every KPI of a million claims: the claim ledger, then the whole book and each breakdown.

Run: `.venv/bin/python benchmarks/bench_kpis.py [--claims 1000000] [--base 200000] [--repeats 3]`.
Generates `--base` synthetic claims, reads them through the contract, and copies the
tables (fresh claim ids, same dates and amounts) up to `--claims`; then times
`claim_ledger` and `kpis` for the whole book and for every `--by` of `denialops kpis`:
median of the repeats. The target is the whole lot (ledger + every breakdown) in ≤ 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from _machine import describe_machine, peak_rss_mib

from analytics.kpis import DIMENSIONS, kpis
from analytics.ledger import claim_ledger
from data_contracts.reader import ContractData, read_data_dir
from synthetic import generate, write_synthetic

KEYED = ("claims", "claim_lines", "remits", "appeals")


def copies(data: ContractData, times: int) -> ContractData:
    """`data` `times` over, each copy's claim ids suffixed (`~2`, `~3`, ...)."""
    tables = {}
    for name in KEYED:
        frame = getattr(data, name)
        parts = [frame]
        for copy in range(2, times + 1):
            part = frame.copy()
            part["claim_id"] = part["claim_id"] + f"~{copy}"
            if name == "claims":
                part["original_claim_id"] = part["original_claim_id"] + f"~{copy}"
            parts.append(part)
        tables[name] = pd.concat(parts, ignore_index=True)
    return ContractData(**tables, authorizations=data.authorizations, eligibility=data.eligibility)


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    with tempfile.TemporaryDirectory() as folder:
        write_synthetic(generate(args.base, 5), Path(folder), "parquet")
        base = read_data_dir(folder)
    data = copies(base, -(-args.claims // len(base.claims)))
    print(
        f"{len(data.claims):,} claims, {len(data.remits):,} remits, {len(data.appeals):,} appeals"
    )
    runs: dict[str, list[float]] = {"ledger": [], "whole book": []}
    runs.update({f"by {by}": [] for by in DIMENSIONS})
    totals = []
    for _ in range(args.repeats):
        seconds, ledger = timed(lambda: claim_ledger(data))
        runs["ledger"].append(seconds)
        total = seconds
        for name in runs:
            if name == "ledger":
                continue
            by = None if name == "whole book" else name.removeprefix("by ")
            seconds, _ = timed(lambda by=by, ledger=ledger: kpis(ledger, by, 30.0))
            runs[name].append(seconds)
            total += seconds
        totals.append(total)
    for name, seconds in runs.items():
        shown = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"{name:>14}: median {statistics.median(seconds):6.2f} s  (runs {shown})")
    print(
        f"ledger + whole book + {len(DIMENSIONS)} breakdowns: median "
        f"{statistics.median(totals):.2f} s (runs {', '.join(f'{s:.2f}' for s in totals)}); "
        f"target ≤ 5 s; peak RSS {peak_rss_mib():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
