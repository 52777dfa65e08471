"""The billing leadership dashboard: how denials trend, why payers deny, how old the backlog
is, how much of the queue is past its deadline, what each biller gets through and what the
scrubber catches before submission, over a period the URL names (so a view can be shared).

Every figure is read from a service, never worked out here: the KPIs from `app.state.kpis`
(as `GET /v1/kpis` gives them), the deadlines from `WorkQueue.counts`, throughput from
`WorkQueue.throughput`, the scrubber from `AuditLog.weekly_checks`. This module only picks
rows and columns and says how each is shown: a chart drawn by static/charts.js from the
JSON block beside its canvas, and the same numbers in a table under "Show the numbers".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from analytics.kpis import AGING, UNITS, format_value
from queues.browse import QueueFilter
from queues.store import BillerThroughput
from serving.api.deps import Stores
from serving.api.kpis import KpiReader, kpi_table
from serving.audit import WeekOfChecks
from serving.web.queue import View
from serving.web.render import TEMPLATES, page

router = APIRouter(include_in_schema=False)
LEADERSHIP = "/dashboards/leadership"
MONTHS = (6, 12, 24)
"""The periods the page offers, in months."""
DEFAULT_MONTHS = 12
TOP_CARCS = 6
"""The denial reasons the CARC chart shows, most denied claims first."""
BOOK = {
    "denial_rate": "Denial rate",
    "first_pass_yield": "First-pass yield",
    "clean_claim_rate": "Clean claim rate",
    "net_collection_rate": "Net collection rate",
    "days_in_ar": "Days in A/R",
    "ar_balance": "A/R balance",
}
"""The whole book's headline measures, as the card lists them."""
PAST_DEADLINE = View(QueueFilter(due_within_days=-1), sort="deadline").url()
"""The queue's view of the items past their deadline, which the deadline card links to."""


@dataclass(frozen=True)
class Series:
    """One measure of a chart: a line or bars, on the left axis or the right one."""

    label: str
    values: list[float | int | None]
    unit: str
    """How its numbers read: one of `analytics.kpis.UNITS`' units, or `per hour`."""
    kind: str = "bar"
    axis: str = "left"
    drawn: bool = True
    """False: in the table of numbers only (a figure the chart would not make clearer)."""


@dataclass(frozen=True)
class Chart:
    """A card's chart and its table of numbers: one row per label, one column per series."""

    id: str
    title: str
    labels: list[str]
    key: str
    """The heading of the table's first column (what a label is: a month, a CARC)."""
    series: list[Series]
    note: str = ""
    horizontal: bool = False
    stacked: bool = False
    """Bars of one label stacked: series that split the labels between them (each label's
    value in one series, none in the others) draw one bar a label, coloured by series."""
    data: dict[str, Any] = field(init=False)
    """What static/charts.js draws (the series it draws), as JSON."""

    def __post_init__(self) -> None:
        drawn = [asdict(s) for s in self.series if s.drawn]
        spec = {
            "labels": self.labels,
            "series": drawn,
            "horizontal": self.horizontal,
            "stacked": self.stacked,
        }
        object.__setattr__(self, "data", spec)


TEMPLATES.env.filters["figure"] = format_value


def read_months(params: QueryParams) -> tuple[int, str | None]:
    """The period a URL asks for, else the default and what could not be read."""
    text = params.get("months", "").strip()
    if not text:
        return DEFAULT_MONTHS, None
    if text.isdigit() and int(text) in MONTHS:
        return int(text), None
    shown = ", ".join(map(str, MONTHS))
    return DEFAULT_MONTHS, f"months {text[:20]!r} is not one of {shown}: showing {DEFAULT_MONTHS}"


def first_day(today: date, months: int) -> date:
    """The first day of the period of `months` calendar months ending with today's."""
    return (pd.Period(today, "M") - (months - 1)).start_time.date()


def last_months(table: pd.DataFrame, months: int) -> pd.DataFrame:
    """The rows of a by-month KPI table in the `months` months ending with its latest."""
    if table.empty:
        return table
    start = str(pd.Period(table["month"].max(), "M") - (months - 1))
    return table[table["month"] >= start]


def series(
    table: pd.DataFrame, measure: str, label: str, unit: str | None = None, **how: Any
) -> Series:
    """A column as a series, in `unit` (default: the unit `analytics.kpis.UNITS` gives a
    KPI); an infinite or missing value is unknown (null)."""
    values = [None if pd.isna(v) or v in (np.inf, -np.inf) else v for v in table[measure].tolist()]
    return Series(label, values, unit or UNITS[measure], **how)


def _months_note(by_month: pd.DataFrame) -> str:
    months = by_month["month"]
    return f"Claims of service months {months.min()} to {months.max()}." if len(months) else ""


