"""As-of accumulation: for each query, the aggregate of the events with its key that came before.

This is the one primitive every history feature is built on, in training and
in serving. Events and queries are concatenated, sorted by (key, time,
queries-before-events) and accumulated per key in sequence, so a query sees
exactly the events strictly before it. A serving batch passes the stored state
as a `seed`: one pseudo-event per key placed before everything, so state plus
batch is accumulated in the same order, with the same plain float additions,
as the full history, and the two paths agree to the bit. (pandas' groupby
cumsum uses Kahan compensation, whose hidden carry breaks that; hence the small
compiled loop below.)

Keys are integer codes (`key_codes`); work partitions by key, so the same
accumulation ports to Dask partitions hashed by key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numba
import numpy as np
import pandas as pd

How = Literal["sum", "min", "max"]
IDENTITY: dict[str, float] = {"sum": 0.0, "min": np.inf, "max": -np.inf}
_HOW_CODE = {"sum": 0, "min": 1, "max": 2}


@numba.njit(cache=True)
def _running(
    keys: np.ndarray, values: np.ndarray, how: np.ndarray
) -> np.ndarray:  # pragma: no cover
    n, m = values.shape
    out = np.empty((n, m))
    for j in range(m):
        acc = 0.0
        for i in range(n):
            value = values[i, j]
            if i == 0 or keys[i] != keys[i - 1]:
                acc = value
            elif how[j] == 0:
                acc = acc + value
            elif how[j] == 1:
                acc = min(acc, value)
            else:
                acc = max(acc, value)
            out[i, j] = acc
    return out


def key_codes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One int64 per row identifying the combination of `columns` (missing is its own value)."""
    codes = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        column_codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        codes = codes * (len(uniques) + 1) + column_codes
    return codes


def _how_codes(how: Sequence[How]) -> np.ndarray:
    return np.array([_HOW_CODE[h] for h in how], dtype=np.int8)


def accumulate(
    event_keys: np.ndarray,
    event_times: np.ndarray,
    event_values: np.ndarray,
    query_keys: np.ndarray,
    query_times: np.ndarray,
    how: Sequence[How],
    seed_keys: np.ndarray | None = None,
    seed_values: np.ndarray | None = None,
) -> np.ndarray:
    """Per query and measure, the `how`-aggregate of events with the same key and an earlier time.

    `event_values` and `seed_values` are (n, m) for m measures. A query with no
    earlier event gets the measure's identity (0, +inf or -inf). Returns
    (n_queries, m) in query order.
    """
    m = len(how)
    identity = np.array([IDENTITY[h] for h in how])
    seeds = 0 if seed_keys is None else len(seed_keys)
    keys = np.concatenate(
        [seed_keys if seeds else np.empty(0, np.int64), event_keys, query_keys]
    ).astype(np.int64)
    times = np.concatenate(
        [np.full(seeds, -np.inf), np.asarray(event_times, np.float64), query_times]
    ).astype(np.float64)
    flags = np.concatenate(
        [np.ones(seeds + len(event_keys), np.int8), np.zeros(len(query_keys), np.int8)]
    )
    values = np.concatenate(
        [
            np.asarray(seed_values, np.float64).reshape(seeds, m) if seeds else np.empty((0, m)),
            np.asarray(event_values, np.float64).reshape(len(event_keys), m),
            np.broadcast_to(identity, (len(query_keys), m)),
        ]
    )
    # Queries sort before events at the same time: "before" is strict.
    order = np.lexsort((flags, times, keys))
    running = _running(keys[order], np.ascontiguousarray(values[order]), _how_codes(how))
    result = np.empty_like(running)
    result[order] = running
    return result[len(keys) - len(query_keys) :]


def running(
    keys: np.ndarray, times: np.ndarray, values: np.ndarray, how: Sequence[How]
) -> tuple[np.ndarray, np.ndarray]:
    """Events in (key, time) order, ties in the order given (as `accumulate` sorts them), and
    each event's running aggregate over its key up to and including it: what a query placed
    just after it sees. Returns the order and the running values, (n, m) in that order."""
    m = len(how)
    order = np.lexsort((np.asarray(times, np.float64), keys))
    values = np.ascontiguousarray(np.asarray(values, np.float64).reshape(-1, m)[order])
    return order, _running(keys[order], values, _how_codes(how))


def totals(
    keys: np.ndarray, times: np.ndarray, values: np.ndarray, how: Sequence[How]
) -> tuple[np.ndarray, np.ndarray]:
    """The aggregate per key over all events, accumulated in time order: the serving state."""
    order, accumulated = running(keys, times, values, how)
    sorted_keys = keys[order]
    last = np.ones(len(sorted_keys), dtype=bool)
    last[:-1] = sorted_keys[1:] != sorted_keys[:-1]
    return sorted_keys[last], accumulated[last]
