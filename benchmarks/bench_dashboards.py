"""The dashboards over a million claims: server time of each page, cold and with the KPI
cache warm (the cache is keyed by the data's version: a table file that changes empties it).

CLAIMS synthetic claims are written as Parquet (a base set copied with fresh claim ids, as
`bench_kpis.py` does) and served as the tenant's data directory; RevOps signs in, and each
page is asked for once cold (reading the directory is timed apart: it is paid once per
version of the data, by every page that reads it) and REPEAT times warm, in process
(FastAPI's TestClient: the time is the server's). The target: each page ≤ 1 s warm.

Run: `.venv/bin/python benchmarks/bench_dashboards.py [--claims 1000000] [--repeat 20]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _machine import describe_machine, peak_rss_mib
from bench_kpis import copies
from fastapi.testclient import TestClient
from pydantic import SecretStr

from data_contracts.reader import read_data_dir
from data_contracts.writer import write_table
from serving.api.app import create_app
from serving.loading import ModelUnavailableError
from settings import Settings
from synthetic import generate, write_synthetic

PASSWORD = "correct horse battery staple"
PAGES = {
    "Billing leadership": "/dashboards/leadership",
    "RevOps": "/dashboards/revops",
    "RevOps forecast card": "/dashboards/revops/forecast",
}
"""Timed in this order: a page's cold time includes the tables no page before it made."""


def no_model(_settings: Settings):
    raise ModelUnavailableError("the dashboards score nothing")


def write_copies(folder: Path, claims: int, base: int) -> None:
    """`claims` claims in `folder` as Parquet: `base` generated, copied with fresh ids."""
    made = folder / "base"
    write_synthetic(generate(base, 5), made, "parquet")
    data = read_data_dir(made)
    many = copies(data, -(-claims // len(data.claims)))
    for name, frame in many.tables().items():
        write_table(folder / "data", name, frame, "parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(describe_machine())
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_copies(root, args.claims, args.base)
        settings = Settings(
            database_url=f"sqlite:///{root / 'bench.db'}",
            session_secret=SecretStr("d" * 40),
            session_cookie_secure=False,
            policy_path=root / "policy.yaml",
            key_store=root / "keys.json",
            queue_data_dir=root / "data",
        )
        with TestClient(create_app(settings, loader=no_model)) as client:
            client.app.state.people.add("default", "rita", "revops", PASSWORD, by="bench")
            signed = client.post(
                "/sign-in",
                data={"username": "rita", "password": PASSWORD},
                follow_redirects=False,  # home is a dashboard: its first view is timed below
            )
            assert signed.status_code == 303, signed.text[:200]
            started = time.perf_counter()
            data = client.app.state.tenant_data.get("default", settings)
            print(f"read {len(data.claims):,} claims in {time.perf_counter() - started:.1f} s")
            for name, path in PAGES.items():
                started = time.perf_counter()
                answer = client.get(path)
                cold = time.perf_counter() - started
                assert answer.status_code == 200, answer.text[:300]
                runs = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    assert client.get(path).status_code == 200
                    runs.append((time.perf_counter() - started) * 1000)
                p95 = statistics.quantiles(runs, n=20)[-1]
                print(
                    f"{name:>20}: cold {cold:.2f} s; warm p50 {statistics.median(runs):.0f} ms, "
                    f"p95 {p95:.0f} ms (target ≤ 1 s)"
                )
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
