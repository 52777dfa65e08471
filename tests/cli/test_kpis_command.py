"""`denialops kpis` as RevOps runs it: JSON on standard output, the library's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analytics.kpis import kpis
from analytics.ledger import claim_ledger
from denialops.cli import app
from tests.analytics.book import AS_OF, read_book, write_book

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "DENIALOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}",
        "DENIALOPS_POLICY_PATH": str(tmp_path / "policy.yaml"),
    }


@pytest.mark.parametrize(("by", "key"), [("payer", "payer_id"), ("month", "month")])
def test_json_by_payer_and_month(tmp_path: Path, env: dict[str, str], by: str, key: str) -> None:
    data = write_book(tmp_path / "book")
    args = ["kpis", "--data", str(data), "--by", by, "--format", "json", "--as-of", str(AS_OF)]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)  # standard output holds the JSON alone
    expected = kpis(claim_ledger(read_book(tmp_path / "again"), AS_OF), by)
    assert [row[key] for row in printed] == list(expected[key])
    for row in printed:
        assert {key, "adjudicated_claims", "denial_rate", "days_to_pay_median"} <= set(row)
    by_key = {row[key]: row for row in printed}
    if by == "payer":
        assert by_key["PAY-A"]["adjudicated_claims"] == 4
        assert by_key["PAY-A"]["denial_rate"] == pytest.approx(0.25)
        assert by_key["PAY-A"]["days_to_pay_median"] == 10.0
        assert by_key["PAY-B"]["days_to_pay_median"] is None  # it paid nothing: unknown
    else:
        assert by_key["2026-06"]["claims"] == 6


def test_csv_and_table(tmp_path: Path, env: dict[str, str]) -> None:
    data = write_book(tmp_path / "book")
    as_csv = runner.invoke(app, ["kpis", "--data", str(data), "--format", "csv"], env=env)
    assert as_csv.exit_code == 0, as_csv.output
    header, row = as_csv.stdout.strip().splitlines()
    assert header.startswith("claims,charges,adjudicated_claims")
    assert row.startswith("8,1200.0,6,3")
    table = runner.invoke(app, ["kpis", "--data", str(data)], env=env)
    assert "denial_rate" in table.stdout
    assert "50.0%" in table.stdout


def test_a_directory_that_breaks_the_contract_exits_1(tmp_path: Path, env: dict[str, str]) -> None:
    data = write_book(tmp_path / "book")
    (data / "claims.csv").write_text("claim_id\nC1\n")
    result = runner.invoke(app, ["kpis", "--data", str(data), "--on-bad-rows", "strict"], env=env)
    assert result.exit_code == 1
    assert "claims" in result.output
