"""`denialops monitor` and `retrain` as cron or an orchestrator runs them: alerts as JSON
and exit 3 when any fires, the figures in the champion's MLflow run; a retrained challenger
promoted only through the gate, the decision kept with its run."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from denialops.cli import app
from denialops.cli.model_health import ALERTS_EXIT
from synthetic.scenarios import AUTH_RULE_PAYER
from tests.cli import training_env
from tests.drift_worlds import DriftWorlds, register_champion

runner = CliRunner()


@pytest.fixture
def champion(worlds: DriftWorlds, tmp_path: Path) -> dict[str, str]:
    """The scenarios' champion registered as `denial-risk`; the commands' environment and
    (`RUN_ID`) the champion's run."""
    env = training_env(tmp_path)
    run_id = register_champion(worlds.champion, env["MLFLOW_TRACKING_URI"], "denial-risk")
    return {**env, "RUN_ID": run_id}


@pytest.mark.slow
def test_monitor_names_the_payer_whose_rule_changed_and_exits_3(
    worlds: DriftWorlds, champion: dict[str, str], tmp_path: Path
) -> None:
    alerts, report = tmp_path / "alerts.json", tmp_path / "health.html"
    data = str(worlds.folders["auth_rule"])
    args = ["monitor", "--data", data, "--json", str(alerts), "--report", str(report)]
    result = runner.invoke(app, args, env=champion)
    assert result.exit_code == ALERTS_EXIT, result.output
    found = json.loads(alerts.read_text())
    assert all({"metric", "segment", "value", "threshold"} <= set(a) for a in found)
    assert any(f"payer={AUTH_RULE_PAYER}" in a["segment"] for a in found)
    assert "Model health" in report.read_text()
    client = mlflow.MlflowClient(champion["MLFLOW_TRACKING_URI"])
    logged = client.get_run(champion["RUN_ID"]).data.metrics
    assert logged["monitor_alerts"] == len(found)
    assert 0.5 < logged["monitor_roc_auc"] <= 1.0


@pytest.mark.slow
def test_monitor_without_a_change_exits_0_with_no_alert(
    worlds: DriftWorlds, champion: dict[str, str], tmp_path: Path
) -> None:
    alerts = tmp_path / "alerts.json"
    args = ["monitor", "--data", str(worlds.folders[None]), "--json", str(alerts)]
    args += ["--report", str(tmp_path / "health.html"), "--no-mlflow"]
    result = runner.invoke(app, args, env=champion)
    assert result.exit_code == 0, result.output
    assert json.loads(alerts.read_text()) == []
    assert "no alert" in result.output


def test_monitor_without_a_champion_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert runner.invoke(app, ["synth", "--claims", "500", "--out", str(data)]).exit_code == 0
    result = runner.invoke(app, ["monitor", "--data", str(data)], env=training_env(tmp_path))
    assert result.exit_code == 1
    assert "denial-risk" in result.output


@pytest.mark.slow
def test_retrain_judges_a_challenger_on_the_newest_weeks_and_keeps_the_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = training_env(tmp_path)
    older, newer = tmp_path / "older", tmp_path / "newer"
    for folder, claims in ((older, "4000"), (newer, "6000")):
        made = runner.invoke(
            app, ["synth", "--claims", claims, "--seed", "5", "--out", str(folder)]
        )
        assert made.exit_code == 0, made.output
    assert runner.invoke(app, ["train", "--data", str(older)], env=env).exit_code == 0
    result = runner.invoke(app, ["retrain", "--data", str(newer)], env=env)
    assert result.exit_code == 0, result.output
    client = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"])
    (run,) = client.search_runs(
        [client.get_experiment_by_name("denialops").experiment_id],
        "tags.trigger = 'retrain'",
    )
    decision = json.loads(
        Path(
            client.download_artifacts(run.info.run_id, "promotion.json", str(tmp_path))
        ).read_text()
    )
    assert decision["trigger"] == "retrain"
    assert decision["alias"] in {"champion", "challenger"}
    assert decision["champion_test"]["roc_auc"] > 0.5  # judged beside the champion
    assert decision["reason"] == run.data.tags["promotion_reason"]
    assert f"version {decision['version']} is {decision['alias']}" in " ".join(
        result.output.split()
    )
