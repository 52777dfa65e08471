"""The LocalCluster `dask_client` starts leaves the driver its share of the machine."""

from __future__ import annotations

import psutil

from cluster import dask_client, worker_memory
from settings import Settings


def test_workers_split_what_the_driver_leaves() -> None:
    total = psutil.virtual_memory().total
    modest, greedy = Settings(dask_driver_memory_share=0.25), Settings(dask_driver_memory_share=0.5)

    assert 2 * worker_memory(modest, 2) <= 0.75 * total < 2 * worker_memory(modest, 2) + 2
    assert worker_memory(greedy, 2) < worker_memory(modest, 2)
    assert worker_memory(modest, 1) > worker_memory(modest, 2)


def test_the_local_cluster_workers_get_that_limit() -> None:
    settings = Settings(dask_workers=1, dask_driver_memory_share=0.4)

    with dask_client(settings) as client:
        workers = client.scheduler_info()["workers"].values()

    assert [worker["memory_limit"] for worker in workers] == [worker_memory(settings, 1)]
