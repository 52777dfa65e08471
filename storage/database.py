"""The service's one database (`settings.database_url`): engine, write transactions, migrations.

The work queue, the policy versions, the API keys and the audit trail share it,
and must share one `Database` per process, so that on SQLite every writer of the
process waits on the same lock (see `writing`).

- SQLite (one writer at a time; SQLAlchemy drops SKIP LOCKED there): writes
  start with BEGIN IMMEDIATE, taking the write lock up front so two writers
  cannot deadlock upgrading read locks. WAL lets readers proceed during writes;
  `busy_timeout` makes a writer of another process wait for the lock.
- PostgreSQL: ordinary transactions; whoever needs more (the audit trail's
  order, a lease) locks what it needs inside them. Each begins by setting
  `denialops.tenant` for the transaction, which row-level security reads.

Tenant data is read and written through `scope(tenant)` (or `admin()`, for
migrations and cross-tenant admin commands): `storage/tenancy.py` scopes every
statement, and refuses statements on tenant tables from the bare `engine`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Self

import sqlalchemy as sa

from settings import Settings, get_settings
from storage import migrate, tenancy
from storage.tenancy import ALL_TENANTS, DEFAULT_TENANT, TENANT, check_tenant

WRITE = "denialops_queue_write"
"""Execution option marking a write transaction (BEGIN IMMEDIATE on SQLite)."""
NAME_LENGTH = 64
"""Who acts (a biller, a lead, whoever saves a policy or makes a key): the audit trail's
actor column holds this many characters."""


def is_name(value: object) -> bool:
    """A non-blank name that fits the audit trail's actor column."""
    return isinstance(value, str) and bool(value.strip()) and len(value) <= NAME_LENGTH


def utc_now() -> datetime:
    """The stores' default clock: aware, in UTC (every stored instant is)."""
    return datetime.now(UTC)


class NoRowsLogged(logging.Filter):
    """Drop SQLAlchemy's DEBUG records of each row fetched: queue rows hold patient ids,
    and logs go where PHI may not (hide_parameters covers statements' parameters only)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


logging.getLogger("sqlalchemy.engine.Engine").addFilter(NoRowsLogged())


class Database:
    """An engine on the service's database, migrated to the latest revision on open.

    Methods are safe to call from many threads: each transaction takes its own
    pooled connection.
    """

    def __init__(self, database_url: str, *, pool_size: int, busy_timeout_seconds: float):
        # Queue rows and the trail hold patient ids: statements' parameters never go to
        # logs or error messages (hide_parameters), nor rows fetched (`NoRowsLogged`).
        url = sa.make_url(database_url)
        self._write_lock: contextlib.AbstractContextManager[Any]
        backend = url.get_backend_name()
        if backend == "sqlite":
            if url.database in (None, "", ":memory:"):
                raise ValueError("the work queue needs an SQLite file, not an in-memory database")
            self.engine = sa.create_engine(
                url,
                pool_size=pool_size,
                connect_args={"timeout": busy_timeout_seconds},
                hide_parameters=True,
            )
            sa.event.listen(self.engine, "connect", _sqlite_connect)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
            # One writer at a time: this process's threads wait their turn here, woken
            # as soon as the lock is free; left to SQLite's busy handler they would poll
            # with sleeps of up to 100 ms. Other processes still meet the busy timeout.
            self._write_lock = threading.Lock()
        elif backend == "postgresql":
            self.engine = sa.create_engine(
                url, pool_size=pool_size, pool_pre_ping=True, hide_parameters=True
            )
            sa.event.listen(self.engine, "begin", _postgresql_begin)
            self._write_lock = contextlib.nullcontext()
        else:
            raise ValueError(f"the work queue runs on SQLite or PostgreSQL, not {url.drivername}")
        tenancy.install(self.engine)
        self.migrate()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Database:
        """The database in `database_url` with the configured pool and busy timeout."""
        settings = settings or get_settings()
        return cls(
            settings.database_url,
            pool_size=settings.queue_pool_size,
            busy_timeout_seconds=settings.queue_busy_timeout_seconds,
        )

    def migrate(self) -> None:
        """Bring the tables to the latest migration (idempotent; run on open)."""
        with self.admin().writing() as connection:
            migrate.upgrade(connection)

    def scope(self, tenant: str = DEFAULT_TENANT) -> Scope:
        """This database as `tenant` sees it: every statement scoped to its rows."""
        return Scope(self, check_tenant(tenant))

    def admin(self) -> Scope:
        """Every tenant's rows, unscoped: for migrations and cross-tenant admin commands only."""
        return Scope(self, ALL_TENANTS)

    @contextlib.contextmanager
    def writing(self, engine: sa.Engine | None = None) -> Iterator[sa.Connection]:
        """A write transaction on `engine` (a scope's; default: the bare engine, which
        refuses tenant data): BEGIN IMMEDIATE on SQLite, committed on exit."""
        writer = (engine or self.engine).execution_options(**{WRITE: True})
        with self._write_lock, writer.begin() as connection:
            yield connection

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Scope:
    """The database as one tenant (or an admin, `ALL_TENANTS`) sees it: the stores' handle.

    `engine` and `writing()` open connections carrying the tenant, which
    `storage/tenancy.py` applies to every statement (and PostgreSQL's row-level security
    to every row).
    """

    def __init__(self, database: Database, tenant: str):
        self.database = database
        self.tenant = tenant
        self.engine = database.engine.execution_options(**{TENANT: tenant})

    def writing(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """A write transaction as this tenant (see `Database.writing`)."""
        return self.database.writing(self.engine)


def is_write_transaction(connection: sa.Connection) -> bool:
    """Whether `connection` was opened by `Database.writing` (so holds SQLite's write lock)."""
    return bool(connection.get_execution_options().get(WRITE, False))


def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:
    # SQLAlchemy's recipe: stop the driver's own BEGIN so `_sqlite_begin` decides.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


def _postgresql_begin(connection: sa.Connection) -> None:
    # Row-level security's tenant, for this transaction only (set_config's `true`: SET LOCAL).
    tenant = connection.get_execution_options().get(TENANT)
    if tenant is not None:
        connection.exec_driver_sql(
            "SELECT set_config('denialops.tenant', %(tenant)s, true)", {"tenant": tenant}
        )


def _sqlite_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if is_write_transaction(connection) else "BEGIN")
