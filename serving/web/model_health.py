"""The Model health page, for data scientists: the champion judged on the tenant's data by
`monitoring.monitor` (what `denialops monitor` reports), the live alerts first.

Every figure is `serving.model_health.MonitorService`'s `MonitorResult`: this module only
picks its rows and columns and says how each is shown. The first run on a large tenant
takes tens of seconds, so the page is shown at once and htmx brings the cards in
(`/model-health/cards`), as the RevOps page does its forecast.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from data_contracts.reader import ContractError
from features.catalog import MOVES_WITH_TIME
from monitoring.monitor import MonitorResult
from monitoring.scores import KEPT, SCORED_NOW
from serving.api.deps import ScorerOrReason, Stores, admits, require
from serving.api.security import Caller
from serving.loading import TenantScorer
from serving.tenant_data import NoDataError
from serving.web.dashboards import Chart, series
from serving.web.render import TEMPLATES, page

router = APIRouter(include_in_schema=False)
MODEL_HEALTH = "/model-health"
WATCHERS = ("data_scientist",)
"""Who reads the champion's health (and the tenant's admin)."""
Watcher = Annotated[Caller, Depends(require(*WATCHERS))]
TOP_DRIFTING = 10
CALENDAR = "moves with the calendar, never alerts"
"""How the drift chart names the PSI of a feature of `MOVES_WITH_TIME`."""
VERSUS = {
    "version": ("Version", None),
    "claims": ("Claims", "count"),
    "roc_auc": ("ROC-AUC", "decimal"),
    "brier": ("Brier", "decimal"),
    "ece": ("ECE", "decimal"),
    "mean_prediction": ("Mean P(denial)", "fraction"),
    "mean_abs_difference": ("Mean |difference|", "decimal"),
}
"""The columns of the champion beside the shadow challenger, their headings and units."""
SOURCES = {KEPT: "Scores kept", SCORED_NOW: "Scored now"}
"""Where the claims' scores came from, as the page says it."""


def watches_models(caller: Caller) -> bool:
    """Whether `caller` may read the Model health page: what the navigation asks."""
    return admits(caller.role, WATCHERS)


TEMPLATES.env.globals.update(watches_models=watches_models)


@router.get(MODEL_HEALTH)
def model_health(request: Request, caller: Watcher) -> Response:
    """The page, its cards asked for once it is shown."""
    return page(request, "model_health/page.html", caller)


@router.get(f"{MODEL_HEALTH}/cards")
def model_health_cards(
    request: Request, stores: Stores, caller: Watcher, champion: ScorerOrReason
) -> Response:
    """The monitor's cards: why there are none when the tenant has no model or no data."""
    context: dict[str, Any] = {}
    if isinstance(champion, str):
        context["unavailable"] = champion
        return page(request, "model_health/cards.html", caller, context)
    state = request.app.state
    try:
        result = state.monitor.result(stores.tenant, state.settings, champion, stores.audit)
    except (NoDataError, ContractError) as error:
        context["unavailable"] = str(error)
        return page(request, "model_health/cards.html", caller, context)
    sources = result.scored.claims["source"].value_counts()
    context.update(
        result=result,
        model=champion_said(champion),
        sources={label: sources.get(s, 0) for s, label in SOURCES.items()},
        charts=[by_week(result), drifting(result, state.settings.monitor_psi), by_payer(result)],
        versus=result.versus.to_dict(orient="records"),
        versus_columns=VERSUS,
    )
    return page(request, "model_health/cards.html", caller, context)


def by_week(result: MonitorResult) -> Chart:
    """Realized ROC-AUC and ECE per week of submission, beside the estimate for the claims
    still pending (`MonitorResult.by_week`)."""
    weeks = result.by_week
    return Chart(
        "by-week",
        "ROC-AUC and ECE by week",
        weeks["week"].tolist(),
        "Week of submission",
        [
            series(weeks, "roc_auc", "ROC-AUC (realized)", "decimal", kind="line"),
            series(weeks, "estimated_roc_auc", "ROC-AUC (estimated)", "decimal", kind="line"),
            series(weeks, "ece", "ECE (realized)", "decimal", kind="line", axis="right"),
            series(weeks, "claims", "Adjudicated claims", "count", drawn=False),
            series(weeks, "brier", "Brier (realized)", "decimal", drawn=False),
            series(weeks, "pending", "Pending claims", "count", drawn=False),
            series(weeks, "estimated_brier", "Brier (estimated)", "decimal", drawn=False),
        ],
        note="Realized on adjudicated claims; estimated (CBPE, no labels) on those still "
        "pending, which holds if the scores are calibrated on them. ECE on the right axis.",
    )


def drifting(result: MonitorResult, alert_from: float) -> Chart:
    """The features that moved most from the bundle's reference profile (PSI), those that
    move with the calendar in a series of their own: they never alert."""
    top = result.drift.head(TOP_DRIFTING)
    calendar = top["feature"].isin(MOVES_WITH_TIME)
    top = top.assign(alerting=top["psi"].where(~calendar), calendar=top["psi"].where(calendar))
    return Chart(
        "drift",
        f"Top {TOP_DRIFTING} drifting features",
        top["feature"].tolist(),
        "Feature",
        [
            series(top, "alerting", "PSI", "decimal"),
            series(top, "calendar", f"PSI, {CALENDAR}", "decimal"),
            series(top, "rows", "Claims compared", "count", drawn=False),
        ],
        note=f"Claims submitted from {result.alert_since} against the reference profile; "
        f"a feature alerts from PSI {alert_from:g}.",
        horizontal=True,
        stacked=True,
    )


def by_payer(result: MonitorResult) -> Chart:
    """Predicted and observed denial rate per payer, on adjudicated claims."""
    payers = result.by_payer
    return Chart(
        "by-payer",
        "Predicted and observed denial rate by payer",
        payers["payer_id"].astype(str).tolist(),
        "Payer",
        [
            series(payers, "mean_prediction", "Predicted", "fraction"),
            series(payers, "denial_rate", "Observed", "fraction"),
            series(payers, "claims", "Adjudicated claims", "count", drawn=False),
            series(payers, "roc_auc", "ROC-AUC", "decimal", drawn=False),
        ],
        note="Adjudicated claims of the whole period.",
    )


def champion_said(champion: TenantScorer) -> str:
    """The model judged, as the page names it."""
    shared = " (the shared model)" if champion.shared else ""
    return f"{champion.model_name} version {champion.scorer.version}{shared}"
