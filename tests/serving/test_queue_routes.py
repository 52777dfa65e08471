"""The queue and policy routes as billers, leads and RevOps meet them: roles, leases,
refusals. Every test runs on SQLite and, with DENIALOPS_TEST_POSTGRES_URL, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving.api.app import create_app
from serving.keys import digest
from storage.tenants import add_tenant
from tests.data_contracts.test_reader import text_tables, write_csv_dir
from tests.serving.conftest import KEYS, auth, scorer_for

SECOND_BILLER = "bill-key-2"
LEAD = "lead-key"
STRANGER = {"Authorization": f"Bearer {SECOND_BILLER}"}
AS_LEAD = {"Authorization": f"Bearer {LEAD}"}
ME = digest(KEYS["biller"])[:12]
"""The name the `biller` key works under (a configured key's id)."""
SECOND_BILLER_NAME = digest(SECOND_BILLER)[:12]
LEAD_NAME = digest(LEAD)[:12]
PASSWORD = "correct horse battery staple"


def ranked_items(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "claim_id": [f"D{i}" for i in range(n)],
            "payer_id": "PY-A",
            "denial_category": "missing_auth",
            "action": "appeal",
            "p_recover": 0.5,
            "recoverable_amount": 400.0,
            "billed_amount": 500.0,
            "expected_recovery": 200.0,
            "effort_minutes": 30.0,
            "deadline": pd.Timestamp("2026-12-31"),
            "priority": [float(n - i) for i in range(n)],
            "rank": list(range(1, n + 1)),
            "reason": "appeal: 50% × $400",
        }
    )


@pytest.fixture
def queue_client(settings, bundle, database_url):
    settings = settings.model_copy(
        update={
            "api_keys": settings.api_keys + f",{SECOND_BILLER}:biller,{LEAD}:billing_lead",
            "database_url": database_url,
        }
    )
    with TestClient(create_app(settings, loader=lambda _s: scorer_for(bundle))) as client:
        client.app.state.queue.load(ranked_items(), actor="test", policy_version="1")
        # Items are assigned to the practice's people: the biller key works for one of them.
        client.app.state.people.add("default", ME, "biller", PASSWORD, by="test")
        yield client


def test_a_biller_sees_the_ranked_list_and_leases_the_top(queue_client) -> None:
    listed = queue_client.get("/v1/queue/items", headers=auth("biller")).json()["items"]
    assert [item["claim_id"] for item in listed] == ["D0", "D1", "D2", "D3", "D4"]
    leased = queue_client.post("/v1/queue/next", headers=auth("biller")).json()
    assert leased["claim_id"] == "D0"
    assert leased["lease_holder"]
    other = queue_client.post(
        "/v1/queue/next", headers={"Authorization": f"Bearer {SECOND_BILLER}"}
    )
    assert other.json()["claim_id"] == "D1", "a leased item is never handed out twice"


def test_only_the_holder_may_resolve_and_outcomes_follow(queue_client) -> None:
    queue_client.post("/v1/queue/next", headers=auth("biller"))
    work = {"action": "appeal", "effort_minutes": 25}
    stranger = {"Authorization": f"Bearer {SECOND_BILLER}"}
    refused = queue_client.post("/v1/queue/items/D0/resolve", json=work, headers=stranger)
    assert refused.status_code == 409
    assert "D0" in refused.json()["detail"]
    done = queue_client.post("/v1/queue/items/D0/resolve", json=work, headers=auth("biller"))
    assert done.status_code == 200
    assert done.json()["resolved_action"] == "appeal"
    paid = {"outcome": "overturned", "recovered_amount": 350.0, "closed_date": _today()}
    answered = queue_client.post("/v1/queue/items/D0/outcome", json=paid, headers=auth("biller"))
    assert answered.json()["outcome"] == "overturned"
    appeals = queue_client.app.state.queue.export_appeals()
    assert appeals["claim_id"].tolist() == ["D0"]


