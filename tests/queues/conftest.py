"""Queue fixtures: the store on each database of `database_url` (tests/conftest.py), a
clock the test moves, and one synthetic data directory with a recovery model fitted on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from data_contracts.reader import ContractData, read_data_dir
from model_bundle.recovery import RecoveryBundle
from queues.database import Database
from queues.store import WorkQueue
from settings import Settings
from synthetic import SyntheticData, generate, write_synthetic
from training.recovery import fit_recovery


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
