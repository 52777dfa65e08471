"""The evaluation report: one self-contained HTML file with its plots, logged to MLflow."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from jinja2 import Template
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

TEMPLATE = Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
.plots img { width: 32rem; }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ summary }}</p>
<h2>Test period</h2>
{{ headline | safe }}
<div class="plots">{% for plot in plots %}
<img alt="{{ plot.name }}" src="data:image/png;base64,{{ plot.png }}">
{% endfor %}</div>
{% for section in sections %}<h2>{{ section.title }}</h2>{{ section.table | safe }}{% endfor %}
</body></html>
"""
)


@dataclass
class Plot:
    name: str
    png: str


def _png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def curve_plots(label: np.ndarray, scores: dict[str, np.ndarray]) -> list[Plot]:
    """ROC, precision-recall and calibration curves of each model on the test period."""
    roc, ax_roc = plt.subplots(figsize=(5, 4))
    pr, ax_pr = plt.subplots(figsize=(5, 4))
    cal, ax_cal = plt.subplots(figsize=(5, 4))
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(label, p)
        ax_roc.plot(fpr, tpr, label=name)
        precision, recall, _ = precision_recall_curve(label, p)
        ax_pr.plot(recall, precision, label=name)
        observed, predicted = calibration_curve(label, p, n_bins=10, strategy="quantile")
        ax_cal.plot(predicted, observed, marker="o", label=name)
    ax_roc.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax_roc.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    ax_pr.set(title="Precision-recall", xlabel="recall", ylabel="precision")
    ax_cal.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax_cal.set(title="Calibration (deciles)", xlabel="predicted", ylabel="observed")
    for ax in (ax_roc, ax_pr, ax_cal):
        ax.legend(fontsize=8)
    return [
        Plot("roc", _png(roc)),
        Plot("precision-recall", _png(pr)),
        Plot("calibration", _png(cal)),
    ]


def shap_plot(contributions: pd.DataFrame, top: int = 20) -> Plot:
    """Mean |SHAP| (log-odds) of the most influential features on a test sample."""
    importance = contributions.drop(columns="bias").abs().mean().nlargest(top)[::-1]
    figure, ax = plt.subplots(figsize=(6, 0.3 * top + 1))
    ax.barh(importance.index, importance.to_numpy())
    ax.set(title="SHAP: mean |contribution| (log-odds)", xlabel="mean |SHAP value|")
    return Plot("shap", _png(figure))


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0)


def write_report(
    path: Path,
    title: str,
    summary: str,
    headline: pd.DataFrame,
    plots: list[Plot],
    sections: dict[str, pd.DataFrame],
) -> Path:
    html = TEMPLATE.render(
        title=title,
        summary=summary,
        headline=_table(headline),
        plots=plots,
        sections=[{"title": t, "table": _table(f)} for t, f in sections.items()],
    )
    path.write_text(html, encoding="utf-8")
    return path
