"""Metric definitions, checked on cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from model_bundle.metrics import expected_calibration_error, recall_at_precision, top_decile_lift


def test_ece_is_small_for_calibrated_and_large_for_shifted_scores() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 50_000)
    label = (rng.random(50_000) < p).astype(int)
    assert expected_calibration_error(label, p) < 0.01
    assert expected_calibration_error(label, np.clip(p + 0.2, 0, 1)) > 0.1


def test_recall_at_precision_on_a_perfect_and_a_useless_ranking() -> None:
    label = np.array([1, 1, 0, 0, 0, 0])
    assert recall_at_precision(label, np.array([0.9, 0.8, 0.3, 0.2, 0.1, 0.0]), 0.9) == 1.0
    assert recall_at_precision(label, np.array([0.0, 0.1, 0.9, 0.8, 0.7, 0.6]), 0.9) == 0.0


def test_top_decile_lift_of_a_perfect_ranking() -> None:
    label = np.array([1] * 10 + [0] * 90)
    assert top_decile_lift(label, np.linspace(1, 0, 100)) == pytest.approx(10.0)
