"""Feature frames to the matrix LightGBM reads, with category levels fixed at training time.

pandas 3 string columns are rejected by LightGBM, and a category it has not
seen must not shift the codes of those it has: each categorical column becomes
a `pd.Categorical` over the training levels, unseen values becoming missing,
which LightGBM routes down its learned default branch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
