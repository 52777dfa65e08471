"""`denialops score --engine dask`: the batch path of `serving.batch`, shard by shard.

The claims are split into shards of whole patients (`features.distributed`), and the
features of shard i's pending claims (every claim's history counted, only theirs kept)
are partition i of the Dask features. Each partition is scored with
`serving.batch.score_frame` beside its own shard's pending claims and their lines (the
words of the fixes), so a claim never leaves the worker that holds it. The scorer (a
loaded bundle) is scattered to every worker once rather than pickled into each task, and
without the bundle's feature state (`Scorer.for_features`), which is most of its size and
which a batch does not read. The results are small (one row per pending claim): they come
back to the driver, which puts them in the pandas engine's order and keeps the decisions
in the audit, as `score_pending` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from data_contracts.reader import ContractData, empty_table
from serving.audit import AuditLog
from serving.batch import COLUMNS, RESULT_COLUMNS, finish, score_frame
from serving.scorer import Scorer

if TYPE_CHECKING:
    import dask.dataframe as dd

    from features.sharding import Shards


def _pending(shard: ContractData) -> pd.DataFrame:
    """The shard's claims with no remit yet, in its order."""
    return shard.claims[~shard.claims["claim_id"].isin(shard.remits["claim_id"])]


def _pending_claims(shard: ContractData) -> pd.Index:
    return pd.Index(_pending(shard)["claim_id"])


def _pending_lines(shard: ContractData) -> pd.DataFrame:
    """The lines of the shard's pending claims."""
    lines = shard.claim_lines
    return lines[lines["claim_id"].isin(_pending(shard)["claim_id"])]


def _score_partition(
    features: pd.DataFrame, claims: pd.DataFrame, lines: pd.DataFrame, scorer: Scorer
) -> pd.DataFrame:
    """`score_frame` of one shard: its pending claims' feature rows, indexed by their claims'
    rows in the directory."""
    scored = score_frame(features.loc[claims["claim_id"]], claims, lines, scorer)
    return scored.set_axis(claims.index)


def score_shards(features: dd.DataFrame, shards: Shards, scorer: object) -> dd.DataFrame:
    """`RESULT_COLUMNS` of every pending claim, partition i from shard i (lazy), indexed by
    the claims' rows in the directory.

    `features`: partition i the feature rows of shard i's pending claims (or of all its
    claims), indexed by claim_id;
    `scorer`: the `Scorer`, or a future of it on the cluster."""
    claims = shards.frames(_pending, empty_table("claims"))
    lines = shards.frames(_pending_lines, empty_table("claim_lines"))
    empty = pd.DataFrame({"p_denial": pd.Series(dtype=float)})
    result_meta = empty.reindex(columns=RESULT_COLUMNS).astype(
        {column: object for column in RESULT_COLUMNS if column != "p_denial"}
    )
    return features.map_partitions(
        _score_partition,
        claims,
        lines,
        scorer,
        align_dataframes=False,
        meta=result_meta,
    )


def score_pending_dask(
    shards: Shards,
    scorer: Scorer,
    progress: Callable[[str], None] | None = None,
    audit: AuditLog | None = None,
) -> pd.DataFrame:
    """`serving.batch.score_pending` of the data `shards` hold, on their cluster: the same
    table, in the same order (the pending claims' in the directory)."""
    from features.distributed import build_features_dask

    progress = progress or (lambda _step: None)
    if not sum(shards.client.gather(shards.map(lambda shard: len(_pending(shard))))):
        return pd.DataFrame(columns=COLUMNS)
    features = build_features_dask(shards, progress=progress, claims=_pending_claims).features
    progress("scoring and fixes")
    scattered = shards.client.scatter(scorer.for_features(), broadcast=True, hash=False)
    scored = shards.client.compute(score_shards(features, shards, scattered)).result()
    return finish(scored.sort_index(kind="stable").reset_index(drop=True), scorer, audit)
