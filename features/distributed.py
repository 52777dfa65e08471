"""The Dask engine's feature pass: the pandas feature code, partitioned, not a second copy.

Every history feature is a tally over earlier claims or remits that share a key
(`features.tallies`). The tallies fall in two kinds, and each is partitioned by
what its keys need:

- Keyed by patient or by authorization (every claim tally, and the patient's and the
  authorization's remits). `Shards` splits the data into groups of patients that
  no authorization number or replacement claim links to a patient of another
  group, so such a tally's history lies whole inside one shard. Each shard runs
  the pandas pass (`pipeline.history_pass`) unchanged, and these values are the
  pandas engine's to the bit.
- Keyed across patients (payer and code, provider, facility, everyone). A payer's
  history is in every shard. These run over time chunks of submission dates,
  the way the serving path runs a batch against the stored state: each chunk's
  totals per key are computed in parallel; each chunk is seeded with the totals
  of the chunks before it (`pipeline.run_tally` with a state); then each
  chunk's claims are accumulated in parallel. Counts, minima and maxima are
  exact; sums are added in another order than one pass adds them, so they agree
  to float rounding.

The shards stay on the cluster (futures) from reading to features; only small
things come back to the driver: submission days for the chunk bounds, the
cross-patient totals per key, and, for the serving state, its files, written a
tally and a shard's claims and remits at a time (`StateWriter`), so the driver never
holds the whole state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.reader import ContractData
from features.claim_level import EPOCH
from features.pipeline import (
    HistoryPass,
    day_after,
    history_pass,
    latest_event,
    run_tally,
    tally_totals,
)
from features.sharding import Shards
from features.state import CLAIM_COLUMNS, HISTORY_TABLES, REMIT_COLUMNS, FeatureState, StateWriter
from features.tallies import CLAIM_TALLIES, REMIT_TALLIES, TALLIES, Tally, column, within_shard

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

SHARD_REMIT_TALLIES = tuple(t for t in REMIT_TALLIES if within_shard(t))
CROSS_TALLIES = tuple(t for t in REMIT_TALLIES if not within_shard(t))
assert all(within_shard(t) for t in CLAIM_TALLIES), "claim tallies must be keyed by patient"
_AGGREGATE = {"sum": "sum", "min": "min", "max": "max"}


@dataclass
class DaskFeatures:
    """The Dask engine's features: partition i holds the claims of shard i, indexed by
    claim_id, with the catalog's columns and dtypes (as `build_features` gives them)."""

    features: Any
    state: FeatureState | None = None


def _shard_pass(data: ContractData) -> HistoryPass:
    return history_pass(data, lambda _step: None, SHARD_REMIT_TALLIES)


def _columns(tallies: Sequence[Tally], *, keys: bool, values: bool) -> list[str]:
    names: set[str] = set()
    for tally in tallies:
        names |= set(tally.keys) if keys else set()
        for measure in tally.measures if values else ():
            names |= {measure.value} | ({measure.where} if measure.where else set())
    return sorted(names)


QUERY_COLUMNS = ["submission_day", *_columns(CROSS_TALLIES, keys=True, values=False)]
EVENT_COLUMNS = ["received_day", *_columns(CROSS_TALLIES, keys=True, values=True)]


