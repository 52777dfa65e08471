"""Login throttle counters in the service's database (`login_throttle`), shared by every
process of the service and kept across restarts.

`DatabaseThrottleStore` implements `accounts.throttle.ThrottleStore`. Each `update` is one
write transaction: on SQLite `Database.writing` takes the write lock up front (BEGIN
IMMEDIATE), so updates are serial; on PostgreSQL the row is read FOR UPDATE, and the first
failure of a counter, which has no row to lock, inserts under a savepoint: if another
process inserted it first, the insert fails and the change is applied to its row, locked.
Either way two failures at the same moment count as two.

A counter's row is keyed by the SHA-256 of its subject, tenant and name: people type their
password into the username field, and what was typed must not be kept. The table is not a
tenant table (a client address's counter spans tenants), so it is read and written through
the bare engine, which the tenancy hook lets through for tables it does not scope.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from accounts.throttle import FailureRecord, ThrottleKey
from storage.database import Database
from storage.schema import LOGIN_THROTTLE

_ATTEMPTS = 2
"""An update meets at most one concurrent first insert: the second attempt finds the row."""


def stored_key(key: ThrottleKey) -> str:
    """The row key of a counter: SHA-256 of subject, tenant and name (NUL-separated, which
    none of them contains)."""
    return hashlib.sha256(f"{key.subject}\0{key.tenant}\0{key.name}".encode()).hexdigest()


class DatabaseThrottleStore:
    """The throttle's counters in `database` (see the module docstring)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def get(self, key: ThrottleKey) -> FailureRecord | None:
        query = sa.select(LOGIN_THROTTLE).where(LOGIN_THROTTLE.c.key == stored_key(key))
        with self._database.engine.connect() as connection:
            return _record(connection.execute(query).one_or_none())

    def update(
        self, key: ThrottleKey, change: Callable[[FailureRecord | None], FailureRecord | None]
    ) -> FailureRecord | None:
        row_key = stored_key(key)
        locked = sa.select(LOGIN_THROTTLE).where(LOGIN_THROTTLE.c.key == row_key).with_for_update()
        with self._database.writing() as connection:
            for _ in range(_ATTEMPTS):
                before = _record(connection.execute(locked).one_or_none())
                after = change(before)
                if after is None:
                    if before is not None:
                        connection.execute(
                            LOGIN_THROTTLE.delete().where(LOGIN_THROTTLE.c.key == row_key)
                        )
                    return None
                values = {
                    "failures": after.failures,
                    "last_failure": after.last_failure,
                    "locked_until": after.locked_until,
                }
                if before is not None:
                    connection.execute(
                        LOGIN_THROTTLE.update()
                        .where(LOGIN_THROTTLE.c.key == row_key)
                        .values(**values)
                    )
                    return after
                try:
                    with connection.begin_nested():
                        connection.execute(
                            LOGIN_THROTTLE.insert().values(
                                key=row_key, subject=str(key.subject), **values
                            )
                        )
                except sa.exc.IntegrityError:
                    continue  # another process counted the first failure: count on its row
                return after
        raise RuntimeError(f"the {key.subject} throttle counter could not be updated")

    def purge(self, older_than: datetime) -> int:
        stale = LOGIN_THROTTLE.delete().where(
            LOGIN_THROTTLE.c.last_failure < older_than,
            sa.or_(
                LOGIN_THROTTLE.c.locked_until.is_(None),
                LOGIN_THROTTLE.c.locked_until < older_than,
            ),
        )
        with self._database.writing() as connection:
            return connection.execute(stale).rowcount


def _record(row: sa.Row | None) -> FailureRecord | None:
    if row is None:
        return None
    return FailureRecord(row.failures, row.last_failure, row.locked_until)
