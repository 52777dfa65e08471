"""Alerts fire on the thresholds of the settings, name the segment, and stay quiet on
segments too small to judge."""

from __future__ import annotations

import pandas as pd

from monitoring.alerts import drift_alerts, performance_alerts, rate_gap_alerts
from settings import Settings

SETTINGS = Settings(
    monitor_rate_gap=0.05,
    monitor_alpha=0.01,
    monitor_min_segment_claims=20,
    monitor_min_claims=200,
)


def segments(*rows: tuple[str, int, float, float]) -> pd.DataFrame:
    """segment, claims, gap, p_value."""
    return pd.DataFrame(
        [
            {
                "segment": name,
                "claims": n,
                "gap": gap,
                "p_value": chance,
                "denial_rate": 0.3 + gap,
                "mean_prediction": 0.3,
            }
            for name, n, gap, chance in rows
        ]
    )


def test_a_gap_alerts_when_large_and_unlikely_among_all_the_segments_judged() -> None:
    table = segments(
        ("payer=P07", 400, 0.20, 1e-9),  # fires
        ("payer=P01", 400, 0.03, 1e-9),  # certain but small
        ("payer=P02", 400, 0.10, 0.004),  # 0.01 alone, but not 0.01 over 4 segments judged
        ("payer=P03", 19, 0.40, 1e-9),  # too few claims to judge
        ("payer=P04,code=90837", 400, -0.08, 1e-5),  # fewer denials than predicted: fires
    )
    alerts = rate_gap_alerts(table, SETTINGS)
    assert [(a.metric, a.segment) for a in alerts] == [
        ("denial_rate_gap", "payer=P07"),
        ("denial_rate_gap", "payer=P04,code=90837"),
    ]
    assert alerts[0].value == 0.2
    assert alerts[0].threshold == 0.05
    assert "P07" in alerts[0].message
    assert [a.segment for a in rate_gap_alerts(table.iloc[[2]], SETTINGS)] == ["payer=P02"]


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
