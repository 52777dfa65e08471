"""Label-free performance estimates against realized performance on calibrated scores."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from monitoring.cbpe import estimated_brier, estimated_denial_rate, estimated_roc_auc


def _calibrated(seed: int, n: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Scores that are calibrated by construction: y ~ Bernoulli(p)."""
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 5, n)
    return p, (rng.random(n) < p).astype(int)


@pytest.mark.parametrize("seed", range(5))
def test_estimated_roc_auc_is_within_a_hundredth_of_the_realized(seed) -> None:
    """Tolerance 0.01: the realized ROC-AUC of 20,000 claims varies around its expectation
    with a standard error near 0.004, so 0.01 is about 2.5 of them."""
    p, y = _calibrated(seed)
    assert estimated_roc_auc(p) == pytest.approx(roc_auc_score(y, p), abs=0.01)


def test_estimated_roc_auc_is_the_roc_auc_of_expected_labels_exactly() -> None:
    """Each claim counted as a denial with weight p and a payment with weight 1 - p: the
    curve CBPE integrates, ties (rounded scores) included."""
    p = np.round(np.random.default_rng(7).beta(2, 5, 3_000), 2)
    labels = np.r_[np.ones_like(p), np.zeros_like(p)]
    expected = roc_auc_score(labels, np.r_[p, p], sample_weight=np.r_[p, 1 - p])
    assert estimated_roc_auc(p) == pytest.approx(expected, abs=1e-12)


def test_perfectly_separated_scores_estimate_one() -> None:
    assert estimated_roc_auc(np.array([0.0, 1.0, 0.0, 1.0, 1.0])) == 1.0


def test_scores_carrying_no_ranking_estimate_one_half() -> None:
    assert estimated_roc_auc(np.full(100, 0.3)) == pytest.approx(0.5)


def test_roc_auc_is_undefined_without_expected_denials() -> None:
    assert np.isnan(estimated_roc_auc(np.zeros(10)))


def test_a_million_scores_are_estimated_right() -> None:
    """The size of a month of claims (vectorised: one sort, a fraction of a second; a loop
    over thresholds would not finish), checked by the answer. Uniform calibrated scores put
    a denial's score at density 2x and a payment's at 2(1 - y): P(denial above payment) = 5/6.
    """
    p = np.random.default_rng(3).random(1_000_000)
    assert estimated_roc_auc(p) == pytest.approx(5 / 6, abs=1e-3)


@pytest.mark.parametrize("seed", range(3))
def test_estimated_brier_is_within_half_a_hundredth_of_the_realized(seed) -> None:
    """Tolerance 0.005: about three standard errors of a realized Brier score on 20,000."""
    p, y = _calibrated(seed)
    assert estimated_brier(p) == pytest.approx(brier_score_loss(y, p), abs=0.005)


def test_brier_and_denial_rate_known_answers() -> None:
    p = np.array([0.0, 0.5, 1.0, 0.2])
    assert estimated_brier(p) == pytest.approx((0 + 0.25 + 0 + 0.16) / 4)
    assert estimated_denial_rate(p) == pytest.approx(1.7 / 4)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (np.array([]), "no scores"),
        (np.array([0.2, np.nan]), "probabilities"),
        (np.array([1.2]), "probabilities"),
    ],
)
def test_what_is_not_a_probability_is_refused(bad, says) -> None:
    with pytest.raises(ValueError, match=says):
        estimated_roc_auc(bad)
