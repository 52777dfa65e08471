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


def rate_gap_alerts(table: pd.DataFrame, key: str, settings: Settings) -> list[Alert]:
    """Segments of a `performance.realized` table (`key`: its group column) whose observed
    denial rate is off the predicted one by `monitor_rate_gap` and by `monitor_rate_z`
    standard errors at once: a big gap on a few claims, or a tiny one on many, is noise."""
    alerts = []
    for row in table.itertuples(index=False):
        row = row._asdict()
        gap, z = row["gap"], row["z"]
        if row["claims"] < settings.monitor_min_payer_claims or not math.isfinite(z):
            continue
        if abs(gap) >= settings.monitor_rate_gap and abs(z) >= settings.monitor_rate_z:
            segment = "all" if key == "segment" else f"{key.removesuffix('_id')}={row[key]}"
            alerts.append(
                Alert(
                    "denial_rate_gap",
                    segment,
                    round(float(gap), 4),
                    settings.monitor_rate_gap,
                    f"{segment}: {row['denial_rate']:.1%} of {row['claims']:,} claims denied, "
                    f"{row['mean_prediction']:.1%} predicted ({z:+.1f} standard errors)",
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