def test_release_returns_the_item_and_unknown_claims_are_404(queue_client) -> None:
    queue_client.post("/v1/queue/next", headers=auth("biller"))
    assert (
        queue_client.post("/v1/queue/items/D0/release", headers=auth("biller")).status_code == 200
    )
    assert queue_client.post("/v1/queue/next", headers=auth("biller")).json()["claim_id"] == "D0"
    missing = queue_client.post("/v1/queue/items/NOPE/release", headers=auth("biller"))
    assert missing.status_code == 404


def test_an_empty_queue_answers_204(queue_client) -> None:
    for headers in [auth("biller")] * 3 + [STRANGER] * 2:
        assert queue_client.post("/v1/queue/next", headers=headers).status_code == 200
    assert queue_client.post("/v1/queue/next", headers=STRANGER).status_code == 204


@pytest.mark.parametrize(
    ("method", "path", "role", "expected"),
    [
        ("post", "/v1/queue/next", "scrubber", 403),
        ("post", "/v1/queue/next", "revops", 403),
        ("post", "/v1/queue/items/D0/correction", "biller", 403),
        ("post", "/v1/queue/items/D0/renew", "scrubber", 403),
        ("get", "/v1/queue/items", "revops", 200),
        ("get", "/v1/queue/items/D0", "revops", 200),
        ("get", "/v1/queue/items/D0", "scrubber", 403),
        ("get", "/v1/policy", "biller", 200),
        ("put", "/v1/policy", "biller", 403),
        ("post", "/v1/policy/simulate", "biller", 403),
    ],
)
def test_roles(queue_client, method, path, role, expected) -> None:
    body = {"budget_hours": 10} if path.endswith("simulate") else None
    if path.endswith("correction"):
        body = {"outcome": "upheld", "recovered_amount": 0, "closed_date": _today(), "reason": "r"}
    response = getattr(queue_client, method)(
        path, headers=auth(role), **({"json": body} if body else {})
    )
    assert response.status_code == expected


def test_revops_saves_a_new_policy_version(queue_client) -> None:
    policy = queue_client.get("/v1/policy", headers=auth("revops")).json()
    policy["min_expected_net"] = 60.0
    saved = queue_client.put("/v1/policy", json=policy, headers=auth("revops"))
    assert saved.status_code == 200
    assert saved.json()["version"] == policy["version"] + 1
    assert saved.json()["updated_by"]
    again = queue_client.get("/v1/policy", headers=auth("biller")).json()
    assert again["min_expected_net"] == 60.0


def test_a_save_from_a_stale_version_is_a_409_naming_the_current(queue_client) -> None:
    edited = queue_client.get("/v1/policy", headers=auth("revops")).json()
    first = queue_client.put(
        "/v1/policy", json=edited | {"min_expected_net": 61.0}, headers=auth("revops")
    )
    assert first.status_code == 200
    second = queue_client.put(
        "/v1/policy", json=edited | {"min_expected_net": 62.0}, headers=auth("revops")
    )
    assert second.status_code == 409
    assert second.json()["current_version"] == first.json()["version"] == edited["version"] + 1
    assert "version 2 is in force" in second.json()["detail"]
    assert queue_client.get("/v1/policy", headers=auth("biller")).json()["min_expected_net"] == 61
    trail = [
        (event.event, event.detail.get("version"))
        for event in queue_client.app.state.queue.audit()
        if event.claim_id is None and event.event != "user_added"  # the fixture's person
    ]
    assert trail == [("policy_saved", 2)]


def test_a_bad_policy_is_a_422_naming_the_field(queue_client) -> None:
    policy = queue_client.get("/v1/policy", headers=auth("revops")).json()
    policy["actions"]["missing_auth"] = "pray"
    response = queue_client.put("/v1/policy", json=policy, headers=auth("revops"))
    assert response.status_code == 422
    assert "missing_auth" in response.text


