"""The reference profile: how the model's inputs and its calibrated prediction were distributed
on the rows it was last judged on, saved with the bundle.

Drift is the change in the share of rows falling in each bin, so the bins must be fixed when
the model is registered: re-deriving them from current data would move the yardstick with
what it measures. Training builds the profile from the test period, the most recent
out-of-sample rows, which is what the model looked like at promotion; monitoring bins the
champion's current rows on the same bins (`FeatureProfile.shares`) and compares.

A numeric column's bins lie between its deciles (deduplicated, so a 0/1 flag gets two bins,
not ten), open at both ends so a value beyond the reference range still lands in a bin. A
categorical column keeps its most frequent levels and pools the rest, and levels never seen
in the reference, into "other". Both have a bin for missing values: a feed that starts
dropping a field is drift too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

PREDICTION = "prediction"
"""The calibrated P(denial), profiled beside the features under this name."""
QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Numeric bin edges: the reference deciles."""
MAX_LEVELS = 20
"""A categorical column keeps this many of its most frequent levels; the rest are "other"
(a payer with a handful of claims would otherwise make a bin of noise)."""


def _floats(values: pd.Series | np.ndarray) -> np.ndarray:
    return pd.Series(values).to_numpy(dtype=np.float64, na_value=np.nan)


def _text(values: pd.Series | np.ndarray) -> pd.Series:
    """Levels as strings (as the bundle's levels are), missing kept missing."""
    return pd.Series(values).astype("string")


def _shares(index: np.ndarray, bins: int) -> np.ndarray:
    if not len(index):
        raise ValueError("no values to bin: shares of an empty sample are undefined")
    return np.bincount(index, minlength=bins) / len(index)


@dataclass(frozen=True)
class NumericBins:
    """Bins (-inf, e0], (e0, e1], ..., (ek, inf) over the edges, then missing (NaN)."""

    edges: tuple[float, ...]
    reference: tuple[float, ...]

    @classmethod
    def fit(cls, values: pd.Series | np.ndarray) -> NumericBins:
        """Edges at the deciles of the finite values: observed values (inverted CDF), so a
        count or a flag is cut where its values are, not between them."""
        x = _floats(values)
        finite = x[np.isfinite(x)]
        edges = (
            np.unique(np.quantile(finite, QUANTILES, method="inverted_cdf"))
            if finite.size
            else np.empty(0)
        )
        unfitted = cls(tuple(float(e) for e in edges), reference=())
        return replace(unfitted, reference=tuple(float(s) for s in unfitted.shares(x)))

    def index(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """The bin of each value; +-inf fall in the outer bins, NaN in the missing bin."""
        x = _floats(values)
        index = np.searchsorted(np.asarray(self.edges, dtype=np.float64), x, side="left")
        index[np.isnan(x)] = len(self.edges) + 1
        return index

    def shares(self, values: pd.Series | np.ndarray) -> np.ndarray:
        return _shares(self.index(values), len(self.edges) + 2)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "numeric", "edges": list(self.edges), "reference": list(self.reference)}


@dataclass(frozen=True)
class CategoricalBins:
    """One bin per kept level (most frequent first), then "other", then missing."""

    levels: tuple[str, ...]
    reference: tuple[float, ...]

    @classmethod
    def fit(cls, values: pd.Series | np.ndarray) -> CategoricalBins:
        """The `MAX_LEVELS` most frequent levels; ties by level so the profile is reproducible."""
        counts = _text(values).value_counts(dropna=True)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        unfitted = cls(tuple(str(level) for level, _ in ranked[:MAX_LEVELS]), reference=())
        return replace(unfitted, reference=tuple(float(s) for s in unfitted.shares(values)))

    def index(self, values: pd.Series | np.ndarray) -> np.ndarray:
        text = _text(values)
        codes = pd.Index(self.levels, dtype="string").get_indexer(text)  # -1: unseen or missing
        other, missing = len(self.levels), len(self.levels) + 1
        return np.where(codes >= 0, codes, np.where(text.isna().to_numpy(), missing, other))

    def shares(self, values: pd.Series | np.ndarray) -> np.ndarray:
        return _shares(self.index(values), len(self.levels) + 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "levels": list(self.levels),
            "reference": list(self.reference),
        }


Bins = NumericBins | CategoricalBins


def _bins_from_dict(data: Mapping[str, Any]) -> Bins:
    reference = tuple(float(s) for s in data["reference"])
    if data["kind"] == "numeric":
        return NumericBins(tuple(float(e) for e in data["edges"]), reference)
    if data["kind"] == "categorical":
        return CategoricalBins(tuple(str(level) for level in data["levels"]), reference)
    raise ValueError(f"unknown bin kind {data['kind']!r} in a feature profile")


@dataclass(frozen=True)
class FeatureProfile:
    """Per feature, and for the prediction under `PREDICTION`: fixed bins and the reference
    share of each; `rows` is the number of reference rows (how much the shares are worth)."""

    rows: int
    columns: Mapping[str, Bins]

    @classmethod
    def from_frame(
        cls, features: pd.DataFrame, categorical: Iterable[str], scores: np.ndarray
    ) -> FeatureProfile:
        """Profile every column of `features` (those named in `categorical` by level, the
        rest numerically) and the calibrated `scores` of the same rows."""
        scores = np.asarray(scores, dtype=np.float64)
        if len(scores) != len(features):
            raise ValueError(f"{len(scores)} scores for {len(features)} feature rows")
        if PREDICTION in features.columns:
            raise ValueError(f"a feature may not be called {PREDICTION!r}: the profile uses it")
        categorical = set(categorical)
        columns: dict[str, Bins] = {
            name: (CategoricalBins if name in categorical else NumericBins).fit(features[name])
            for name in features.columns
        }
        columns[PREDICTION] = NumericBins.fit(scores)
        return cls(len(features), columns)

    @property
    def features(self) -> tuple[str, ...]:
        """The profiled features, without the prediction."""
        return tuple(name for name in self.columns if name != PREDICTION)

    def reference(self, column: str) -> np.ndarray:
        """The reference share of each bin of `column`."""
        return np.asarray(self._bins(column).reference)

    def shares(self, column: str, values: pd.Series | np.ndarray) -> np.ndarray:
        """The share of `values` in each bin of `column`, in the order of `reference`."""
        return self._bins(column).shares(values)

    def _bins(self, column: str) -> Bins:
        if column not in self.columns:
            raise KeyError(f"{column!r} is not in the feature profile")
        return self.columns[column]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": {name: bins.to_dict() for name, bins in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureProfile:
        return cls(
            int(data["rows"]),
            {name: _bins_from_dict(bins) for name, bins in data["columns"].items()},
        )
