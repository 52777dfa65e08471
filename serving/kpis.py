"""The KPIs as the API and the pages read them: `analytics` over the tenant's data, kept
while the data's files stand.

A dashboard asks for several breakdowns of the same ledger on every view; building the
ledger is most of the cost, so it is built once per tenant, date and data version (the
`ContractData` object `TenantData` keeps until a table file changes), and each table once
per ledger and question.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import date

import pandas as pd

from analytics.contracts import contract_review
from analytics.forecast import calibrate, cash_forecast
from analytics.kpis import kpis
from analytics.ledger import claim_ledger, data_as_of
from data_contracts.reader import ContractData
from serving.tenant_data import TenantData
from settings import Settings

MAX_KEPT = 64
"""Tables kept per tenant: a dashboard shows a dozen; dates and costs vary a little."""


class KpiService:
    """`app.state.kpis`: each tenant's KPI tables, computed once per version of its data."""

    def __init__(self, tenant_data: TenantData) -> None:
        self._tenant_data = tenant_data
        self._kept: dict[str, tuple[ContractData, dict[Hashable, object]]] = {}
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
        return self._kept_or_made(
            tenant,
            settings,
            ("kpis", by, as_of, hour_cost),
            lambda data: kpis(self._ledger(tenant, settings, data, as_of), by, hour_cost),
        )

    def contract_review(
        self, tenant: str, settings: Settings, months: int, hour_cost: float
    ) -> tuple[date, pd.DataFrame]:
        """The payer contract review of the `months` months up to the data's latest event,
        beside the period before (`analytics.contracts.contract_review`), and that date."""

        def review(data: ContractData) -> tuple[date, pd.DataFrame]:
            end = data_as_of(data)
            ledger = self._ledger(tenant, settings, data, None)
            return end, contract_review(ledger, end, months, hour_cost)

        return self._kept_or_made(tenant, settings, ("review", months, hour_cost), review)

    def forecast(self, tenant: str, settings: Settings, weeks: int) -> pd.DataFrame:
        """The cash forecast of the `weeks` weeks after the data's latest event, on the
        ledger's own rates, its 80% intervals calibrated on earlier cut-offs
        (`analytics.forecast`): the slowest table, so the page asks for it on its own."""

        def forecast(data: ContractData) -> pd.DataFrame:
            end = data_as_of(data)
            ledger = self._ledger(tenant, settings, data, None)
            calibration = calibrate(data, end, weeks)
            return cash_forecast(ledger, None, weeks, 0.8, end, calibration)

        return self._kept_or_made(tenant, settings, ("forecast", weeks), forecast)

    def _ledger(
        self, tenant: str, settings: Settings, data: ContractData, as_of: date | None
    ) -> pd.DataFrame:
        return self._kept_or_made(
            tenant, settings, ("ledger", as_of), lambda _: claim_ledger(data, as_of), data
        )

    def _kept_or_made(
        self,
        tenant: str,
        settings: Settings,
        key: Hashable,
        make: Callable[[ContractData], object],
        data: ContractData | None = None,
    ):
        """What `make` makes of the tenant's current data, made once per data version."""
        data = data if data is not None else self._tenant_data.get(tenant, settings)
        with self._lock:
            kept = self._kept.get(tenant)
            if kept is None or kept[0] is not data:
                kept = self._kept[tenant] = (data, {})
            tables = kept[1]
            found = tables.get(key)
        if found is not None:
            return found
        made = make(data)
        with self._lock:
            if len(tables) >= MAX_KEPT:
                tables.clear()
            tables[key] = made
        return made
