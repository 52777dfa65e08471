"""Probability calibration, isotonic or sigmoid, chosen on held-out time.

The calibrator is stored as numbers (JSON), not a pickle, so a bundle can be
read by any version of this code that knows the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss

Method = Literal["isotonic", "sigmoid"]
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass
class Calibrator:
    method: Method
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    slope: float = 1.0
    intercept: float = 0.0

    def transform(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(raw, self.x, self.y)
        return 1.0 / (1.0 + np.exp(-(self.slope * _logit(raw) + self.intercept)))

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "x": self.x,
            "y": self.y,
            "slope": self.slope,
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        return cls(**data)

    @classmethod
    def fit(cls, raw: np.ndarray, label: np.ndarray, method: Method) -> Calibrator:
        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, label)
            return cls("isotonic", x=iso.X_thresholds_.tolist(), y=iso.y_thresholds_.tolist())
        platt = LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), label)
        return cls("sigmoid", slope=float(platt.coef_[0, 0]), intercept=float(platt.intercept_[0]))


def choose_calibrator(
    raw: np.ndarray, label: np.ndarray, min_rows_isotonic: int
) -> tuple[Calibrator, dict[str, float]]:
    """Fit each method on the earlier half of the validation window, keep the one with the lower
    log loss on the later half, and refit it on the whole window.

    Isotonic needs data (it is a step function): below `min_rows_isotonic` rows only
    sigmoid is considered. Returns the calibrator and the later-half scores of each method.
    """
    if len(np.unique(label)) < 2:
        raise ValueError("calibration needs both denied and paid claims in the validation window")
    half = len(raw) // 2
    methods: list[Method] = ["sigmoid"]
    if len(raw) >= min_rows_isotonic:
        methods.append("isotonic")
    scores: dict[str, float] = {}
    for method in methods:
        fitted = Calibrator.fit(raw[:half], label[:half], method)
        calibrated = fitted.transform(raw[half:])
        scores[f"{method}_log_loss"] = float(log_loss(label[half:], calibrated, labels=[0, 1]))
        scores[f"{method}_brier"] = float(brier_score_loss(label[half:], calibrated))
    best = min(methods, key=lambda m: scores[f"{m}_log_loss"])
    return Calibrator.fit(raw, label, best), scores
