"""Training end to end: tracked, registered, promoted only when better, loadable anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest

from model_bundle.profile import PREDICTION
from model_bundle.rows import to_rows
from training.registry import CHALLENGER, CHAMPION, FINGERPRINT_TAG, booster_text, decide
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


@pytest.mark.parametrize(
    ("candidate", "champion", "says"),
    [
        (
            {"roc_auc": 0.9123, "brier": 0.0812},
            {"roc_auc": 0.9123, "brier": 0.0812},
            "ROC-AUC 0.9123 equals the champion's, and Brier 0.0812 equals the champion's",
        ),
        (
            {"roc_auc": 0.9200, "brier": 0.0850},
            {"roc_auc": 0.9123, "brier": 0.0812},
            "ROC-AUC 0.9200 is higher than the champion's 0.9123 (better), and "
            "Brier 0.0850 is higher than the champion's 0.0812 (worse)",
        ),
        (
            {"roc_auc": 0.91231, "brier": 0.0800},
            {"roc_auc": 0.91234, "brier": 0.0812},
            "ROC-AUC 0.91231 is lower than the champion's 0.91234 (worse), and "
            "Brier 0.0800 is lower than the champion's 0.0812 (better)",
        ),
    ],
)
def test_a_refusal_says_how_each_metric_compares_and_what_must_improve(
    candidate, champion, says
) -> None:
    alias, reason = decide(candidate, champion, "champion is version 1", force=False)
    assert alias == CHALLENGER
    assert says in reason
    assert "a challenger must raise ROC-AUC or lower Brier, without worsening the other" in reason
    assert "no lower and Brier no higher" not in reason


@pytest.mark.usefixtures("mlflow_store")
def test_an_identical_model_is_not_registered_again(train_data, settings) -> None:
    first = train_all(train_data, settings)
    again = train_all(train_data, settings)

    client = mlflow.MlflowClient()
    for name, before, after in (
        ("denial-risk", first.version, again.version),
        ("denial-recovery", first.recovery["version"], again.recovery["version"]),
    ):
        assert len(client.search_model_versions(f"name='{name}'")) == 1, name
        assert after == before
    assert again.alias == again.recovery["alias"] == CHAMPION
    assert again.reason.startswith(f"identical to champion version {first.version}")
    assert again.reason.endswith("nothing registered")
    champion = client.get_model_version_by_alias("denial-risk", CHAMPION)
    second_run = mlflow.get_run(again.run_id)
    assert champion.tags[FINGERPRINT_TAG] == second_run.data.tags[FINGERPRINT_TAG]
    assert second_run.data.tags["promotion_reason"] == again.reason
    forced = train_all(train_data, settings, force=True)  # the user insists: registered
    assert int(forced.version) == int(first.version) + 1
    assert forced.alias == CHAMPION


@pytest.mark.usefixtures("mlflow_store")
def test_other_parameters_make_another_model_that_is_registered(train_data, settings) -> None:
    first = train_denial_model(train_data, settings)
    other = train_denial_model(train_data, settings, params={"seed": settings.seed + 1})
    assert other.version != first.version
    runs = [mlflow.get_run(result.run_id) for result in (first, other)]
    assert runs[0].data.tags[FINGERPRINT_TAG] != runs[1].data.tags[FINGERPRINT_TAG]


def test_an_incompatible_champion_needs_force() -> None:
    alias, reason = decide({"roc_auc": 0.9, "brier": 0.1}, None, "cannot score", force=False)
    assert alias == CHALLENGER
    assert "--force" in reason


def test_registered_pyfunc_scores_raw_rows_in_a_fresh_process(
    train_data, settings, mlflow_store, tmp_path
) -> None:
    result = train_denial_model(train_data, settings)
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
    profile = in_process.bundle.profile  # drift's reference: the test period, every feature
    assert profile.rows == len(result.test_claims)
    assert profile.features == tuple(in_process.bundle.columns)
    assert profile.reference(PREDICTION).sum() == pytest.approx(1.0)
    expected = in_process.bundle.score_claims(claims, lines).set_index("claim_id")["p_denial"]
    assert scored.set_index("claim_id")["p_denial"].to_numpy() == pytest.approx(
        expected.loc[scored["claim_id"]].to_numpy(), abs=1e-9
    )


def test_the_fingerprinted_booster_text_ignores_where_it_was_trained() -> None:
    """A Dask fit records its workers' addresses and ports, new every run; the same trees
    trained over another network are the same model, other trees are not."""
    rng = np.random.default_rng(0)
    x = rng.random((300, 3))
    y = (x[:, 0] + 0.3 * rng.random(300) > 0.6).astype(int)

    def fit(port: int, rate: float = 0.1) -> lgb.Booster:
        params = {
            "objective": "binary",
            "verbosity": -1,
            "num_threads": 1,
            "deterministic": True,
            "learning_rate": rate,
            "num_machines": 1,
            "machines": f"127.0.0.1:{port},127.0.0.1:{port + 1}",
            "local_listen_port": port,
        }
        return lgb.train(params, lgb.Dataset(x, y), 5)

    here, there = fit(12400), fit(13500)
    assert here.model_to_string() != there.model_to_string()
    assert booster_text(here) == booster_text(there)
    assert "Tree=4" in booster_text(here)
    assert booster_text(fit(12400, rate=0.2)) != booster_text(here)
