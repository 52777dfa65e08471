"""Fitting: the LightGBM denial model with early stopping, and the baselines beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from features.catalog import CATEGORICAL
from model_bundle.matrix import fit_levels, to_matrix
from settings import Settings
from training.dataset import TrainingSet

LOGISTIC_MAX_ROWS = 200_000
"""The logistic baseline is fitted on at most this many of the latest training rows."""


@dataclass
class FittedBooster:
    booster: lgb.Booster
    columns: list[str]
    levels: dict[str, list[str]]
    best_iteration: int

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(to_matrix(features, self.columns, self.levels), num_threads=1)


def lightgbm_params(settings: Settings, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    params = {
        "objective": "binary",
        "metric": ["binary_logloss", "auc"],
        "verbosity": -1,
        "num_threads": settings.threads,
        "seed": settings.seed,
        "deterministic": True,
        "force_col_wise": True,
        **settings.lightgbm.model_dump(),
    }
    params.update(overrides or {})
    return params


def fit_booster(
    train: pd.DataFrame,
    train_label: pd.Series,
    valid: pd.DataFrame,
    valid_label: pd.Series,
    columns: Sequence[str],
    categorical: Sequence[str],
    params: dict[str, Any],
    settings: Settings,
    callbacks: Sequence[Any] = (),
) -> FittedBooster:
    """LightGBM on the training period, stopped early on the validation period's log loss."""
    columns = list(columns)
    levels = fit_levels(train, [c for c in categorical if c in columns])
    train_set = lgb.Dataset(to_matrix(train, columns, levels), train_label.to_numpy())
    valid_set = lgb.Dataset(
        to_matrix(valid, columns, levels), valid_label.to_numpy(), reference=train_set
    )
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=settings.max_boost_rounds,
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[
            lgb.early_stopping(
                settings.early_stopping_rounds, first_metric_only=True, verbose=False
            ),
            *callbacks,
        ],
    )
    return FittedBooster(booster, columns, levels, booster.best_iteration)


def fit_logistic(
    train: pd.DataFrame, train_label: pd.Series, columns: Sequence[str], categorical: Sequence[str]
):
    """Logistic regression on the same features: median-imputed, scaled numbers and one-hot
    categories (rare levels pooled). Returns a function from features to P(denial)."""
    columns = list(columns)
    nominal = [c for c in columns if c in categorical]
    numeric = [c for c in columns if c not in categorical]
    recent = train.tail(LOGISTIC_MAX_ROWS)
    model = make_pipeline(
        ColumnTransformer(
            [
                (
                    "numeric",
                    make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                    numeric,
                ),
                (
                    "nominal",
                    OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20),
                    nominal,
                ),
            ]
        ),
        LogisticRegression(max_iter=300, C=1.0),
    )

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[columns].copy()
        for name in nominal:
            out[name] = out[name].astype(object).where(out[name].notna(), "missing")
        return out

    model.fit(prepare(recent), train_label.loc[recent.index].to_numpy())
    return lambda frame: model.predict_proba(prepare(frame))[:, 1]


def fit_on_periods(
    ts: TrainingSet,
    columns: Sequence[str],
    params: dict[str, Any],
    settings: Settings,
    callbacks: Sequence[Any] = (),
) -> FittedBooster:
    """`fit_booster` on a training set's training period, stopped on its validation period;
    on the Dask engine's training set, the same fit on the cluster (`training.distributed`)."""
    train, valid = ts.rows("train"), ts.rows("validation")
    if ts.cluster is not None:
        if callbacks:
            raise ValueError("LightGBM callbacks of this process cannot run on the Dask workers")
        return ts.cluster.fit(
            valid,
            ts.label.loc[valid],
            columns,
            sorted(CATEGORICAL),
            params,
            settings,
        )
    return fit_booster(
        ts.features.loc[train],
        ts.label.loc[train],
        ts.features.loc[valid],
        ts.label.loc[valid],
        columns,
        sorted(CATEGORICAL),
        params,
        settings,
        callbacks,
    )
