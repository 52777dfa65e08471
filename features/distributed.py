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
cross-patient totals per key, and, for the serving state, the narrow claim and
remit columns it keeps.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from data_contracts.reader import ContractData
from features.claim_level import EPOCH
from features.pipeline import HistoryPass, history_pass, run_tally, tally_totals
from features.state import CLAIM_COLUMNS, REMIT_COLUMNS, FeatureState
from features.tallies import CLAIM_TALLIES, REMIT_TALLIES, TALLIES, Tally, column, within_shard

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

SHARD_REMIT_TALLIES = tuple(t for t in REMIT_TALLIES if within_shard(t))
CROSS_TALLIES = tuple(t for t in REMIT_TALLIES if not within_shard(t))
assert all(within_shard(t) for t in CLAIM_TALLIES), "claim tallies must be keyed by patient"
CLAIMS_PER_SHARD = 250_000
"""Default shard size: a shard's pass holds a few times its claims' width in memory."""
_AGGREGATE = {"sum": "sum", "min": "min", "max": "max"}


def shard_of_claims(claims: pd.DataFrame, partitions: int) -> np.ndarray:
    """Each claim's shard: patients linked by an authorization number they share, or by a
    replacement naming another patient's claim, land in the same shard.

    Patients and authorization numbers are the nodes of a graph, each claim an edge
    between its patient and its authorization (and its original's patient); the
    connected groups are dealt round-robin over the shards.
    """
    patient, patients = pd.factorize(claims["patient_id"])
    named = claims["prior_auth_id"].notna().to_numpy()
    auth, _ = pd.factorize(claims.loc[named, "prior_auth_id"])
    original_patient = (
        pd.Series(patient, index=claims["claim_id"].to_numpy())
        .reindex(claims["original_claim_id"].to_numpy())
        .to_numpy()
    )
    replaces = ~np.isnan(original_patient)
    rows = np.concatenate([patient[named], patient[replaces]])
    cols = np.concatenate([auth + len(patients), original_patient[replaces].astype(np.int64)])
    nodes = len(patients) + (auth.max() + 1 if len(auth) else 0)
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(nodes, nodes))
    _, group = connected_components(graph, directed=False)
    return (group[patient] % partitions).astype(np.int64)


def _shard_of(keys: pd.Series, shard: np.ndarray, lookup: pd.Series) -> np.ndarray:
    """For each value of `lookup`, the shard of the claims whose `keys` equal it (all such
    claims share one), or -1 where no claim has it."""
    codes, uniques = pd.factorize(keys)
    per_key = np.full(len(uniques), -1, np.int64)
    per_key[codes[codes >= 0]] = shard[codes >= 0]
    # Arrow's hash lookup: pandas' get_indexer on strings goes through Python objects
    found = pc.index_in(pa.array(lookup, pa.string()), value_set=pa.array(uniques, pa.string()))
    found = found.fill_null(-1).to_numpy()
    return np.where(found >= 0, per_key[found], -1)


def _split(data: ContractData, shard: np.ndarray, partitions: int) -> list[ContractData]:
    """The tables of each shard: its claims with their lines, remits and appeals, and the
    authorizations and eligibility its claims can match (by the number a claim sends, or
    by its patient). A row whose claim is unknown matches no claim anywhere: shard 0
    keeps it."""
    claims = data.claims
    of = {
        name: np.maximum(_shard_of(claims["claim_id"], shard, getattr(data, name)["claim_id"]), 0)
        for name in ("claim_lines", "remits", "appeals")
    }
    by_patient = _shard_of(claims["patient_id"], shard, data.authorizations["patient_id"])
    by_number = _shard_of(claims["prior_auth_id"], shard, data.authorizations["auth_id"])
    of_eligibility = _shard_of(claims["patient_id"], shard, data.eligibility["patient_id"])
    return [
        ContractData(
            claims=claims[shard == index],
            authorizations=data.authorizations[(by_patient == index) | (by_number == index)],
            eligibility=data.eligibility[of_eligibility == index],
            present=data.present,
            **{name: getattr(data, name)[of[name] == index] for name in of},
        )
        for index in range(partitions)
    ]


def default_partitions(claims: int, workers: int) -> int:
    """One shard per `CLAIMS_PER_SHARD` claims, and at least two per worker."""
    return max(2 * workers, math.ceil(claims / CLAIMS_PER_SHARD))


