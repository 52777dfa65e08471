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

import numpy as np
import pandas as pd

from data_contracts.reader import ContractData
from model_bundle.recovery import RecoveryBundle
from queues.deadlines import concat_parts
from queues.items import Evidence, learn, work_items
from queues.policy import Policy
from queues.ranking import rank_items

if TYPE_CHECKING:
    from features.distributed import Shards


def rank_shards(
    data: ContractData, shards: Shards, recovery: RecoveryBundle, policy: Policy, as_of: date
) -> pd.DataFrame:
    """`rank_items(work_items(data, ...))` with the work items computed on the cluster
    `shards` live on: the same table (`data` is the directory the driver read and split
    into `shards`)."""
    client = shards.client
    evidence = Evidence.combined(client.gather(shards.map(Evidence.of)))
    scattered = client.scatter([recovery, learn(evidence, policy)], broadcast=True, hash=False)
    parts = client.gather(shards.map(work_items, scattered[0], policy, as_of, scattered[1]))
    items = concat_parts(parts)
    # the pandas engine's order, which breaks rank_items' ties
    position = pd.Index(data.remits["claim_id"]).get_indexer(items["claim_id"])
    return rank_items(
        items.iloc[np.argsort(position, kind="stable")].reset_index(drop=True), policy
    )
