"""Answers made of a tenant's data, kept while that version of the data stands: what the
KPI and monitor services share.

`TenantData` hands out the same `ContractData` object until a table file changes, so the
object itself is the data's version: an answer made of another object is stale. Requests
that want the same answer at once wait for the first to make it (a cold forecast or
monitor run takes tens of seconds on a large tenant), and the least recently used answers
go first once a tenant has `most` of them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from data_contracts.reader import ContractData

T = TypeVar("T")


class KeptPerData:
    """Each tenant's answers, made once per version of its data (see the module docstring)."""

    def __init__(self, most: int) -> None:
        self._most = most
        self._kept: dict[str, tuple[ContractData, OrderedDict[Hashable, Any]]] = {}
        self._making: dict[tuple[str, Hashable], threading.Lock] = {}
        self._lock = threading.Lock()

    def kept_or_made(
        self, tenant: str, key: Hashable, make: Callable[[], T], data: ContractData
    ) -> T:
        """What `make` makes of `data` (the tenant's current data), made once per version
        of it: a second request for it meanwhile waits for the first."""
        found = self._found(tenant, key, data)
        if found is not None:
            return found
        with self._lock:
            making = self._making.setdefault((tenant, key), threading.Lock())
        with making:
            found = self._found(tenant, key, data)
            if found is not None:
                return found
            made = make()
            with self._lock:
                kept = self._kept.get(tenant)
                if kept is not None and kept[0] is data:
                    kept[1][key] = made
                    while len(kept[1]) > self._most:
                        kept[1].popitem(last=False)
                self._making.pop((tenant, key), None)
            return made

    def _found(self, tenant: str, key: Hashable, data: ContractData) -> Any:
        """The kept answer to `key` for this version of the data (None: none yet); a new
        version of the data forgets the tenant's answers."""
        with self._lock:
            kept = self._kept.get(tenant)
            if kept is None or kept[0] is not data:
                kept = self._kept[tenant] = (data, OrderedDict())
            found = kept[1].get(key)
            if found is not None:
                kept[1].move_to_end(key)
            return found
