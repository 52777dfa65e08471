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


def test_what_was_set_aside_is_named_and_the_exit_code_says_so(tmp_path: Path) -> None:
    good = fixture("835/tigershark__835-example.835")
    bad = fixture("malformed/imsweb__x12_bad_valid_code.837")
    result = runner.invoke(app, ["ingest", "x12", str(bad), str(good), "--out", str(tmp_path)])
    assert result.exit_code == 1
    output = result.output.replace("\n", " ")
    assert (
        "set aside: imsweb__x12_bad_valid_code.837, transaction 987654, segment 9: NM1*117"
        in output
    )
    assert "transaction sets set aside │" in output.replace("  ", "")
    assert "exceptions.csv" in output
    assert "set-aside rows by category: structure 1" in output
    assert (tmp_path / "x12_remit_events.csv").exists()


def test_flags_alone_exit_0_and_a_retry_posts_a_corrected_copy(tmp_path: Path) -> None:
    text = fixture("835/edi835parser__united_healthcare_legacy_sample.835").read_text()
    assert "CLP*001-18573-358*1*341.28*" in text
    bad = tmp_path / "bad.835"
    bad.write_text(text.replace("CLP*001-18573-358*1*341.28*", "CLP*001-18573-358*1**"))
    out = tmp_path / "data"
    first = runner.invoke(app, ["ingest", "x12", str(bad), "--out", str(out)])
    assert first.exit_code == 1, first.output
    assert "claim 001-18573-358: CLP03 '' is not an amount" in first.output.replace("\n", "")
    fixed = tmp_path / "fixed.835"
    fixed.write_text(text)
    retried = runner.invoke(
        app, ["ingest", "x12", "--retry-exceptions", str(fixed), "--out", str(out)]
    )
    assert retried.exit_code == 0, retried.output  # the file's flags remain, nothing set aside
    assert "set-aside claims resolved" in retried.output
    again = runner.invoke(app, ["ingest", "x12", "--retry-exceptions", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ingest", "x12", str(tmp_path / "nope.835"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "no such file" in result.output
