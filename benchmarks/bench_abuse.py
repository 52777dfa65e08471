"""Start-up time, and whether one abusive request can freeze the service.

Run: `PYTHONPATH=. .venv/bin/python benchmarks/bench_abuse.py [--claims 20000]`.
Trains a model on synthetic data into a throwaway MLflow store, starts `denialops serve`
on 127.0.0.1 and times it until /readyz answers 200. Then sends, one at a time,
(a) a 300 MB body without a key, (b) a valid body just under the scoring route's limit
with a key, (c) a body over that limit with a key; during each, /healthz is polled and
its p50/p99/max latency printed with the status the request got and the server's peak
RSS. Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _machine import describe_machine
from _synthetic import synthetic_store
from bench_serve import KEY, claim_bodies, free_port, pct

from serving.api.schemas import MAX_CLAIMS
from settings import Settings
from synthetic import generate
from training.train import train_denial_model

CHUNK = b"x" * 2**20
PHASE_SECONDS = 120
POLL_SECONDS = 0.01


def send_body(port: int, path: str, headers: dict[str, str], body: bytes, repeat: int = 1):
    """POST `body` (`repeat` times over, as one body) on a raw socket, stopping as soon as
    the server answers; the status (0 if none), seconds to the answer and bytes sent."""
    started = time.perf_counter()
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body) * repeat}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=PHASE_SECONDS) as sock:
        sock.sendall(head.encode())
        sent = _send_until_answered(sock, body, repeat)
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            answer = sock.recv(4096)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, time.perf_counter() - started, sent


def _send_until_answered(sock: socket.socket, body: bytes, repeat: int) -> int:
    sent = 0
    try:
        for _ in range(repeat):
            for offset in range(0, len(body), len(CHUNK)):
                if select.select([sock], [], [], 0)[0]:  # answered (or closed) already
                    return sent
                sock.sendall(body[offset : offset + len(CHUNK)])
                sent += len(body[offset : offset + len(CHUNK)])
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def poll_health(port: int, done: threading.Event) -> list[float]:
    """/healthz latencies, one request every POLL_SECONDS until `done` (at most a phase)."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=PHASE_SECONDS)
    timings = []
    stop = time.monotonic() + PHASE_SECONDS
    while not done.is_set() and time.monotonic() < stop:
        t0 = time.perf_counter()
        client.request("GET", "/healthz")
        client.getresponse().read()
        timings.append(time.perf_counter() - t0)
        time.sleep(POLL_SECONDS)
    client.close()
    return timings


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
        / 1024
    )


def reset_peak(pid: int) -> None:
    """Start the peak-RSS count afresh (Linux: writing 5 to clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def heavy_body(tables: dict, limit: int) -> bytes:
    """A valid scoring request of MAX_CLAIMS claims, given extra service lines (copies of
    their first) until the body is just under `limit` bytes."""
    claims = claim_bodies(tables, MAX_CLAIMS)
    size = len(json.dumps({"claims": claims}))
    for claim in claims:
        first = claim["lines"][0]
        line_bytes = len(json.dumps(first)) + 2
        extra = min((limit - 20_000 - size) // line_bytes, 12, 50 - len(claim["lines"]))
        for _ in range(max(extra, 0)):
            claim["lines"].append({**first, "line_number": len(claim["lines"]) + 1})
        claim["total_charge"] = round(sum(line["line_charge"] for line in claim["lines"]), 2)
        size += max(extra, 0) * line_bytes
    body = json.dumps({"claims": claims}).encode()
    assert len(body) < limit, len(body)
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=20_000)
    args = parser.parse_args()
    print(describe_machine())
    folder = Path(tempfile.mkdtemp(prefix="bench-abuse-"))
    data, _, _ = synthetic_store(args.claims, 1, folder)
    settings = Settings()
    train_denial_model(data, settings)
    limit = settings.max_body_routes["POST /v1/claims/score"]
    env = {
        **os.environ,
        "DENIALOPS_API_KEYS": f"{KEY}:scrubber",
        "DENIALOPS_DATABASE_URL": f"sqlite:///{folder / 'service.db'}",
        "OMP_NUM_THREADS": "1",
    }
    port = free_port()
    log_path = folder / "serve.log"
    with log_path.open("w") as log:
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "denialops.cli", "serve", "--port", str(port)],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=log,
        )
    try:
        ready = None
        while time.perf_counter() - started < PHASE_SECONDS and ready is None:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/readyz")
                if probe.getresponse().status == 200:
                    ready = time.perf_counter() - started
                probe.close()
            except OSError:
                time.sleep(0.1)
        print(
            f"start-up: denialops serve answered /readyz 200 after {ready:.1f} s "
            f"(model trained on {args.claims:,} synthetic claims); its log:"
        )
        print("".join(f"  {line}" for line in log_path.read_text().splitlines(keepends=True)))
        bearer = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        heavy = heavy_body(generate(MAX_CLAIMS * 3, seed=99).tables, limit)
        phases = [
            ("(a) 300 MB without a key", {"Content-Type": "application/json"}, CHUNK, 300),
            (
                f"(b) {len(heavy) / 2**20:.2f} MiB, {MAX_CLAIMS} claims, with a key",
                bearer,
                heavy,
                1,
            ),
            (f"(c) 62 MiB (limit {limit / 2**20:.0f} MiB) with a key", bearer, CHUNK, 62),
        ]
        for name, headers, body, repeat in phases:
            reset_peak(server.pid)
            done = threading.Event()
            with ThreadPoolExecutor(1) as pool:
                polling = pool.submit(poll_health, port, done)
                time.sleep(0.1)
                status, seconds, sent = send_body(port, "/v1/claims/score", headers, body, repeat)
                time.sleep(0.1)
                done.set()
                health = polling.result()
            print(
                f"{name}: status {status} after {seconds:.2f} s ({sent / 2**20:.1f} MiB sent); "
                f"/healthz meanwhile p50 {pct(health, 50):.1f} ms, p99 {pct(health, 99):.1f} ms, "
                f"max {max(health) * 1e3:.1f} ms ({len(health)} polls); "
                f"server peak RSS {peak_rss_mib(server.pid):.0f} MiB"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
