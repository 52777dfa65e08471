"""Scoring latency over HTTP on loopback, and batch throughput without explanations.

Run: `.venv/bin/python benchmarks/bench_serve.py [--claims 50000] [--requests 300]`.
Trains a model on synthetic data into a throwaway MLflow store, starts
`denialops serve` twice on 127.0.0.1, each with its own audit database: one plain, one
with the champion registered as its own challenger too and a share of requests shadow
scored (`--shadow-sample`, DENIALOPS_SHADOW_SAMPLE: 0.1 by default; 1, every request, is
the worst case). Both are up at once but only one is asked at a time: in each
of `--rounds` rounds, each is sent the `--requests` one-claim requests one after another
(bounded in count and time), the first to go alternating, so a machine shared with other
work slows both alike; the shadowed one is then given time to keep its shadow scores before
the other is timed. Reports each round's p50/p99 and the median of the rounds' differences
(what shadow scoring costs the answers), with the machine's load average; then
`mlflow models serve` on the same claims, and `Scorer.bundle.score_features` on every
test-period claim (no explanations).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def serving(command: list[str], ready: str, env: dict, folder: Path) -> Iterator[int]:
    """A server on a free loopback port, once `ready` answers 200; its port."""
    port = free_port()
    server = subprocess.Popen(
        [part.replace("{port}", str(port)) for part in command],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
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
        client.close()
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def time_requests(
    port: int, requests: list[tuple[str, dict]], headers: dict | None = None
) -> tuple[list[float], list[bytes]]:
    """Each request in turn, timed; the timings and the answers."""
    # The standard library's keep-alive client: what is timed is the server, not a
    # heavier client's own overhead (httpx2 adds about a millisecond a request).
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    timings, answers = [], []
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
    return timings, answers


def shadow_counts(port: int) -> dict[str, int]:
    """The service's shadow counters (/metrics): scored claims, dropped and failed requests."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    client.request("GET", "/metrics")
    text = client.getresponse().read().decode()
    client.close()
    prefix = "denialops_shadow_"
    return {
        line.split()[0].removeprefix(prefix).split("_")[0]: int(float(line.split()[1]))
        for line in text.splitlines()
        if line.startswith(prefix)
    }


def load() -> str:
    """The machine's load average (1, 5, 15 minutes): how shared it was."""
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def register_challenger(name: str) -> str:
    """The champion's model registered again as a new version under the `challenger` alias:
    the same work as a real challenger, so the shadow run measures what shadowing costs."""
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias(name, "champion")
    version = client.create_model_version(name, champion.source, champion.run_id).version
    client.set_registered_model_alias(name, "challenger", version)
    return str(version)


def shadow_scores(database_url: str) -> int:
    """Shadow scores kept in a service's scoring audit."""
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        query = "SELECT count(*) FROM scoring_audit WHERE role = 'shadow'"
        found = connection.exec_driver_sql(query).scalar()
    engine.dispose()
    return int(found or 0)


def settled(port: int, requests: int, sample: float, patience: float = 60.0) -> dict[str, int]:
    """The shadowed service's counts once it is done with a round, before the other service
    is timed: all `requests` (of one claim each) scored, dropped or failed when every one is
    sampled; else (which were sampled is not counted) once the counts stood still for a
    second; or `patience` seconds passed."""
    deadline = time.monotonic() + patience
    counts, still_since = shadow_counts(port), time.monotonic()
    while time.monotonic() < deadline:
        if sample >= 1 and sum(counts.values()) >= requests:
            break
        if sample < 1 and time.monotonic() - still_since >= 1.0:
            break
        time.sleep(0.2)
        now = shadow_counts(port)
        if now != counts:
            counts, still_since = now, time.monotonic()
    return counts


