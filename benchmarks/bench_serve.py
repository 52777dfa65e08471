"""Scoring latency over HTTP on loopback, and batch throughput without explanations.

Run: `.venv/bin/python benchmarks/bench_serve.py [--claims 50000] [--requests 300]`.
Trains a model on synthetic data into a throwaway MLflow store, starts
`denialops serve` on 127.0.0.1 in a subprocess, sends `--requests` one-claim
requests one after another (bounded in count and time) and reports p50/p99; serves
again with the champion registered as its own challenger too and every request shadow
scored (DENIALOPS_SHADOW_SAMPLE=1), to show what shadow scoring costs the answers; then
times `Scorer.bundle.score_features` on every test-period claim (no explanations).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import mlflow
import numpy as np
import sqlalchemy as sa
from _machine import describe_machine

from data_contracts.reader import read_data_dir
from features.pipeline import build_features
from model_bundle.rows import to_rows
from settings import Settings
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


def pct(timings: list[float], q: float) -> float:
    return float(np.percentile(timings, q)) * 1e3


def mlflow_rows(tables: dict, body: dict) -> dict:
    """The pyfunc's input for one claim: its flat contract rows, as `dataframe_split`."""
    claim_id = body["claim_id"].removeprefix("NEW-")
    claims = tables["claims"][tables["claims"]["claim_id"] == claim_id]
    claims = claims.assign(
        claim_id=body["claim_id"], patient_id=body["patient_id"], prior_auth_id=None
    )
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"] == claim_id]
    rows = to_rows(claims, lines.assign(claim_id=body["claim_id"]))
    rows = rows.astype(object).where(rows.notna(), None)
    return {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}


def time_server(
    command: list[str],
    ready: str,
    requests: list[tuple[str, dict]],
    env: dict,
    folder: Path,
    headers: dict | None = None,
) -> tuple[list[float], list[bytes]]:
    """Start a server on a free loopback port, wait until ready, time each request in turn;
    the timings and the answers."""
    port = free_port()
    server = subprocess.Popen(
        [part.replace("{port}", str(port)) for part in command],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    timings, answers = [], []
    try:
        # The standard library's keep-alive client: what is timed is the server, not a
        # heavier client's own overhead (httpx2 adds about a millisecond a request).
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        started = time.monotonic()
        while time.monotonic() - started < 120:
            try:
                client.request("GET", ready)
                response = client.getresponse()
                response.read()
                if response.status == 200:
                    break
            except (ConnectionError, http.client.HTTPException):
                client.close()
            time.sleep(0.5)
        stop = time.monotonic() + DEADLINE_SECONDS
        sent = {"Content-Type": "application/json", **(headers or {})}
        for path, payload in requests:
            if time.monotonic() > stop:
                break
            body = json.dumps(payload)
            t0 = time.perf_counter()
            client.request("POST", path, body=body, headers=sent)
            response = client.getresponse()
            answers.append(response.read())
            timings.append(time.perf_counter() - t0)
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return timings, answers


def register_challenger(name: str) -> str:
    """The champion's model registered again as a new version under the `challenger` alias:
    the same work as a real challenger, so the shadow run measures what shadowing costs."""
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias(name, "champion")
    version = client.create_model_version(name, champion.source, champion.run_id).version
    client.set_registered_model_alias(name, "challenger", version)
    return str(version)


def shadow_scores(database_url: str) -> int:
    """Shadow scores kept in the service's scoring audit."""
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        query = "SELECT count(*) FROM scoring_audit WHERE role = 'shadow'"
        found = connection.exec_driver_sql(query).scalar()
    engine.dispose()
    return int(found or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    print(describe_machine())
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    history = generate(args.claims, 1)
    write_synthetic(history, folder / "data", "parquet")
    data = read_data_dir(folder / "data")
    os.chdir(folder)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "DENIALOPS_API_KEYS": f"{KEY}:scrubber",
        "DENIALOPS_DATABASE_URL": f"sqlite:///{folder / 'audit.db'}",
        "OMP_NUM_THREADS": "1",
        # mlflow models serve execs `uvicorn` by name: the venv's bin must be on PATH.
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    os.environ.update(env)
    train_denial_model(data, Settings())
    claims = generate(args.requests * 3, seed=99).tables
    bodies = claim_bodies(claims, args.requests)
    # The hook's claims go out now, after everything the state has seen (a claim dated
    # earlier is featured as of its own date, a slower path the hook does not take).
    for body in bodies:
        body["submission_date"] = (history.as_of + timedelta(days=1)).isoformat()
    ours, answers = time_server(
        [sys.executable, "-m", "denialops.cli", "serve", "--port", "{port}"],
        "/readyz",
        [("/v1/claims/score", {"claims": [body]}) for body in bodies],
        env,
        folder,
        headers={"Authorization": f"Bearer {KEY}"},
    )
    register_challenger("denial-risk")
    shadowed, _ = time_server(
        [sys.executable, "-m", "denialops.cli", "serve", "--port", "{port}"],
        "/readyz",
        [("/v1/claims/score", {"claims": [body]}) for body in bodies],
        {**env, "DENIALOPS_SHADOW_SAMPLE": "1.0"},
        folder,
        headers={"Authorization": f"Bearer {KEY}"},
    )
    kept = shadow_scores(env["DENIALOPS_DATABASE_URL"])
    rows = [mlflow_rows(claims, body) for body in bodies]
    theirs, _ = time_server(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            "models:/denial-risk@champion",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            "{port}",
            "--workers",
            "1",
        ],
        "/ping",
        [("/invocations", {"dataframe_split": r}) for r in rows],
        env,
        folder,
    )
    print(f"one claim per request over HTTP, {len(ours)} requests each, sequential on loopback:")
    print(
        f"  denialops serve, with drivers and fixes: p50 {pct(ours, 50):.1f} ms, "
        f"p99 {pct(ours, 99):.1f} ms"
    )
    bands = [json.loads(answer)["results"][0]["band"] for answer in answers]
    explained = [t for t, band in zip(ours, bands, strict=True) if band != "pass"]
    print(
        f"    of which explained (review or hold: drivers from TreeSHAP): {len(explained)} "
        f"of {len(ours)}, p50 {pct(explained, 50):.1f} ms, p99 {pct(explained, 99):.1f} ms"
    )
    print(
        f"  the same with every request shadow scored by a challenger: p50 "
        f"{pct(shadowed, 50):.1f} ms, p99 {pct(shadowed, 99):.1f} ms "
        f"(difference p50 {pct(shadowed, 50) - pct(ours, 50):+.1f} ms, "
        f"p99 {pct(shadowed, 99) - pct(ours, 99):+.1f} ms; "
        f"{kept} shadow scores kept of {len(shadowed)} requests)"
    )
    print(
        f"  mlflow models serve, P(denial) only:     p50 {pct(theirs, 50):.1f} ms, "
        f"p99 {pct(theirs, 99):.1f} ms"
    )
    print(f"  ratio of p50s (denialops / mlflow): {pct(ours, 50) / pct(theirs, 50):.2f}")
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
