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
    assert "csv, parquet, x12 or parquet-partitioned" in result.output


def test_synth_writes_partitioned_parquet_in_chunks(tmp_path) -> None:
    out = tmp_path / "data"
    result = runner.invoke(
        app,
        [
            *("synth", "--claims", "2500", "--seed", "3", "--out", str(out)),
            *("--format", "parquet-partitioned", "--chunk-claims", "1000"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "in 3 chunk(s)" in result.output
    assert {path.name for path in out.glob("claims.parquet/*/*.parquet")} == {
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    }
    manifest = json.loads((out / "synth_manifest.json").read_text())
    assert (manifest["format"], manifest["chunk_claims"]) == ("parquet-partitioned", 1000)
    checked = runner.invoke(app, ["validate", "--data", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "2,500" in checked.output


def test_chunks_need_the_partitioned_format(tmp_path) -> None:
    result = runner.invoke(
        app, ["synth", "--claims", "10", "--out", str(tmp_path), "--chunk-claims", "5"]
    )
    assert result.exit_code == 2
    assert "needs --format parquet-partitioned" in result.output


def test_synth_scenario_is_in_the_manifest(tmp_path) -> None:
    out = tmp_path / "data"
    result = runner.invoke(
        app,
        [
            *("synth", "--claims", "2000", "--seed", "3", "--out", str(out)),
            *("--scenario", "new_payer", "--change-on", "2024-03-01"),
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "synth_manifest.json").read_text())
    assert manifest["scenario"] == "new_payer"
    assert manifest["change_on"] == "2024-03-01"


def test_synth_refuses_an_unknown_scenario(tmp_path) -> None:
    result = runner.invoke(
        app, ["synth", "--claims", "10", "--out", str(tmp_path), "--scenario", "weather"]
    )
    assert result.exit_code == 2
    assert "auth_rule, new_payer, code_mix" in result.output


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


def test_synth_ends_on_and_request_gives_a_body_the_api_accepts(tmp_path) -> None:
    """The demo's path: data ending today, and a first request built from its latest claim."""
    from serving.api.schemas import ScoreRequest

    out = tmp_path / "data"
    made = runner.invoke(
        app,
        ["synth", "--claims", "1500", "--seed", "3", "--out", str(out), "--ends-on", "2026-12-02"],
    )
    assert made.exit_code == 0, made.output
    manifest = json.loads((out / "synth_manifest.json").read_text())
    assert manifest["as_of"] == manifest["ends_on"] == "2026-12-02"
    body_file = tmp_path / "request.json"
    result = runner.invoke(app, ["request", "--data", str(out), "--out", str(body_file)])
    assert result.exit_code == 0, result.output
    body = ScoreRequest.model_validate_json(body_file.read_text())
    assert len(body.claims) == 1
    assert body.claims[0].submission_date.isoformat() == "2026-12-02"
    named = runner.invoke(app, ["request", "--data", str(out), "--claim", "CLM000000001"])
    assert json.loads(named.stdout)["claims"][0]["claim_id"] == "CLM000000001"
    unknown = runner.invoke(app, ["request", "--data", str(out), "--claim", "NOPE"])
    assert unknown.exit_code != 0
    assert "no claim NOPE" in unknown.output
