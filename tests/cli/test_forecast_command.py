"""`denialops forecast` and `forecast-backtest` as RevOps runs them: the figures on standard
output are the library's, the notes (which P(paid), the backtest's summary) on standard
error."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analytics.forecast import ALL_PAYERS, calibrate, cash_forecast
from analytics.ledger import claim_ledger, data_as_of
from data_contracts.reader import read_data_dir
from denialops.cli import app
from settings import Settings
from synthetic import generate, write_synthetic
from tests.analytics.book import write_book
from training import tracking
from training.recovery import train_recovery_model

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A service database, a policy file and an MLflow store of its own: no model registered."""
    return {
        "DENIALOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}",
        "DENIALOPS_POLICY_PATH": str(tmp_path / "policy.yaml"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history")
    write_synthetic(generate(12_000, seed=11), folder, "parquet")
    return folder


def test_forecast_without_a_model_takes_the_payers_rates(
    tmp_path: Path, env: dict[str, str]
) -> None:
    data = write_book(tmp_path / "book")
    result = runner.invoke(app, ["forecast", "--data", str(data), "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    notes = " ".join(result.stderr.split())  # the console wraps its lines
    assert "no denial model" in notes
    assert "pending claims take the payers' rates" in notes
    assert "P(paid) from ledger rates" in notes
    printed = json.loads(result.stdout)  # standard output holds the JSON alone
    loaded = read_data_dir(data)
    as_of = data_as_of(loaded)
    expected = cash_forecast(
        claim_ledger(loaded, as_of), as_of=as_of, calibration=calibrate(loaded, as_of)
    )
    assert [(row["week_start"], row["payer_id"]) for row in printed] == [
        (str(day), payer)
        for day, payer in zip(expected["week_start"], expected["payer_id"], strict=True)
    ]
    assert [row["expected"] for row in printed] == pytest.approx(list(expected["expected"]))
    assert [row["low"] for row in printed] == pytest.approx(list(expected["low"]))
    # Too few earlier cut-offs in the book for an 80% bound: unbounded, null in JSON.
    assert [row["high"] for row in printed] == [
        None if math.isinf(high) else pytest.approx(high) for high in expected["high"]
    ]
    assert {row["payer_id"] for row in printed} >= {ALL_PAYERS}
    assert set(printed[0]) == {
        "week_start",
        "week",
        "payer_id",
        "expected",
        "low",
        "high",
        "claims",
    }


def test_forecast_table_and_a_past_as_of(history: Path, env: dict[str, str]) -> None:
    args = ["forecast", "--data", str(history), "--as-of", "2025-06-01"]
    result = runner.invoke(app, [*args, "--weeks", "2", "--calibration-cutoffs", "0"], env=env)
    assert result.exit_code == 0, result.output
    notes = " ".join(result.stderr.split())  # the console wraps its lines
    assert "the registered models know what came after it" in notes
    assert "chance alone" in notes
    assert "2025-06-02" in result.stdout  # the first week starts the day after
    assert "2025-06-09" in result.stdout
    assert "2025-06-16" not in result.stdout
    assert "(all)" in result.stdout
    assert "$" in result.stdout


def test_backtest_prints_the_summary_and_each_week(history: Path, env: dict[str, str]) -> None:
    args = ["forecast-backtest", "--data", str(history), "--cutoffs", "2"]
    result = runner.invoke(app, [*args, "--calibration-cutoffs", "3", "--format", "csv"], env=env)
    assert result.exit_code == 0, result.output
    notes = " ".join(result.stderr.split())  # the console wraps its lines
    assert "week totals: WAPE" in notes
    assert "payer-weeks: WAPE" in notes
    assert "80% interval coverage" in notes
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    last = data_as_of(read_data_dir(history)) - timedelta(weeks=8)
    assert {row["cutoff"] for row in rows} == {str(last - timedelta(weeks=2)), str(last)}
    totals = [row for row in rows if row["payer_id"] == ALL_PAYERS]
    assert len(totals) == 16
    for row in totals:
        assert float(row["low"]) <= float(row["expected"]) <= float(row["high"])
        assert float(row["actual"]) >= 0


def test_backtest_table_shows_week_totals(history: Path, env: dict[str, str]) -> None:
    args = ["forecast-backtest", "--data", str(history), "--cutoffs", "1"]
    result = runner.invoke(app, [*args, "--calibration-cutoffs", "2", "--weeks", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert "actual" in result.stdout
    assert "PY-" not in result.stdout  # the table: week totals only


def test_a_registered_recovery_model_gives_the_open_denials_p_paid(
    history: Path, env: dict[str, str]
) -> None:
    """With a recovery model and no denial model, open denials take the model's P(recover)
    and pending claims the payers' rates; the output says so."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = Settings(max_boost_rounds=50)
        tracking.configure(settings)  # an earlier in-process command pointed MLflow elsewhere
        train_recovery_model(read_data_dir(history), settings, force=True)
    args = ["forecast", "--data", str(history), "--weeks", "2", "--calibration-cutoffs", "0"]
    result = runner.invoke(app, [*args, "--format", "csv"], env=env)
    assert result.exit_code == 0, result.output
    notes = " ".join(result.stderr.split())
    assert "no denial model" in notes
    assert "no recovery model" not in notes
    assert "P(paid) from model (ledger rates for" in notes
    assert "claims it did not score)" in notes
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {row["week"] for row in rows} == {"0", "1"}
