"""The monitor's realized metrics, worked out by hand on a few claims."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from monitoring.performance import by_category, realized, reliability, top_fix_precision


def claims(denied, p, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"denied": denied, "p_denial": p, **columns})
    return frame.set_axis([f"C{i}" for i in range(len(frame))])


def test_realized_metrics_of_all_claims() -> None:
    (row,) = realized(claims([1, 0, 1, 0], [0.8, 0.2, 0.6, 0.4])).to_dict("records")
    assert row["segment"] == "all"
    assert (row["claims"], row["denied"]) == (4, 2)
    assert row["denial_rate"] == pytest.approx(0.5)
    assert row["gap"] == pytest.approx(0.0)
    assert row["roc_auc"] == pytest.approx(1.0)
    assert row["brier"] == pytest.approx((0.04 + 0.04 + 0.16 + 0.16) / 4)


def test_the_gap_is_counted_in_standard_errors_of_the_predicted_rate() -> None:
    """All four denied at P 0.5: gap 0.5, standard error sqrt(4 x 0.25) / 4 = 0.25, z 2."""
    (row,) = realized(claims([1, 1, 1, 1], [0.5] * 4)).to_dict("records")
    assert row["gap"] == pytest.approx(0.5)
    assert row["z"] == pytest.approx(2.0)
    assert math.isnan(row["roc_auc"])  # one class: no ROC-AUC, not 0 or 1


def test_realized_by_payer() -> None:
    frame = claims([1, 0, 1, 1], [0.9, 0.1, 0.3, 0.7], payer_id=["A", "A", "B", "B"])
    table = realized(frame, "payer_id").set_index("payer_id")
    assert table.loc["A", "roc_auc"] == pytest.approx(1.0)
    assert table.loc["B", "denial_rate"] == pytest.approx(1.0)
    assert table.loc["B", "mean_prediction"] == pytest.approx(0.5)


def test_reliability_bins() -> None:
    table = reliability(claims([1, 0, 0, 1], [0.05, 0.08, 0.95, 0.91]))
    assert table["p_denial"].tolist() == ["0.0–0.1", "0.9–1.0"]
    assert table["denial_rate"].tolist() == [0.5, 0.5]
    assert table["mean_prediction"].tolist() == pytest.approx([0.065, 0.93])


def test_what_the_model_caught_per_category() -> None:
    frame = claims(
        [1, 1, 1, 0],
        [0.6, 0.1, 0.3, 0.2],
        category=pd.array(["missing_auth", "missing_auth", "duplicate", pd.NA], dtype="string"),
    )
    table = by_category(frame, review_threshold=0.25).set_index("category")
    assert table.loc["missing_auth", "denied_claims"] == 2
    assert table.loc["missing_auth", "share_of_adjudicated"] == pytest.approx(0.5)
    assert table.loc["missing_auth", "flagged"] == pytest.approx(0.5)
    assert table.loc["duplicate", "flagged"] == pytest.approx(1.0)


def test_a_top_fix_is_right_when_the_denial_was_for_its_category() -> None:
    frame = claims(
        [1, 1, 0, 1, 0],
        [0.6] * 5,
        category=pd.array(["missing_auth", "duplicate", pd.NA, "missing_auth", pd.NA], "string"),
        top_fix=pd.array(["missing_auth", "missing_auth", "missing_auth", pd.NA, pd.NA], "string"),
    )
    table = top_fix_precision(frame).set_index("top_fix")
    assert table.loc["missing_auth", "claims"] == 3
    assert table.loc["missing_auth", "denied"] == 2
    assert table.loc["missing_auth", "precision"] == pytest.approx(1 / 3)
    assert table.loc["all", "claims"] == 3
    assert np.isclose(table.loc["all", "precision"], 1 / 3)
