"""The reference profile: fixed bins with known shares, JSON round trips, and a place in the
bundle folder that older bundles do without."""

from __future__ import annotations

import json
from dataclasses import replace

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from data_contracts.reader import read_data_dir
from features.pipeline import build_features_and_state
from model_bundle.calibration import Calibrator
from model_bundle.denial import PROFILE_FILE, DenialRiskBundle
from model_bundle.matrix import fit_levels, to_array
from model_bundle.profile import MAX_LEVELS, PREDICTION, FeatureProfile
from synthetic import generate, write_synthetic


def test_numeric_bins_are_deciles_with_missing_apart() -> None:
    """0..99 and 25 missing: ten bins of ten values each (8% of 125 rows), missing 20%."""
    frame = pd.DataFrame({"x": [*range(100), *[np.nan] * 25]})
    profile = FeatureProfile.from_frame(frame, [], np.linspace(0, 1, 125))
    assert profile.columns["x"].edges == (9.0, 19.0, 29.0, 39.0, 49.0, 59.0, 69.0, 79.0, 89.0)
    assert profile.reference("x") == pytest.approx([0.08] * 10 + [0.2])
    assert profile.rows == 125


def test_a_flag_gets_two_bins_not_ten() -> None:
    """Deciles of a 0/1 flag with 10% ones are all 0: one edge, values above it the ones."""
    frame = pd.DataFrame({"flag": [0.0] * 90 + [1.0] * 10})
    profile = FeatureProfile.from_frame(frame, [], np.zeros(100))
    assert profile.columns["flag"].edges == (0.0,)
    assert profile.reference("flag") == pytest.approx([0.9, 0.1, 0.0])
    assert profile.shares("flag", np.array([0.0, 1.0, 1.0, np.nan])) == pytest.approx(
        [0.25, 0.5, 0.25]
    )


def test_current_values_beyond_the_reference_range_land_in_the_outer_bins() -> None:
    profile = FeatureProfile.from_frame(pd.DataFrame({"x": np.arange(100.0)}), [], np.zeros(100))
    shares = profile.shares("x", np.array([-1e9, -np.inf, 1e9, np.inf]))
    assert shares[0] == shares[-2] == 0.5
    assert shares.sum() == pytest.approx(1.0)


def test_categorical_keeps_the_most_frequent_levels_then_other_and_missing() -> None:
    """Level i appears 30 - i times: the first MAX_LEVELS are kept, the other five pooled."""
    levels = [f"L{i:02d}" for i in range(MAX_LEVELS + 5)]
    values = [level for i, level in enumerate(levels) for _ in range(30 - i)] + [None] * 10
    frame = pd.DataFrame({"payer": pd.Series(values, dtype="string")})
    profile = FeatureProfile.from_frame(frame, ["payer"], np.zeros(len(values)))
    bins = profile.columns["payer"]
    assert bins.levels == tuple(levels[:MAX_LEVELS])
    counts = [30 - i for i in range(MAX_LEVELS)] + [sum(30 - i for i in range(20, 25)), 10]
    assert profile.reference("payer") == pytest.approx(np.array(counts) / len(values))
    current = profile.shares("payer", np.array(["L00", "never seen", "L24", None], dtype=object))
    assert current[0] == 0.25
    assert current[-2:] == pytest.approx([0.5, 0.25])


def test_reference_rows_binned_again_give_the_reference_shares() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"charge": rng.lognormal(5, 1, 1_000), "code": rng.choice(["a", "b", "c"], 1_000)}
    )
    scores = rng.beta(2, 5, 1_000)
    profile = FeatureProfile.from_frame(frame, ["code"], scores)
    assert profile.features == ("charge", "code")
    for name in profile.features:
        assert np.array_equal(profile.shares(name, frame[name]), profile.reference(name))
    assert np.array_equal(profile.shares(PREDICTION, scores), profile.reference(PREDICTION))


def test_profile_round_trips_through_json() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "charge": np.where(rng.random(500) < 0.1, np.nan, rng.normal(size=500)),
            "code": pd.Series(rng.choice(["a", "b", None], 500), dtype="string"),
        }
    )
    profile = FeatureProfile.from_frame(frame, ["code"], rng.random(500))
    assert FeatureProfile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile


@pytest.mark.parametrize(
    ("frame", "scores", "says"),
    [
        (pd.DataFrame({"x": [1.0, 2.0]}), np.zeros(3), "3 scores for 2"),
        (pd.DataFrame({PREDICTION: [1.0]}), np.zeros(1), "may not be called"),
    ],
)
def test_a_profile_that_would_not_line_up_is_refused(frame, scores, says) -> None:
    with pytest.raises(ValueError, match=says):
        FeatureProfile.from_frame(frame, [], scores)


def test_an_unknown_column_is_refused_by_name() -> None:
    profile = FeatureProfile.from_frame(pd.DataFrame({"x": [1.0]}), [], np.zeros(1))
    with pytest.raises(KeyError, match="'y' is not in the feature profile"):
        profile.shares("y", np.zeros(2))


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[DenialRiskBundle, pd.DataFrame]:
    """A bundle of three features and a few trees on 1,500 synthetic claims, with its profile."""
    out = tmp_path_factory.mktemp("profile-data")
    write_synthetic(generate(1_500, seed=5), out)
    features, state = build_features_and_state(read_data_dir(out))
    columns = ["payer_id", "n_lines", "total_charge"]
    levels = fit_levels(features, ["payer_id"])
    label = np.random.default_rng(2).random(len(features)) < 0.2
    train = lgb.Dataset(
        to_array(features, columns, levels), label, categorical_feature=[0], free_raw_data=False
    )
    booster = lgb.train({"objective": "binary", "num_leaves": 4, "verbose": -1}, train, 5)
    calibrator = Calibrator.fit(booster.predict(train.data), label.astype(int), "sigmoid")
    bundle = DenialRiskBundle(booster, calibrator, columns, levels, state)
    profile = FeatureProfile.from_frame(features[columns], levels, bundle.score_features(features))
    return replace(bundle, profile=profile), features


def test_profile_round_trips_through_the_bundle_folder(tiny_bundle, tmp_path) -> None:
    bundle, features = tiny_bundle
    loaded = DenialRiskBundle.load(bundle.save(tmp_path / "bundle"))
    assert loaded.profile == bundle.profile
    assert loaded.profile.features == ("payer_id", "n_lines", "total_charge")
    scores = loaded.score_features(features)
    assert np.array_equal(
        loaded.profile.shares(PREDICTION, scores), bundle.profile.reference(PREDICTION)
    )


def test_a_bundle_folder_without_a_profile_loads_with_none(tiny_bundle, tmp_path) -> None:
    """Bundles saved before profiles existed; saving one without a profile over a folder that
    had one must not leave the old profile behind to be read back as this bundle's."""
    bundle, features = tiny_bundle
    folder = bundle.save(tmp_path / "bundle")
    assert (folder / PROFILE_FILE).exists()
    replace(bundle, profile=None).save(folder)
    assert not (folder / PROFILE_FILE).exists()
    loaded = DenialRiskBundle.load(folder)
    assert loaded.profile is None
    assert np.array_equal(loaded.score_features(features), bundle.score_features(features))
