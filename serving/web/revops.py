"""The RevOps / executive dashboard: the book's collection measures, program profitability
and the payer contract review (each payer's period beside the period before), with the
review's CSV.

Every number is `serving.kpis.KpiService`'s (the figures of `denialops kpis` and
`GET /v1/kpis`); the page only chooses, sorts and formats them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response

from analytics.contracts import PREVIOUS, REVIEW_MEASURES
from analytics.forecast import ALL_PAYERS
from analytics.kpis import format_measure
from serving.api.deps import Stores, require
from serving.api.kpis import forecast_table, kpi_table, review_table
from serving.api.security import Caller
from serving.web.dashboards import Chart, last_months, series
from serving.web.render import HEADERS, page, spreadsheet_safe

router = APIRouter(include_in_schema=False)
REVOPS = "/dashboards/revops"
RevOps = Annotated[Caller, Depends(require("revops"))]
PERIODS = {1: "Last month", 3: "Last 3 months", 6: "Last 6 months", 12: "Last 12 months"}
"""The review periods offered, in months, each compared with the same length before it."""


def review_months(
    months: Annotated[int, Query(description="The review period in months.")] = 3,
) -> int:
    """The review period asked for: one of `PERIODS` (another is a 422 naming it)."""
    if months not in PERIODS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"months: the review period is one of {list(PERIODS)} months, not {months}",
        )
    return months


Months = Annotated[int, Depends(review_months)]
Sort = Annotated[Literal["payer_id", *REVIEW_MEASURES], Query()]  # type: ignore[valid-type]
Order = Annotated[Literal["asc", "desc"], Query()]
FORECAST_WEEKS = 8
TREND_MONTHS = 12
"""Service months the collection trend shows."""
HEADLINE = ("net_collection_rate", "days_in_ar", "denial_rate", "collections", "ar_balance")
PROGRAM_COLUMNS = (
    "claims",
    "collections",
    "appeal_hours",
    "contribution_margin",
    "margin_rate",
    "denial_rate",
)
LABELS = {
    "payer_id": "Payer",
    "program": "Program",
    "claims": "Claims",
    "charges": "Charges",
    "denial_rate": "Denial rate",
    "overturn_rate": "Overturn rate",
    "days_to_pay_median": "Days to pay (median)",
    "appeal_hours": "Appeal hours",
    "net_collection_rate": "Net collection",
    "collections": "Collections",
    "contribution_margin": "Contribution margin",
    "margin_rate": "Margin",
    "days_in_ar": "Days in A/R",
    "ar_balance": "A/R balance",
}
"""What the page calls each column."""


@router.get(REVOPS)
def revops_page(
    request: Request,
    stores: Stores,
    caller: RevOps,
    months: Months,
    sort: Sort = "charges",
    order: Order = "desc",
) -> Response:
    """The dashboard for the review period `months`, the contract review sorted by `sort`."""
    context: dict[str, object] = {
        "months": months,
        "periods": PERIODS,
        "sort": sort,
        "order": order,
        "labels": LABELS,
        "review_columns": REVIEW_MEASURES,
        "program_columns": PROGRAM_COLUMNS,
        "headline": HEADLINE,
        "shown": format_measure,
        "previous": PREVIOUS,
    }
    try:
        book = kpi_table(request, stores)[0].iloc[0]
        programs = kpi_table(request, stores, "program")[0]
        by_month = last_months(kpi_table(request, stores, "month")[0], TREND_MONTHS)
        end, review = review_table(request, stores, months)
    except HTTPException as error:
        if error.status_code != status.HTTP_409_CONFLICT:
            raise
        context["unavailable"] = str(error.detail)
        return page(request, "dashboards/revops.html", caller, context, status_code=409)
    context["charts"] = [collection_trend(by_month), program_margins(programs)]
    ascending = order == "asc"
    context.update(
        book=book,
        programs=programs.to_dict(orient="records"),
        end=end,
        review=review.sort_values(sort, ascending=ascending, na_position="last").to_dict(
            orient="records"
        ),
    )
    return page(request, "dashboards/revops.html", caller, context)


@router.get(f"{REVOPS}/forecast")
def forecast_card(request: Request, stores: Stores, caller: RevOps) -> Response:
    """The cash forecast's card, which the dashboard asks for once it is shown (the
    forecast is the slowest of its tables the first time the data is read)."""
    context: dict[str, object] = {}
    try:
        cells = forecast_table(request, stores, FORECAST_WEEKS)
        context["chart"] = cash_chart(cells)
        context["source"] = cells["p_paid_from"].iat[0] if len(cells) else ""
    except HTTPException as error:
        if error.status_code != status.HTTP_409_CONFLICT:
            raise
        context["unavailable"] = str(error.detail)
    return page(request, "dashboards/forecast.html", caller, context)


@router.get(f"{REVOPS}/contracts.csv")
def contracts_csv(request: Request, stores: Stores, _caller: RevOps, months: Months) -> Response:
    """The payer contract review as CSV: a payer a row, each measure then its `_previous`."""
    _, review = review_table(request, stores, months)
    headers = {
        **HEADERS,
        "Content-Disposition": f'attachment; filename="contract-review-{months}m.csv"',
    }
    return Response(spreadsheet_safe(review), media_type="text/csv", headers=headers)


def collection_trend(by_month: pd.DataFrame) -> Chart:
    """Collections by service month (bars) and the net collection rate (line)."""
    return Chart(
        "collection",
        "Net collection by month",
        by_month["month"].tolist(),
        "Service month",
        [
            series(by_month, "collections", "Collections"),
            series(by_month, "net_collection_rate", "Net collection", kind="line", axis="right"),
        ],
        note="Claims of each service month, collected so far: recent months are still being paid.",
    )


def cash_chart(cells: pd.DataFrame) -> Chart:
    """Cash expected each coming week from every payer (bars), between its 80% interval's
    low and high (lines)."""
    total = cells[cells["payer_id"] == ALL_PAYERS].sort_values("week")
    return Chart(
        "forecast",
        f"Cash forecast, next {FORECAST_WEEKS} weeks",
        total["week_start"].astype(str).tolist(),
        "Week from",
        [
            series(total, "expected", "Expected", unit="dollars"),
            series(total, "low", "Low (80%)", kind="line", unit="dollars"),
            series(total, "high", "High (80%)", kind="line", unit="dollars"),
            series(total, "claims", "Claims that may pay", unit="count", drawn=False),
        ],
    )


def program_margins(programs: pd.DataFrame) -> Chart:
    """Contribution margin by program (bars) and the margin rate (line)."""
    return Chart(
        "programs",
        "Program profitability",
        programs["program"].tolist(),
        "Program",
        [
            series(programs, "contribution_margin", "Contribution margin"),
            series(programs, "margin_rate", "Margin", kind="line", axis="right"),
            series(programs, "collections", "Collections", drawn=False),
            series(programs, "appeal_hours", "Appeal hours", drawn=False),
        ],
    )
