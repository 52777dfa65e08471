"""Odd but valid input gives documented defaults; invalid input is the contract's clear error."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from data_contracts.reader import ContractData, empty_table
from denialops.cli import app
from features.pipeline import build_features, build_state, features_for_claims


def _one_claim(data: ContractData) -> ContractData:
    """The first claim alone: no history, no remits, no reference tables."""
    claim = data.claims.head(1)
    return ContractData(
        claims=claim,
        claim_lines=data.claim_lines[data.claim_lines["claim_id"].isin(claim["claim_id"])],
        remits=empty_table("remits"),
        authorizations=empty_table("authorizations"),
        eligibility=empty_table("eligibility"),
        appeals=empty_table("appeals"),
    )


def test_a_claim_with_no_history_gets_the_documented_defaults(data) -> None:
    row = build_features(_one_claim(data)).iloc[0]
    assert row["patient_prior_claims"] == 0
    assert row["same_service_prior_claims"] == 0
    assert row["visit_number_this_year"] == 1
    assert row["overall_denial_rate"] == 0.5  # (0 + 1) / (0 + 2): nothing adjudicated yet
    assert row["payer_code_denial_rate"] == 0.5
    assert np.isnan(row["days_since_last_claim"])
    assert np.isnan(row["visits_over_learned_cap"])
    assert row["eligibility_on_file"] == 0
    assert row["covered_on_service_date"] == 0


def test_an_authorization_number_not_on_file_is_flagged_not_fatal(data) -> None:
    claims = data.claims.copy()
    claims.loc[claims.index[0], "prior_auth_id"] = "NOT-ON-FILE"
    row = build_features(dataclasses.replace(data, claims=claims)).iloc[0]
    assert row["auth_unknown_number"] == 1
    assert row["auth_on_file"] == 0
    assert np.isnan(row["auth_units_approved"])
    assert np.isnan(row["auth_units_remaining"])
    assert row["auth_units_used"] == 0


def test_serving_an_unseen_payer_and_code_still_gives_features(data) -> None:
    state = build_state(data)
    claim = data.claims.tail(1).assign(claim_id="NEW1", payer_id="NEW-PAYER")
    lines = data.claim_lines[data.claim_lines["claim_id"] == data.claims["claim_id"].iloc[-1]]
    lines = lines.assign(claim_id="NEW1", procedure_code="H2019")
    row = features_for_claims(claim, lines, state).iloc[0]
    assert row["payer_id"] == "NEW-PAYER"
    assert row["payer_code_adjudicated"] == 0
    assert row["payer_code_denial_rate"] == pytest.approx(row["overall_denial_rate"])


def test_an_empty_batch_gives_an_empty_frame(data) -> None:
    state = build_state(data)
    served = features_for_claims(data.claims.iloc[:0], data.claim_lines.iloc[:0], state)
    assert served.empty
    assert list(served.columns) == list(build_features(_one_claim(data)).columns)


def test_dates_out_of_order_are_a_clear_error_or_set_aside(tmp_path) -> None:
    runner = CliRunner()
    data_dir, out = tmp_path / "data", tmp_path / "f.parquet"
    runner.invoke(app, ["synth", "--claims", "300", "--out", str(data_dir)])
    claims = pd.read_csv(data_dir / "claims.csv", dtype=str, keep_default_na=False)
    claims.loc[4, "submission_date"] = "2020-01-01"
    claims.to_csv(data_dir / "claims.csv", index=False)
    build = ["features", "build", "--data", str(data_dir), "--out", str(out)]

    strict = runner.invoke(app, [*build, "--on-bad-rows", "strict"])
    assert strict.exit_code == 1
    assert "submission_date is before service_date" in strict.output
    assert "row 5" in strict.output
    assert not out.exists()

    quarantined = runner.invoke(app, build)
    assert quarantined.exit_code == 0, quarantined.output
    assert claims.loc[4, "claim_id"] not in set(pd.read_parquet(out)["claim_id"])
    assert len(pd.read_parquet(out)) == 299
    set_aside = pd.read_csv(data_dir / "quarantine" / "claims.csv", dtype=str)
    assert set_aside[["claim_id", "row", "problem"]].values.tolist() == [
        [claims.loc[4, "claim_id"], "5", "submission_date is before service_date"]
    ]


def test_features_command_writes_claim_ids_and_state(tmp_path) -> None:
    runner = CliRunner()
    data_dir, out, state = tmp_path / "data", tmp_path / "f.parquet", tmp_path / "state"
    runner.invoke(app, ["synth", "--claims", "500", "--out", str(data_dir)])
    result = runner.invoke(
        app,
        ["features", "build", "--data", str(data_dir), "--out", str(out), "--state", str(state)],
    )
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out)
    assert len(written) == 500
    assert written.columns[0] == "claim_id"
    assert (state / "state.json").exists()
