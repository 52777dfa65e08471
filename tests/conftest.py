"""Shared fixtures: small synthetic data sets built by the generator, once per session, and
the work queue's database on SQLite and PostgreSQL (tests/queues/ and the queue routes).

PostgreSQL runs when DENIALOPS_TEST_POSTGRES_URL names a server (`.ci/run` sets it);
each test gets its own schema, dropped afterwards, so runs sharing the server
(several CI jobs, several engineers) never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from queues.drill import scratch_schema
from synthetic import SyntheticData, generate, write_synthetic

SMALL_CLAIMS = 60_000
POSTGRES_URL = os.environ.get("DENIALOPS_TEST_POSTGRES_URL", "")


@pytest.fixture(scope="session")
def synthetic_data() -> SyntheticData:
    return generate(SMALL_CLAIMS, seed=11)


@pytest.fixture(scope="session")
def synthetic_dir(synthetic_data: SyntheticData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic(synthetic_data, out)
    return out


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
