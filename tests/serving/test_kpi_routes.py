"""GET /v1/kpis: the numbers of `denialops kpis`, for RevOps and billing leadership only."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from denialops.cli import app as cli
from serving.api.app import create_app
from settings import Settings
from tests.analytics.book import AS_OF, write_book
from tests.serving.conftest import auth


@pytest.fixture
def book_client(settings: Settings, tmp_path: Path):
    data = write_book(tmp_path / "book")
    served = settings.model_copy(update={"queue_data_dir": data})
    with TestClient(create_app(served, loader=lambda _s: None)) as client:
        yield client, served, data


def test_the_api_and_the_command_give_the_same_numbers(book_client) -> None:
    client, settings, data = book_client
    for by in ("payer", "month", "category", None):
        query = {"as_of": str(AS_OF), **({"by": by} if by else {})}
        answer = client.get("/v1/kpis", params=query, headers=auth("revops"))
        assert answer.status_code == 200, answer.text
        env = {
            "DENIALOPS_DATABASE_URL": settings.database_url,
            "DENIALOPS_POLICY_PATH": str(settings.policy_path),
        }
        args = ["kpis", "--data", str(data), "--format", "json", "--as-of", str(AS_OF)]
        printed = CliRunner().invoke(cli, [*args, *(["--by", by] if by else [])], env=env)
        assert printed.exit_code == 0, printed.output
        assert answer.json()["rows"] == json.loads(printed.stdout)
        assert answer.json()["by"] == by


def test_the_figures_are_the_books(book_client) -> None:
    client, _, _ = book_client
    body = client.get("/v1/kpis", params={"by": "payer"}, headers=auth("revops")).json()
    rows = {row["payer_id"]: row for row in body["rows"]}
    assert rows["PAY-A"]["denial_rate"] == pytest.approx(0.25)
    assert rows["PAY-B"]["days_to_pay_median"] is None
    assert body["biller_hour_cost"] > 0


def test_a_changed_file_changes_the_numbers(book_client) -> None:
    client, _, data = book_client
    before = client.get("/v1/kpis", headers=auth("revops")).json()["rows"][0]["claims"]
    for table in ("claims", "claim_lines"):
        frame = pd.read_csv(data / f"{table}.csv", dtype=str, keep_default_na=False)
        frame[frame["claim_id"] != "C5"].to_csv(data / f"{table}.csv", index=False)
    after = client.get("/v1/kpis", headers=auth("revops")).json()["rows"][0]["claims"]
    assert (before, after) == (8, 7)


def test_a_biller_and_the_scrubber_may_not_read_them(book_client) -> None:
    client, _, _ = book_client
    for role in ("biller", "scrubber"):
        assert client.get("/v1/kpis", headers=auth(role)).status_code == 403


def test_an_unknown_breakdown_is_a_422_naming_it(book_client) -> None:
    client, _, _ = book_client
    answer = client.get("/v1/kpis", params={"by": "zip"}, headers=auth("revops"))
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "by"]


def test_no_data_directory_is_a_409_saying_so(client: TestClient) -> None:
    answer = client.get("/v1/kpis", headers=auth("revops"))
    assert answer.status_code == 409
    assert "DENIALOPS_QUEUE_DATA_DIR" in answer.json()["detail"]
