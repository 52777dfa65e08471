"""The Dask engine's denial model against the pandas engine's (issue 18): the same 50,000
claims, a two-worker LocalCluster, the trained model's test ROC-AUC within 0.005, and a
registered model that serving loads the same way."""

from __future__ import annotations

import logging

import mlflow
import pytest

from cluster import Engine
from model_bundle.rows import to_rows
from settings import Settings
from training.train import train_denial_model

log = logging.getLogger(__name__)


@pytest.mark.slow
@pytest.mark.usefixtures("mlflow_store")
def test_dask_engine_trains_the_pandas_engines_model(parity_data, dask_client) -> None:
    settings = Settings(dask_scheduler=dask_client.scheduler.address)
    on_pandas = train_denial_model(parity_data, settings)
    on_dask = train_denial_model(parity_data, settings, engine=Engine.dask)
    auc = {"pandas": on_pandas.test_metrics["roc_auc"], "dask": on_dask.test_metrics["roc_auc"]}
    log.info("test ROC-AUC by engine: %s", auc)
    assert abs(auc["dask"] - auc["pandas"]) <= 0.005, auc
    assert on_dask.test_claims.equals(on_pandas.test_claims)

    params = {r.run_id: mlflow.get_run(r.run_id).data.params for r in (on_pandas, on_dask)}
    assert params[on_dask.run_id]["engine"] == "dask"
    assert params[on_pandas.run_id]["engine"] == "pandas"
    for key in ("rows_train", "rows_validation", "rows_test", "logistic_train_rows"):
        assert params[on_dask.run_id][key] == params[on_pandas.run_id][key]

    # what serving loads: the registered pyfunc scoring raw contract rows
    model = mlflow.pyfunc.load_model(f"models:/{settings.denial_model_name}/{on_dask.version}")
    claims = parity_data.claims[parity_data.claims["claim_id"].isin(on_dask.test_claims[:20])]
    lines = parity_data.claim_lines[parity_data.claim_lines["claim_id"].isin(claims["claim_id"])]
    scored = model.predict(to_rows(claims, lines))
    assert sorted(scored["claim_id"]) == sorted(claims["claim_id"])
    assert scored["p_denial"].between(0, 1).all()
