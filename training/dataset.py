"""The supervised data set: point-in-time features of adjudicated claims, their labels, and a
time-ordered split into train, validation and test periods.

The label is the contract's: a remit with status denied or partial and at least one
real denial code (not PR-1/2/3 or a lone CO-45). Pending claims have no label and are
left out. The split is by submission date, never random: the model is always judged
on claims submitted after everything it learned from.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data_contracts.denials import denial_outcomes
from data_contracts.reader import ContractData
from features.pipeline import build_features_and_state
from features.state import FeatureState

if TYPE_CHECKING:
    from training.distributed import ClusterPeriods

log = logging.getLogger(__name__)
PARTS = ("train", "validation", "test")


class TrainingDataError(ValueError):
    """The data cannot train an honest model (too few claims, one class, an empty period)."""


@dataclass
class TrainingSet:
    features: pd.DataFrame
    """Point-in-time features of adjudicated claims, in submission order, indexed by claim_id
    (on the Dask engine only the `held` rows): read them through `predict`, `features_of`
    and `held`, which work on either engine."""
    label: pd.Series
    category: pd.Series
    """Contract denial category of denied claims (missing for paid ones)."""
    part: pd.Series
    """train / validation / test, by submission date."""
    submission_date: pd.Series
    cutoffs: tuple[pd.Timestamp, pd.Timestamp]
    fingerprint: str
    state: FeatureState
    """The serving state after all of the data, built in the same pass as the features."""
    cluster: ClusterPeriods | None = None
    """The Dask engine's: every claim's features and label on the cluster, where the models
    are fitted and predict; `features` then holds only the rows the driver needs (`held`)."""

    def rows(self, part: str) -> pd.Index:
        return self.part.index[self.part.to_numpy() == part]

    def held(self, part: str) -> pd.Index:
        """The part's rows whose features are in `features`: all of them on the pandas engine;
        on the Dask engine the latest training claims (the logistic baseline's) alone."""
        rows = self.rows(part)
        return rows if self.cluster is None else rows[rows.isin(self.features.index)]

    def predict(self, part: str, fn: Callable[[pd.DataFrame], np.ndarray]) -> np.ndarray:
        """`fn` (feature rows to one value a row: a model's scores) of the part's claims, in
        `rows(part)` order. On the Dask engine `fn` runs in the cluster's partitions and only
        its values come back, so a period's features never have to fit in this process."""
        rows = self.rows(part)
        if self.cluster is None:
            return np.asarray(fn(self.features.loc[rows]))
        return self.cluster.predict(part, fn, rows)

    def sample(self, part: str, rows: int, seed: int) -> pd.Index:
        """`rows` of the part's claims drawn at random (all when it has fewer): the claims
        `DataFrame.sample(rows, random_state=seed)` of the part's features would give."""
        claims = self.rows(part)
        return pd.Index(pd.Series(claims).sample(min(rows, len(claims)), random_state=seed))

    def features_of(self, claim_ids: pd.Index) -> pd.DataFrame:
        """The features of a few claims (a sample: they come to this process), in that order."""
        if self.cluster is None:
            return self.features.loc[claim_ids]
        return self.cluster.features_of(claim_ids)


TableSums = dict[str, tuple[int, int]]
"""Per table: its row count and the wrapping uint64 sum of its rows' hashes."""


def table_sums(tables: Mapping[str, pd.DataFrame]) -> TableSums:
    """The fingerprint's part of some rows of each table. A sum does not depend on row order or
    on how the rows are split, so shards' sums add up to the whole table's."""
    return {
        name: (
            len(frame),
            int(pd.util.hash_pandas_object(frame, index=False).to_numpy().sum(dtype=np.uint64)),
        )
        for name, frame in tables.items()
    }


def combined_fingerprint(parts: Iterable[TableSums]) -> str:
    """The data fingerprint of the rows whose `table_sums` are `parts` (each row in one part)."""
    rows: dict[str, int] = {}
    sums: dict[str, int] = {}
    for part in parts:
        for name, (count, total) in part.items():
            rows[name] = rows.get(name, 0) + count
            sums[name] = (sums.get(name, 0) + total) % 2**64
    digest = hashlib.sha256()
    for name in sorted(rows):
        digest.update(name.encode())
        digest.update(np.array([rows[name], sums[name]], dtype=np.uint64).tobytes())
    return digest.hexdigest()[:16]


def data_fingerprint(data: ContractData) -> str:
    """A hash of every table's contents: two runs with the same fingerprint saw the same data.
    Computed from per-table sums so the Dask engine gets the same one from its shards
    (`training.distributed.shards_fingerprint`) without the data in one place."""
    return combined_fingerprint([table_sums(data.tables())])


def time_split(
    submission_date: pd.Series, validation_fraction: float, test_fraction: float
) -> tuple[pd.Series, tuple[pd.Timestamp, pd.Timestamp]]:
    """Parts by submission date: the latest `test_fraction` of claims is the test period, the
    `validation_fraction` before it validation, the rest training. A date never spans parts."""
    dates = submission_date.sort_values()
    validation_start = dates.iloc[int(len(dates) * (1 - validation_fraction - test_fraction))]
    test_start = dates.iloc[int(len(dates) * (1 - test_fraction))]
    if not dates.iloc[0] < validation_start < test_start:
        raise TrainingDataError(
            "the claims span too few submission dates to split into train, validation and "
            f"test periods (from {dates.iloc[0].date()} to {dates.iloc[-1].date()})"
        )
    part = np.where(
        submission_date < validation_start,
        "train",
        np.where(submission_date < test_start, "validation", "test"),
    )
    return pd.Series(part, index=submission_date.index), (validation_start, test_start)


@dataclass
class LabelledSplit:
    """Adjudicated claims in submission order, their labels and their time-split parts:
    everything of a training set but the features, whichever engine built those."""

    order: pd.Index
    label: pd.Series
    category: pd.Series
    part: pd.Series
    submission_date: pd.Series
    cutoffs: tuple[pd.Timestamp, pd.Timestamp]

    def training_set(
        self,
        features: pd.DataFrame,
        fingerprint: str,
        state: FeatureState,
        cluster: ClusterPeriods | None = None,
    ) -> TrainingSet:
        """This split with the features an engine built (see `TrainingSet`)."""
        return TrainingSet(
            features=features,
            label=self.label,
            category=self.category,
            part=self.part,
            submission_date=self.submission_date,
            cutoffs=self.cutoffs,
            fingerprint=fingerprint,
            state=state,
            cluster=cluster,
        )


def labelled_split(
    outcomes: pd.DataFrame,
    submission_date: pd.Series,
    validation_fraction: float,
    test_fraction: float,
) -> LabelledSplit:
    """`denial_outcomes` rows split by `submission_date` (per claim_id), checked that every
    period can train or judge a model."""
    if len(outcomes) < 100:
        raise TrainingDataError(
            f"only {len(outcomes)} adjudicated claims (claims with a remit): need at least 100"
        )
    adjudicated = (
        submission_date.loc[outcomes.index]
        .rename("submission_date")
        .rename_axis("claim_id")
        .reset_index()
        .sort_values(["submission_date", "claim_id"])
        .set_index("claim_id")
    )
    order = adjudicated.index
    submission = adjudicated["submission_date"]
    part, cutoffs = time_split(submission, validation_fraction, test_fraction)
    label = outcomes["denied"].reindex(order)
    for name in PARTS:
        counts = label[part == name].value_counts()
        if len(counts) < 2:
            present = "denied" if counts.index.tolist() == [1] else "paid"
            raise TrainingDataError(
                f"the {name} period has only {present} claims ({int(counts.sum())}): a denial "
                "model needs both denied and paid claims in every period"
            )
    log.info("training set: %s", label.groupby(part).agg(["size", "mean"]).to_dict())
    return LabelledSplit(
        order, label, outcomes["category"].reindex(order), part, submission, cutoffs
    )


def build_training_set(
    data: ContractData,
    validation_fraction: float,
    test_fraction: float,
    progress: Callable[[str], None] | None = None,
) -> TrainingSet:
    split = labelled_split(  # before the feature pass, which costs far more
        denial_outcomes(data),
        data.claims.set_index("claim_id")["submission_date"],
        validation_fraction,
        test_fraction,
    )
    features, state = build_features_and_state(data, progress)
    return split.training_set(features.loc[split.order], data_fingerprint(data), state)
