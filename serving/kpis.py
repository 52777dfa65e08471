"""The KPIs as the API and the pages read them: `analytics` over the tenant's data, kept
while the data's files stand.

A dashboard asks for several breakdowns of the same ledger on every view; building the
ledger is most of the cost, so it is built once per tenant, date and data version (the
`ContractData` object `TenantData` keeps until a table file changes), and each table once
per ledger and question.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from analytics.contracts import contract_review
from analytics.forecast import calibrate, cash_forecast
from analytics.kpis import kpis
from analytics.ledger import claim_ledger, data_as_of
from data_contracts.reader import ContractData
from serving.kept import KeptPerData
from serving.tenant_data import TenantData
from settings import Settings

MAX_KEPT = 64
"""Tables (ledgers included) kept per tenant: a dashboard shows a dozen."""


class KpiService:
    """`app.state.kpis`: each tenant's KPI tables, computed once per version of its data.

    Requests that want the same table at once wait for the first to make it (a cold
    forecast takes most of a minute on a million claims); the least recently used tables
    go first once a tenant has `MAX_KEPT`. Only the ledger of the data's latest event is kept
    (a date that is that event shares it); a table of an earlier date is kept, its ledger
    is not."""

    def __init__(self, tenant_data: TenantData) -> None:
        self._tenant_data = tenant_data
        self._kept = KeptPerData(MAX_KEPT)

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

        return self._kept.kept_or_made(tenant, ("kpis", by, as_of, hour_cost), table, data)

    def contract_review(
        self, tenant: str, settings: Settings, months: int, hour_cost: float
    ) -> tuple[date, pd.DataFrame]:
        """The payer contract review of the `months` months up to the data's latest event,
        beside the period before (`analytics.contracts.contract_review`), and that date."""
        data = self._tenant_data.get(tenant, settings)

        def review() -> tuple[date, pd.DataFrame]:
            end = data_as_of(data)
            return end, contract_review(self._ledger(tenant, data), end, months, hour_cost)

        return self._kept.kept_or_made(tenant, ("review", months, hour_cost), review, data)

    def forecast(self, tenant: str, settings: Settings, weeks: int) -> pd.DataFrame:
        """The cash forecast of the `weeks` weeks after the data's latest event, on the
        ledger's own rates, its 80% intervals calibrated on earlier cut-offs
        (`analytics.forecast`): the slowest table, so the page asks for it on its own."""
        data = self._tenant_data.get(tenant, settings)

        def forecast() -> pd.DataFrame:
            end = data_as_of(data)
            calibration = calibrate(data, end, weeks)
            return cash_forecast(self._ledger(tenant, data), None, weeks, 0.8, end, calibration)

        return self._kept.kept_or_made(tenant, ("forecast", weeks), forecast, data)

    def _ledger(self, tenant: str, data: ContractData) -> pd.DataFrame:
        """The ledger as of the data's latest event, kept with the tables made of it."""
        return self._kept.kept_or_made(tenant, ("ledger",), lambda: claim_ledger(data), data)
