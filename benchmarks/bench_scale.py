"""The Dask engine's scaling: features, training and batch scoring of 1M to 10M claims.

Run: `.venv/bin/python benchmarks/bench_scale.py [--sizes 1000000,2000000,5000000,10000000]`.
For each size it writes a synthetic directory as partitioned Parquet in chunks
(`synth --format parquet-partitioned`), then runs the commands a data scientist
runs, each as its own process on a fresh LocalCluster of this machine:
`features build`, `train` and `score`, all with `--engine dask`. Each step's wall
time and its peak memory (the resident memory of the command and its Dask workers
together, sampled every 0.2 s) are printed, with µs a claim, so linear growth
reads off the last column. MLflow writes to a throwaway store.

Synthesis of 10M claims takes a quarter of an hour: with `--data-root DIR` the data
directories are kept in DIR (`claims-N`) and a later run reuses them (its synth row
says so) instead of writing them again.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from _machine import describe_machine

BIN = Path(sys.executable).parent / "denialops"


def _tree_rss(process: psutil.Process) -> int:
    """Resident bytes of `process` and every process below it (the Dask workers)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak GiB of `command` with its children; fails loudly."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    watched, peak = psutil.Process(child.pid), [0]

    def sample() -> None:
        while child.poll() is None:
            try:
                peak[0] = max(peak[0], _tree_rss(watched))
            except psutil.NoSuchProcess:
                return
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = child.communicate()
    sampler.join()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({child.returncode}):\n{output.decode()[-3000:]}")
    return seconds, peak[0] / 2**30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000000,2000000,5000000,10000000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-claims", type=int, default=500_000)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument(
        "--steps", default="features,train,score", help="which of features,train,score to run"
    )
    parser.add_argument(
        "--data-root", type=Path, default=None, help="keep (and reuse) the data directories here"
    )
    args = parser.parse_args()
    print(describe_machine())
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        env = os.environ | {
            "MLFLOW_TRACKING_URI": f"sqlite:///{Path(folder) / 'mlflow.db'}",
            "DENIALOPS_DATABASE_URL": f"sqlite:///{Path(folder) / 'service.db'}",
        }
        for claims in sizes:
            data = (args.data_root or Path(folder)) / f"claims-{claims}"
            reused = (data / "synth_manifest.json").exists()  # written last
            steps = {
                "synth": [
                    *("synth", "--claims", str(claims), "--seed", str(args.seed)),
                    *("--format", "parquet-partitioned", "--chunk-claims", str(args.chunk_claims)),
                    *("--out", str(data)),
                ],
                "features": [
                    *("features", "build", "--data", str(data), "--engine", "dask"),
                    *("--out", str(data / "features.parquet")),
                ],
                "train": ["train", "--data", str(data), "--engine", "dask", "--force"],
                "score": [
                    *("score", "--data", str(data), "--engine", "dask"),
                    *("--out", str(data / "scored.csv")),
                ],
            }
            if reused:
                print(f"{claims:>11,} synth     reused {data}", flush=True)
                del steps["synth"]
            chosen = {"synth", *args.steps.split(",")}
            steps = {step: words for step, words in steps.items() if step in chosen}
            for step, words in steps.items():
                seconds, gib = run([str(BIN), *words], env)
                rows.append((claims, step, seconds, gib))
                print(
                    f"{claims:>11,} {step:<9} {seconds:8.1f} s {gib:6.2f} GiB "
                    f"{seconds / claims * 1e6:7.1f} µs a claim",
                    flush=True,
                )
    print("\n| claims | step | wall | peak memory | µs a claim |\n|---|---|---|---|---|")
    for claims, step, seconds, gib in rows:
        print(
            f"| {claims:,} | {step} | {seconds:.1f} s | {gib:.2f} GiB | "
            f"{seconds / claims * 1e6:.1f} |"
        )


if __name__ == "__main__":
    main()