def test_simulation_needs_a_data_directory(queue_client) -> None:
    response = queue_client.post(
        "/v1/policy/simulate", json={"budget_hours": 10}, headers=auth("revops")
    )
    assert response.status_code == 409
    assert "DENIALOPS_QUEUE_DATA_DIR" in response.text


def test_simulation_sets_bad_rows_aside_up_to_the_ceiling(
    queue_client, tmp_path, monkeypatch
) -> None:
    # An empty registry, whatever store an earlier test pointed MLflow (and its variable) at.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty-mlflow.db'}")
    tables = text_tables()
    tables["claims"].loc[1, "plan_type"] = "ppo"  # 1 of 3 claims
    directory = write_csv_dir(tmp_path / "data", tables)
    settings = queue_client.app.state.settings.model_copy(update={"queue_data_dir": directory})

    def simulate(ceiling: float):
        queue_client.app.state.settings = settings.model_copy(
            update={"quarantine_ceiling": ceiling}
        )
        return queue_client.post(
            "/v1/policy/simulate", json={"budget_hours": 10}, headers=auth("revops")
        )

    refused = simulate(0.3)
    assert refused.status_code == 409
    assert "quarantine ceiling of 30.00%" in refused.json()["detail"]
    ranked = simulate(0.5)
    assert ranked.status_code == 503, "read with the claim set aside; no recovery model here"
    assert (directory / "quarantine" / "claims.csv").exists()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _resolve(client, claim_id: str, headers: dict[str, str]) -> None:
    assert client.post("/v1/queue/next", headers=headers).json()["claim_id"] == claim_id
    work = {"action": "appeal", "effort_minutes": 25}
    assert client.post(f"/v1/queue/items/{claim_id}/resolve", json=work, headers=headers).is_success


def test_another_biller_cannot_rewrite_an_outcome_and_it_is_recorded_once(queue_client) -> None:
    _resolve(queue_client, "D0", auth("biller"))
    url = "/v1/queue/items/D0/outcome"
    rewrite = {"outcome": "overturned", "recovered_amount": 9_999_999, "closed_date": _today()}
    refused = queue_client.post(url, json=rewrite, headers=STRANGER)
    assert refused.status_code == 403
    assert "resolved by" in refused.json()["detail"]

    too_much = queue_client.post(url, json=rewrite, headers=auth("biller"))
    assert too_much.status_code == 422
    assert "billed_amount 500.00" in too_much.json()["detail"]
    future = {"outcome": "overturned", "recovered_amount": 300, "closed_date": "2099-12-31"}
    assert queue_client.post(url, json=future, headers=auth("biller")).status_code == 422
    overriding = {**rewrite, "override_amount": True}
    assert queue_client.post(url, json=overriding, headers=auth("biller")).status_code == 403

    paid = {"outcome": "overturned", "recovered_amount": 300, "closed_date": _today()}
    answered = queue_client.post(url, json=paid, headers=auth("biller"))
    assert answered.status_code == 200
    assert (answered.json()["recovered_amount"], answered.json()["billed_amount"]) == (300, 500)
    again = queue_client.post(url, json={**paid, "recovered_amount": 1}, headers=auth("biller"))
    assert again.status_code == 409
    assert "final outcome" in again.json()["detail"]
    assert queue_client.post(url, json=rewrite, headers=STRANGER).status_code == 403
    assert queue_client.app.state.queue.item("D0").recovered_amount == 300


