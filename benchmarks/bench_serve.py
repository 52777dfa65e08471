"""Scoring latency over HTTP on loopback, and batch throughput without explanations.

Run: `.venv/bin/python benchmarks/bench_serve.py [--claims 50000] [--requests 300]`.
Trains a model on synthetic data into a throwaway MLflow store, starts
`denialops serve` on 127.0.0.1 in a subprocess, sends `--requests` one-claim
requests one after another (bounded in count and time) and reports p50/p99; then
times `Scorer.bundle.score_features` on every test-period claim (no explanations).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import mlflow
import numpy as np
from _machine import describe_machine

from data_contracts.reader import read_data_dir
from denialops.config import Settings
from features.pipeline import build_features
from model_bundle.rows import to_rows
from synthetic import generate, write_synthetic
from training.train import train_denial_model

KEY = "bench-key"
DEADLINE_SECONDS = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def claim_bodies(tables: dict, count: int) -> list[dict]:
    pending = tables["claims"].tail(count)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(pending["claim_id"])]
    rows = to_rows(pending, lines)
    bodies = []
    for claim_id, group in rows.groupby("claim_id", sort=False):
        first = group.iloc[0]
        claim = {k: first[k] for k in pending.columns}
        claim["secondary_dx"] = claim["secondary_dx"].split(";") if claim["secondary_dx"] else []
        claim["lines"] = [
            {
                "line_number": int(r["line_number"]),
                "procedure_code": r["procedure_code"],
                "modifiers": r["modifiers"].split(";") if r["modifiers"] else [],
                "units": int(r["units"]),
                "minutes": None if np.isnan(r["minutes"]) else int(r["minutes"]),
                "line_charge": float(r["line_charge"]),
                "revenue_code": r["revenue_code"],
            }
            for _, r in group.iterrows()
        ]
        claim["claim_id"], claim["patient_id"] = f"NEW-{claim_id}", f"NEW-{claim['patient_id']}"
        claim["prior_auth_id"] = None
        bodies.append(claim)
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print(describe_machine())
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    write_synthetic(generate(args.claims, 1), folder / "data", "parquet")
    data = read_data_dir(folder / "data")
    os.chdir(folder)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "DENIALOPS_API_KEYS": f"{KEY}:scrubber",
        "DENIALOPS_DATABASE_URL": f"sqlite:///{folder / 'audit.db'}",
        "OMP_NUM_THREADS": "1",
    }
    os.environ.update(env)
    train_denial_model(data, Settings())
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "denialops.cli", "serve", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=10) as client:
            started = time.monotonic()
            while time.monotonic() - started < 120:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            # New claims from another synthetic clinic: not in the model's feature state.
            bodies = claim_bodies(generate(args.requests * 3, seed=99).tables, args.requests)
            headers = {"Authorization": f"Bearer {KEY}"}
            timings, bands = [], []
            stop = time.monotonic() + DEADLINE_SECONDS
            for body in bodies:
                if time.monotonic() > stop:
                    break
                t0 = time.perf_counter()
                response = client.post("/v1/claims/score", json={"claims": [body]}, headers=headers)
                timings.append(time.perf_counter() - t0)
                bands.append(response.json()["results"][0]["band"])
        print(
            f"one claim per request over HTTP, {len(timings)} requests: "
            f"p50 {statistics.median(timings) * 1e3:.1f} ms, "
            f"p99 {np.percentile(timings, 99) * 1e3:.1f} ms "
            f"({sum(b != 'pass' for b in bands)} explained with fixes)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    model = mlflow.pyfunc.load_model("models:/denial-risk@champion").unwrap_python_model()
    features = build_features(data)
    t0 = time.perf_counter()
    model.bundle.score_features(features)
    seconds = time.perf_counter() - t0
    print(
        f"batch without explanations: {len(features):,} claims in {seconds:.2f} s "
        f"({len(features) / seconds:,.0f} claims/s, features excluded)"
    )


if __name__ == "__main__":
    main()
