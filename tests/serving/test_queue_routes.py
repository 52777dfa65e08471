"""The queue and policy routes as billers and RevOps meet them: roles, leases, refusals."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving.api.app import create_app
from tests.serving.conftest import auth, scorer_for

SECOND_BILLER = "bill-key-2"


def ranked_items(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "claim_id": [f"D{i}" for i in range(n)],
            "payer_id": "PY-A",
            "denial_category": "missing_auth",
            "action": "appeal",
            "p_recover": 0.5,
            "recoverable_amount": 400.0,
            "expected_recovery": 200.0,
            "effort_minutes": 30.0,
            "deadline": pd.Timestamp("2026-12-31"),
            "priority": [float(n - i) for i in range(n)],
            "rank": list(range(1, n + 1)),
            "reason": "appeal: 50% × $400",
        }
    )


@pytest.fixture
def queue_client(settings, bundle):
    settings = settings.model_copy(
        update={"api_keys": settings.api_keys + f",{SECOND_BILLER}:biller"}
    )
    with TestClient(create_app(settings, loader=lambda _s: scorer_for(bundle))) as client:
        client.app.state.queue.load(ranked_items(), actor="test", policy_version="1")
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
    paid = {"outcome": "overturned", "recovered_amount": 350.0, "closed_date": "2026-12-20"}
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
    for _ in range(5):
        queue_client.post("/v1/queue/next", headers=auth("biller"))
    assert queue_client.post("/v1/queue/next", headers=auth("biller")).status_code == 204


@pytest.mark.parametrize(
    ("method", "path", "role", "expected"),
    [
        ("post", "/v1/queue/next", "scrubber", 403),
        ("get", "/v1/queue/items", "revops", 200),
        ("get", "/v1/policy", "biller", 200),
        ("put", "/v1/policy", "biller", 403),
        ("post", "/v1/policy/simulate", "biller", 403),
    ],
)
def test_roles(queue_client, method, path, role, expected) -> None:
    body = {"budget_hours": 10} if path.endswith("simulate") else None
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
    trail = [event for event in queue_client.app.state.queue.audit() if event.claim_id is None]
    assert [(event.event, event.detail["version"]) for event in trail] == [("policy_saved", 2)]


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
