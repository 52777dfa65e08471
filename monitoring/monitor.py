"""One monitoring run: the champion judged on a data directory, as tables and alerts.

The report covers the claims submitted from `since` (default: the last `monitor_weeks`
weeks), the day each was scored; the alerts judge only the latest `monitor_alert_weeks` of
them, so a change shows within a month instead of being averaged away by the quiet weeks
before it. Weeks are of submission, not of service: among services of the latest weeks,
those already submitted are the ones sent quickly, so lag features would seem to drift.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from data_contracts.reader import ContractData
from model_bundle.denial import DenialRiskBundle
from monitoring import performance
from monitoring.alerts import Alert, drift_alerts, performance_alerts, rate_gap_alerts
from monitoring.drift import feature_drift, prediction_drift
from monitoring.scores import ScoredClaims, scored_claims
from settings import Settings

log = logging.getLogger(__name__)


@dataclass
class MonitorResult:
    """What `monitor` found; each table is a section of the report."""

    scored: ScoredClaims
    alert_since: date
    overall: pd.DataFrame
    by_week: pd.DataFrame
    by_payer: pd.DataFrame
    by_category: pd.DataFrame
    reliability: pd.DataFrame
    top_fix: pd.DataFrame
    estimated: pd.DataFrame
    """CBPE for pending claims, by week of submission."""
    drift: pd.DataFrame
    """Feature PSI of the latest weeks against the bundle's reference profile."""
    versus: pd.DataFrame
    """The champion beside the shadow challenger on the claims both scored."""
    prediction_psi: float
    alerts: list[Alert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """The headline figures, as MLflow metric names and values (missing ones left out)."""
        row = self.overall.iloc[0]
        found = {
            "monitor_adjudicated_claims": row["claims"],
            "monitor_roc_auc": row["roc_auc"],
            "monitor_brier": row["brier"],
            "monitor_ece": row["ece"],
            "monitor_denial_rate": row["denial_rate"],
            "monitor_mean_prediction": row["mean_prediction"],
            "monitor_pending_claims": self.estimated["claims"].sum(),
            "monitor_prediction_psi": self.prediction_psi,
            "monitor_max_feature_psi": self.drift["psi"].max() if len(self.drift) else np.nan,
            "monitor_alerts": len(self.alerts),
        }
        for row in self.versus.to_dict("records"):
            found[f"monitor_{row['model']}_shadow_roc_auc"] = row["roc_auc"]
            found[f"monitor_{row['model']}_shadow_brier"] = row["brier"]
        if len(self.scored.pending):
            found["monitor_estimated_roc_auc"] = performance.estimated(self.scored.pending).iloc[0][
                "estimated_roc_auc"
            ]
        return {name: float(v) for name, v in found.items() if pd.notna(v)}


def default_since(data: ContractData, weeks: int) -> date:
    """The first day of the last `weeks` weeks of the directory's submissions."""
    latest = pd.Timestamp(data.claims["submission_date"].max())
    return (latest - timedelta(weeks=weeks) + timedelta(days=1)).date()


def monitor(
    data: ContractData,
    bundle: DenialRiskBundle,
    version: str,
    settings: Settings,
    since: date | None = None,
    kept: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
    shadow: pd.DataFrame | None = None,
) -> MonitorResult:
    """Judge the champion (`bundle`, registry `version`) on `data`, and the challenger beside
    it where it scored in the shadow; see the module docstring."""
    progress = progress or (lambda step: log.info("monitor: %s", step))
    since = since or default_since(data, settings.monitor_weeks)
    scored = scored_claims(data, bundle, version, since, kept, progress, shadow)
    progress("metrics")
    adjudicated = scored.adjudicated
    alert_since = max(since, default_since(data, settings.monitor_alert_weeks))
    recent = scored.claims["submission_date"] >= pd.Timestamp(alert_since)
    recent_adjudicated = adjudicated[recent.loc[adjudicated.index]]
    notes = []
    if bundle.profile is None:
        notes.append(
            "the champion's bundle has no reference profile (trained before one was kept): "
            "retrain it to see drift"
        )
        drift, prediction_psi = pd.DataFrame(columns=["feature", "psi", "rows"]), np.nan
    else:
        drift = feature_drift(bundle.profile, scored.features[recent.to_numpy()])
        prediction_psi = prediction_drift(
            bundle.profile, scored.claims.loc[recent, "p_denial"].to_numpy(float)
        )
    result = MonitorResult(
        scored=scored,
        alert_since=alert_since,
        overall=performance.realized(adjudicated),
        by_week=_by_week(scored),
        by_payer=performance.realized(adjudicated, "payer_id"),
        by_category=performance.by_category(adjudicated, settings.review_threshold),
        reliability=performance.reliability(adjudicated),
        top_fix=performance.top_fix_precision(adjudicated),
        estimated=performance.estimated(scored.pending, "week"),
        drift=drift,
        versus=performance.champion_versus_challenger(adjudicated),
        prediction_psi=float(prediction_psi),
        notes=notes,
    )
    recent_pending = scored.pending[recent.loc[scored.pending.index]]
    result.alerts = [
        *rate_gap_alerts(gap_segments(recent_adjudicated), settings),
        *performance_alerts(
            performance.realized(recent_adjudicated).iloc[0],
            performance.estimated(recent_pending).iloc[0],
            settings,
        ),
        *drift_alerts(drift, float(prediction_psi), int(recent.sum()), settings),
    ]
    return result


def gap_segments(adjudicated: pd.DataFrame) -> pd.DataFrame:
    """The segments a denial-rate gap is judged on, named as alerts name them: all claims,
    each payer (`payer=P07`), and each payer and first procedure code
    (`payer=P07,code=90837`), since payers change rules code by code (an authorization
    now required for 90837) and a rule on one code is diluted in the payer's whole mix."""
    whole = performance.realized(adjudicated)
    payers = performance.realized(adjudicated, "payer_id")
    payers["segment"] = "payer=" + payers["payer_id"].astype(str)
    codes = performance.realized(adjudicated, ["payer_id", "code"])
    codes["segment"] = (
        "payer=" + codes["payer_id"].astype(str) + ",code=" + codes["code"].astype(str)
    )
    return pd.concat([whole, payers, codes], ignore_index=True).drop(columns=["payer_id", "code"])


def _by_week(scored: ScoredClaims) -> pd.DataFrame:
    """Realized metrics per week of submission beside the estimate for its pending claims."""
    realized = performance.realized(scored.adjudicated, "week")
    estimate = performance.estimated(scored.pending, "week")
    table = realized.merge(
        estimate.rename(columns={"claims": "pending"}), on="week", how="outer"
    ).sort_values("week")
    table["week"] = pd.to_datetime(table["week"]).dt.strftime("%Y-%m-%d")
    return table.reset_index(drop=True)