def test_a_lead_works_records_overrides_and_corrects(queue_client) -> None:
    _resolve(queue_client, "D0", auth("biller"))
    _resolve(queue_client, "D1", AS_LEAD)
    big = {
        "outcome": "overturned",
        "recovered_amount": 720,
        "closed_date": _today(),
        "override_amount": True,
    }
    recorded = queue_client.post("/v1/queue/items/D0/outcome", json=big, headers=AS_LEAD)
    assert recorded.status_code == 200
    assert recorded.json()["recovered_amount"] == 720

    fix = {"outcome": "upheld", "recovered_amount": 0, "closed_date": _today(), "reason": "typo"}
    url = "/v1/queue/items/D0/correction"
    corrected = queue_client.post(url, json=fix, headers=AS_LEAD)
    assert corrected.status_code == 200
    assert corrected.json()["outcome"] == "upheld"
    assert queue_client.post(url, json=fix, headers=auth("biller")).status_code == 403
    assert queue_client.post(url, json={**fix, "reason": ""}, headers=AS_LEAD).status_code == 422
    pending = queue_client.post("/v1/queue/items/D1/correction", json=fix, headers=AS_LEAD)
    assert pending.status_code == 409
    trail = queue_client.app.state.queue.audit("D0")
    assert [event.event for event in trail][-2:] == ["outcome", "outcome_corrected"]
    assert trail[-2].detail["amount_override"] == {"bound": 500.0, "basis": "billed_amount"}
    assert trail[-1].detail["old"]["recovered_amount"] == 720


def test_a_biller_holds_at_most_three_leases_and_renews_them(queue_client) -> None:
    held = [queue_client.post("/v1/queue/next", headers=auth("biller")) for _ in range(3)]
    assert [response.json()["claim_id"] for response in held] == ["D0", "D1", "D2"]
    capped = queue_client.post("/v1/queue/next", headers=auth("biller"))
    assert capped.status_code == 409
    assert "max_leases_per_biller = 3): claims D0, D1, D2" in capped.json()["detail"]
    assert queue_client.post("/v1/queue/next", headers=STRANGER).json()["claim_id"] == "D3"

    renewed = queue_client.post("/v1/queue/items/D0/renew", headers=auth("biller"))
    assert renewed.status_code == 200
    assert renewed.json()["lease_expires_at"] > held[0].json()["lease_expires_at"]
    assert queue_client.post("/v1/queue/items/D0/renew", headers=STRANGER).status_code == 409
    assert queue_client.post("/v1/queue/items/D4/renew", headers=auth("biller")).status_code == 409
    assert (
        queue_client.post("/v1/queue/items/NOPE/renew", headers=auth("biller")).status_code == 404
    )


def test_an_item_comes_with_its_trail_and_a_closed_one_says_why(queue_client) -> None:
    queue_client.post("/v1/queue/next", headers=auth("biller"))  # D0, leased
    queue = queue_client.app.state.queue
    counts = queue.load(ranked_items(5).iloc[2:], actor="ranker", policy_version="2")
    assert (counts.closed, counts.stale) == ({"not_in_ranking": 1}, {"not_in_ranking": 1})

    stale = queue_client.get("/v1/queue/items/D0", headers=auth("biller")).json()
    assert (stale["status"], stale["closed_reason"]) == ("stale", "not_in_ranking")
    assert [event["event"] for event in stale["audit"]] == ["loaded", "leased", "reconciled"]
    assert stale["audit"][-1]["actor"] == "ranker"
    assert stale["audit"][-1]["detail"]["closed_reason"] == "not_in_ranking"
    closed = queue_client.get("/v1/queue/items/D1", headers=auth("revops")).json()
    assert (closed["status"], closed["closed_reason"]) == ("closed", "not_in_ranking")
    listed = queue_client.get("/v1/queue/items", headers=auth("revops")).json()["items"]
    assert [item["claim_id"] for item in listed] == ["D2", "D3", "D4"]
    assert {item["status"] for item in listed} == {"open"}
    assert {item["closed_reason"] for item in listed} == {None}
    missing = queue_client.get("/v1/queue/items/NOPE", headers=auth("biller"))
    assert missing.status_code == 404
    assert "NOPE" in missing.json()["detail"]


