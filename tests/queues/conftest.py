"""The queue on SQLite (a temporary file) and on PostgreSQL (a throwaway schema).

PostgreSQL runs when DENIALOPS_TEST_POSTGRES_URL names a server (`.ci/run` sets it);
each test gets its own schema, dropped afterwards, so runs sharing the server
(several CI jobs, several engineers) never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from denialops.config import Settings
from queues.store import WorkQueue

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
    schema = f"queue_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, poolclass=sa.NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(database_url: str, clock: Clock) -> Iterator[WorkQueue]:
    with WorkQueue.from_settings(
        Settings(database_url=database_url, lease_seconds=600), clock=clock
    ) as opened:
        yield opened
