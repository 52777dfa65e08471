"""The monitoring report: one self-contained HTML file (the `reports` shell) with the
alerts first, then performance by week, calibration, drift and the tables behind them."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from monitoring.monitor import MonitorResult
from reports import Plot, png, write_report

TOP_DRIFTING = 15


def by_week_plot(result: MonitorResult) -> Plot:
    """Realized ROC-AUC and ECE per week of submission, with the CBPE estimate where
    claims are still pending."""
    table = result.by_week
    figure, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(table["week"], table["roc_auc"], marker="o", label="ROC-AUC (realized)")
    ax.plot(
        table["week"],
        table["estimated_roc_auc"],
        marker="x",
        linestyle="--",
        label="ROC-AUC (estimated, pending)",
    )
    ax.plot(table["week"], table["ece"], marker="s", label="ECE")
    ax.set(title="Performance by week of submission", ylim=(0, 1))
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.legend(fontsize=7)
    return Plot("performance-by-week", png(figure))


def reliability_plot(result: MonitorResult) -> Plot:
    table = result.reliability
    figure, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.plot(table["mean_prediction"], table["denial_rate"], marker="o")
    ax.set(title="Reliability", xlabel="predicted P(denial)", ylabel="observed denial rate")
    return Plot("reliability", png(figure))


def drift_plot(result: MonitorResult) -> Plot:
    top = result.drift.head(TOP_DRIFTING)[::-1]
    figure, ax = plt.subplots(figsize=(6, 0.3 * max(len(top), 1) + 1))
    ax.barh(top["feature"], top["psi"])
    ax.set(title="Input drift: PSI against the reference profile", xlabel="PSI")
    return Plot("feature-drift", png(figure))


def payer_plot(result: MonitorResult) -> Plot:
    table = result.by_payer
    figure, ax = plt.subplots(figsize=(6, 3.5))
    x = range(len(table))
    ax.bar([i - 0.2 for i in x], table["mean_prediction"], width=0.4, label="predicted")
    ax.bar([i + 0.2 for i in x], table["denial_rate"], width=0.4, label="observed")
    ax.set_xticks(list(x), table["payer_id"], rotation=60, fontsize=7)
    ax.set(title="Denial rate by payer")
    ax.legend(fontsize=7)
    return Plot("denial-rate-by-payer", png(figure))


def write_monitor_report(result: MonitorResult, path: Path) -> Path:
    """The report at `path`."""
    scored = result.scored
    alerts = pd.DataFrame(
        [a.as_dict() for a in result.alerts],
        columns=["metric", "segment", "value", "threshold", "message"],
    )
    sources = scored.claims["source"].value_counts().to_dict()
    summary = (
        f"Claims submitted {scored.since} to {scored.until}: {len(scored.claims):,} "
        f"({len(scored.adjudicated):,} adjudicated, {len(scored.pending):,} pending; scores "
        f"{', '.join(f'{n:,} {s}' for s, n in sources.items())}). Alerts judge the claims "
        f"submitted from {result.alert_since}. {' '.join(result.notes)}"
    )
    sections = {
        "Performance by week of submission": result.by_week,
        "Predicted and observed denial rate by payer": result.by_payer,
        "Realized denial categories": result.by_category,
        "Reliability": result.reliability,
        "Top fix precision (kept scores that named a fix)": result.top_fix,
        "Input drift (latest weeks)": result.drift,
        "Champion and shadow challenger, on the claims both scored": result.versus,
        "All adjudicated claims": result.overall,
    }
    plots = [by_week_plot(result), reliability_plot(result), payer_plot(result)]
    if len(result.drift):
        plots.append(drift_plot(result))
    return write_report(
        path,
        "Model health",
        summary,
        alerts,
        plots,
        sections,
        headline_title=f"Alerts ({len(result.alerts)})",
    )