def _varied(client: TestClient) -> None:
    """D0..D4 re-ranked with payers, programs, clinicians, amounts and deadlines (days from
    today, UTC) that tell the filters apart; D3's deadline is unknown."""
    today = datetime.now(UTC).date()
    deadlines = [today - timedelta(days=2), today + timedelta(days=3), today, None]
    varied = ranked_items(5).assign(
        payer_id=["PY-A", "PY-B", "PY-A", "PY-B", "PY-A"],
        program=["OP", "IOP", "OP", "PHP", None],
        clinician_id=["DR1", "DR2", "DR1", "DR1", "DR2"],
        recoverable_amount=[100.0, 900.0, 400.0, 50.0, 700.0],
        deadline=[pd.Timestamp(day) if day else pd.NaT for day in deadlines]
        + [pd.Timestamp(today + timedelta(days=30))],
        carc_codes="CO-197",
    )
    client.app.state.queue.load(varied, actor="test", policy_version="2")


def _ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["claim_id"] for item in answer.json()["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["D0", "D1", "D2", "D3", "D4"]),
        ("payer_id=PY-B", ["D1", "D3"]),
        ("program=OP", ["D0", "D2"]),
        ("clinician_id=DR2", ["D1", "D4"]),
        ("action=appeal&denial_category=missing_auth", ["D0", "D1", "D2", "D3", "D4"]),
        ("action=write_off", []),
        ("due_within_days=0", ["D0", "D2"]),
        ("due_within_days=-2", ["D0"]),
        ("due_within_days=3", ["D0", "D1", "D2"]),
        ("due_from_days=0&due_within_days=3", ["D1", "D2"]),
        ("amount_min=100&amount_max=700", ["D0", "D2", "D4"]),
        ("sort=amount", ["D1", "D4", "D2", "D0", "D3"]),
        ("sort=deadline", ["D0", "D2", "D1", "D4", "D3"]),
        ("sort=amount&limit=2&offset=1", ["D4", "D2"]),
    ],
)
def test_the_list_filters_sorts_and_pages(queue_client, query: str, expected: list[str]) -> None:
    _varied(queue_client)
    answer = queue_client.get(f"/v1/queue/items?{query}", headers=auth("biller"))
    assert _ids(answer) == expected
    total = answer.json()["total"]
    assert total == (5 if "limit" in query else len(expected))


def test_the_list_shows_the_new_columns_and_refuses_bad_values(queue_client) -> None:
    _varied(queue_client)
    first = queue_client.get("/v1/queue/items?limit=1", headers=auth("biller")).json()
    assert first["total"] == 5
    item = first["items"][0]
    assert (item["program"], item["clinician_id"], item["carc_codes"]) == ("OP", "DR1", "CO-197")
    assert (item["patient_id"], item["rarc_codes"], item["assigned_to"]) == (None, None, None)
    for query in ("sort=payer", "holder=everyone", "action=shred", "amount_min=-1", "limit=0"):
        refused = queue_client.get(f"/v1/queue/items?{query}", headers=auth("biller"))
        assert refused.status_code == 422, query


def test_a_lead_assigns_only_to_the_practices_enabled_billers_and_leads(queue_client) -> None:
    people = queue_client.app.state.people
    people.add("default", "rita", "revops", PASSWORD, by="test")
    people.add("default", "gone", "biller", PASSWORD, by="test")
    people.disable("default", "gone", by="test")
    people.add("default", "lee", "billing_lead", PASSWORD, by="test")
    add_tenant(queue_client.app.state.database, "north", by="test")
    people.add("north", "nora", "biller", PASSWORD, by="test")
    for stranger in ("nobody", "rita", "gone", "nora", SECOND_BILLER_NAME):
        refused = queue_client.post(
            "/v1/queue/assign", json={"claim_ids": ["D1"], "biller": stranger}, headers=AS_LEAD
        )
        assert refused.status_code == 422, stranger
        [problem] = refused.json()["detail"]
        assert (problem["loc"], problem["input"]) == (["body", "biller"], repr(stranger))
        assert stranger in problem["msg"]
    queue = queue_client.app.state.queue
    assert queue.item("D1").assigned_to is None
    assert [event.event for event in queue.audit("D1")] == ["loaded"]
    for person in ("lee", ME, None):
        done = queue_client.post(
            "/v1/queue/assign", json={"claim_ids": ["D1"], "biller": person}, headers=AS_LEAD
        )
        assert (done.status_code, done.json()["items"][0]["assigned_to"]) == (200, person)