def compare_shadow(
    command: list[str],
    requests: list[tuple[str, dict]],
    env: dict,
    folder: Path,
    rounds: int,
    sample: float,
) -> tuple[list[float], list[bytes]]:
    """Both services up, timed in turn for `rounds` rounds (see the module's docstring);
    prints each round and the median differences; the plain service's timings and answers."""
    plain_env = {**env, "DENIALOPS_DATABASE_URL": f"sqlite:///{folder / 'audit-plain.db'}"}
    shadow_url = f"sqlite:///{folder / 'audit-shadow.db'}"
    shadow_env = {
        **env,
        "DENIALOPS_DATABASE_URL": shadow_url,
        "DENIALOPS_SHADOW_SAMPLE": str(sample),
    }
    headers = {"Authorization": f"Bearer {KEY}"}
    warm_up = requests[:20]
    with (
        serving(command, "/readyz", plain_env, folder) as plain,
        serving(command, "/readyz", shadow_env, folder) as shadowed,
    ):
        time_requests(plain, warm_up, headers)
        time_requests(shadowed, warm_up, headers)
        counts = settled(shadowed, len(warm_up), sample, patience=300)  # challenger loaded
        print(f"  both services up and warmed up (shadow counts {counts}), {load()}")
        sent = len(warm_up)
        ours, answers, differences = [], [], []
        for round_ in range(rounds):
            order = [("plain", plain), ("shadow", shadowed)]
            timed: dict[str, list[float]] = {}
            for name, port in order if round_ % 2 == 0 else order[::-1]:
                before = load()
                timed[name], answered = time_requests(port, requests, headers)
                if name == "plain":
                    ours += timed[name]
                    answers += answered
                else:
                    sent += len(timed[name])
                    counts = settled(shadowed, sent, sample)
                print(
                    f"  round {round_ + 1} {name:>6}: p50 {pct(timed[name], 50):.1f} ms, "
                    f"p99 {pct(timed[name], 99):.1f} ms ({len(timed[name])} requests; "
                    f"{before} before, {load()} after"
                    + (f"; shadow counts so far {counts})" if name == "shadow" else ")")
                )
            p50 = pct(timed["shadow"], 50) - pct(timed["plain"], 50)
            p99 = pct(timed["shadow"], 99) - pct(timed["plain"], 99)
            differences.append((p50, p99))
            print(f"  round {round_ + 1} difference: p50 {p50:+.1f} ms, p99 {p99:+.1f} ms")
    print(
        f"  a share {sample:g} of requests shadow scored, median of the rounds' differences: p50 "
        f"{float(np.median([d[0] for d in differences])):+.1f} ms, p99 "
        f"{float(np.median([d[1] for d in differences])):+.1f} ms; "
        f"{shadow_scores(shadow_url)} shadow scores kept of {sent} requests (scored "
        f"{counts['scored']}, dropped {counts['dropped']}, failed {counts['failed']}); {load()}"
    )
    return ours, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=600, help="a round's, to each service")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--shadow-sample",
        type=float,
        default=0.1,
        help="DENIALOPS_SHADOW_SAMPLE of the shadowed service (1: every request, the worst case)",
    )
    parser.add_argument(
        "--shadow-only",
        action="store_true",
        help="stop after the plain and shadowed services (MLflow's takes minutes)",
    )
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
    register_challenger("denial-risk")
    print(f"one claim per request over HTTP, sequential on loopback, {args.rounds} rounds:")
    ours, answers = compare_shadow(
        [sys.executable, "-m", "denialops.cli", "serve", "--port", "{port}"],
        [("/v1/claims/score", {"claims": [body]}) for body in bodies],
        env,
        folder,
        args.rounds,
        args.shadow_sample,
    )
    if args.shadow_only:
        return
    rows = [mlflow_rows(claims, body) for body in bodies]
    mlflow_serve = [
        *(sys.executable, "-m", "mlflow", "models", "serve"),
        *("-m", "models:/denial-risk@champion", "--env-manager", "local"),
        *("-h", "127.0.0.1", "-p", "{port}", "--workers", "1"),
    ]
    with serving(mlflow_serve, "/ping", env, folder) as port:
        theirs, _ = time_requests(port, [("/invocations", {"dataframe_split": r}) for r in rows])
    print(f"the plain service's requests of all rounds ({len(ours)}), {load()}:")
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
        f"  mlflow models serve, P(denial) only:     p50 {pct(theirs, 50):.1f} ms, "
        f"p99 {pct(theirs, 99):.1f} ms ({len(theirs)} requests)"
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
