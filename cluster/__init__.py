"""The Dask cluster the `dask` engine runs on: one place that connects to it.

`--engine dask` on `features`, `train`, `score` and `queue rank` runs its partitioned
work through a dask.distributed Client. With `DENIALOPS_DASK_SCHEDULER` set it joins
that scheduler (any Dask deployment: Kubernetes, YARN, a cloud service, `dask
scheduler` by hand); without, it starts a LocalCluster sized to this machine and
closes it afterwards. The pandas engine stays the embedded default and needs none of it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from settings import Settings

log = logging.getLogger(__name__)


class Engine(StrEnum):
    """Where a batch command computes: in this process (pandas) or on a Dask cluster."""

    pandas = "pandas"
    dask = "dask"


def worker_memory(settings: Settings, workers: int) -> int:
    """Bytes each LocalCluster worker may use: the machine's memory less the driver's share
    (`dask_driver_memory_share`), split between the workers. Dask's own default splits the
    whole machine, as if the driver used nothing; at 5M claims a training driver holds
    about 8 GiB, and the machine ran out before any worker reached its limit and spilled."""
    import psutil

    total = psutil.virtual_memory().total
    return int(total * (1 - settings.dask_driver_memory_share) / workers)


@contextmanager
def dask_client(settings: Settings) -> Iterator[object]:
    """A Client on the configured scheduler, or on a LocalCluster of this machine.

    The local cluster runs one single-threaded worker process per core (the feature
    and scoring code is numpy/numba, which holds the GIL in places: processes, not
    threads, use the cores) and splits the machine's memory, less the driver's share
    (`worker_memory`), between them.
    """
    from dask.distributed import Client, LocalCluster

    if settings.dask_scheduler:
        log.info("dask: joining the scheduler at %s", settings.dask_scheduler)
        with Client(settings.dask_scheduler) as client:
            yield client
        return
    workers = settings.dask_workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=worker_memory(settings, workers),
        ) as cluster,
        Client(cluster) as client,
    ):
        log.info("dask: a LocalCluster of %d workers", workers)
        yield client