def test_whose_items_a_list_shows(queue_client) -> None:
    queue_client.post("/v1/queue/next", headers=auth("biller"))  # D0
    assigned = queue_client.post(
        "/v1/queue/assign", json={"claim_ids": ["D1"], "biller": ME}, headers=AS_LEAD
    )
    assert assigned.status_code == 200, assigned.text
    assert _ids(queue_client.get("/v1/queue/items", headers=auth("biller"))) == [
        "D0",
        "D1",
        "D2",
        "D3",
        "D4",
    ]
    assert _ids(queue_client.get("/v1/queue/items", headers=STRANGER)) == ["D2", "D3", "D4"]
    assert queue_client.get("/v1/queue/items", headers=STRANGER).json()["total"] == 3
    everyone = queue_client.get("/v1/queue/items?holder=anyone", headers=STRANGER).json()
    assert (everyone["total"], everyone["items"][0]["lease_holder"]) == (5, ME)
    assert _ids(queue_client.get("/v1/queue/items?holder=me", headers=auth("biller"))) == [
        "D0",
        "D1",
    ]
    unassigned = queue_client.get("/v1/queue/items?holder=unassigned", headers=auth("revops"))
    assert _ids(unassigned) == ["D2", "D3", "D4"]
    assert len(_ids(queue_client.get("/v1/queue/items", headers=auth("revops")))) == 5


def test_counts_are_the_callers(queue_client) -> None:
    _varied(queue_client)
    queue_client.post("/v1/queue/next", headers=auth("biller"))
    mine = queue_client.get("/v1/queue/counts", headers=auth("biller"))
    assert mine.json() == {"open": 5, "due_this_week": 2, "past_deadline": 1, "taken_by_me": 1}
    theirs = queue_client.get("/v1/queue/counts", headers=auth("revops")).json()
    assert theirs["taken_by_me"] == 0
    assert queue_client.get("/v1/queue/counts", headers=auth("scrubber")).status_code == 403


def test_a_biller_takes_a_chosen_item(queue_client) -> None:
    taken = queue_client.post("/v1/queue/items/D3/take", headers=auth("biller"))
    assert (taken.status_code, taken.json()["lease_holder"]) == (200, ME)
    refused = queue_client.post("/v1/queue/items/D3/take", headers=STRANGER)
    assert refused.status_code == 409
    assert f"claim D3 is leased by {ME}" in refused.json()["detail"]
    again = queue_client.post("/v1/queue/items/D3/take", headers=auth("biller"))
    assert again.status_code == 200, "the holder's own lease is renewed"
    assign = {"claim_ids": ["D4"], "biller": ME}
    assert queue_client.post("/v1/queue/assign", json=assign, headers=AS_LEAD).status_code == 200
    assigned = queue_client.post("/v1/queue/items/D4/take", headers=STRANGER)
    assert (assigned.status_code, assigned.json()["detail"]) == (
        409,
        f"claim D4 is assigned to {ME}",
    )
    assert queue_client.post("/v1/queue/items/NOPE/take", headers=STRANGER).status_code == 404
    assert queue_client.post("/v1/queue/items/D2/take", headers=auth("revops")).status_code == 403
    trail = queue_client.app.state.queue.audit("D3")
    assert [(event.event, event.detail.get("chosen")) for event in trail][-2:] == [
        ("leased", True),
        ("leased", True),
    ]


