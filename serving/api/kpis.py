"""The KPIs over HTTP, for RevOps' and billing leadership's own tools: the numbers of
`denialops kpis` and of the dashboards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal, TypeVar

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from analytics.kpis import DIMENSIONS, as_records
from data_contracts.reader import ContractError
from queues.policy import Policy, PolicyError
from serving.api.deps import Stores, admits, require
from serving.api.security import Caller
from serving.kpis import KpiService
from serving.tenant_data import NoDataError
from settings import Settings

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])
T = TypeVar("T")
KPI_READERS = ("revops", "billing_lead")
"""Who reads the KPIs, here and on the leadership dashboard: RevOps and billing leadership
(and the tenant's admin)."""
KpiReader = Annotated[Caller, Depends(require(*KPI_READERS))]


def reads_kpis(caller: Caller) -> bool:
    """Whether `caller` may read the KPIs: what the pages' navigation asks."""
    return admits(caller.role, KPI_READERS)


Breakdown = Literal[tuple(DIMENSIONS)]  # type: ignore[valid-type]


class KpisOut(BaseModel):
    by: str | None = Field(description="What the rows are broken down by; null: one row.")
    as_of: date | None = Field(description="What was known on this date; null: everything.")
    biller_hour_cost: float = Field(description="The policy's cost of a biller hour.")
    policy_version: int
    rows: list[dict[str, str | int | float | None]] = Field(
        description="One object per group (its key first, e.g. `payer_id`), each measure "
        "as the README's KPI definitions give it; a rate of nothing is null."
    )


def kpi_table(
    request: Request, stores: Stores, by: str | None = None, as_of: date | None = None
) -> tuple[pd.DataFrame, Policy]:
    """The tenant's KPI table (`app.state.kpis`) at the policy's biller hour cost, and that
    policy: what this route and the dashboards show. 503 when the policy cannot be read,
    409 when the tenant's data cannot be had."""
    policy = _policy(stores)
    table = _answer(
        lambda service, settings: service.table(
            stores.tenant, settings, by, as_of, policy.biller_hour_cost
        ),
        request,
    )
    return table, policy


def review_table(request: Request, stores: Stores, months: int) -> tuple[date, pd.DataFrame]:
    """The payer contract review of the last `months` months beside the months before, at
    the policy's biller hour cost, and the date it ends (`KpiService.contract_review`);
    503 and 409 as `kpi_table`."""
    hour_cost = _policy(stores).biller_hour_cost
    return _answer(
        lambda service, settings: service.contract_review(
            stores.tenant, settings, months, hour_cost
        ),
        request,
    )


def forecast_table(request: Request, stores: Stores, weeks: int) -> pd.DataFrame:
    """The tenant's cash forecast (`KpiService.forecast`); 409 as `kpi_table`."""
    return _answer(
        lambda service, settings: service.forecast(stores.tenant, settings, weeks), request
    )


def _policy(stores: Stores) -> Policy:
    try:
        return stores.policies.current()
    except PolicyError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error


def _answer(ask: Callable[[KpiService, Settings], T], request: Request) -> T:
    """What the KPI service answers; 409 naming why when the tenant's data cannot be had."""
    try:
        return ask(request.app.state.kpis, request.app.state.settings)
    except (NoDataError, ContractError) as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from error


@router.get("", response_model=KpisOut)
def read_kpis(
    request: Request,
    stores: Stores,
    _caller: KpiReader,
    by: Annotated[Breakdown | None, Query(description="Break the KPIs down by this.")] = None,
    as_of: Annotated[date | None, Query(description="What was known on this date.")] = None,
) -> KpisOut:
    """The tenant's KPIs from its data directory, as `denialops kpis --format json` prints
    them."""
    table, policy = kpi_table(request, stores, by, as_of)
    return KpisOut(
        by=by,
        as_of=as_of,
        biller_hour_cost=policy.biller_hour_cost,
        policy_version=policy.version,
        rows=as_records(table),
    )
