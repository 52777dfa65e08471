"""Shared fixtures: small synthetic data sets built by the generator, once per session, and
the service database on SQLite and PostgreSQL with a clock the test moves, and the work
queue on it (tests/storage/, tests/queues/ and the queue routes).

PostgreSQL runs when DENIALOPS_TEST_POSTGRES_URL names a server (`.ci/run` sets it);
each test gets its own schema, dropped afterwards, so runs sharing the server
(several CI jobs, several engineers) never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data_contracts.reader import ContractData, read_data_dir
from queues.drill import scratch_schema
from queues.store import WorkQueue
from settings import Settings
from storage.database import Database
from synthetic import SyntheticData, generate, write_synthetic
from tests.drift_worlds import DriftWorlds, drift_worlds

SMALL_CLAIMS = 60_000
PARITY_CLAIMS = 50_000
POSTGRES_URL = os.environ.get("DENIALOPS_TEST_POSTGRES_URL", "")


@pytest.fixture(scope="session")
def synthetic_data() -> SyntheticData:
    return generate(SMALL_CLAIMS, seed=11)


@pytest.fixture(scope="session")
def synthetic_dir(synthetic_data: SyntheticData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic(synthetic_data, out)
    return out


@pytest.fixture(scope="session")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> DriftWorlds:
    """The drift scenarios' data and a champion from before the change (tests/drift_worlds.py)."""
    return drift_worlds(tmp_path_factory.mktemp("drift-worlds"))


@pytest.fixture(scope="session")
def parity_data(tmp_path_factory: pytest.TempPathFactory) -> ContractData:
    """50,000 synthetic claims, read as the contract reader reads them: the Dask engine's
    parity with the pandas engine is measured on these (issue 18)."""
    out = tmp_path_factory.mktemp("parity")
    write_synthetic(generate(PARITY_CLAIMS, seed=18), out)
    return read_data_dir(out)


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    """A two-worker LocalCluster (processes, one thread each), as `cluster.dask_client`
    starts on a two-core machine: the Dask engine's tests share it."""
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(
            "PostgreSQL queue tests need DENIALOPS_TEST_POSTGRES_URL, e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test (.ci/run sets it)"
        )
    with scratch_schema(POSTGRES_URL) as url:
        yield url


class Clock:
    """A clock the test moves, so lease expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    with Database.from_settings(Settings(database_url=database_url)) as opened:
        yield opened


@pytest.fixture
def queue(database_url: str, clock: Clock) -> Iterator[WorkQueue]:
    with WorkQueue.from_settings(
        Settings(database_url=database_url, lease_seconds=600), clock=clock
    ) as opened:
        yield opened


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's synchronous API keeps an event loop running in the
    main thread from its first test on, after which a test calling `asyncio.run` fails
    ("cannot be called from a running event loop"), whatever order files are named in."""
    browser = [item for item in items if "page" in getattr(item, "fixturenames", ())]
    if browser:
        others = [item for item in items if "page" not in getattr(item, "fixturenames", ())]
        items[:] = others + browser
