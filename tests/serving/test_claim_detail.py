"""The claim detail's JSON twin (`GET /v1/queue/items/{id}/detail`), over the reader's small
valid directory: C1 denied (CO-197, PR-3, N54) with two earlier appeals, C2 paid under an
authorization; and what it says when the data or the model is missing."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from queues.detail import NO_DESCRIPTION, explain_carcs, explain_rarcs
from serving.api.app import create_app
from serving.loading import ModelUnavailableError
from tests.data_contracts.test_reader import text_tables, write_csv_dir
from tests.serving.conftest import auth, scorer_for
from tests.serving.test_queue_routes import ranked_items


@pytest.fixture
def detail_client(settings, bundle, tmp_path):
    """The service with the small directory as the default tenant's data and a queue of C1,
    C2 and X9 (an item whose claim the directory does not hold)."""
    directory = write_csv_dir(tmp_path / "data", text_tables())
    settings = settings.model_copy(update={"queue_data_dir": directory})
    items = ranked_items(3).assign(
        claim_id=["C1", "C2", "X9"], carc_codes=["CO-197;PR-3", "CO-45", "CO-Z9"]
    )
    items["rarc_codes"] = ["N54", None, None]
    with TestClient(create_app(settings, loader=lambda _s: scorer_for(bundle))) as client:
        client.app.state.queue.load(items, actor="test", policy_version="1")
        yield client


def detail(client: TestClient, claim_id: str, role: str = "biller") -> dict:
    answer = client.get(f"/v1/queue/items/{claim_id}/detail", headers=auth(role))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_detail_holds_the_claim_its_codes_in_words_and_its_history(detail_client) -> None:
    detail_client.post("/v1/queue/next", headers=auth("biller"))
    shown = detail(detail_client, "C1")["detail"]
    history = shown["history"]
    assert history["claim"]["patient_id"] == "P1"
    assert history["claim"]["secondary_dx"] == ["F41.1", "Z63.0"]
    lines = [(ln["procedure_code"], ln["modifiers"], ln["minutes"]) for ln in history["lines"]]
    assert lines == [("90837", ["95", "HO"], 55)]
    assert history["remit"]["status"] == "denied"
    carcs = {code["code"]: code["description"] for code in shown["carcs"]}
    assert set(carcs) == {"CO-197", "PR-3"}
    assert "authorization" in carcs["CO-197"].lower()
    assert carcs["PR-3"] != NO_DESCRIPTION
    assert shown["rarcs"][0]["code"] == "N54"
    # A200 (P1 at PAY1) spans the service date and names no code: the whole program.
    assert [(a["auth_id"], a["covers_claim"]) for a in history["authorizations"]] == [
        ("A200", True)
    ]
    assert history["coverage"] == [{"coverage_start": "2023-01-01", "coverage_end": None}]
    kinds = [event["kind"] for event in shown["timeline"]]
    assert kinds[:5] == ["service", "submitted", "remit", "appeal", "appeal"]
    assert kinds[5:] == ["loaded", "leased"], "the queue's trail follows, oldest first"
    assert [event["at"] for event in shown["timeline"]] == sorted(
        event["at"] for event in shown["timeline"]
    )
    assert shown["estimate"]["days_left"] == (date(2026, 12, 31) - date.today()).days
    assert shown["unavailable"] is None


def test_the_authorization_in_force_is_shown_as_covering_the_claim(detail_client) -> None:
    history = detail(detail_client, "C2")["detail"]["history"]
    assert [(a["auth_id"], a["covers_claim"]) for a in history["authorizations"]] == [
        ("A100", True)
    ]


def test_fix_suggestions_come_from_the_tenants_scorer(detail_client) -> None:
    suggestions = detail(detail_client, "C1")["suggestions"]
    assert suggestions["unavailable"] is None
    assert 0 <= suggestions["p_denial"] <= 1
    assert suggestions["band"] in ("pass", "review", "hold")
    assert suggestions["model"].endswith("v7")
    # C1 went out without an authorization: the billing rule's fix is among those offered.
    fixes = {fix["fix_code"]: fix for fix in suggestions["fixes"]}
    assert fixes["missing_auth"]["rule_hit"]
    assert fixes["missing_auth"]["p_denial_after"] < suggestions["p_denial"]


def test_a_claim_missing_from_the_data_still_shows_its_item(detail_client) -> None:
    shown = detail(detail_client, "X9", role="revops")
    assert shown["detail"]["history"] is None
    assert shown["detail"]["unavailable"] == "claim X9 is not in the practice's data"
    assert shown["detail"]["carcs"] == [{"code": "CO-Z9", "description": NO_DESCRIPTION}]
    assert shown["suggestions"]["unavailable"].startswith("No fix suggestions")


def test_without_a_data_directory_the_history_is_unavailable_and_says_why(settings, bundle) -> None:
    with TestClient(create_app(settings, loader=lambda _s: scorer_for(bundle))) as client:
        client.app.state.queue.load(ranked_items(1), actor="test", policy_version="1")
        shown = detail(client, "D0")["detail"]
    assert shown["history"] is None
    assert "history is unavailable" in shown["unavailable"]
    assert "DENIALOPS_QUEUE_DATA_DIR" in shown["unavailable"]
    assert [event["kind"] for event in shown["timeline"]] == ["loaded"]


def test_without_a_model_the_detail_says_so_instead_of_failing(settings, tmp_path) -> None:
    def no_model(_settings):
        raise ModelUnavailableError("nothing registered")

    directory = write_csv_dir(tmp_path / "data", text_tables())
    settings = settings.model_copy(update={"queue_data_dir": directory})
    with TestClient(create_app(settings, loader=no_model)) as client:
        client.app.state.queue.load(
            ranked_items(1).assign(claim_id=["C1"]), actor="test", policy_version="1"
        )
        shown = detail(client, "C1")
    assert shown["detail"]["history"]["claim"]["patient_id"] == "P1"
    assert "no model loaded" in shown["suggestions"]["unavailable"]


def test_unknown_claims_are_404_and_scrubbers_may_not_look(detail_client) -> None:
    missing = detail_client.get("/v1/queue/items/NOPE/detail", headers=auth("biller"))
    assert missing.status_code == 404
    assert "NOPE" in missing.json()["detail"]
    refused = detail_client.get("/v1/queue/items/C1/detail", headers=auth("scrubber"))
    assert refused.status_code == 403


def test_codes_outside_the_bundled_lists_say_so() -> None:
    assert explain_carcs(["CO-16"])[0].description != NO_DESCRIPTION
    assert explain_carcs(["CO-999"])[0].description == NO_DESCRIPTION
    assert explain_rarcs(["N9999"])[0].description == NO_DESCRIPTION


@pytest.mark.parametrize("claim_id", ["A%00B", "C" * 65, "tab%09here"])
@pytest.mark.parametrize("route", ["/v1/queue/items/{}", "/v1/queue/items/{}/detail", "/claims/{}"])
def test_a_claim_id_no_item_could_have_is_a_422_naming_it(
    detail_client, route: str, claim_id: str
) -> None:
    answer = detail_client.get(route.format(claim_id), headers=auth("biller"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["path", "claim_id"]
