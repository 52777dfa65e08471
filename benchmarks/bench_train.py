"""Denial model training on synthetic data: wall time, and accuracy against the oracle.

Run: `.venv/bin/python benchmarks/bench_train.py [--claims 1000000] [--seed 1]`.
Generates a data set, reads it through the contract, then times `train_denial_model`
(features included) into a throwaway MLflow store. The oracle is the generator's true
P(denial) from truth.csv, read here and only here, on the same test-period claims: the
model's ROC-AUC should come within 0.02 of it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _machine import describe_machine, peak_rss_mib
from _synthetic import synthetic_store
from sklearn.metrics import roc_auc_score

from data_contracts.denials import denial_outcomes
from settings import Settings
from training.train import train_denial_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(describe_machine())
    settings = Settings()
    with tempfile.TemporaryDirectory() as folder:
        data, truth, read_seconds = synthetic_store(args.claims, args.seed, Path(folder))
        steps: list[tuple[str, float]] = []
        current = ["start", time.perf_counter()]

        def progress(step: str) -> None:
            """Close the step that was running and open `step`."""
            now = time.perf_counter()
            steps.append((current[0], now - current[1]))
            current[:] = [step, now]

        started = time.perf_counter()
        result = train_denial_model(data, settings, progress=progress)
        train_seconds = time.perf_counter() - started
        progress("done")
    test = result.test_claims
    label = denial_outcomes(data)["denied"].loc[test]
    oracle = roc_auc_score(label, truth.loc[test, "p_denial"])
    metrics = result.test_metrics
    print(f"{args.claims:,} claims (seed {args.seed}); test period {len(test):,} claims")
    print(
        f"read {read_seconds:.1f} s; train (features, fit, baselines, registry, report) "
        f"{train_seconds:.1f} s"
    )
    print("  " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps[1:]))
    print(
        f"test ROC-AUC {metrics['roc_auc']:.4f} vs oracle {oracle:.4f} "
        f"(gap {oracle - metrics['roc_auc']:.4f}); ECE {metrics['ece']:.4f}; "
        f"Brier {metrics['brier']:.4f}; calibration {result.calibration}"
    )
    for name, baseline in result.baselines.items():
        print(f"baseline {name}: ROC-AUC {baseline['roc_auc']:.4f}, ECE {baseline['ece']:.4f}")
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
