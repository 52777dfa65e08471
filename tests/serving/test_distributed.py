"""`score --engine dask` (serving.distributed): the pandas engine's table, shard by shard."""

from __future__ import annotations

import pandas as pd

from features.sharding import shard_data
from serving.audit import AuditLog
from serving.batch import COLUMNS, score_pending
from serving.distributed import score_pending_dask
from tests.serving.conftest import scorer_for


def test_the_dask_engine_scores_as_the_pandas_engine_and_keeps_the_decisions(
    serve_data, bundle, dask_client, database
) -> None:
    scorer = scorer_for(bundle, "5")
    expected = score_pending(serve_data, scorer)
    audit = AuditLog(database)
    # more shards than workers, so a worker scores several and the partitions are uneven
    shards = shard_data(serve_data, dask_client, partitions=3)
    frame = score_pending_dask(shards, scorer, audit=audit)

    assert (frame["fix_code"] != "").any()
    assert list(frame.columns) == COLUMNS
    pd.testing.assert_frame_equal(frame, expected)
    assert frame.to_csv(index=False) == expected.to_csv(index=False)
    kept = audit.scores().set_index("claim_id")
    assert len(kept) == len(frame)
    kept = kept.loc[frame["claim_id"]]
    assert (kept["model_version"] == "5").all()
    assert kept["p_denial"].round(6).tolist() == frame["p_denial"].tolist()
    assert kept["top_fix"].fillna("").tolist() == frame["fix_code"].tolist()
