"""Alerts fire on the thresholds of the settings, name the segment, and stay quiet on
segments too small to judge."""

from __future__ import annotations

import pandas as pd

from monitoring.alerts import drift_alerts, performance_alerts, rate_gap_alerts
from settings import Settings

SETTINGS = Settings(
    monitor_rate_gap=0.05, monitor_rate_z=4.0, monitor_min_payer_claims=30, monitor_min_claims=200
)


def payer_rows(*rows: tuple[str, int, float, float]) -> pd.DataFrame:
    """payer, claims, gap, z."""
    return pd.DataFrame(
        [
            {
                "payer_id": p,
                "claims": n,
                "gap": g,
                "z": z,
                "denial_rate": 0.3 + g,
                "mean_prediction": 0.3,
            }
            for p, n, g, z in rows
        ]
    )


def test_a_payers_gap_alerts_only_when_large_and_certain() -> None:
    table = payer_rows(
        ("P07", 400, 0.20, 9.0),  # fires
        ("P01", 400, 0.03, 6.0),  # certain but small
        ("P02", 400, 0.10, 2.0),  # large but could be chance
        ("P03", 20, 0.40, 5.0),  # too few claims
        ("P04", 400, -0.08, -5.0),  # fewer denials than predicted: fires too
    )
    alerts = rate_gap_alerts(table, "payer_id", SETTINGS)
    assert [(a.metric, a.segment) for a in alerts] == [
        ("denial_rate_gap", "payer=P07"),
        ("denial_rate_gap", "payer=P04"),
    ]
    assert alerts[0].value == 0.2
    assert alerts[0].threshold == 0.05
    assert "P07" in alerts[0].message


def test_feature_drift_names_the_feature_and_needs_enough_claims() -> None:
    """A running denial rate moves with the calendar by construction: never an alert."""
    drift = pd.DataFrame(
        {
            "feature": ["code_1", "overall_denial_rate", "payer_id"],
            "psi": [0.9, 2.0, 0.1],
            "rows": 500,
        }
    )
    alerts = drift_alerts(drift, 0.3, 500, SETTINGS)
    assert [(a.metric, a.segment) for a in alerts] == [
        ("feature_psi", "feature=code_1"),
        ("prediction_psi", "all"),
    ]
    assert drift_alerts(drift, 0.3, 199, SETTINGS) == []


def test_performance_alerts() -> None:
    overall = pd.Series({"claims": 500, "roc_auc": 0.65, "ece": 0.08})
    estimate = pd.Series({"claims": 300, "estimated_roc_auc": 0.6})
    alerts = performance_alerts(overall, estimate, SETTINGS)
    assert [a.metric for a in alerts] == ["roc_auc", "ece", "estimated_roc_auc"]
    healthy = pd.Series({"claims": 500, "roc_auc": 0.8, "ece": 0.01})
    assert performance_alerts(healthy, estimate.replace(0.6, 0.8), SETTINGS) == []
    assert performance_alerts(overall.replace(500, 100), None, SETTINGS) == []
