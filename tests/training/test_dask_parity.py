"""The Dask engine's denial model against the pandas engine's (issue 18): the same 50,000
claims, a two-worker LocalCluster, the trained model's test ROC-AUC within 0.005, and a
registered model that serving loads the same way. And what training brings from the shards
to the driver: the same fingerprint, claims and recovery model as from the whole data."""

from __future__ import annotations

import logging

import mlflow
import pandas as pd
import pytest

from data_contracts.writer import CLAIM_TABLES
from features.sharding import shard_data
from model_bundle.metrics import binary_metrics
from model_bundle.rows import to_rows
from settings import Settings
from training.dataset import data_fingerprint
from training.distributed import (
    appealed_claims,
    claims_of,
    collect_claim_columns,
    collect_claims,
    shards_fingerprint,
)
from training.recovery import fit_recovery
from training.train import REPORT_COLUMNS, train_denial_model

log = logging.getLogger(__name__)


@pytest.mark.slow
@pytest.mark.usefixtures("mlflow_store")
def test_dask_engine_trains_the_pandas_engines_model(parity_data, dask_client) -> None:
    settings = Settings(dask_scheduler=dask_client.scheduler.address)
    on_pandas = train_denial_model(parity_data, settings)
    on_dask = train_denial_model(shard_data(parity_data, dask_client), settings)
    auc = {"pandas": on_pandas.test_metrics["roc_auc"], "dask": on_dask.test_metrics["roc_auc"]}
    log.info("test ROC-AUC by engine: %s", auc)
    assert abs(auc["dask"] - auc["pandas"]) <= 0.005, auc
    assert on_dask.test_claims.equals(on_pandas.test_claims)

    params = {r.run_id: mlflow.get_run(r.run_id).data.params for r in (on_pandas, on_dask)}
    assert params[on_dask.run_id]["engine"] == "dask"
    assert params[on_pandas.run_id]["engine"] == "pandas"
    for key in (
        "rows_train",
        "rows_validation",
        "rows_test",
        "logistic_train_rows",
        "data_fingerprint",
    ):
        assert params[on_dask.run_id][key] == params[on_pandas.run_id][key]

    # what serving loads: the registered pyfunc scoring raw contract rows
    model = mlflow.pyfunc.load_model(f"models:/{settings.denial_model_name}/{on_dask.version}")
    claims = parity_data.claims[parity_data.claims["claim_id"].isin(on_dask.test_claims[:20])]
    lines = parity_data.claim_lines[parity_data.claim_lines["claim_id"].isin(claims["claim_id"])]
    scored = model.predict(to_rows(claims, lines))
    assert sorted(scored["claim_id"]) == sorted(claims["claim_id"])
    assert scored["p_denial"].between(0, 1).all()


@pytest.fixture(scope="module")
def shards(train_data, dask_client):
    return shard_data(train_data, dask_client, 3)


def test_the_shards_fingerprint_is_the_datas(train_data, shards) -> None:
    assert shards.present == train_data.present
    assert shards_fingerprint(shards) == data_fingerprint(train_data)


def test_claims_collected_from_shards_are_the_datas_in_its_order(train_data, shards) -> None:
    claim_ids = pd.Index(train_data.claims["claim_id"].sample(300, random_state=5))
    for fn, args in ((claims_of, (claim_ids[:5],)), (appealed_claims, ())):
        collected = collect_claims(shards, fn, *args)
        expected = fn(train_data, *args)
        assert len(collected.claims)
        assert len(collected.claim_lines)
        for name in CLAIM_TABLES:
            pd.testing.assert_frame_equal(getattr(collected, name), getattr(expected, name))
    pd.testing.assert_frame_equal(
        collect_claim_columns(shards, claim_ids, REPORT_COLUMNS),
        train_data.claims.set_index("claim_id").loc[claim_ids, REPORT_COLUMNS],
    )


def test_the_recovery_model_from_shards_is_the_pandas_engines(train_data, shards, settings) -> None:
    on_pandas = fit_recovery(train_data, settings)
    on_dask = fit_recovery(collect_claims(shards, appealed_claims), settings)
    pd.testing.assert_frame_equal(on_dask.test, on_pandas.test)
    assert on_dask.bundle.booster.model_to_string() == on_pandas.bundle.booster.model_to_string()
    assert binary_metrics(
        on_dask.test_label.to_numpy(), on_dask.bundle.score(on_dask.test)
    ) == binary_metrics(on_pandas.test_label.to_numpy(), on_pandas.bundle.score(on_pandas.test))
