"""Queue fixtures: the store on SQLite (a temporary file) and on PostgreSQL (a throwaway
schema), and one synthetic data directory with a recovery model fitted on it.

PostgreSQL runs when DENIALOPS_TEST_POSTGRES_URL names a server (`.ci/run` sets it);
each test gets its own schema, dropped afterwards, so runs sharing the server
(several CI jobs, several engineers) never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from data_contracts.reader import ContractData, read_data_dir
from model_bundle.recovery import RecoveryBundle
from queues.database import Database
from queues.drill import scratch_schema
from queues.store import WorkQueue
from settings import Settings
from synthetic import SyntheticData, generate, write_synthetic
from training.recovery import fit_recovery

POSTGRES_URL = os.environ.get("DENIALOPS_TEST_POSTGRES_URL", "")


class Clock:
    """A clock the test moves, so lease expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


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


@pytest.fixture(scope="package")
def queue_synthetic() -> SyntheticData:
    return generate(20_000, seed=5)


@pytest.fixture(scope="package")
def queue_data(queue_synthetic: SyntheticData, tmp_path_factory) -> ContractData:
    out = tmp_path_factory.mktemp("queue-data")
    write_synthetic(queue_synthetic, out)
    return read_data_dir(out)


@pytest.fixture(scope="package")
def recovery(queue_data: ContractData) -> RecoveryBundle:
    return fit_recovery(queue_data, Settings(max_boost_rounds=200)).bundle
