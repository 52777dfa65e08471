"""The Dask engine's training pieces that need no cluster: the split, the levels and the
early stopping every worker runs (the fit on a LocalCluster is in test_dask_parity.py)."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.catalog import CATEGORICAL, FEATURES
from features.pipeline import build_features
from model_bundle.matrix import fit_levels, to_array, to_matrix
from training import distributed
from training.dataset import PARTS, build_training_set
from training.distributed import (
    LABEL,
    ClusterPeriods,
    ValidationStop,
    claim_outcomes,
    cluster_levels,
    training_set_on_cluster,
)
from training.fit import lightgbm_params

ALL_FEATURES = [f.name for f in FEATURES]


def sharded(frame: pd.DataFrame, shard: pd.Series, shards: int) -> dd.DataFrame:
    """`frame` as a Dask frame whose partition i holds the claims of shard i, as
    `features.distributed.Shards.frames` lays them out."""
    of_row = shard.reindex(frame.index).to_numpy()
    parts = [dask.delayed(frame[of_row == i]) for i in range(shards)]
    return dd.from_delayed(parts, meta=frame.iloc[:0], verify_meta=False)


@pytest.fixture(scope="module")
def pandas_set(train_data):
    return build_training_set(train_data, 0.15, 0.15)


@pytest.fixture(scope="module")
def cluster_frames(train_data):
    """Features and outcomes in three patient shards (no cluster: dask's local scheduler)."""
    claims = train_data.claims
    shard = pd.Series(
        pd.util.hash_pandas_object(claims["patient_id"], index=False).to_numpy() % 3,
        index=claims["claim_id"].to_numpy(),
    )
    return (
        sharded(build_features(train_data), shard, 3),
        sharded(claim_outcomes(train_data), shard, 3),
    )


def test_cluster_set_splits_and_labels_as_pandas(pandas_set, cluster_frames, monkeypatch) -> None:
    monkeypatch.setattr(distributed, "LOGISTIC_MAX_ROWS", 1000)
    features, outcomes = cluster_frames
    ts = training_set_on_cluster(
        pandas_set.fingerprint, features, outcomes, pandas_set.state, None, 0.15, 0.15
    )
    assert ts.cutoffs == pandas_set.cutoffs
    for name in ("label", "category", "part", "submission_date"):
        pd.testing.assert_series_equal(getattr(ts, name), getattr(pandas_set, name))
    for part in ("validation", "test"):  # scored on the cluster, never collected
        assert ts.held(part).empty
    # of the training period only the latest claims (and their submission date's others)
    train = pandas_set.rows("train")
    held = ts.held("train")
    assert held.equals(train[len(train) - len(held) :])
    assert 1000 <= len(held) < 1100
    pd.testing.assert_frame_equal(ts.features, pandas_set.features.loc[ts.features.index])
    # the whole training period stays on the cluster, labelled
    on_cluster = ts.cluster.between(None, ts.cutoffs[0]).compute()
    assert sorted(on_cluster.index) == sorted(train)
    assert on_cluster[LABEL].equals(pandas_set.label.loc[on_cluster.index])


def test_cluster_predictions_and_samples_are_the_pandas_ones(pandas_set, cluster_frames) -> None:
    """What the driver learns of the periods' features on the cluster (a model's values, a
    sample's rows, the validation matrix) is what the pandas set gives, in its order."""
    ts = training_set_on_cluster(
        pandas_set.fingerprint, *cluster_frames, pandas_set.state, None, 0.15, 0.15
    )
    levels = fit_levels(pandas_set.features, sorted(CATEGORICAL))

    def score(frame: pd.DataFrame) -> np.ndarray:
        return np.nansum(to_array(frame, ALL_FEATURES, levels), axis=1)

    for part in PARTS:
        np.testing.assert_array_equal(ts.predict(part, score), pandas_set.predict(part, score))
    chosen = ts.sample("test", 40, seed=7)
    expected = pandas_set.features.loc[pandas_set.rows("test")].sample(40, random_state=7)
    assert chosen.equals(expected.index)
    pd.testing.assert_frame_equal(ts.features_of(chosen), expected)
    valid = pandas_set.rows("validation")
    np.testing.assert_array_equal(
        ts.cluster.matrix("validation", ALL_FEATURES, levels, valid),
        to_array(pandas_set.features.loc[valid], ALL_FEATURES, levels),
    )


def test_levels_on_the_cluster_are_fit_levels(pandas_set, cluster_frames) -> None:
    periods = ClusterPeriods(None, *cluster_frames, pandas_set.cutoffs)
    levels = cluster_levels(periods.between(None, pandas_set.cutoffs[0]), sorted(CATEGORICAL))
    train = pandas_set.features.loc[pandas_set.rows("train")]
    assert levels == fit_levels(train, sorted(CATEGORICAL))
    assert levels


def test_validation_stop_stops_where_lightgbm_early_stopping_does(pandas_set, settings) -> None:
    train, valid = pandas_set.rows("train"), pandas_set.rows("validation")
    levels = fit_levels(pandas_set.features.loc[train], sorted(CATEGORICAL))
    params = lightgbm_params(settings, {"learning_rate": 0.3})

    def fit(callback, valid_sets) -> lgb.Booster:
        train_set = lgb.Dataset(
            to_matrix(pandas_set.features.loc[train], ALL_FEATURES, levels),
            pandas_set.label.loc[train].to_numpy(),
        )
        sets = [lgb.Dataset(m, y, reference=train_set) for m, y in valid_sets]
        return lgb.train(params, train_set, 300, valid_sets=sets, callbacks=[callback])

    valid_frame = pandas_set.features.loc[valid]
    label = pandas_set.label.loc[valid].to_numpy()
    stopped = fit(
        lgb.early_stopping(10, first_metric_only=True, verbose=False),
        [(to_matrix(valid_frame, ALL_FEATURES, levels), label)],
    )
    ours = fit(ValidationStop(to_array(valid_frame, ALL_FEATURES, levels), label, 10), [])
    assert 0 < ours.best_iteration < 300
    assert ours.best_iteration == stopped.best_iteration
    assert ours.num_trees() == stopped.num_trees()
    matrix = to_array(valid_frame, ALL_FEATURES, levels)
    np.testing.assert_array_equal(ours.predict(matrix), stopped.predict(matrix))


def test_the_pandas_set_holds_every_row(pandas_set) -> None:
    for part in PARTS:
        assert pandas_set.held(part).equals(pandas_set.rows(part))
