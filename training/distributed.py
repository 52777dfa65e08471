"""The Dask engine's training set and fit: the denial model's LightGBM on the cluster.

The features never come whole to the driver: they stay in the cluster's partitions (one
per shard of patients), where `lightgbm.dask` fits on the training period, every worker
a LightGBM machine of one data-parallel model, and where every model's predictions of
the validation and test periods are computed (`ClusterPeriods.predict`): only the
values come back. What else comes back is small: each claim's label, category and
submission date (for the time split); the validation period as one float matrix, which
every worker's early stopping reads whole (`ValidationStop`); the latest training
claims the logistic baseline is fitted on, the same rows as on the pandas engine; and
the sampled rows of the profile and the SHAP plot. Of the contract data itself only
this comes: each shard's sums for the data fingerprint (`shards_fingerprint`), the
test claims' payer and program for the report, five example claims with their lines
for the logged model, and the appealed claims the recovery model learns from
(`collect_claims`); never the whole data.

Early stopping: `lightgbm.dask` 4.7 does not support it (lightgbm-org/LightGBM#3712,
#4493): each worker would judge its own part of the validation set and stop at its
own round, leaving the others waiting on the network. `ValidationStop` instead
gives every worker the whole validation period and the same arithmetic, so all of
them stop at the same round, with the rule of `lightgbm.early_stopping` on the
validation log loss. The result is the pandas engine's `FittedBooster`: the same
booster format, levels and best iteration, so calibration, the bundle and the
registry do not know which engine trained it.

On one worker the fit is the pandas engine's to the bit (without bagging, whose draws
follow row order). On several it is not: data-parallel LightGBM takes each feature's
bins from the rows of one machine, so the model depends on which shards each worker
holds, and a rerun on another placement gives a slightly different model (test ROC-AUC
0.9335 to 0.9364 over six two-worker fits on the 50,000 parity claims; pandas 0.9362).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
from lightgbm.callback import CallbackEnv, EarlyStopException
from scipy.special import expit

from data_contracts.denials import denial_outcomes
from data_contracts.reader import ContractData, isin
from data_contracts.writer import CLAIM_TABLES
from features.distributed import build_features_dask
from features.sharding import Shards
from features.state import FeatureState
from model_bundle.matrix import fit_levels, to_array, to_matrix
from settings import Settings
from training.dataset import (
    TableSums,
    TrainingSet,
    combined_fingerprint,
    labelled_split,
    table_sums,
)
from training.fit import LOGISTIC_MAX_ROWS, FittedBooster

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
LABEL = "__denied__"
"""The label's column beside the features in a period's partitions (no feature's name)."""
OUTCOMES_META = pd.DataFrame(
    {
        "denied": pd.Series(dtype="int64"),
        "category": pd.Series(dtype="str"),
        "submission_date": pd.Series(dtype="datetime64[us]"),
    },
    index=pd.Index([], dtype="string", name="claim_id"),
)
"""`claim_outcomes`' columns and dtypes as the contract reader's tables give them."""
LOG_LOSS_EPSILON = 1e-15
"""LightGBM's floor on a probability inside its log loss (kEpsilon)."""


def claim_outcomes(data: ContractData) -> pd.DataFrame:
    """`denial_outcomes` of a shard's claims with their submission dates: what the time split
    needs of each adjudicated claim. A shard holds whole claims with their remits."""
    outcomes = denial_outcomes(data)
    submitted = data.claims.set_index("claim_id")["submission_date"]
    return outcomes.assign(submission_date=submitted.reindex(outcomes.index).to_numpy())


def _values(
    frame: pd.DataFrame, fn: Callable[[pd.DataFrame], np.ndarray], width: int
) -> pd.DataFrame:
    """`fn` of one partition's feature rows (a vector, or a matrix `width` wide), by claim_id."""
    features = frame.drop(columns=LABEL)
    values = np.asarray(fn(features), dtype=np.float64) if len(features) else np.empty(0)
    return pd.DataFrame(values.reshape(len(features), width), index=features.index)


def _rows_of(features: pd.DataFrame, claim_ids: pd.Index) -> pd.DataFrame:
    return features[isin(features.index.to_series(), claim_ids).to_numpy()]


def _between(
    features: pd.DataFrame,
    outcomes: pd.DataFrame,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> pd.DataFrame:
    """One partition's adjudicated claims submitted in [start, end): features and label."""
    submitted = outcomes["submission_date"]
    keep = np.ones(len(outcomes), dtype=bool)
    if start is not None:
        keep &= (submitted >= start).to_numpy()
    if end is not None:
        keep &= (submitted < end).to_numpy()
    chosen = outcomes[keep]
    return features.loc[chosen.index].assign(**{LABEL: chosen["denied"].to_numpy()})


class ValidationStop:
    """`lightgbm.early_stopping(rounds, first_metric_only=True)` on the validation log loss,
    computed by every worker on the whole validation period.

    Each round adds the newest tree's raw scores to a running total, so a round costs
    one tree's prediction, not the model's. The workers hold the same trees (data-parallel
    LightGBM syncs every split) and run the same arithmetic on the same rows, so they
    reach the same decision in the same round, as the network between them requires.
    """

    order = 30  # where lightgbm places its own early stopping among callbacks
    before_iteration = False

    def __init__(self, matrix: np.ndarray, label: np.ndarray, rounds: int) -> None:
        self.matrix = matrix
        self.label = label.astype(np.float64)
        self.rounds = rounds
        self.raw = np.zeros(len(label))
        self.best_loss = np.inf
        self.best_iteration = 0
        self.best_score: list[tuple[str, str, float, bool]] = []

    def log_loss(self) -> float:
        p = expit(self.raw)
        loss = self.label * np.log(np.maximum(p, LOG_LOSS_EPSILON)) + (1 - self.label) * np.log(
            np.maximum(1 - p, LOG_LOSS_EPSILON)
        )
        return float(-loss.mean())

    def __call__(self, env: CallbackEnv) -> None:
        self.raw += env.model.predict(
            self.matrix, start_iteration=env.iteration, num_iteration=1, raw_score=True
        )
        loss = self.log_loss()
        if loss < self.best_loss:
            self.best_loss, self.best_iteration = loss, env.iteration
            self.best_score = [("valid", "binary_logloss", loss, False)]
        elif env.iteration - self.best_iteration >= self.rounds:
            raise EarlyStopException(self.best_iteration, self.best_score)
        if env.iteration == env.end_iteration - 1:
            raise EarlyStopException(self.best_iteration, self.best_score)


def cluster_levels(frame: dd.DataFrame, categorical: Sequence[str]) -> dict[str, list[str]]:
    """`fit_levels` of a frame on the cluster: each column's distinct values are found in
    the partitions and only they come back, sorted as `fit_levels` sorts them."""
    present = [name for name in categorical if name in frame.columns]
    uniques = dask.compute(*(frame[name].dropna().unique(split_out=1) for name in present))
    return {
        name: fit_levels(pd.Series(values, name=name).to_frame(), [name])[name]
        for name, values in zip(present, uniques, strict=True)
    }


@dataclass
class ClusterPeriods:
    """A training set's claims on the cluster: partition i of `outcomes` (`claim_outcomes`)
    holds the adjudicated claims of partition i of `features`."""

    client: Any
    features: dd.DataFrame
    outcomes: dd.DataFrame
    cutoffs: tuple[pd.Timestamp, pd.Timestamp]

    def between(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> dd.DataFrame:
        """Features and label (`LABEL`) of the adjudicated claims submitted in [start, end)."""
        return dd.map_partitions(
            _between,
            self.features,
            self.outcomes,
            start,
            end,
            meta=_between(self.features._meta, self.outcomes._meta, start, end),
            align_dataframes=False,
        )

    def period(self, part: str) -> dd.DataFrame:
        """`between` the bounds of a part of the time split (`training.dataset.PARTS`)."""
        validation, test = self.cutoffs
        bounds = {
            "train": (None, validation),
            "validation": (validation, test),
            "test": (test, None),
        }
        return self.between(*bounds[part])

    def _collect(
        self, part: str, fn: Callable[[pd.DataFrame], np.ndarray], rows: pd.Index, width: int
    ) -> np.ndarray:
        frame = self.period(part)
        meta = pd.DataFrame(np.empty((0, width)), index=frame._meta.index)
        # delayed: one copy of `fn` (a booster, megabytes) in the graph, not one a partition
        found = frame.map_partitions(_values, dask.delayed(fn), width, meta=meta).compute()
        return found.loc[rows].to_numpy()

    def predict(
        self, part: str, fn: Callable[[pd.DataFrame], np.ndarray], rows: pd.Index
    ) -> np.ndarray:
        """`fn` (feature rows to one value a row, e.g. a model's P(denial)) of the part's
        claims, computed in the partitions; the values in the order of `rows`, the part's."""
        return self._collect(part, fn, rows, 1)[:, 0]

    def matrix(
        self, part: str, columns: Sequence[str], levels: dict[str, list[str]], rows: pd.Index
    ) -> np.ndarray:
        """`to_array` of the part's claims, built in the partitions, in the order of `rows`."""
        return self._collect(part, lambda f: to_array(f, columns, levels), rows, len(columns))

    def features_of(self, claim_ids: pd.Index) -> pd.DataFrame:
        """The feature rows of `claim_ids` (a sample: they come to the driver), in that order."""
        meta = self.features._meta
        wanted = dask.delayed(claim_ids)  # one copy in the graph, not one a partition
        found = self.features.map_partitions(_rows_of, wanted, meta=meta).compute()
        return found.loc[claim_ids]

    def fit(
        self,
        valid: pd.Index,
        valid_label: pd.Series,
        columns: Sequence[str],
        categorical: Sequence[str],
        params: dict[str, Any],
        settings: Settings,
    ) -> FittedBooster:
        """`fit_booster` with the training period on the cluster: levels from its partitions,
        the matrix built in them, `DaskLGBMClassifier` stopped by `ValidationStop` on the
        validation period (`valid`: its claims, in order; `valid_label` theirs)."""
        columns = list(columns)
        train = self.period("train")
        levels = cluster_levels(train, [c for c in categorical if c in columns])
        matrix = train.map_partitions(
            to_matrix, columns, levels, meta=to_matrix(train._meta, columns, levels)
        )
        stop = ValidationStop(
            self.matrix("validation", columns, levels, valid),
            valid_label.to_numpy(),
            settings.early_stopping_rounds,
        )
        # num_threads: each worker trains with its own threads (lightgbm.dask sets them).
        # feature_pre_filter off: each machine would judge from its own rows which features
        # can never split (min_data_in_leaf) and drop them for all; on 50,000 claims that cost
        # up to 0.014 of test ROC-AUC depending on which shards a worker held.
        model = lgb.DaskLGBMClassifier(
            client=self.client,
            n_estimators=settings.max_boost_rounds,
            **{k: v for k, v in params.items() if k != "num_threads"}
            | {"feature_pre_filter": False},
        )
        with warnings.catch_warnings():
            # the estimator's own n_jobs default, which lightgbm.dask drops for the same reason
            warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
            model.fit(matrix, train[LABEL], callbacks=[stop])
        booster = model.booster_
        log.info("dask fit: best round %d", booster.best_iteration)
        return FittedBooster(booster, columns, levels, booster.best_iteration)


def training_set_on_cluster(
    fingerprint: str,
    features: dd.DataFrame,
    outcomes: dd.DataFrame,
    state: FeatureState,
    client: Any,
    validation_fraction: float,
    test_fraction: float,
) -> TrainingSet:
    """The Dask engine's `TrainingSet`: labels, parts and cutoffs as `build_training_set`
    makes them, from outcomes collected to the driver; the features of the latest
    `LOGISTIC_MAX_ROWS` training claims collected, every claim's on the cluster
    (`cluster`). `fingerprint` is the data's (`shards_fingerprint`)."""
    collected = outcomes.compute()
    split = labelled_split(
        collected[["denied", "category"]],
        collected["submission_date"],
        validation_fraction,
        test_fraction,
    )
    periods = ClusterPeriods(client, features, outcomes, split.cutoffs)
    train_dates = split.submission_date[split.part == "train"]
    held_from = train_dates.iloc[-LOGISTIC_MAX_ROWS:].iloc[0]
    held = periods.between(held_from, split.cutoffs[0]).compute().drop(columns=LABEL)
    log.info(
        "dask training set: %d of %d claims' features on the driver", len(held), len(split.order)
    )
    return split.training_set(
        held.loc[train_dates.index[train_dates.to_numpy() >= held_from]],
        fingerprint,
        state,
        periods,
    )


def cluster_training_set(
    shards: Shards, settings: Settings, state_dir: Path, progress: Progress | None = None
) -> TrainingSet:
    """`build_training_set` on the Dask engine: features and outcomes computed in the shards
    (`features.distributed`), on the cluster; the serving state written to `state_dir`,
    which must outlast the training set (its bundle copies the files from there)."""
    built = build_features_dask(shards, state_dir=state_dir, progress=progress)
    return training_set_on_cluster(
        shards_fingerprint(shards),
        built.features,
        shards.frames(claim_outcomes, OUTCOMES_META),
        built.state,
        shards.client,
        settings.validation_fraction,
        settings.test_fraction,
    )


def _claim_table_sums(data: ContractData) -> TableSums:
    return table_sums({name: getattr(data, name) for name in CLAIM_TABLES})


def shards_fingerprint(shards: Shards) -> str:
    """`data_fingerprint` of the sharded data: the per-claim tables' sums from the shards
    (each row is in one), the reference tables' from the driver (a row of those can be in
    several shards, or in none)."""
    parts = shards.client.gather(shards.map(_claim_table_sums))
    reference = table_sums(
        {"authorizations": shards.authorizations, "eligibility": shards.eligibility}
    )
    return combined_fingerprint([*parts, reference])


def claims_of(data: ContractData, claim_ids: Any) -> ContractData:
    """The rows of the claims `claim_ids` in the per-claim tables (claims, lines, remits,
    appeals), without authorizations or eligibility: what a question about some claims
    needs, small enough to bring to the driver."""
    tables = {name: getattr(data, name) for name in CLAIM_TABLES}
    return ContractData(
        **{name: t[isin(t["claim_id"], claim_ids)] for name, t in tables.items()},
        authorizations=data.authorizations.iloc[:0],
        eligibility=data.eligibility.iloc[:0],
        present=data.present,
    )


def appealed_claims(data: ContractData) -> ContractData:
    """`claims_of` the claims that have appeals: all the recovery model learns from."""
    return claims_of(data, data.appeals["claim_id"].unique())


def _claim_columns(data: ContractData, claim_ids: Any, columns: Sequence[str]) -> pd.DataFrame:
    claims = data.claims
    return claims.loc[isin(claims["claim_id"], claim_ids), ["claim_id", *columns]]


def _in_read_order(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Shards' rows of one table as one frame, in the order one read of the data gives them
    (a shard's tables keep that position as their index)."""
    return pd.concat(frames).sort_index(kind="stable") if len(frames) > 1 else frames[0]


def _gathered(source: ContractData | Shards, fn: Callable[..., Any], *args: Any) -> list[Any]:
    """`fn(data, *args)` of the whole data (one part) or of every shard, on its worker; a
    large argument goes to the workers once."""
    if isinstance(source, ContractData):
        return [fn(source, *args)]
    args = tuple(
        source.client.scatter(arg, broadcast=True) if isinstance(arg, pd.Index) else arg
        for arg in args
    )
    return source.client.gather(source.map(fn, *args))


def collect_claims(
    source: ContractData | Shards, fn: Callable[..., ContractData], *args: Any
) -> ContractData:
    """The `ContractData` `fn` picks (`claims_of`, `appealed_claims`) from every shard, as one
    small data set on the driver, its rows in the order of one read of the data."""
    parts = _gathered(source, fn, *args)
    return ContractData(
        **{name: _in_read_order([getattr(p, name) for p in parts]) for name in CLAIM_TABLES},
        authorizations=parts[0].authorizations,
        eligibility=parts[0].eligibility,
        present=parts[0].present,
    )


def collect_claim_columns(
    source: ContractData | Shards, claim_ids: pd.Index, columns: Sequence[str]
) -> pd.DataFrame:
    """`columns` of the claims `claim_ids`, indexed by claim_id in the order of `claim_ids`."""
    found = _in_read_order(_gathered(source, _claim_columns, claim_ids, columns))
    return found.set_index("claim_id").loc[claim_ids]