def _pieces(
    history: HistoryPass, shard: int, bounds: np.ndarray
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """A shard's claims (queries) and remit events cut by time chunk, for the cross tallies."""
    queries = history.base[QUERY_COLUMNS].assign(_shard=shard, _row=np.arange(len(history.base)))
    events = history.events[EVENT_COLUMNS]
    query_chunk = np.searchsorted(bounds, queries["submission_day"].to_numpy(), "right")
    event_chunk = np.searchsorted(bounds, events["received_day"].to_numpy(), "right")
    return [(queries[query_chunk == k], events[event_chunk == k]) for k in range(len(bounds) + 1)]


def _chunk(*pieces: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    queries = pd.concat([q for q, _ in pieces], ignore_index=True)
    events = pd.concat([e for _, e in pieces], ignore_index=True)
    return queries, events


def _chunk_totals(chunk: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each cross tally's totals per key over one chunk's remits."""
    _, events = chunk
    return {tally.name: tally_totals(tally, events, np.empty(0), events) for tally in CROSS_TALLIES}


def _merged_tally(frames: Sequence[pd.DataFrame], tally: Tally) -> pd.DataFrame:
    """A tally's totals per key over several sets of events: sums added, minima and maxima
    kept."""
    if len(frames) == 1:
        return frames[0]
    how = {column(tally, m): _AGGREGATE[m.how] for m in tally.measures}
    return (
        pd.concat(frames, ignore_index=True)
        .groupby(list(tally.keys), dropna=False, sort=False)
        .agg(how)
        .reset_index()
    )


def _merged(
    parts: Sequence[dict[str, pd.DataFrame]], tallies: Sequence[Tally]
) -> dict[str, pd.DataFrame]:
    """`_merged_tally` of each of `tallies` over `parts`."""
    return {t.name: _merged_tally([part[t.name] for part in parts], t) for t in tallies}


def _seed_state(totals: dict[str, pd.DataFrame]) -> FeatureState:
    """The earlier chunks' totals as a state to seed `run_tally` with: only its tallies are
    read (`FeatureState.lookup`)."""
    empty = pd.DataFrame()
    return FeatureState(EPOCH.date(), totals, empty, empty, empty, empty)


def _chunk_tallies(
    chunk: tuple[pd.DataFrame, pd.DataFrame], seed: dict[str, pd.DataFrame] | None
) -> pd.DataFrame:
    """The cross tallies' raw columns of one chunk's claims, seeded by the earlier chunks."""
    queries, events = chunk
    state = _seed_state(seed) if seed is not None else None
    times = events["received_day"].to_numpy(np.float64)
    query_times = queries["submission_day"].to_numpy(np.float64)
    raw: dict[str, np.ndarray] = {}
    for tally in CROSS_TALLIES:
        raw |= run_tally(tally, events, times, queries, query_times, state)
    return pd.DataFrame(raw).assign(_shard=queries["_shard"].to_numpy(), _row=queries["_row"])


def _by_shard(frame: pd.DataFrame, shards: int) -> list[pd.DataFrame]:
    return [frame[frame["_shard"].to_numpy() == s] for s in range(shards)]


def _assembled(history: HistoryPass, keep: pd.Index | None, *cross: pd.DataFrame) -> pd.DataFrame:
    """A shard's features: its own tallies and the cross tallies' columns of its claims (of
    the claims `keep` alone, when given)."""
    found = pd.concat(cross, ignore_index=True).sort_values("_row")
    if not np.array_equal(found["_row"].to_numpy(), np.arange(len(history.base))):
        raise RuntimeError("a shard's cross-patient tallies do not cover its claims")
    raw = dict(history.raw)
    for name in found.columns.drop(["_shard", "_row"]):
        raw[name] = found[name].to_numpy(np.float64)
    features = HistoryPass(
        history.level, history.base, history.rank, history.events, raw, history.reference
    ).features
    return features if keep is None else features.loc[keep]


def _chunk_bounds(client: Any, histories: list[Any], chunks: int) -> np.ndarray:
    """Submission days cutting the claims into `chunks` chunks of about equal size."""
    days = np.concatenate(
        client.gather(
            [client.submit(lambda h: h.base["submission_day"].to_numpy(), h) for h in histories]
        )
    )
    if not len(days):
        return np.empty(0)
    cuts = np.quantile(days, np.linspace(0, 1, chunks + 1)[1:-1], method="higher")
    return np.unique(cuts)


def build_features_dask(
    shards: Shards,
    state_dir: Path | None = None,
    progress: Progress | None = None,
    claims: Callable[[ContractData], pd.Index] | None = None,
) -> DaskFeatures:
    """Features of every claim of `shards` (and the serving state as of after all of it,
    written to `state_dir` when given and loaded from there): the values of
    `pipeline.build_features_and_state`.

    `claims`: keep only the features of the claims it names in each shard (all claims' history
    still counts). A batch scoring the pending claims needs theirs alone, and the cluster then
    holds a few rows a shard instead of every claim's."""
    progress = progress or (lambda step: log.info("features (dask): %s", step))
    client, count = shards.client, shards.npartitions
    progress("claim and patient history by shard")
    histories = shards.map(_shard_pass)
    progress("payer history by time chunk")
    bounds = _chunk_bounds(client, histories, count)
    pieces = [client.submit(_pieces, h, i, bounds) for i, h in enumerate(histories)]
    chunks = [
        client.submit(_chunk, *[client.submit(itemgetter(k), p) for p in pieces])
        for k in range(len(bounds) + 1)
    ]
    totals = client.gather([client.submit(_chunk_totals, c) for c in chunks])
    # chunk k is seeded with the totals of chunks 0..k-1
    seeds = [None, *accumulate(totals[:-1], lambda a, b: _merged([a, b], CROSS_TALLIES))]
    cross = [
        client.submit(_by_shard, client.submit(_chunk_tallies, chunk, seed), count)
        for chunk, seed in zip(chunks, client.scatter(seeds, broadcast=True), strict=True)
    ]
    progress("assembling features")
    kept = shards.map(claims) if claims is not None else [None] * count
    parts = [
        client.submit(_assembled, h, keep, *[client.submit(itemgetter(i), c) for c in cross])
        for i, (h, keep) in enumerate(zip(histories, kept, strict=True))
    ]
    state = None
    if state_dir is not None:
        progress("serving state")
        _write_state(shards, histories, _merged(totals, CROSS_TALLIES), state_dir)
        state = FeatureState.load(state_dir)
    import dask.dataframe as dd

    meta = client.submit(lambda part: part.iloc[:0], parts[0]).result()
    return DaskFeatures(dd.from_delayed(parts, meta=meta, verify_meta=False), state)


def _shard_state(history: HistoryPass) -> dict[str, pd.DataFrame]:
    """A shard's totals of the tallies kept within it, and the claims and remits the
    state keeps."""
    out = {
        tally.name: tally_totals(tally, history.base, history.rank, history.events)
        for tally in CLAIM_TALLIES + SHARD_REMIT_TALLIES
    }
    out["_claims"] = history.base[list(CLAIM_COLUMNS)]
    out["_remits"] = history.events[list(REMIT_COLUMNS)]
    return out


def day_after_latest_dask(shards: Shards) -> date:
    """`pipeline.day_after_latest` of the data the shards hold."""
    return day_after(pd.Series(shards.client.gather(shards.map(latest_event))).max())


def _write_state(
    shards: Shards, histories: list[Any], cross: dict[str, pd.DataFrame], directory: Path
) -> None:
    """The serving state `pipeline.build_features_and_state` gives, written from the shards:
    the driver holds one tally, or one shard's claims or remits, at a time."""
    client = shards.client
    parts = [client.submit(_shard_state, h) for h in histories]
    writer = StateWriter(directory)
    for tally in TALLIES:
        if tally.name in cross:
            writer.tally(tally.name, cross[tally.name])
            continue
        # a key may be in several shards only where it means nothing (no authorization number)
        frames = client.gather([client.submit(itemgetter(tally.name), p) for p in parts])
        writer.tally(tally.name, _merged_tally(frames, tally))
    for table in HISTORY_TABLES:
        for part in parts:
            writer.append(table, client.submit(itemgetter(f"_{table}"), part).result())
    as_of = day_after_latest_dask(shards)
    writer.close(as_of, shards.authorizations, shards.eligibility)
    log.info("feature state (dask) as of %s written to %s", as_of, directory)
