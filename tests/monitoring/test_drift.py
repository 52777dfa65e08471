"""PSI with known answers, and feature and prediction drift against a reference profile."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest

from model_bundle.profile import FeatureProfile
from monitoring.drift import (
    PSI_LARGE_ABOVE,
    PSI_STABLE_BELOW,
    feature_drift,
    prediction_drift,
    psi,
)


def test_identical_shares_have_no_drift() -> None:
    shares = np.array([0.1, 0.2, 0.3, 0.4, 0.0])
    assert psi(shares, shares) == 0.0


def test_two_bins_by_hand() -> None:
    """(0.8 - 0.5) ln(0.8 / 0.5) + (0.2 - 0.5) ln(0.2 / 0.5) = 0.3 ln 4."""
    assert psi(np.array([0.5, 0.5]), np.array([0.8, 0.2])) == pytest.approx(0.3 * math.log(4))


def test_an_empty_bin_is_floored_not_infinite() -> None:
    """Reference bin empty, current 0.1: (0.1 - 1e-4) ln(0.1 / 1e-4) + (-0.1) ln(0.9)."""
    expected = (0.1 - 1e-4) * math.log(0.1 / 1e-4) - 0.1 * math.log(0.9)
    assert psi(np.array([0.0, 1.0]), np.array([0.1, 0.9])) == pytest.approx(expected)


def test_bins_must_match() -> None:
    with pytest.raises(ValueError, match="matching bins"):
        psi(np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5]))


def _profile(rng: np.random.Generator, n: int = 20_000) -> FeatureProfile:
    frame = pd.DataFrame(
        {
            "charge": rng.normal(0, 1, n),
            "payer": rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]),
        }
    )
    return FeatureProfile.from_frame(frame, ["payer"], rng.beta(2, 5, n))


def test_a_shifted_distribution_drifts_and_a_resample_does_not() -> None:
    rng = np.random.default_rng(5)
    profile = _profile(rng)
    same = profile.shares("charge", rng.normal(0, 1, 20_000))
    shifted = profile.shares("charge", rng.normal(1, 1, 20_000))
    assert psi(profile.reference("charge"), same) < PSI_STABLE_BELOW
    assert psi(profile.reference("charge"), shifted) > PSI_LARGE_ABOVE


def test_feature_drift_ranks_the_moved_feature_first() -> None:
    rng = np.random.default_rng(6)
    profile = _profile(rng)
    current = pd.DataFrame(
        {
            "charge": rng.normal(0, 1, 5_000),
            "payer": rng.choice(["A", "B", "C"], 5_000, p=[0.2, 0.3, 0.5]),
        }
    )
    drift = feature_drift(profile, current)
    assert list(drift.columns) == ["feature", "psi", "rows"]
    assert list(drift["feature"]) == ["payer", "charge"]
    assert drift["psi"].iloc[0] > PSI_LARGE_ABOVE > PSI_STABLE_BELOW > drift["psi"].iloc[1]
    assert (drift["rows"] == 5_000).all()


def test_a_feature_absent_from_the_frame_is_skipped_with_a_warning(caplog) -> None:
    profile = _profile(np.random.default_rng(7))
    with caplog.at_level(logging.WARNING, logger="monitoring.drift"):
        drift = feature_drift(profile, pd.DataFrame({"charge": [0.1, 0.5, -2.0]}))
    assert list(drift["feature"]) == ["charge"]
    assert "payer" in caplog.text


def test_prediction_drift_sees_scores_move() -> None:
    rng = np.random.default_rng(8)
    profile = _profile(rng)
    assert prediction_drift(profile, rng.beta(2, 5, 20_000)) < PSI_STABLE_BELOW
    assert prediction_drift(profile, rng.beta(5, 2, 20_000)) > PSI_LARGE_ABOVE
