"""The monitor's realized metrics, worked out by hand on a few claims."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from monitoring.performance import (
    by_category,
    chance_of_gap,
    realized,
    reliability,
    top_fix_precision,
)


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


def test_the_gaps_chance_is_two_sided() -> None:
    """All four denied at P 0.5: P(4 of 4) = 1/16 above, doubled for either side."""
    (row,) = realized(claims([1, 1, 1, 1], [0.5] * 4)).to_dict("records")
    assert row["gap"] == pytest.approx(0.5)
    assert row["p_value"] == pytest.approx(2 / 16)
    assert math.isnan(row["roc_auc"])  # one class: no ROC-AUC, not 0 or 1
    assert chance_of_gap(2, 4, 0.5) == 1.0


def poisson_binomial_tail(p: np.ndarray, k: int) -> float:
    """P(at least k of the Bernoulli(p) fire), exactly, by dynamic programming."""
    counts = np.zeros(len(p) + 1)
    counts[0] = 1.0
    for q in p:
        counts[1:] = counts[1:] * (1 - q) + counts[:-1] * q
        counts[0] *= 1 - q
    return float(counts[k:].sum())


def test_the_chance_of_a_gap_never_understates_a_mixed_books_chance() -> None:
    """A mix of risks spreads less than one rate would, so the binomial at the mean rate
    gives a chance at least the exact one: alerts on it are not false more often than said."""
    p = np.random.default_rng(3).beta(0.6, 3, size=40)
    for k in range(int(p.sum()) + 2, 20):
        exact = 2 * poisson_binomial_tail(p, k)
        assert chance_of_gap(k, len(p), float(p.mean())) >= exact


def test_realized_by_payer_and_code() -> None:
    frame = claims([1, 0, 1, 1], [0.9, 0.1, 0.3, 0.7], payer_id=["A", "A", "B", "B"])
    table = realized(frame, "payer_id").set_index("payer_id")
    assert table.loc["A", "roc_auc"] == pytest.approx(1.0)
    assert table.loc["B", "denial_rate"] == pytest.approx(1.0)
    assert table.loc["B", "mean_prediction"] == pytest.approx(0.5)
    frame["code"] = ["90837", "90834", "90837", "90837"]
    both = realized(frame, ["payer_id", "code"]).set_index(["payer_id", "code"])
    assert both["claims"].to_dict() == {("A", "90834"): 1, ("A", "90837"): 1, ("B", "90837"): 2}


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
