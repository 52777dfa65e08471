"""Loading a ranking into a filled work queue: the daily re-load that reconciles the queue.

ITEMS ranked denials are loaded into a fresh queue; then the same ranking less 5% of
its claims is loaded (those items close), then that ranking again (nothing changes).
SQLite, and PostgreSQL in a throwaway schema when `--postgres URL` or
DENIALOPS_TEST_POSTGRES_URL names a server.

Run: `.venv/bin/python benchmarks/bench_reconcile.py [--items 50000]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]`.
"""

from __future__ import annotations

import argparse
import time

from _databases import SKIPPED, add_postgres_option, backends, fresh_database
from _machine import describe_machine

from queues.drill import drill_items
from queues.store import WorkQueue
from settings import Settings

CLOSED_SHARE = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=50_000)
    add_postgres_option(parser)
    args = parser.parse_args()
    print(describe_machine())
    items = drill_items(args.items)
    kept = items.iloc[: round(len(items) * (1 - CLOSED_SHARE))]
    for backend in backends(args):
        with (
            fresh_database(backend, args.postgres) as url,
            WorkQueue.from_settings(Settings(database_url=url)) as queue,
        ):
            seconds = []
            for ranking in (items, kept, kept):
                started = time.perf_counter()
                counts = queue.load(ranking, actor="bench", policy_version="bench")
                seconds.append(time.perf_counter() - started)
        closed = len(items) - len(kept)
        assert counts.unchanged == len(kept), counts
        print(
            f"{backend:>10}: first load of {len(items):,} items {seconds[0]:.2f} s; "
            f"re-load closing {closed:,} {seconds[1]:.2f} s; the same again {seconds[2]:.2f} s"
        )
    if not args.postgres:
        print(SKIPPED)


if __name__ == "__main__":
    main()