def denial_trend(by_month: pd.DataFrame) -> Chart:
    return Chart(
        "denial-trend",
        "Denial trend",
        by_month["month"].tolist(),
        "Service month",
        [
            series(by_month, "denial_rate", "Denial rate", kind="line"),
            series(by_month, "denied_dollars", "Denied dollars", axis="right"),
            series(by_month, "denied_claims", "Denied claims", drawn=False),
        ],
        note=_months_note(by_month),
    )


def first_pass_trend(by_month: pd.DataFrame) -> Chart:
    return Chart(
        "first-pass-yield",
        "First-pass yield",
        by_month["month"].tolist(),
        "Service month",
        [
            series(by_month, "first_pass_yield", "First-pass yield", kind="line"),
            series(by_month, "adjudicated_claims", "Adjudicated claims", drawn=False),
        ],
        note=_months_note(by_month),
    )


def top_carcs(by_carc: pd.DataFrame) -> Chart:
    top = by_carc.sort_values(["denied_claims", "denied_dollars"], ascending=False)
    top = top.head(TOP_CARCS)
    return Chart(
        "top-carcs",
        "Top denial reasons (CARC)",
        top["carc"].tolist(),
        "CARC",
        [
            series(top, "denied_claims", "Denied claims"),
            series(top, "denied_dollars", "Denied dollars", axis="right"),
        ],
        note="All denied claims in the data, not only the months shown.",
        horizontal=True,
    )


def backlog_aging(book: pd.DataFrame) -> Chart:
    row = book.iloc[0]
    values = [float(row[name]) for name in AGING.values()]
    return Chart(
        "backlog-aging",
        "Backlog aging (A/R)",
        list(AGING),
        "Days since submission",
        [Series("Owed by payers", values, UNITS["ar_balance"])],
        note="Pending claims and open denials today, by days since submission.",
    )


def throughput(billers: list[BillerThroughput], since: date) -> Chart:
    return Chart(
        "throughput",
        "Biller throughput",
        [b.biller for b in billers],
        "Biller",
        [
            Series("Resolved per hour", [b.resolved_per_hour for b in billers], "per hour"),
            Series(
                "Recovered per hour ($)",
                [b.recovered_per_hour for b in billers],
                "dollars",
                axis="right",
            ),
            Series("Items resolved", [b.resolved for b in billers], "count", drawn=False),
            Series("Hours recorded", [b.hours for b in billers], "hours", drawn=False),
            Series("Recovered", [b.recovered for b in billers], "dollars", drawn=False),
        ],
        note=f"Resolved since {since:%-d %b %Y}; per hour of time recorded.",
    )


def scrubber(weeks: list[WeekOfChecks], since: date) -> Chart:
    return Chart(
        "scrubber",
        "What the scrubber caught",
        [f"{w.week:%Y-%m-%d}" for w in weeks],
        "Week of",
        [
            Series("Checks", [w.checked for w in weeks], "count"),
            Series("Flagged", [w.flagged for w in weeks], "count"),
            Series("Review", [w.review for w in weeks], "count", drawn=False),
            Series("Hold", [w.hold for w in weeks], "count", drawn=False),
        ],
        note=(
            f"Scoring decisions before submission since {since:%-d %b %Y} (a claim checked "
            "twice counts twice); flagged: review or hold."
        ),
    )


@router.get(LEADERSHIP)
def leadership(request: Request, stores: Stores, caller: KpiReader) -> Response:
    """The dashboard for the period the URL names (`months`); the KPI cards say why when
    the tenant's data cannot be had, the queue and scrubber cards still show."""
    months, problem = read_months(request.query_params)
    queue = stores.queue
    since = first_day(queue.now().date(), months)
    charts: list[Chart] = []
    book: dict[str, Any] | None = None
    unavailable = None
    try:
        by_month = last_months(kpi_table(request, stores, "month")[0], months)
        whole, _ = kpi_table(request, stores)
        charts += [
            denial_trend(by_month),
            first_pass_trend(by_month),
            top_carcs(kpi_table(request, stores, "carc")[0]),
            backlog_aging(whole),
        ]
        book = whole.iloc[0].to_dict()
    except HTTPException as error:
        if error.status_code != status.HTTP_409_CONFLICT:
            raise
        unavailable = str(error.detail)
    charts += [
        throughput(queue.throughput(since), since),
        scrubber(stores.audit.weekly_checks(since), since),
    ]
    context = {
        "months": months,
        "choices": MONTHS,
        "problem": problem,
        "unavailable": unavailable,
        "charts": charts,
        "book": book,
        "book_measures": BOOK,
        "units": UNITS,
        "counts": queue.counts(caller.name),
        "past_deadline": PAST_DEADLINE,
    }
    return page(request, "dashboards/leadership.html", caller, context)
