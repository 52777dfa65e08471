"""Feature frames to the matrix LightGBM reads, with category levels fixed at training time.

pandas 3 string columns are rejected by LightGBM, and a category it has not
seen must not shift the codes of those it has: each categorical column becomes
a `pd.Categorical` over the training levels, unseen values becoming missing,
which LightGBM routes down its learned default branch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def fit_levels(features: pd.DataFrame, categorical: Iterable[str]) -> dict[str, list[str]]:
    """Sorted levels of each categorical column as seen in the training rows."""
    return {
        name: sorted(str(v) for v in features[name].dropna().unique())
        for name in categorical
        if name in features.columns
    }


def to_matrix(
    features: pd.DataFrame, columns: Sequence[str], levels: dict[str, list[str]]
) -> pd.DataFrame:
    """The model's input columns in order: categoricals over fixed levels, the rest float64."""
    out = {}
    for name in columns:
        if name in levels:
            known = features[name].isin(levels[name]).fillna(False).astype(bool)
            values = features[name].astype("object").where(known, None)
            out[name] = pd.Categorical(values, categories=levels[name])
        else:
            out[name] = features[name].astype("float64")
    return pd.DataFrame(out, index=features.index)


def to_array(
    features: pd.DataFrame, columns: Sequence[str], levels: dict[str, list[str]]
) -> np.ndarray:
    """The same matrix as plain float64 for prediction: a category is its code in the fixed
    levels (what LightGBM makes of a pandas categorical), unseen or missing is NaN.

    Building a DataFrame of categoricals costs milliseconds even for one row; this does not.
    """
    codes = level_codes(levels)
    out = np.empty((len(features), len(columns)), dtype=np.float64)
    for position, name in enumerate(columns):
        values = features[name]
        if name in codes:
            code = codes[name]
            out[:, position] = [
                code.get(v, np.nan) if isinstance(v, str) else np.nan
                for v in values.to_numpy(object)
            ]
        else:
            out[:, position] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def level_codes(levels: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Each categorical column's level -> its code, as `to_array` and `records_to_array` read it."""
    return {
        name: {level: float(i) for i, level in enumerate(values)} for name, values in levels.items()
    }


def records_to_array(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    codes: dict[str, dict[str, float]],
) -> np.ndarray:
    """`to_array` for feature dicts (the per-claim serving path): same codes, same floats,
    without building a DataFrame, which costs more than the prediction for a few rows."""
    nan = float("nan")
    return np.array(
        [
            [
                codes[name].get(record[name], nan) if name in codes else record[name]
                for name in columns
            ]
            for record in records
        ],
        dtype=np.float64,
    ).reshape(len(records), len(columns))
