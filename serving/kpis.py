"""The KPIs as the API and the pages read them: `analytics.kpis` over the tenant's data,
kept while the data's files stand.

A dashboard asks for several breakdowns of the same ledger on every view; building the
ledger is most of the cost, so it is built once per tenant, date and data version (the
`ContractData` object `TenantData` keeps until a table file changes) and each breakdown once
per ledger and hour cost.
"""

from __future__ import annotations

import threading
from datetime import date

import pandas as pd

from analytics.kpis import kpis
from analytics.ledger import claim_ledger
from data_contracts.reader import ContractData
from serving.tenant_data import TenantData
from settings import Settings

MAX_KEPT = 64
"""Breakdowns kept per tenant: a dashboard shows a dozen; dates and costs vary a little."""


class KpiService:
    """`app.state.kpis`: each tenant's KPI tables, computed once per version of its data."""

    def __init__(self, tenant_data: TenantData) -> None:
        self._tenant_data = tenant_data
        self._kept: dict[str, tuple[ContractData, dict[tuple, pd.DataFrame]]] = {}
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
        with self._lock:
            kept = self._kept.get(tenant)
            if kept is None or kept[0] is not data:
                kept = self._kept[tenant] = (data, {})
            tables = kept[1]
        ledger_key = ("ledger", as_of)
        ledger = tables.get(ledger_key)
        if ledger is None:
            ledger = claim_ledger(data, as_of)
        key = (by, as_of, hour_cost)
        table = tables.get(key)
        if table is None:
            table = kpis(ledger, by, hour_cost)
        with self._lock:
            if len(tables) >= MAX_KEPT:
                tables.clear()
            tables[ledger_key] = ledger
            tables[key] = table
        return table
