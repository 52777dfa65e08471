"""Confidence-based performance estimation (CBPE, as NannyML does it): the champion's
performance on recent claims before their outcomes arrive.

Denials come back weeks after submission, so realized ROC-AUC lags. If the scores are
calibrated, a claim scored p is denied with probability p, so it is an expected p true
positive and 1 - p false positive at any threshold it clears; summing those gives the expected
confusion matrix, and from it the expected metric. The estimate is only as good as the
calibration: it cannot see a change in how features relate to denials (concept drift), which
the realized metrics catch once labels arrive.
"""

from __future__ import annotations

import numpy as np


def _probabilities(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64).ravel()
    if not len(p):
        raise ValueError("no scores: performance of an empty sample is undefined")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("scores must be probabilities in [0, 1] (and not NaN)")
    return p


def estimated_roc_auc(p: np.ndarray) -> float:
    """Expected ROC-AUC of calibrated scores `p`, without labels.

    At each threshold, from the highest distinct score down, the expected true positives are
    the sum of p over the scores at or above it and the expected false positives the sum of
    1 - p; divided by their totals they give the expected TPR/FPR curve, integrated by the
    trapezoid rule. Tied scores are one threshold, as in the realized ROC curve. One sort,
    so O(n log n). NaN when every score is 0 or every score is 1: no expected denials (or no
    expected payments), the same case in which realized ROC-AUC is undefined.
    """
    p = _probabilities(p)
    distinct, group = np.unique(p, return_inverse=True)
    positives = np.bincount(group, weights=p, minlength=len(distinct))[::-1]
    negatives = np.bincount(group, minlength=len(distinct))[::-1] - positives
    tp = np.concatenate(([0.0], np.cumsum(positives)))
    fp = np.concatenate(([0.0], np.cumsum(negatives)))
    if tp[-1] <= 0 or fp[-1] <= 0:
        return float("nan")
    return float(np.trapezoid(tp / tp[-1], fp / fp[-1]))


def estimated_brier(p: np.ndarray) -> float:
    """Expected Brier score: a claim scored p is denied with probability p, so its expected
    squared error is p(1 - p)^2 + (1 - p)p^2 = p(1 - p)."""
    p = _probabilities(p)
    return float(np.mean(p * (1 - p)))


def estimated_denial_rate(p: np.ndarray) -> float:
    """Expected share of claims denied: the mean calibrated P(denial)."""
    return float(np.mean(_probabilities(p)))
