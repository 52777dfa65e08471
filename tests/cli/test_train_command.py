"""`denialops train` as a user runs it: a clear refusal on data that cannot train a model
(`train --engine dask` is in test_engine_commands.py)."""

from __future__ import annotations

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