@dataclass
class Shards:
    """The contract data split by patient group (`shard_of_claims`), held on the cluster.

    Each part is a `ContractData` of whole claims with their lines, remits and appeals, so
    per-claim questions (is it pending, what was its outcome) are answered shard by shard.
    The reference tables are kept whole too, for the serving state."""

    client: Any
    parts: list[Any]
    """Futures of `ContractData`, one per shard."""
    authorizations: pd.DataFrame
    eligibility: pd.DataFrame
    present: frozenset[str] = frozenset()
    """The optional tables the data directory has (`ContractData.present`)."""

    @property
    def npartitions(self) -> int:
        return len(self.parts)

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """Futures of `fn(shard, *args)`, one per shard, in shard order."""
        return [self.client.submit(fn, part, *args, pure=False) for part in self.parts]

    def frames(self, fn: Callable[[ContractData], pd.DataFrame], meta: pd.DataFrame) -> Any:
        """`fn` on every shard as one Dask DataFrame: partition i comes from shard i."""
        import dask.dataframe as dd

        return dd.from_delayed(self.map(fn), meta=meta, verify_meta=False)


def shard_data(data: ContractData, client: Any, partitions: int | None = None) -> Shards:
    """Split `data` into shards and hand them to the cluster's workers."""
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    partitions = partitions or default_partitions(len(data.claims), workers)
    shard = shard_of_claims(data.claims, partitions)
    parts = client.scatter(_split(data, shard, partitions))
    log.info("dask: %d claims in %d shards", len(data.claims), partitions)
    return Shards(client, parts, data.authorizations, data.eligibility, data.present)


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


def _merged(
    parts: Sequence[dict[str, pd.DataFrame]], tallies: Sequence[Tally]
) -> dict[str, pd.DataFrame]:
    """Totals per key over several sets of events: sums added, minima and maxima kept."""
    out = {}
    for tally in tallies:
        frames = [part[tally.name] for part in parts]
        if len(frames) == 1:
            out[tally.name] = frames[0]
            continue
        how = {column(tally, m): _AGGREGATE[m.how] for m in tally.measures}
        out[tally.name] = (
            pd.concat(frames, ignore_index=True)
            .groupby(list(tally.keys), dropna=False, sort=False)
            .agg(how)
            .reset_index()
        )
    return out


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


def _assembled(history: HistoryPass, *cross: pd.DataFrame) -> pd.DataFrame:
    """A shard's features: its own tallies and the cross tallies' columns of its claims."""
    found = pd.concat(cross, ignore_index=True).sort_values("_row")
    if not np.array_equal(found["_row"].to_numpy(), np.arange(len(history.base))):
        raise RuntimeError("a shard's cross-patient tallies do not cover its claims")
    raw = dict(history.raw)
    for name in found.columns.drop(["_shard", "_row"]):
        raw[name] = found[name].to_numpy(np.float64)
    return HistoryPass(
        history.level, history.base, history.rank, history.events, raw, history.reference
    ).features


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
    shards: Shards, with_state: bool = False, progress: Progress | None = None
) -> DaskFeatures:
    """Features of every claim of `shards` (and the serving state as of after all of it,
    with `with_state`): the values of `pipeline.build_features_and_state`."""
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
    parts = [
        client.submit(_assembled, h, *[client.submit(itemgetter(i), c) for c in cross])
        for i, h in enumerate(histories)
    ]
    state = None
    if with_state:
        progress("serving state")
        state = _state(shards, histories, _merged(totals, CROSS_TALLIES))
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


def _latest(data: ContractData) -> pd.Timestamp:
    return max(data.claims["submission_date"].max(), data.remits["received_date"].max())


def _state(shards: Shards, histories: list[Any], cross: dict[str, pd.DataFrame]) -> FeatureState:
    """The serving state `pipeline.build_features_and_state` gives, from the shards."""
    client = shards.client
    parts = client.gather([client.submit(_shard_state, h) for h in histories])
    latest = pd.Series(client.gather(shards.map(_latest))).max()
    as_of = (latest + timedelta(days=1)).date() if pd.notna(latest) else date.today()
    # a key may be in several shards only where it means nothing (no authorization number)
    tallies = cross | _merged(parts, CLAIM_TALLIES + SHARD_REMIT_TALLIES)
    tallies = {tally.name: tallies[tally.name] for tally in TALLIES}
    claims = pd.concat([p["_claims"] for p in parts], ignore_index=True)
    claims = claims.sort_values(["submission_day", "claim_id"], kind="stable", ignore_index=True)
    remits = pd.concat([p["_remits"] for p in parts], ignore_index=True)
    log.info("feature state (dask) as of %s", as_of)
    return FeatureState(as_of, tallies, claims, remits, shards.authorizations, shards.eligibility)
