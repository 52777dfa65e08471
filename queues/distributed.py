"""`denialops queue rank --engine dask`: the work items of `queues.items`, shard by shard.

A work item depends on its own claim (its remit, lines and appeals, which a shard of
whole patients holds: `features.distributed`) and on what is learned from the whole
history (`queues.items.Learned`: payers' allowed ratios, appeal effort, deadlines). The
driver, which read the directory before splitting it, learns that once; it and the
recovery model are scattered to every worker once, and `work_items` runs over each
shard. Ranking is a global sort with ties broken by the items' order, so the items (one
per open denial: small) come back to the driver, are put in the pandas engine's order
(the remits') and ranked there by `rank_items`, which is vectorised and fast.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data_contracts.reader import ContractData, empty_table
from model_bundle.recovery import RecoveryBundle
from queues.items import Learned, learn, work_items
from queues.policy import Policy
from queues.ranking import rank_items

if TYPE_CHECKING:
    from features.distributed import Shards

TABLES = ("claims", "claim_lines", "remits", "appeals")
"""The tables a work item reads of its claim."""


def _table(name: str, shard: ContractData) -> pd.DataFrame:
    return getattr(shard, name)


def _items_of_tables(
    claims: pd.DataFrame,
    claim_lines: pd.DataFrame,
    remits: pd.DataFrame,
    appeals: pd.DataFrame,
    recovery: RecoveryBundle,
    policy: Policy,
    as_of: date,
    learned: Learned,
) -> pd.DataFrame:
    """`work_items` of one shard, given its tables."""
    shard = ContractData(
        claims=claims,
        claim_lines=claim_lines,
        remits=remits,
        authorizations=empty_table("authorizations"),
        eligibility=empty_table("eligibility"),
        appeals=appeals,
    )
    return work_items(shard, recovery, policy, as_of, learned)


def rank_shards(
    data: ContractData, shards: Shards, recovery: RecoveryBundle, policy: Policy, as_of: date
) -> pd.DataFrame:
    """`rank_items(work_items(data, ...))` with the work items computed on the cluster
    `shards` live on: the same table (`data` is the directory the driver read and split
    into `shards`)."""
    learned = learn(data, policy)
    empty = {name: getattr(data, name).iloc[:0] for name in TABLES}
    tables = [shards.frames(partial(_table, name), empty[name]) for name in TABLES]
    client = shards.client
    items = tables[0].map_partitions(
        _items_of_tables,
        *tables[1:],
        client.scatter(recovery, broadcast=True, hash=False),
        policy,
        as_of,
        client.scatter(learned, broadcast=True, hash=False),
        align_dataframes=False,
        meta=_items_of_tables(*empty.values(), recovery, policy, as_of, learned),
    )
    items = client.compute(items).result()
    # The pandas engine's order (the remits', one per claim), which breaks rank_items' ties.
    position = pd.Index(data.remits["claim_id"]).get_indexer(items["claim_id"])
    items = items.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)
    return rank_items(items, policy)
