"""The evaluation report's plots: curves and SHAP importance (the page is `reports`)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from reports import Plot, png


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
        Plot("roc", png(roc)),
        Plot("precision-recall", png(pr)),
        Plot("calibration", png(cal)),
    ]


def shap_plot(contributions: pd.DataFrame, top: int = 20) -> Plot:
    """Mean |SHAP| (log-odds) of the most influential features on a test sample."""
    importance = contributions.drop(columns="bias").abs().mean().nlargest(top)[::-1]
    figure, ax = plt.subplots(figsize=(6, 0.3 * top + 1))
    ax.barh(importance.index, importance.to_numpy())
    ax.set(title="SHAP: mean |contribution| (log-odds)", xlabel="mean |SHAP value|")
    return Plot("shap", png(figure))
