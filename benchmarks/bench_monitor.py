"""Monitoring a million scored claims: the time of one `monitor` run, and its memory.

Run: `.venv/bin/python benchmarks/bench_monitor.py [--claims 1000000] [--train-claims
100000] [--seed 3] [--repeat 3]`. Trains the champion with `train_denial_model` on a
smaller directory of the same generator (into a throwaway MLflow store), loads it as the
service does, then monitors every claim of the large directory (`since` its first day):
once with every claim's score kept (the service's and batch command's audit, the usual
case) and once on a fresh directory (every claim scored now). Reading the directory is
timed apart: the service and the command read it once per version of the data.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from _machine import describe_machine, peak_rss_mib
from _synthetic import synthetic_store

from data_contracts.reader import read_data_dir
from model_bundle.registered import load_registered
from monitoring.monitor import monitor
from settings import Settings
from synthetic import generate, write_synthetic
from training.train import train_denial_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--train-claims", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    settings = Settings(max_boost_rounds=300, shap_sample_rows=500)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        small, _, _ = synthetic_store(args.train_claims, args.seed, folder)
        trained = train_denial_model(small, settings)
        model, version = load_registered(
            f"models:/{settings.denial_model_name}@champion", settings.resolved_tracking_uri()
        )
        bundle = model.bundle
        large = folder / "large"
        write_synthetic(generate(args.claims, args.seed + 1), large, "parquet")
        started = time.perf_counter()
        data = read_data_dir(large)
        read_seconds = time.perf_counter() - started
        since = pd.Timestamp(data.claims["submission_date"].min()).date()
        fresh = monitor(data, bundle, version, settings, since)
        kept = pd.DataFrame(
            {
                "claim_id": fresh.scored.claims.index,
                "model_version": version,
                "p_denial": fresh.scored.claims["p_denial"].to_numpy(),
                "top_fix": None,
            }
        )
        timings: dict[str, list[float]] = {"kept": [], "fresh": []}
        for _ in range(args.repeat):
            for name, scores in (("kept", kept), ("fresh", None)):
                started = time.perf_counter()
                result = monitor(data, bundle, version, settings, since, scores)
                timings[name].append(time.perf_counter() - started)
    claims = len(result.scored.claims)
    print(
        f"champion version {trained.version} trained on {args.train_claims:,} claims; "
        f"monitored {claims:,} claims ({len(result.scored.adjudicated):,} adjudicated), "
        f"{len(result.alerts)} alerts; reading the directory {read_seconds:.1f} s"
    )
    for name, seconds in timings.items():
        print(
            f"  scores {name}: median {statistics.median(seconds):.1f} s of {args.repeat} "
            f"(min {min(seconds):.1f}, max {max(seconds):.1f})"
        )
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
