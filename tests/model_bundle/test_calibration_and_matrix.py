"""The bundle's parts: calibration chosen on held-out time, categories fixed at training."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from model_bundle.calibration import Calibrator, choose_calibrator
from model_bundle.matrix import fit_levels, level_codes, records_to_array, to_array, to_matrix


def _scores(rng: np.random.Generator, n: int, distort) -> tuple[np.ndarray, np.ndarray]:
    truth = rng.uniform(0.01, 0.6, n)
    label = (rng.random(n) < truth).astype(int)
    return distort(truth), label


def test_isotonic_wins_when_the_distortion_is_not_a_sigmoid() -> None:
    rng = np.random.default_rng(0)
    raw, label = _scores(rng, 20_000, lambda p: np.where(p < 0.3, p / 3, p))
    calibrator, scores = choose_calibrator(raw, label, min_rows_isotonic=1000)
    assert calibrator.method == "isotonic"
    assert scores["isotonic_log_loss"] < scores["sigmoid_log_loss"]


def test_small_windows_only_consider_sigmoid() -> None:
    rng = np.random.default_rng(1)
    raw, label = _scores(rng, 600, lambda p: p**2)
    calibrator, scores = choose_calibrator(raw, label, min_rows_isotonic=1000)
    assert calibrator.method == "sigmoid"
    assert "isotonic_log_loss" not in scores


def test_calibration_fixes_a_miscalibrated_score() -> None:
    rng = np.random.default_rng(2)
    raw, label = _scores(rng, 20_000, lambda p: p**2)
    calibrator, _ = choose_calibrator(raw, label, min_rows_isotonic=1000)
    calibrated = calibrator.transform(raw)
    assert abs(calibrated.mean() - label.mean()) < 0.01
    assert abs(raw.mean() - label.mean()) > 0.05


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrator_round_trips_through_json_and_keeps_order(method) -> None:
    rng = np.random.default_rng(3)
    raw, label = _scores(rng, 5_000, lambda p: p)
    fitted = Calibrator.fit(raw, label, method)
    restored = Calibrator.from_dict(fitted.to_dict())
    grid = np.linspace(0.001, 0.999, 50)
    assert np.array_equal(fitted.transform(grid), restored.transform(grid))
    assert np.all(np.diff(restored.transform(grid)) >= 0)


def test_one_class_validation_is_refused() -> None:
    with pytest.raises(ValueError, match="both denied and paid"):
        choose_calibrator(np.linspace(0, 1, 100), np.zeros(100, int), 1000)


def test_unseen_categories_become_missing_and_codes_stay_stable() -> None:
    train = pd.DataFrame({"payer": pd.array(["B", "A", "B"], dtype="string"), "x": [1.0, 2, 3]})
    levels = fit_levels(train, ["payer"])
    assert levels == {"payer": ["A", "B"]}
    new = pd.DataFrame({"payer": pd.array(["C", "B", None], dtype="string"), "x": [1.0, 2, 3]})
    matrix = to_matrix(new, ["payer", "x"], levels)
    assert list(matrix["payer"].cat.categories) == ["A", "B"]
    assert matrix["payer"].isna().tolist() == [True, False, True]
    assert matrix["payer"].cat.codes.tolist() == [-1, 1, -1]
    assert matrix["x"].dtype == "float64"


def test_array_and_frame_give_the_booster_the_same_input() -> None:
    """Prediction reads `to_array`, training wrote `to_matrix`: the booster must not notice."""
    rng = np.random.default_rng(4)
    n = 2_000
    payer = rng.choice(["A", "B", "C"], n)
    frame = pd.DataFrame({"payer": pd.array(payer, dtype="string"), "x": rng.normal(size=n)})
    label = ((payer == "B") ^ (frame["x"] > 0.5)).astype(int)
    levels = fit_levels(frame, ["payer"])
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "min_data_in_leaf": 5},
        lgb.Dataset(to_matrix(frame, ["payer", "x"], levels), label),
        num_boost_round=20,
    )
    new = pd.DataFrame(
        {"payer": pd.array(["B", "Z", None, "A"], dtype="string"), "x": [0.1, 0.7, np.nan, 2.0]}
    )
    from_frame = booster.predict(to_matrix(new, ["payer", "x"], levels))
    from_array = booster.predict(to_array(new, ["payer", "x"], levels))
    assert np.array_equal(from_frame, from_array)
    records = [
        {"payer": None if payer is pd.NA else payer, "x": x}
        for payer, x in zip(new["payer"], new["x"], strict=True)
    ]
    from_records = records_to_array(records, ["payer", "x"], level_codes(levels))
    assert np.array_equal(to_array(new, ["payer", "x"], levels), from_records, equal_nan=True)
