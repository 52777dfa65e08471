"""The console script as a user meets it: synth, validate, and clear failures."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from denialops.cli import app

runner = CliRunner()


def test_synth_then_validate_round_trip(tmp_path) -> None:
    out = tmp_path / "data"
    result = runner.invoke(app, ["synth", "--claims", "2000", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("claims", "claim_lines", "remits", "authorizations", "eligibility", "appeals"):
        assert (out / f"{name}.csv").exists()
    assert (out / "truth.csv").exists()
    manifest = json.loads((out / "synth_manifest.json").read_text())
    assert manifest["claims"] == 2000
    assert manifest["seed"] == 3
    checked = runner.invoke(app, ["validate", "--data", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "2,000" in checked.output


def test_synth_writes_parquet_when_asked(tmp_path) -> None:
    out = tmp_path / "data"
    result = runner.invoke(
        app, ["synth", "--claims", "500", "--out", str(out), "--format", "parquet"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "claims.parquet").exists()
    assert not (out / "claims.csv").exists()


def test_unknown_format_is_refused(tmp_path) -> None:
    result = runner.invoke(
        app, ["synth", "--claims", "10", "--out", str(tmp_path), "--format", "xml"]
    )
    assert result.exit_code == 2
    assert "csv, parquet or x12" in result.output


def test_validate_lists_problems_and_exits_non_zero(tmp_path) -> None:
    out = tmp_path / "data"
    runner.invoke(app, ["synth", "--claims", "300", "--out", str(out)])
    claims = (out / "claims.csv").read_text().splitlines()
    claims[2] = claims[2].replace('"1",', '"9",', 1)
    (out / "claims.csv").write_text("\n".join(claims) + "\n")
    result = runner.invoke(app, ["validate", "--data", str(out)])
    assert result.exit_code == 1
    assert "claims.frequency_code" in result.output
    assert "row 2" in result.output


def test_help_names_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "synth" in result.output
    assert "validate" in result.output
    assert "ingest" in result.output
