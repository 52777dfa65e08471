"""`denialops queue rank --engine dask`: the work items of `queues.items`, shard by shard.

A work item depends on its own claim (its remit, lines and appeals, which a shard of
whole patients holds: `features.distributed`) and on what is learned from the whole
history (`queues.items.Learned`: payers' allowed ratios, appeal effort, deadlines). That is
learned in two steps: each shard gives its claims' evidence (`queues.items.Evidence`:
ratios, efforts, lags; a row per paid remit or appeal), and the driver learns from all of
it, which sorts and takes medians, so row order is not used. What it learned and the
recovery model are scattered to every worker once, and `work_items` runs on each shard.

Ranking is a global sort whose ties are broken by the items' order, so it is not done
by shard: the items (one per open denial, a small table) come back to the driver, are
put in the pandas engine's order (the remits', one per claim) and ranked there by
`rank_items`, which is vectorised and takes seconds for a million items.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from data_contracts.reader import ContractData
from model_bundle.recovery import RecoveryBundle
from queues.deadlines import concat_parts
from queues.items import Evidence, Learned, learn, work_items
from queues.policy import Policy
from queues.ranking import rank_items

if TYPE_CHECKING:
    from features.sharding import Shards


def _items_in_place(
    shard: ContractData, recovery: RecoveryBundle, policy: Policy, as_of: date, learned: Learned
) -> pd.DataFrame:
    """A shard's work items, each indexed by its remit's row in the directory (a shard
    keeps those), so that the driver can put them in the pandas engine's order."""
    items = work_items(shard, recovery, policy, as_of, learned)
    position = pd.Index(shard.remits["claim_id"]).get_indexer(items["claim_id"])
    return items.set_axis(shard.remits.index[position])


def rank_shards(
    shards: Shards, recovery: RecoveryBundle, policy: Policy, as_of: date
) -> pd.DataFrame:
    """`rank_items(work_items(data, ...))` of the data `shards` hold, with the work items
    computed on the cluster: the same table."""
    client = shards.client
    evidence = Evidence.combined(client.gather(shards.map(Evidence.of)))
    scattered = client.scatter([recovery, learn(evidence, policy)], broadcast=True, hash=False)
    parts = client.gather(shards.map(_items_in_place, scattered[0], policy, as_of, scattered[1]))
    # the pandas engine's order (the remits'), which breaks rank_items' ties
    items = concat_parts(parts, ignore_index=False).sort_index(kind="stable")
    return rank_items(items.reset_index(drop=True), policy)
