"""Feature frames to the matrix LightGBM reads, with category levels fixed at training time.

pandas 3 string columns are rejected by LightGBM, and a category it has not
seen must not shift the codes of those it has: each categorical column becomes
a `pd.Categorical` over the training levels, unseen values becoming missing,
which LightGBM routes down its learned default branch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
    out = np.empty((len(features), len(columns)), dtype=np.float64)
    for position, name in enumerate(columns):
        values = features[name]
        if name in levels:
            code = {level: float(i) for i, level in enumerate(levels[name])}
            out[:, position] = [
                code.get(v, np.nan) if isinstance(v, str) else np.nan
                for v in values.to_numpy(object)
            ]
        else:
            out[:, position] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return out
