"""`denialops ingest x12` as a user meets it: a summary, idempotent reruns, clear refusals."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from denialops.cli import app
from tests.data_contracts.x12.conftest import fixture

runner = CliRunner()


def test_synth_as_x12_then_ingest_completes_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "data"
    made = runner.invoke(
        app, ["synth", "--claims", "400", "--seed", "2", "--out", str(out), "--format", "x12"]
    )
    assert made.exit_code == 0, made.output
    assert f"denialops ingest x12 {out / 'x12'}" in made.output.replace("\n", "")
    assert not (out / "claims.csv").exists()
    assert (out / "appeals.csv").exists()
    result = runner.invoke(app, ["ingest", "x12", str(out / "x12"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "claims added / replaced" in result.output
    assert "400 / 0" in result.output
    checked = runner.invoke(app, ["validate", "--data", str(out)])
    assert checked.exit_code == 0, checked.output
    again = runner.invoke(app, ["ingest", "x12", str(out / "x12" / "*.x12"), "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output


def test_refused_files_are_named_and_the_exit_code_says_so(tmp_path: Path) -> None:
    good = fixture("835/tigershark__835-example.835")
    bad = fixture("malformed/imsweb__x12_bad_valid_code.837")
    result = runner.invoke(app, ["ingest", "x12", str(bad), str(good), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "imsweb__x12_bad_valid_code.837: not ingested" in result.output
    assert "segment 9: NM1*117" in result.output
    assert "1 of 2" in result.output
    assert (tmp_path / "x12_remit_events.csv").exists()


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ingest", "x12", str(tmp_path / "nope.835"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "no such file" in result.output
