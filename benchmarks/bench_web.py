"""The billers' work queue page with a large queue: server time of the first page, a
filter change, a sort change and a deep page, SQLite and PostgreSQL.

ITEMS open items (`queues.drill.drill_items`: 12 payers, every category and program, 200
clinicians) are loaded into a fresh database; a biller signs in, and each view is asked
for REPEAT times in process (FastAPI's TestClient: no network, so the time is the
server's: routing, the guard, the queries, the template). The figure the README quotes is
the p95 of the first page and of a filter change (htmx asks for the results only).

Run: `.venv/bin/python benchmarks/bench_web.py [--items 100000] [--repeat 40]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _databases import SKIPPED, add_postgres_option, backends, fresh_database
from _machine import describe_machine
from fastapi.testclient import TestClient
from pydantic import SecretStr

from queues.drill import drill_items
from queues.store import WorkQueue
from serving.api.app import create_app
from serving.loading import ModelUnavailableError
from settings import Settings

PASSWORD = "correct horse battery staple"
PARTIAL = {"HX-Request": "true", "HX-Target": "results"}
VIEWS = {
    "first page": ("/queue", {}),
    "filter change (payer + category)": (
        "/queue?payer_id=P03&denial_category=missing_auth",
        PARTIAL,
    ),
    "filter change (due within 14 days, $200+)": (
        "/queue?due_within_days=14&amount_min=200",
        PARTIAL,
    ),
    "sort by deadline": ("/queue?sort=deadline", PARTIAL),
    "page 500": ("/queue?page=500", {}),
}


def no_model(_settings: Settings):
    raise ModelUnavailableError("the page benchmark scores nothing")


def measure(url: str, items: int, repeat: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=url,
            session_secret=SecretStr("b" * 40),
            session_cookie_secure=False,
            policy_path=Path(folder) / "policy.yaml",
            key_store=Path(folder) / "keys.json",
        )
        with WorkQueue.from_settings(settings) as queue:
            started = time.perf_counter()
            queue.load(drill_items(items), actor="bench", policy_version="bench")
            print(f"    loaded {items:,} items in {time.perf_counter() - started:.1f} s")
        with TestClient(create_app(settings, loader=no_model)) as client:
            client.app.state.people.add("default", "ana", "biller", PASSWORD, by="bench")
            signed = client.post("/sign-in", data={"username": "ana", "password": PASSWORD})
            assert signed.status_code == 200, signed.text[:200]
            assert "Work queue" in signed.text, signed.text[:200]
            times: dict[str, list[float]] = {}
            for name, (path, headers) in VIEWS.items():
                client.get(path, headers=headers)  # warm: plans, templates
                runs = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    answer = client.get(path, headers=headers)
                    runs.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, answer.text[:200]
                times[name] = runs
            return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    add_postgres_option(parser)
    args = parser.parse_args()
    print(describe_machine())
    print(f"work queue page, {args.items:,} open items; {args.repeat} requests per view")
    for backend in backends(args):
        print(f"  {backend}:")
        with fresh_database(backend, args.postgres) as url:
            times = measure(url, args.items, args.repeat)
        for name, runs in times.items():
            print(f"    {name:<42} p50 {statistics.median(runs):6.1f} ms, p95 {p95(runs):6.1f} ms")
    if not args.postgres:
        print(SKIPPED)


if __name__ == "__main__":
    main()
