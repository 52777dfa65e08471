"""`denialops train` as a user runs it: a clear refusal on data that cannot train a model."""

from __future__ import annotations

import mlflow
import pandas as pd
from typer.testing import CliRunner

from denialops.cli import app


def test_train_refuses_data_without_denials(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    runner = CliRunner()
    data = tmp_path / "data"
    runner.invoke(app, ["synth", "--claims", "3000", "--out", str(data)])
    remits = pd.read_csv(data / "remits.csv", dtype=str, keep_default_na=False)
    remits["status"], remits["carc_codes"], remits["rarc_codes"] = "paid", "CO-45", ""
    remits.to_csv(data / "remits.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(data)])
    assert result.exit_code == 1
    assert "cannot train" in result.output
    assert "only paid claims" in result.output


def test_train_on_the_dask_engine_registers_the_model(tmp_path, monkeypatch, dask_client) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("DENIALOPS_DASK_SCHEDULER", dask_client.scheduler.address)
    runner = CliRunner()
    data = tmp_path / "data"
    runner.invoke(app, ["synth", "--claims", "4000", "--seed", "5", "--out", str(data)])
    result = runner.invoke(app, ["train", "--data", str(data), "--engine", "dask"])
    assert result.exit_code == 0, result.output
    assert "denial-risk version 1 is champion" in result.output
    version = mlflow.MlflowClient().get_model_version("denial-risk", "1")
    assert mlflow.get_run(version.run_id).data.params["engine"] == "dask"