def test_billers_and_leads_add_notes(queue_client) -> None:
    note = queue_client.post(
        "/v1/queue/items/D2/notes", json={"text": "fax sent"}, headers=STRANGER
    )
    assert note.status_code == 201, note.text
    assert (note.json()["event"], note.json()["actor"]) == ("note_added", SECOND_BILLER_NAME)
    assert note.json()["detail"] == {"text": "fax sent"}
    by_lead = queue_client.post("/v1/queue/items/D2/notes", json={"text": "ok"}, headers=AS_LEAD)
    assert by_lead.status_code == 201
    shown = queue_client.get("/v1/queue/items/D2", headers=auth("revops")).json()["audit"]
    assert [event["event"] for event in shown] == ["loaded", "note_added", "note_added"]
    for text, code in (("", 422), ("   ", 422), ("x" * 2001, 422)):
        answer = queue_client.post(
            "/v1/queue/items/D2/notes", json={"text": text}, headers=STRANGER
        )
        assert answer.status_code == code, text
    url = "/v1/queue/items/D2/notes"
    assert queue_client.post(url, json={"text": "hi"}, headers=auth("revops")).status_code == 403
    missing = queue_client.post("/v1/queue/items/NOPE/notes", json={"text": "hi"}, headers=AS_LEAD)
    assert missing.status_code == 404


def test_leads_assign_and_change_actions_all_or_none(queue_client) -> None:
    queue = queue_client.app.state.queue
    queue_client.post("/v1/queue/next", headers=STRANGER)  # D0, leased by the second biller
    for path, body in (
        ("/v1/queue/assign", {"claim_ids": ["D1", "D0"], "biller": ME}),
        ("/v1/queue/action", {"claim_ids": ["D1", "D0"], "action": "write_off"}),
    ):
        assert queue_client.post(path, json=body, headers=auth("biller")).status_code == 403
        refused = queue_client.post(path, json=body, headers=AS_LEAD)
        assert refused.status_code == 409
        assert f"claim D0 is leased by {SECOND_BILLER_NAME}" in refused.json()["detail"]
        too_many = {**body, "claim_ids": [f"D{i}" for i in range(501)]}
        assert queue_client.post(path, json=too_many, headers=AS_LEAD).status_code == 422
        assert (
            queue_client.post(path, json={**body, "claim_ids": []}, headers=AS_LEAD).status_code
            == 422
        )
    assert (queue.item("D1").assigned_to, queue.item("D1").action) == (None, "appeal")

    moved = queue_client.post(
        "/v1/queue/assign", json={"claim_ids": ["D2", "D1"], "biller": ME}, headers=AS_LEAD
    )
    assert [(item["claim_id"], item["assigned_to"]) for item in moved.json()["items"]] == [
        ("D1", ME),
        ("D2", ME),
    ]
    freed = queue_client.post(
        "/v1/queue/assign", json={"claim_ids": ["D2"], "biller": None}, headers=AS_LEAD
    )
    assert freed.json()["items"][0]["assigned_to"] is None
    changed = queue_client.post(
        "/v1/queue/action", json={"claim_ids": ["D3"], "action": "rebill"}, headers=AS_LEAD
    )
    assert changed.json()["items"][0]["action"] == "rebill"
    bad = {"claim_ids": ["D3"], "action": "shred"}
    assert queue_client.post("/v1/queue/action", json=bad, headers=AS_LEAD).status_code == 422
    no_biller = {"claim_ids": ["D3"]}
    assert queue_client.post("/v1/queue/assign", json=no_biller, headers=AS_LEAD).status_code == 422
    missing = {"claim_ids": ["D3", "NOPE"], "action": "write_off"}
    assert queue_client.post("/v1/queue/action", json=missing, headers=AS_LEAD).status_code == 404
    assert queue.item("D3").action == "rebill"
    trail = [(event.actor, event.event, event.detail) for event in queue.audit("D2")]
    assert trail[-2:] == [
        (LEAD_NAME, "assigned", {"from": None, "to": ME}),
        (LEAD_NAME, "assigned", {"from": ME, "to": None}),
    ]
