"""Evaluation metrics a data scientist and a billing manager both read.

Ranking (ROC-AUC, PR-AUC), probability quality (Brier, log loss, expected
calibration error), and operating points billing teams use: recall at 80% and
90% precision (how many denials a reviewer catches when four in five, or nine
in ten, of the flagged claims really would be denied) and the lift of the
riskiest decile.

Here, beside the bundle, because training judges a candidate with them and monitoring
judges the champion with the same ones after promotion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
)


def expected_calibration_error(label: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean prediction| over ten equal-width bins, weighted by size."""
    label, p = np.asarray(label, float), np.asarray(p, float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(label[mask].mean() - p[mask].mean())
    return float(total / len(p))


def recall_at_precision(label: np.ndarray, p: np.ndarray, precision: float) -> float:
    """The highest recall at which precision is at least `precision` (0 if never reached)."""
    precisions, recalls, _ = precision_recall_curve(label, p)
    reachable = recalls[precisions >= precision]
    return float(reachable.max()) if len(reachable) else 0.0


def top_decile_lift(label: np.ndarray, p: np.ndarray) -> float:
    """Denial rate of the riskiest 10% of claims over the overall denial rate."""
    label = np.asarray(label, float)
    top = np.argsort(-np.asarray(p, float), kind="stable")[: max(1, len(p) // 10)]
    return float(label[top].mean() / label.mean())


def binary_metrics(label: np.ndarray, p: np.ndarray) -> dict[str, float]:
    label, p = np.asarray(label, int), np.asarray(p, float)
    return {
        "roc_auc": float(roc_auc_score(label, p)),
        "pr_auc": float(average_precision_score(label, p)),
        "brier": float(brier_score_loss(label, p)),
        "log_loss": float(log_loss(label, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "ece": expected_calibration_error(label, p),
        "recall_at_precision_80": recall_at_precision(label, p, 0.8),
        "recall_at_precision_90": recall_at_precision(label, p, 0.9),
        "top_decile_lift": top_decile_lift(label, p),
        "denial_rate": float(label.mean()),
        "mean_prediction": float(p.mean()),
        "claims": float(len(label)),
    }


def group_metrics(label: pd.Series, p: pd.Series, group: pd.Series) -> pd.DataFrame:
    """Per group (payer, program): claims, observed and predicted denial rate, ROC-AUC, Brier."""
    rows = []
    for name, index in group.groupby(group, observed=True).groups.items():
        y, q = label.loc[index].to_numpy(), p.loc[index].to_numpy()
        both = 0 < y.sum() < len(y)
        rows.append(
            {
                "group": name,
                "claims": len(y),
                "denial_rate": y.mean(),
                "mean_prediction": q.mean(),
                "roc_auc": roc_auc_score(y, q) if both else np.nan,
                "brier": brier_score_loss(y, q),
            }
        )
    return pd.DataFrame(rows).sort_values("claims", ascending=False).reset_index(drop=True)


def category_metrics(p: pd.Series, category: pd.Series, threshold: float) -> pd.DataFrame:
    """Per denial category: denied claims, their mean predicted risk, and the share flagged
    at `threshold` (the review threshold of the riskiest decile)."""
    denied = category.dropna()
    frame = pd.DataFrame({"category": denied, "p": p.loc[denied.index]})
    summary = frame.groupby("category").agg(
        denied_claims=("p", "size"),
        mean_prediction=("p", "mean"),
        flagged=("p", lambda q: float((q >= threshold).mean())),
    )
    return summary.sort_values("denied_claims", ascending=False).reset_index()
