"""The ranked queue of a data directory: open denials, the registered recovery model, the
current policy. One function, so the CLI, the routes and the notebook rank alike, on either
engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from data_contracts.reader import ContractData
from features.pipeline import day_after_latest
from queues.items import load_recovery, work_items
from queues.policy import Policy, policy_in_force
from queues.ranking import rank_items
from settings import Settings

if TYPE_CHECKING:
    from features.sharding import Shards


@dataclass
class RankedQueue:
    ranked: pd.DataFrame
    policy: Policy
    model_version: str
    as_of: date


def build_queue(
    data: ContractData | Shards,
    settings: Settings,
    as_of: date | None = None,
    policy: Policy | None = None,
) -> RankedQueue:
    """Rank every open denial of `data` as of `as_of` (default: the day after its latest
    event) under `policy` (default: the one in force in the database); with `Shards` (the
    data on a Dask cluster) the work items are computed there, the ranking is the same.
    Raises `ModelUnavailableError` when no recovery model is registered."""
    recovery, version = load_recovery(settings)
    policy = policy or policy_in_force(settings)
    if isinstance(data, ContractData):
        as_of = as_of or day_after_latest(data)
        ranked = rank_items(work_items(data, recovery, policy, as_of), policy)
    else:
        from features.distributed import day_after_latest_dask
        from queues.distributed import rank_shards

        as_of = as_of or day_after_latest_dask(data)
        ranked = rank_shards(data, recovery, policy, as_of)
    return RankedQueue(ranked, policy, version, as_of)
