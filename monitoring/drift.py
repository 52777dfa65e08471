"""Input and prediction drift of the champion: the population stability index (PSI) of current
rows against the reference profile saved with the bundle (`model_bundle.profile`).

PSI needs no labels, so it warns weeks before the outcomes that would show a drop in
performance arrive; it says the population moved, not that the model got worse (see
`monitoring.cbpe` for the label-free estimate of that).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from model_bundle.profile import PREDICTION, FeatureProfile

log = logging.getLogger(__name__)

PSI_STABLE_BELOW = 0.1
"""The credit-scoring reading: below 0.1 the population is stable."""
PSI_LARGE_ABOVE = 0.2
"""From 0.2 the shift is significant (investigate, consider retraining; the default of
`monitor_psi`); between the two, moderate."""


def psi(reference: np.ndarray, current: np.ndarray, floor: float = 1e-4) -> float:
    """Population stability index of two share vectors over the same bins:
    sum((cur - ref) * ln(cur / ref)), each share floored at `floor` first so a bin empty on one
    side adds a large but finite term instead of an infinite one. Symmetric, 0 when the
    shares match; read with `PSI_STABLE_BELOW` and `PSI_LARGE_ABOVE`."""
    ref = np.maximum(np.asarray(reference, dtype=np.float64), floor)
    cur = np.maximum(np.asarray(current, dtype=np.float64), floor)
    if ref.shape != cur.shape:
        raise ValueError(f"PSI needs matching bins: {ref.shape} reference, {cur.shape} current")
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def feature_drift(profile: FeatureProfile, features: pd.DataFrame) -> pd.DataFrame:
    """PSI of each profiled feature on the current `features` rows, largest first.

    Columns: feature, psi, rows (current rows compared). A profiled feature missing from the
    frame is skipped with a warning rather than failing the whole report: the others still
    tell whether the population moved.
    """
    absent = [name for name in profile.features if name not in features.columns]
    if absent:
        log.warning("feature drift: %d profiled features not in the frame: %s", len(absent), absent)
    rows = [
        {
            "feature": name,
            "psi": psi(profile.reference(name), profile.shares(name, features[name])),
            "rows": len(features),
        }
        for name in profile.features
        if name in features.columns
    ]
    frame = pd.DataFrame(rows, columns=["feature", "psi", "rows"])
    return frame.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def prediction_drift(profile: FeatureProfile, scores: np.ndarray) -> float:
    """PSI of the calibrated P(denial) of current rows against the reference scores."""
    return psi(profile.reference(PREDICTION), profile.shares(PREDICTION, scores))
