"""The KPIs as the API and the pages read them: `analytics` over the tenant's data, kept
while the data's files stand.

A dashboard asks for several breakdowns of the same ledger on every view; building the
ledger is most of the cost, so it is built once per tenant, date and data version (the
`ContractData` object `TenantData` keeps until a table file changes), and each table once
per ledger and question.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from typing import TypeVar

import pandas as pd

from analytics.contracts import contract_review
from analytics.forecast import calibrate, cash_forecast
from analytics.kpis import kpis
from analytics.ledger import claim_ledger, data_as_of
from data_contracts.reader import ContractData
from serving.tenant_data import TenantData
from settings import Settings

MAX_KEPT = 64
"""Tables (ledgers included) kept per tenant: a dashboard shows a dozen."""
T = TypeVar("T")


class KpiService:
    """`app.state.kpis`: each tenant's KPI tables, computed once per version of its data.

    Requests that want the same table at once wait for the first to make it (a cold
    forecast takes most of a minute on a million claims); the least recently used tables
    go first once a tenant has `MAX_KEPT`. Only the ledger of the data's latest event is kept
    (a date that is that event shares it); a table of an earlier date is kept, its ledger
    is not."""

    def __init__(self, tenant_data: TenantData) -> None:
        self._tenant_data = tenant_data
        self._kept: dict[str, tuple[ContractData, OrderedDict[Hashable, object]]] = {}
        self._making: dict[tuple[str, Hashable], threading.Lock] = {}
        self._lock = threading.Lock()

    def table(
        self,
        tenant: str,
        settings: Settings,
        by: str | None = None,
        as_of: date | None = None,
        hour_cost: float = 0.0,
    ) -> pd.DataFrame:
        """`analytics.kpis.kpis` of the tenant's data as of `as_of` (default: its latest
        event); NoDataError or ContractError when the data cannot be had."""
        data = self._tenant_data.get(tenant, settings)
        if as_of is not None and as_of == data_as_of(data):
            as_of = None

        def table() -> pd.DataFrame:
            # Only the undated ledger is kept: a ledger is the size of the data, and a caller
            # naming many past dates would otherwise pin one each.
            ledger = self._ledger(tenant, data) if as_of is None else claim_ledger(data, as_of)
            return kpis(ledger, by, hour_cost)

        return self._kept_or_made(tenant, ("kpis", by, as_of, hour_cost), table, data)

    def contract_review(
        self, tenant: str, settings: Settings, months: int, hour_cost: float
    ) -> tuple[date, pd.DataFrame]:
        """The payer contract review of the `months` months up to the data's latest event,
        beside the period before (`analytics.contracts.contract_review`), and that date."""
        data = self._tenant_data.get(tenant, settings)

        def review() -> tuple[date, pd.DataFrame]:
            end = data_as_of(data)
            return end, contract_review(self._ledger(tenant, data), end, months, hour_cost)

        return self._kept_or_made(tenant, ("review", months, hour_cost), review, data)

    def forecast(self, tenant: str, settings: Settings, weeks: int) -> pd.DataFrame:
        """The cash forecast of the `weeks` weeks after the data's latest event, on the
        ledger's own rates, its 80% intervals calibrated on earlier cut-offs
        (`analytics.forecast`): the slowest table, so the page asks for it on its own."""
        data = self._tenant_data.get(tenant, settings)

        def forecast() -> pd.DataFrame:
            end = data_as_of(data)
            calibration = calibrate(data, end, weeks)
            return cash_forecast(self._ledger(tenant, data), None, weeks, 0.8, end, calibration)

        return self._kept_or_made(tenant, ("forecast", weeks), forecast, data)

    def _ledger(self, tenant: str, data: ContractData) -> pd.DataFrame:
        """The ledger as of the data's latest event, kept with the tables made of it."""
        return self._kept_or_made(tenant, ("ledger",), lambda: claim_ledger(data), data)

    def _kept_or_made(
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
                    while len(kept[1]) > MAX_KEPT:
                        kept[1].popitem(last=False)
                self._making.pop((tenant, key), None)
            return made

    def _found(self, tenant: str, key: Hashable, data: ContractData):
        """The kept answer to `key` for this version of the data (None: none yet); a new
        version of the data forgets the tenant's tables."""
        with self._lock:
            kept = self._kept.get(tenant)
            if kept is None or kept[0] is not data:
                kept = self._kept[tenant] = (data, OrderedDict())
            found = kept[1].get(key)
            if found is not None:
                kept[1].move_to_end(key)
            return found
