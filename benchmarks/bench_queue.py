"""Work queue under concurrent billers: lease latency and throughput, SQLite and PostgreSQL.

BILLERS threads each lease the next item and resolve it until ITEMS items are
done (`queues.drill`, the same drill as the concurrency test). Each repeat runs on
a fresh database: a temporary SQLite file, and a throwaway schema on PostgreSQL
when `--postgres URL` or DENIALOPS_TEST_POSTGRES_URL names a server.

Run: `.venv/bin/python benchmarks/bench_queue.py [--billers 16] [--items 2000] [--repeat 3]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]`.
"""

from __future__ import annotations

import argparse
import statistics

from _databases import SKIPPED, add_postgres_option, backends, fresh_database
from _machine import describe_machine

from queues.drill import DrillResult, drill_items, work_queue
from queues.store import WorkQueue
from settings import Settings


def drill(url: str, billers: int, items: int) -> DrillResult:
    settings = Settings(database_url=url, queue_pool_size=billers)
    with WorkQueue.from_settings(settings) as queue:
        queue.load(drill_items(items), actor="bench", policy_version="bench")
        return work_queue(queue, billers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--billers", type=int, default=16)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    add_postgres_option(parser)
    args = parser.parse_args()
    print(describe_machine())
    print(f"{args.billers} billers lease and resolve {args.items:,} items; median of {args.repeat}")
    for backend in backends(args):
        runs = []
        for _ in range(args.repeat):
            with fresh_database(backend, args.postgres) as url:
                runs.append(drill(url, args.billers, args.items))
        p50 = statistics.median(run.lease_ms(50) for run in runs)
        p99 = statistics.median(run.lease_ms(99) for run in runs)
        rate = statistics.median(run.items_per_second for run in runs)
        print(
            f"{backend:>10}: lease p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
            f"{rate:,.0f} items/s (lease + resolve)"
        )
    if not args.postgres:
        print(SKIPPED)


if __name__ == "__main__":
    main()
