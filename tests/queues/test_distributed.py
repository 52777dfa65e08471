"""`queue rank --engine dask` (queues.distributed): the pandas engine's ranking, with the
work items computed shard by shard."""

from __future__ import annotations

import dataclasses

import pandas as pd

from features.pipeline import day_after_latest
from features.sharding import shard_data, shard_of_claims
from queues.distributed import rank_shards
from queues.items import Evidence, learn, work_items
from queues.policy import default_policy
from queues.ranking import rank_items


def test_the_dask_engine_ranks_as_the_pandas_engine(queue_data, recovery, dask_client) -> None:
    policy, as_of = default_policy(), day_after_latest(queue_data)
    expected = rank_items(work_items(queue_data, recovery, policy, as_of), policy)
    shards = shard_data(queue_data, dask_client, partitions=3)
    ranked = rank_shards(shards, recovery, policy, as_of)

    assert expected["action"].nunique() > 1
    pd.testing.assert_frame_equal(ranked, expected)
    assert ranked.to_csv(index=False) == expected.to_csv(index=False)


def test_what_is_learned_from_the_shards_evidence_is_what_the_whole_teaches(
    queue_data, dask_client
) -> None:
    policy = default_policy()
    parts = dask_client.gather(shard_data(queue_data, dask_client, partitions=3).parts)
    whole = learn(Evidence.of(queue_data), policy)
    assert whole.history.effort
    assert "learned" in {d.source for d in whole.deadlines.appeal.values()}
    assert "learned" in {d.source for d in whole.deadlines.filing.values()}
    assert learn(Evidence.combined([Evidence.of(part) for part in parts]), policy) == whole


def test_a_shard_without_open_denials_changes_nothing(queue_data, recovery, dask_client) -> None:
    """Shard 0's claims have no remits yet, so it gives no items; the other shard's rank."""
    policy, as_of = default_policy(), day_after_latest(queue_data)
    shard = shard_of_claims(queue_data.claims, 2)
    unanswered = queue_data.claims.loc[shard == 0, "claim_id"]
    data = dataclasses.replace(
        queue_data, remits=queue_data.remits[~queue_data.remits["claim_id"].isin(unanswered)]
    )
    expected = rank_items(work_items(data, recovery, policy, as_of), policy)
    ranked = rank_shards(shard_data(data, dask_client, partitions=2), recovery, policy, as_of)

    assert len(ranked)
    assert ranked.to_csv(index=False) == expected.to_csv(index=False)
