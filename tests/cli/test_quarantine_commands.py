"""Commands on a data directory with 0.5% bad rows of eight kinds: `train`, `score` and
`queue rank` set exactly those rows and their dependants aside and run on the rest;
`validate` and `--on-bad-rows strict` refuse the directory; above the ceiling, every
command refuses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from data_contracts.quarantine import FOLDER
from denialops.cli import app
from tests.cli import commands, training_env

runner = CliRunner()
SHARE = 0.005


def _spoil(data: Path) -> dict[str, set[int]]:
    """Break 0.5% of each table's rows; the rows (from 1) that must be set aside."""
    rng = np.random.default_rng(5)
    frames = {
        path.stem: pd.read_csv(path, dtype=str, keep_default_na=False)
        for path in data.glob("*.csv")
        if path.stem != "truth"
    }
    picked = {
        name: rng.choice(len(frame), max(1, round(SHARE * len(frame))), replace=False)
        for name, frame in frames.items()
    }
    claims, lines, remits = frames["claims"], frames["claim_lines"], frames["remits"]
    half = len(picked["claims"]) // 2
    claims.loc[picked["claims"][:half], "service_date"] = "2024-02-30"
    claims.loc[picked["claims"][half:], "plan_type"] = "ppo"
    half = len(picked["claim_lines"]) // 2
    lines.loc[picked["claim_lines"][:half], "line_charge"] = "-5.00"
    lines.loc[picked["claim_lines"][half:], "procedure_code"] = "9083"
    orphans, copies, originals = np.array_split(picked["remits"], 3)
    remits.loc[orphans, "claim_id"] = [f"ORPHAN{i}" for i in range(len(orphans))]
    remits.loc[copies, "claim_id"] = remits.loc[originals[: len(copies)], "claim_id"].to_numpy()
    picked["remits"] = np.concatenate([orphans, copies, originals[: len(copies)]])
    frames["authorizations"].loc[picked["authorizations"], "end_date"] = "1995-01-01"
    frames["eligibility"].loc[picked["eligibility"], "coverage_end"] = "1995-01-01"
    frames["appeals"].loc[picked["appeals"], "outcome"] = "won"
    for name, frame in frames.items():
        frame.to_csv(data / f"{name}.csv", index=False)
    return _with_dependants(frames, {name: set(rows) for name, rows in picked.items()})


def _with_dependants(frames: dict[str, pd.DataFrame], bad: dict[str, set[int]]) -> dict:
    """The contract's rule, stated over the rows spoiled: a claim goes with its own bad rows,
    the authorization it names and its patient's coverage with its payer; its rows go with it."""
    claims = frames["claims"]
    gone: set[str] = set(claims.loc[list(bad["claims"]), "claim_id"])
    for child in ("claim_lines", "remits", "appeals"):
        gone |= set(frames[child].loc[list(bad[child]), "claim_id"]) & set(claims["claim_id"])
    auths = set(frames["authorizations"].loc[list(bad["authorizations"]), "auth_id"])
    gone |= set(claims.loc[claims["prior_auth_id"].isin(auths), "claim_id"])
    coverage = frames["eligibility"].loc[list(bad["eligibility"]), ["patient_id", "payer_id"]]
    covered = claims.merge(coverage, on=["patient_id", "payer_id"])
    gone |= set(covered["claim_id"])
    follow = {
        name: frame.index[frame["claim_id"].isin(gone)] if "claim_id" in frame.columns else []
        for name, frame in frames.items()
    }
    expected = {name: {int(i) + 1 for i in {*bad[name], *follow[name]}} for name in frames}
    return {"rows": expected, "claims": gone}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """A spoiled 5,000-claim directory, trained on with `denialops train` (the default)."""
    folder = tmp_path_factory.mktemp("quarantine-cli")
    data = folder / "data"
    assert runner.invoke(app, ["synth", "--claims", "5000", "--out", str(data)]).exit_code == 0
    expected = _spoil(data)
    env = training_env(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = runner.invoke(app, ["train", "--data", str(data)], env=env)
    return {"folder": folder, "data": data, "env": env, "expected": expected, "train": result}


def _set_aside(data: Path) -> dict[str, set[int]]:
    return {
        path.stem: set(pd.read_csv(path, usecols=["row"])["row"])
        for path in (data / FOLDER).glob("*.csv")
    }


def _run(trained: dict, *args: str, **env: str):
    return runner.invoke(app, list(args), env={**trained["env"], **env})


def test_train_sets_aside_exactly_the_bad_rows_and_their_dependants(trained) -> None:
    result = trained["train"]
    assert result.exit_code == 0, result.output
    assert "denial-risk version 1 is champion" in result.output
    assert "denial-recovery version 1 is champion" in result.output
    assert f"set aside in {trained['data'] / FOLDER}" in result.output
    expected = {name: rows for name, rows in trained["expected"]["rows"].items() if rows}
    assert _set_aside(trained["data"]) == expected
    claims = pd.read_csv(trained["data"] / FOLDER / "claims.csv", dtype=str)
    assert set(claims["claim_id"]) == trained["expected"]["claims"]


def test_score_and_queue_rank_leave_the_set_aside_claims_out(trained, tmp_path) -> None:
    data, gone = str(trained["data"]), trained["expected"]["claims"]
    scored = _run(trained, "score", "--data", data, "--out", str(tmp_path / "scored.csv"))
    ranked = _run(trained, "queue", "rank", "--data", data, "--out", str(tmp_path / "ranked.csv"))

    for result, name in ((scored, "scored.csv"), (ranked, "ranked.csv")):
        assert result.exit_code == 0, result.output
        assert "set aside in" in result.output
        claim_ids = set(pd.read_csv(tmp_path / name, dtype=str)["claim_id"])
        assert claim_ids, name
        assert not claim_ids & gone, name
    assert _set_aside(trained["data"]) == {
        name: rows for name, rows in trained["expected"]["rows"].items() if rows
    }


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["score", "--on-bad-rows", "strict", "--out", "scored.csv"],
        ["queue", "rank", "--on-bad-rows", "strict", "--out", "ranked.csv"],
    ],
    ids=["validate", "score-strict", "rank-strict"],
)
def test_strict_refuses_the_directory_listing_every_problem(trained, args) -> None:
    result = _run(trained, *args, "--data", str(trained["data"]))

    assert result.exit_code == 1
    assert "nothing was loaded" in result.output
    for rule in ("claims.service_date", "claim_lines.line_charge", "duplicate key (claim_id)"):
        assert rule in result.output


def test_above_the_ceiling_train_refuses_the_directory(trained) -> None:
    result = _run(
        trained, "train", "--data", str(trained["data"]), DENIALOPS_QUARANTINE_CEILING="0.004"
    )

    assert result.exit_code == 1
    assert "quarantine ceiling of 0.40%" in result.output
    assert "nothing was loaded" in result.output


def test_every_command_that_reads_a_data_directory_takes_on_bad_rows() -> None:
    defaults = {
        words: {param.name: param.default for param in command.params}.get("on_bad_rows")
        for words, command in commands(get_command(app))
        if any(param.name == "data" for param in command.params)
    }

    assert defaults.pop(("validate",)) == "strict"
    assert defaults, "no other command reads a data directory?"
    assert set(defaults.values()) == {"quarantine"}, defaults
    assert {("train",), ("features", "build"), ("score",), ("queue", "rank")} <= set(defaults)
