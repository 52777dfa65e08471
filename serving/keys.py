"""API keys in the service's database (`api_keys`), and the ring that admits callers.

`KeyStore` adds, revokes and lists keys; the `denialops keys` commands and the
service share it. A key is shown once when created and stored only as its
sha256; a revoked key stays listed with its revocation time. Creating and
revoking a key are written to the audit trail.

`KeyRing` is what the running service asks (`caller(key)`). It keeps the active
keys in memory for `key_cache_seconds`, then reads them again, so a key added or
revoked with the CLI takes effect within that time, without a restart. Each
key's last use is stamped at most once per `key_last_used_seconds`, written by a
background thread, so no request waits for a database write.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from serving.api.security import ROLES, Caller, digest
from storage import audit
from storage.database import NAME_LENGTH, Database, Scope, is_name, utc_now
from storage.schema import API_KEYS, UTCDateTime
from storage.tenancy import DEFAULT_TENANT, check_tenant

log = logging.getLogger(__name__)
_IMPORTED_BY = "key-file-import"


class KeyStoreError(ValueError):
    """A key operation the store refuses; the message names the key id or the field."""


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a key: never the key, nor its hash."""

    key_id: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyStore:
    """`tenant`'s API keys in `database` (a key belongs to one tenant).

    `legacy_file` is the JSON key store of earlier versions (`settings.key_store`): it
    is imported while the table holds no key at all, that is once, on upgrading. An
    entry written into the file later never becomes a key (keys are made with
    `keys add`, audited), and a key revoked after its import stays revoked. The file is
    left in place and may be deleted once imported.
    """

    def __init__(
        self,
        database: Database,
        *,
        tenant: str = DEFAULT_TENANT,
        legacy_file: Path | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._database = database.scope(tenant)
        self._every_tenant = database.admin()
        self._clock = clock
        if legacy_file is not None and legacy_file.exists():
            self._import(legacy_file)

    def add(self, role: str, *, by: str) -> tuple[str, str]:
        """A new random key with `role`; returns (key, key_id). The key is not kept."""
        if role not in ROLES:
            raise KeyStoreError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        _check_name(by)
        key = secrets.token_urlsafe(32)
        key_id = digest(key)[:12]
        now = self._clock()
        with self._database.writing() as connection:
            connection.execute(
                API_KEYS.insert().values(
                    key_id=key_id, sha256=digest(key), role=role, created_at=now, created_by=by
                )
            )
            audit.append(connection, [_event(now, by, "key_created", key_id, role)])
        log.info("API key %s (%s) created by %s", key_id, role, by)
        return key, key_id

    def revoke(self, key_id: str, *, by: str) -> KeyInfo:
        """Revoke `key_id` from now on; revoking a revoked key changes nothing."""
        _check_name(by)
        now = self._clock()
        with self._database.writing() as connection:
            row = connection.execute(
                sa.select(API_KEYS).where(API_KEYS.c.key_id == key_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise KeyStoreError(f"there is no API key with id {key_id!r} (see `keys list`)")
            if row.revoked_at is not None:
                return _info(row)
            row = connection.execute(
                API_KEYS.update()
                .where(API_KEYS.c.key_id == key_id)
                .values(revoked_at=now)
                .returning(*API_KEYS.c)
            ).one()
            audit.append(connection, [_event(now, by, "key_revoked", key_id, row.role)])
        log.info("API key %s revoked by %s", key_id, by)
        return _info(row)

    def list_keys(self) -> list[KeyInfo]:
        """Every key, revoked ones included, oldest first."""
        query = sa.select(API_KEYS).order_by(API_KEYS.c.created_at, API_KEYS.c.key_id)
        with self._database.engine.connect() as connection:
            return [_info(row) for row in connection.execute(query)]

    def active(self) -> dict[str, Caller]:
        """Key hash -> caller, for every key of the tenant not revoked."""
        return _active(self._database)

    def active_in_every_tenant(self) -> dict[str, Caller]:
        """Key hash -> caller (with its tenant), for every key not revoked, whatever its
        tenant: what the service admits a request by, since a key names its tenant (an
        admin-scoped read, as the key arrives before any tenant is known)."""
        return _active(self._every_tenant)

    def record_use(self, used: Mapping[str, datetime]) -> None:
        """Stamp each key id's last use (never moving it back in time)."""
        at = sa.bindparam("b_at", type_=UTCDateTime())
        stamp = (
            API_KEYS.update()
            .where(
                API_KEYS.c.key_id == sa.bindparam("b_key_id"),
                sa.or_(API_KEYS.c.last_used_at.is_(None), API_KEYS.c.last_used_at < at),
            )
            .values(last_used_at=at)
        )
        # Key ids are unique across tenants, and the ring stamps keys of every tenant.
        with self._every_tenant.writing() as connection:
            connection.execute(stamp, [{"b_key_id": k, "b_at": at} for k, at in used.items()])

    def _import(self, path: Path) -> None:
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise KeyStoreError(f"{path}: the JSON key store is not valid JSON: {error}") from error
        for index, entry in enumerate(entries if isinstance(entries, list) else [None]):
            if (
                not isinstance(entry, dict)
                or not {"key_id", "sha256", "role"} <= set(entry)
                or entry["role"] not in ROLES
            ):
                raise KeyStoreError(
                    f"{path}, entry {index}: expected key_id, sha256 and a role in "
                    f"{', '.join(ROLES)} (the JSON key store is imported into the database)"
                )
        now = self._clock()
        with self._database.writing() as connection:
            if connection.execute(sa.select(API_KEYS.c.key_id).limit(1)).first() is not None:
                return  # imported already, or keys were made since: the file is history
            new = list({entry["sha256"]: entry for entry in entries}.values())
            if not new:
                return
            connection.execute(
                API_KEYS.insert(),
                [
                    {
                        "key_id": entry["key_id"],
                        "sha256": entry["sha256"],
                        "role": entry["role"],
                        "created_at": now,
                        "created_by": _IMPORTED_BY,
                    }
                    for entry in new
                ],
            )
            audit.append(
                connection,
                [
                    _event(now, _IMPORTED_BY, "key_created", entry["key_id"], entry["role"], path)
                    for entry in new
                ],
            )
        log.info("imported %d API key(s) from %s into the database", len(new), path)


class KeyRing:
    """Key -> caller, for the running service: bootstrap keys, then the key store's.

    Bootstrap keys come from `DENIALOPS_API_KEYS`: comma-separated `key:role` (tenant
    `default`) or `key:role:tenant`. They are not in the database, so `keys revoke` cannot
    revoke them: remove one by changing the environment and restarting. Plain keys are
    never kept, nor logged.

    If the database cannot be read when the cache expires, the keys last read stay
    in use (and a warning is logged) until a read succeeds: a revocation made meanwhile
    needed the database too.
    """

    def __init__(
        self,
        env_keys: str,
        store: KeyStore | None,
        *,
        cache_seconds: float,
        last_used_seconds: float,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._bootstrap: dict[str, Caller] = {}
        entries = filter(None, (p.strip() for p in env_keys.split(",")))
        for position, entry in enumerate(entries, start=1):
            caller = _bootstrap_caller(entry, position)
            self._bootstrap[digest(entry.split(":", 1)[0])] = caller
        self._store = store
        self._cache_seconds = cache_seconds
        self._last_used_seconds = last_used_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._stored: dict[str, Caller] = {}
        self._read_at: datetime | None = None
        self._stamped: dict[str, datetime] = {}
        self._pending: dict[str, datetime] = {}
        self._flush_queued = False
        self._flush_lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="key-last-used")

    def caller(self, key: str) -> Caller | None:
        """The caller `key` stands for, or None for an unknown or revoked key."""
        hashed = digest(key)
        found = self._bootstrap.get(hashed)
        if found is not None or self._store is None:
            return found
        now = self._clock()
        found = self._stored_keys(now).get(hashed)
        if found is not None:
            self._note_use(found.name, now)
        return found

    def bootstrap_tenants(self) -> set[str]:
        """The tenants the bootstrap keys act in (the service checks they exist)."""
        return {caller.tenant for caller in self._bootstrap.values()}

    def stale(self) -> bool:
        """Whether the next `caller` would read the table. An async caller (the key check
        in front of every route) calls `refresh` in the thread pool first, so no database
        read ever waits on the event loop, where it would hold up every request."""
        with self._lock:
            return self._store is not None and (
                self._read_at is None
                or (self._clock() - self._read_at).total_seconds() >= self._cache_seconds
            )

    def refresh(self) -> None:
        """Re-read the stored keys if the cache ran out (a blocking database read)."""
        self._stored_keys(self._clock())

    def flush(self) -> None:
        """Write the last-use stamps noted so far (the background writer calls this)."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending, self._flush_queued = self._pending, {}, False
            if not pending or self._store is None:
                return
            try:
                self._store.record_use(pending)
            except sa.exc.SQLAlchemyError as error:
                log.warning(
                    "could not record the last use of %d API key(s): %s", len(pending), error
                )

    def close(self) -> None:
        """Write what is pending and stop the background writer."""
        self._writer.shutdown(wait=True)
        self.flush()

    def _stored_keys(self, now: datetime) -> dict[str, Caller]:
        with self._lock:
            stale = self._read_at is None or (
                (now - self._read_at).total_seconds() >= self._cache_seconds
            )
            if stale and self._store is not None:
                try:
                    self._stored = self._store.active_in_every_tenant()
                except sa.exc.SQLAlchemyError as error:
                    log.warning("could not re-read the API keys, using those last read: %s", error)
                self._read_at = now
            return self._stored

    def _note_use(self, key_id: str, now: datetime) -> None:
        with self._lock:
            last = self._stamped.get(key_id)
            if last is not None and (now - last).total_seconds() < self._last_used_seconds:
                return
            self._stamped[key_id] = self._pending[key_id] = now
            if self._flush_queued:
                return
            self._flush_queued = True
        self._writer.submit(self.flush)


def _bootstrap_caller(entry: str, position: int) -> Caller:
    """The caller of one `DENIALOPS_API_KEYS` entry, `key:role` or `key:role:tenant`; a
    bad entry is named by its `position` (1 = first) only: any part of it may be the key
    (an entry without a colon is nothing but the key)."""
    parts = entry.split(":")
    key, role = parts[0], parts[1] if len(parts) > 1 else ""
    tenant = parts[2] if len(parts) == 3 else DEFAULT_TENANT
    extra = len(parts) > 3
    if not key or extra or role not in ROLES or _bad_tenant(tenant):
        raise ValueError(
            f"DENIALOPS_API_KEYS entry #{position}: need key:role or "
            f"key:role:tenant with a role in {', '.join(ROLES)} and a tenant's name"
        )
    return Caller(digest(key)[:12], role, tenant)


def _bad_tenant(name: str) -> bool:
    try:
        check_tenant(name)
    except ValueError:
        return True
    return False


def _active(scope: Scope) -> dict[str, Caller]:
    query = sa.select(
        API_KEYS.c.sha256, API_KEYS.c.key_id, API_KEYS.c.role, API_KEYS.c.tenant
    ).where(API_KEYS.c.revoked_at.is_(None))
    with scope.engine.connect() as connection:
        return {
            row.sha256: Caller(row.key_id, row.role, row.tenant)
            for row in connection.execute(query)
        }


def _check_name(by: str) -> None:
    if not is_name(by):
        raise KeyStoreError(f"who changes a key must be a name of 1 to {NAME_LENGTH} chars")


def _event(
    at: datetime, actor: str, event: str, key_id: str, role: str, imported_from: Path | None = None
) -> dict[str, object]:
    """The audit row of a key's creation or revocation (the key id is its subject)."""
    detail = {"key_id": key_id, "role": role}
    if imported_from is not None:
        detail["imported_from"] = str(imported_from)
    return {"at": at, "actor": actor, "claim_id": None, "event": event, "detail": detail}


def _info(row: sa.Row) -> KeyInfo:
    return KeyInfo(
        row.key_id, row.role, row.created_at, row.created_by, row.revoked_at, row.last_used_at
    )
