"""Training end to end: tracked, registered, promoted only when better, loadable anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import mlflow
import pandas as pd
import pytest

from model_bundle.rows import to_rows
from training.registry import CHALLENGER, CHAMPION, decide
from training.train import train_all, train_denial_model


@pytest.mark.usefixtures("mlflow_store")
def test_first_model_is_champion_and_tracked(train_data, settings) -> None:
    result = train_all(train_data, settings)
    assert result.alias == CHAMPION
    run = mlflow.get_run(result.run_id)
    assert run.data.params["data_fingerprint"]
    assert run.data.params["calibration"] in ("isotonic", "sigmoid")
    for key in ("test_roc_auc", "test_brier", "test_ece", "test_recall_at_precision_80"):
        assert key in run.data.metrics
    assert "baseline_claim_only_lightgbm_test_roc_auc" in run.data.metrics
    assert "baseline_logistic_regression_test_roc_auc" in run.data.metrics
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id)}
    assert {"evaluation_report.html", "features.json"} <= artifacts
    assert result.recovery["alias"] == CHAMPION
    assert 0.5 < result.test_metrics["roc_auc"] <= 1.0


@pytest.mark.usefixtures("mlflow_store")
def test_worse_model_becomes_challenger_unless_forced(train_data, settings) -> None:
    first = train_denial_model(train_data, settings)
    weak = {"num_leaves": 2, "max_depth": 1, "learning_rate": 0.001}
    second = train_denial_model(train_data, settings, params=weak)
    assert second.alias == CHALLENGER
    assert "does not beat the champion" in second.reason
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("denial-risk", CHAMPION).version) == first.version
    assert (
        str(client.get_model_version_by_alias("denial-risk", CHALLENGER).version) == second.version
    )
    forced = train_denial_model(train_data, settings, params=weak, force=True)
    assert forced.alias == CHAMPION
    assert str(client.get_model_version_by_alias("denial-risk", CHAMPION).version) == forced.version


@pytest.mark.usefixtures("mlflow_store")
def test_better_model_takes_over_the_champion(train_data, settings) -> None:
    weak = {"num_leaves": 2, "max_depth": 1, "learning_rate": 0.001}
    train_denial_model(train_data, settings, params=weak)
    better = train_denial_model(train_data, settings)
    assert better.alias == CHAMPION
    assert "beats the champion" in better.reason


@pytest.mark.parametrize(
    ("candidate", "champion", "alias"),
    [
        ({"roc_auc": 0.90, "brier": 0.08}, {"roc_auc": 0.89, "brier": 0.08}, CHAMPION),
        ({"roc_auc": 0.90, "brier": 0.07}, {"roc_auc": 0.90, "brier": 0.08}, CHAMPION),
        ({"roc_auc": 0.90, "brier": 0.08}, {"roc_auc": 0.90, "brier": 0.08}, CHALLENGER),
        ({"roc_auc": 0.91, "brier": 0.09}, {"roc_auc": 0.90, "brier": 0.08}, CHALLENGER),
        ({"roc_auc": 0.89, "brier": 0.07}, {"roc_auc": 0.90, "brier": 0.08}, CHALLENGER),
    ],
)
def test_gate_needs_no_worse_on_both_and_better_on_one(candidate, champion, alias) -> None:
    assert decide(candidate, champion, "champion is version 1", force=False)[0] == alias


def test_an_incompatible_champion_needs_force() -> None:
    alias, reason = decide({"roc_auc": 0.9, "brier": 0.1}, None, "cannot score", force=False)
    assert alias == CHALLENGER
    assert "--force" in reason


def test_registered_pyfunc_scores_raw_rows_in_a_fresh_process(
    train_data, settings, mlflow_store, tmp_path
) -> None:
    train_denial_model(train_data, settings)
    claims = train_data.claims.tail(30)
    lines = train_data.claim_lines[train_data.claim_lines["claim_id"].isin(claims["claim_id"])]
    rows_path = tmp_path / "rows.parquet"
    to_rows(claims, lines).to_parquet(rows_path)
    script = (
        "import sys, mlflow, pandas as pd;"
        "model = mlflow.pyfunc.load_model('models:/denial-risk@champion');"
        "out = model.predict(pd.read_parquet(sys.argv[1]));"
        "print(out.to_json(orient='records'))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(rows_path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": mlflow_store},
        cwd=tmp_path,
    )
    scored = pd.DataFrame(json.loads(completed.stdout.strip().splitlines()[-1]))
    assert sorted(scored["claim_id"]) == sorted(claims["claim_id"])
    assert scored["p_denial"].between(0, 1).all()
    in_process = mlflow.pyfunc.load_model("models:/denial-risk@champion").unwrap_python_model()
    expected = in_process.bundle.score_claims(claims, lines).set_index("claim_id")["p_denial"]
    assert scored.set_index("claim_id")["p_denial"].to_numpy() == pytest.approx(
        expected.loc[scored["claim_id"]].to_numpy(), abs=1e-9
    )
