"""Each tenant's contract data as the pages and routes read it: from the tenant's own data
directory (`tenants add --data`; for `default`, `DENIALOPS_QUEUE_DATA_DIR`), read once and
again only when a table file changes, so a claim's detail page does not re-read the
practice's history on every request.

Rows that break the contract are set aside as `denialops policy simulate` does (up to
`DENIALOPS_QUARANTINE_CEILING` of a table); a directory past that fails with the
`ContractError` naming every problem.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from data_contracts.reader import ContractData, ContractError, read_data_dir
from settings import Settings
from storage.database import Database
from storage.tenancy import DEFAULT_TENANT
from storage.tenants import get_tenant

log = logging.getLogger(__name__)
TABLE_SUFFIXES = (".csv", ".parquet")


class NoDataError(LookupError):
    """The tenant has no data directory: the message says how to give it one."""


def data_dir(database: Database, settings: Settings, tenant: str) -> Path | None:
    """The tenant's own data directory; the installation's (`DENIALOPS_QUEUE_DATA_DIR`)
    serves the `default` tenant only, since it holds one practice's claims."""
    found = get_tenant(database, tenant)
    own = None if found is None else found.data_dir
    if own is not None or tenant != DEFAULT_TENANT:
        return own
    return settings.queue_data_dir


@dataclass(frozen=True)
class Unavailable:
    """Why a tenant's data cannot be had: it has no data directory (`missing`), or its
    directory cannot be read (`reason` says which, for the page to show)."""

    missing: bool
    reason: str


class TenantData:
    """`app.state.tenant_data`: each tenant's `ContractData`, kept while its files stand."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._kept: dict[str, tuple[tuple, ContractData]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, settings: Settings) -> ContractData:
        """The tenant's data under `settings` (the service's: its data directory and
        quarantine ceiling); NoDataError without a directory, ContractError when it cannot
        be read. Concurrent first requests of a tenant read it once."""
        folder = data_dir(self._database, settings, tenant)
        if folder is None:
            raise NoDataError(
                f"tenant {tenant!r} has no data directory: give it one (`denialops tenants add "
                "NAME --data DIR`), or for `default` set DENIALOPS_QUEUE_DATA_DIR"
            )
        with self._lock:
            lock = self._locks.setdefault(tenant, threading.Lock())
        with lock:
            try:
                stamp = (settings.quarantine_ceiling, *_stamp(folder))
            except OSError as error:  # moved, unmounted, not readable
                raise NoDataError(
                    f"the data directory of tenant {tenant!r} cannot be read: {error.strerror} "
                    f"({folder})"
                ) from error
            kept = self._kept.get(tenant)
            if kept is not None and kept[0] == stamp:
                return kept[1]
            log.info("reading the data directory of tenant %s", tenant)
            data = read_data_dir(folder, settings.quarantine_ceiling)
            self._kept[tenant] = (stamp, data)
            return data

    def get_or_unavailable(
        self, tenant: str, settings: Settings
    ) -> tuple[ContractData | None, Unavailable | None]:
        """`get`, or None and why: the pages that can do without the data (the alerts, a
        claim's history, a letter's facts) say so rather than fail. A directory that breaks
        the contract is logged (its error masks identifying values)."""
        try:
            return self.get(tenant, settings), None
        except NoDataError as error:
            return None, Unavailable(True, str(error))
        except ContractError as error:
            log.warning("tenant %s: its data directory cannot be read: %s", tenant, error)
            return None, Unavailable(False, "the practice's data directory breaks the contract")


def _stamp(folder: Path) -> tuple:
    """What changes when a table file, or a part of a partitioned table, is written, added
    or removed."""
    tables = [p for p in folder.iterdir() if p.suffix in TABLE_SUFFIXES]
    files = sorted(
        part for table in tables for part in ([table] if table.is_file() else table.rglob("*"))
    )
    return (
        str(folder.resolve()),
        *((str(p.relative_to(folder)), p.stat().st_mtime_ns, p.stat().st_size) for p in files),
    )
