"""Alerts: the thresholds of the settings applied to the latest weeks' figures.

Each alert names its metric, the segment it fired on (`all`, `payer=P07`,
`feature=auth_units_left`), the value and the threshold it crossed, so cron or an
orchestrator can act on it and a person can read why. A segment with too few claims to
judge is skipped, never alerted on: chance alone must not page anyone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from features.catalog import MOVES_WITH_TIME
from settings import Settings


@dataclass(frozen=True)
class Alert:
    metric: str
    segment: str
    value: float
    threshold: float
    message: str

    def as_dict(self) -> dict[str, str | float]:
        return asdict(self)


def rate_gap_alerts(segments: pd.DataFrame, settings: Settings) -> list[Alert]:
    """Segments (a `performance.realized` table with a `segment` name per row) whose
    observed denial rate is off the predicted one by `monitor_rate_gap`, at a chance below
    `monitor_alpha` over the number of segments judged (so a run's chance of any false
    alarm stays under `monitor_alpha`, however many payers and codes it looks at). A
    segment with fewer than `monitor_min_segment_claims` claims is not judged."""
    judged = segments[segments["claims"] >= settings.monitor_min_segment_claims]
    if judged.empty:
        return []
    bar = settings.monitor_alpha / len(judged)
    alerts = []
    for row in judged.to_dict("records"):
        if abs(row["gap"]) >= settings.monitor_rate_gap and row["p_value"] < bar:
            alerts.append(
                Alert(
                    "denial_rate_gap",
                    row["segment"],
                    round(float(row["gap"]), 4),
                    settings.monitor_rate_gap,
                    f"{row['segment']}: {row['denial_rate']:.1%} of {row['claims']:,} claims "
                    f"denied, {row['mean_prediction']:.1%} predicted (chance {row['p_value']:.1e})",
                )
            )
    return alerts


def performance_alerts(
    overall: pd.Series, estimate: pd.Series | None, settings: Settings
) -> list[Alert]:
    """ROC-AUC under `monitor_min_roc_auc` (realized on adjudicated claims, or estimated on
    pending ones) and ECE over `monitor_max_ece`, for all claims of the latest weeks."""
    alerts = []
    if overall["claims"] >= settings.monitor_min_claims:
        if overall["roc_auc"] < settings.monitor_min_roc_auc:
            alerts.append(_below("roc_auc", overall["roc_auc"], settings.monitor_min_roc_auc))
        if overall["ece"] > settings.monitor_max_ece:
            alerts.append(
                Alert(
                    "ece",
                    "all",
                    round(float(overall["ece"]), 4),
                    settings.monitor_max_ece,
                    f"expected calibration error {overall['ece']:.3f} on "
                    f"{int(overall['claims']):,} adjudicated claims",
                )
            )
    if estimate is not None and estimate["claims"] >= settings.monitor_min_claims:
        value = estimate["estimated_roc_auc"]
        if value < settings.monitor_min_roc_auc:
            alerts.append(_below("estimated_roc_auc", value, settings.monitor_min_roc_auc))
    return alerts


def _below(metric: str, value: float, threshold: float) -> Alert:
    return Alert(
        metric, "all", round(float(value), 4), threshold, f"{metric} {value:.3f} < {threshold}"
    )


def drift_alerts(
    drift: pd.DataFrame, prediction_psi: float, rows: int, settings: Settings
) -> list[Alert]:
    """Features (and the prediction) whose PSI against the reference profile reaches
    `monitor_psi`, when the latest weeks hold at least `monitor_min_claims` claims; features
    that move with the calendar by construction (`MOVES_WITH_TIME`) never alert."""
    if rows < settings.monitor_min_claims:
        return []
    alerts = [
        Alert(
            "feature_psi",
            f"feature={row.feature}",
            round(float(row.psi), 4),
            settings.monitor_psi,
            f"{row.feature} moved from its reference distribution (PSI {row.psi:.2f})",
        )
        for row in drift.itertuples(index=False)
        if row.psi >= settings.monitor_psi and row.feature not in MOVES_WITH_TIME
    ]
    if math.isfinite(prediction_psi) and prediction_psi >= settings.monitor_psi:
        alerts.append(
            Alert(
                "prediction_psi",
                "all",
                round(prediction_psi, 4),
                settings.monitor_psi,
                f"the scores moved from their reference distribution (PSI {prediction_psi:.2f})",
            )
        )
    return alerts
