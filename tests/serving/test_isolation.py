"""Tenant isolation from the application's route table: every route, called by a caller of
tenant `alpha`, never reaches tenant `beta`'s objects (404) nor shows them (lists, answers),
and leaves them as they were. Built from `app.routes`, so a new route is covered, or fails
here until the test is told how to call it. SQLite and, with DENIALOPS_TEST_POSTGRES_URL,
PostgreSQL (where row-level security is the second wall).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from serving.api.app import create_app
from serving.audit import Decision
from serving.keys import KeyStore
from storage import audit
from storage.schema import SCORING_AUDIT
from storage.tenants import add_tenant
from tests.serving.conftest import scorer_for
from tests.serving.test_queue_routes import ranked_items

PASSWORD = "correct horse battery staple"
BETA_CLAIM = "BETA-CLAIM-0"
BETA_SCORED = "BETA-SCORED-1"
BETA_ACTOR = "beta-rita"
BETA_MARKERS = ("BETA-", BETA_ACTOR, "bea.beta")
"""What only tenant beta's data holds: no answer to alpha may contain any of it."""

PATH_FILLERS = {"claim_id": BETA_CLAIM}
"""A value for every path parameter of the app: an object of tenant beta."""

WORK = {"action": "appeal", "effort_minutes": 5}
OUTCOME = {"outcome": "upheld", "recovered_amount": 0, "closed_date": "2026-01-05"}


@dataclass(frozen=True)
class Call:
    """How to call a route, and what alpha must get: `object` routes name one of beta's
    objects (404) in their path, `named` routes in their body (404, all or none: alpha's
    objects named beside it are left alone too); the others answer alpha with alpha's data
    or a refusal of their own."""

    body: Any = None
    object: bool = False
    form: dict[str, str] | None = None
    """Sent as a form (the web pages' posts) instead of `body` as JSON."""
    named: bool = False


CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/healthz"): Call(),
    ("GET", "/readyz"): Call(),
    ("GET", "/metrics"): Call(),
    ("GET", "/openapi.json"): Call(),
    ("GET", "/docs"): Call(),
    ("GET", "/docs/oauth2-redirect"): Call(),
    ("GET", "/redoc"): Call(),
    ("POST", "/v1/admin/reload"): Call(),
    ("POST", "/v1/claims/score"): Call(body="claims"),
    ("GET", "/v1/queue/items"): Call(),
    ("GET", "/v1/queue/counts"): Call(),
    ("GET", "/v1/queue/items/{claim_id}"): Call(object=True),
    ("POST", "/v1/queue/items/{claim_id}/take"): Call(object=True),
    ("POST", "/v1/queue/items/{claim_id}/notes"): Call(body={"text": "isolation"}, object=True),
    ("POST", "/v1/queue/assign"): Call(
        body={"claim_ids": ["ALPHA-1", BETA_CLAIM], "biller": "ali.alpha"}, named=True
    ),
    ("POST", "/v1/queue/action"): Call(
        body={"claim_ids": ["ALPHA-1", BETA_CLAIM], "action": "write_off"}, named=True
    ),
    ("POST", "/v1/queue/next"): Call(body={}),
    ("POST", "/v1/queue/items/{claim_id}/renew"): Call(object=True),
    ("POST", "/v1/queue/items/{claim_id}/release"): Call(object=True),
    ("POST", "/v1/queue/items/{claim_id}/resolve"): Call(body=WORK, object=True),
    ("POST", "/v1/queue/items/{claim_id}/outcome"): Call(body=OUTCOME, object=True),
    ("POST", "/v1/queue/items/{claim_id}/correction"): Call(
        body={**OUTCOME, "reason": "isolation"}, object=True
    ),
    ("GET", "/v1/queue/items/{claim_id}/detail"): Call(object=True),
    ("GET", "/v1/policy"): Call(),
    ("PUT", "/v1/policy"): Call(body="policy"),
    ("POST", "/v1/policy/simulate"): Call(body={"budget_hours": 1}),
    ("GET", "/v1/kpis"): Call(),
    ("POST", "/v1/session"): Call(body={"username": "al.alpha", "password": PASSWORD}),
    ("GET", "/v1/session"): Call(),
    ("POST", "/v1/session/end"): Call(),
    # The web pages.
    ("GET", "/"): Call(),
    ("GET", "/sign-in"): Call(),
    ("POST", "/sign-in"): Call(form={"username": "al.alpha", "password": PASSWORD}),
    ("POST", "/sign-out"): Call(form={}),
    ("GET", "/queue"): Call(),
    ("POST", "/queue/next"): Call(form={}),
    ("POST", "/queue/bulk"): Call(
        form={"operation": "assign", "claim_ids": BETA_CLAIM, "assign_to": "*nobody*"}
    ),
    ("POST", "/queue/bulk/write-off"): Call(form={"claim_ids": BETA_CLAIM, "reason": "isolation"}),
    ("GET", "/queue.csv"): Call(),
    ("GET", "/dashboards/revops"): Call(),
    ("GET", "/dashboards/revops/contracts.csv"): Call(),
    ("GET", "/dashboards/revops/forecast"): Call(),
    ("GET", "/check"): Call(),
    ("POST", "/check"): Call(form={}),
    ("GET", "/check/results"): Call(),
    ("GET", "/check/results.csv"): Call(),
    ("GET", "/claims/{claim_id}"): Call(object=True),
    ("POST", "/claims/{claim_id}/take"): Call(form={}, object=True),
    ("POST", "/claims/{claim_id}/release"): Call(form={}, object=True),
    ("POST", "/claims/{claim_id}/resolve"): Call(
        form={"action": "appeal", "effort_minutes": "5"}, object=True
    ),
    ("POST", "/claims/{claim_id}/outcome"): Call(
        form={"result": "upheld", "recovered_amount": "0", "closed_date": "2026-01-05"},
        object=True,
    ),
    ("POST", "/claims/{claim_id}/notes"): Call(form={"note": "isolation"}, object=True),
    ("GET", "/claims/{claim_id}/letter"): Call(object=True),
    ("POST", "/claims/{claim_id}/letter"): Call(form={"body": "Dear payer"}, object=True),
    ("GET", "/claims/{claim_id}/letter.pdf"): Call(object=True),
    ("GET", "/dashboards/leadership"): Call(),
    ("GET", "/policy"): Call(),
    ("POST", "/policy"): Call(form={"version": "1", "comment": "isolation"}),
    ("POST", "/policy/simulate"): Call(form={"version": "1", "budget_hours": "1"}),
    # Beta saved a version 2; alpha has none: restoring it names an object of beta.
    ("POST", "/policy/restore"): Call(form={"version": "2", "base_version": "1"}, named=True),
    ("GET", "/policy/diff"): Call(),
    ("GET", "/model-health"): Call(),
    ("GET", "/model-health/cards"): Call(),
}
SIGN_OUTS = {"/v1/session/end", "/sign-out"}
"""Called last: they end the session the other calls use."""


def route_table(client: TestClient) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves (HEAD rides on GET).

    FastAPI (0.165) keeps included routers as branches of `app.routes`, resolved lazily:
    they are walked here; `test_every_route_is_known_to_the_isolation_test` checks the walk
    against the OpenAPI document, so a change of that structure cannot hide a route."""
    return sorted(set(_walk(client.app.routes, "")))


def _walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _walk(included.routes, prefix + route.include_context.prefix)
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                yield method, prefix + route.path


@pytest.fixture
def two_tenants(
    settings, bundle, database_url, tmp_path, monkeypatch
) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """The service with tenants alpha and beta, beta filled: a queue item (leased by beta's
    biller, with its trail), a saved policy version, a key, a person and a scoring decision.
    The registry is empty, so alpha scores with the shared model."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    settings = settings.model_copy(
        update={"database_url": database_url, "session_secret": SecretStr("s" * 40)}
    )
    app = create_app(settings, loader=lambda _s: scorer_for(bundle))
    with TestClient(app, base_url="https://testserver") as client:
        state = client.app.state
        for tenant in ("alpha", "beta"):
            add_tenant(state.database, tenant, by="test")
        beta = state.tenant_stores("beta")
        items = ranked_items(3)
        beta.queue.load(
            items.assign(claim_id=[f"BETA-CLAIM-{i}" for i in range(3)]),
            actor=BETA_ACTOR,
            policy_version="1",
        )
        beta.queue.next(BETA_ACTOR)
        beta.policies.save(beta.policies.current(), BETA_ACTOR)
        beta.audit.record(BETA_ACTOR, "7", [Decision(BETA_SCORED, 0.9, "hold")])
        beta_key, _ = KeyStore(state.database, tenant="beta").add("admin", by=BETA_ACTOR)
        state.people.add("beta", "bea.beta", "admin", PASSWORD, by=BETA_ACTOR)
        state.tenant_stores("alpha").queue.load(
            items.assign(claim_id=[f"ALPHA-{i}" for i in range(3)]),
            actor="al",
            policy_version="1",
        )
        alpha_key, _ = KeyStore(state.database, tenant="alpha").add("admin", by="al")
        state.people.add("alpha", "al.alpha", "admin", PASSWORD, by="al")
        state.people.add("alpha", "ali.alpha", "biller", PASSWORD, by="al")  # assignable
        yield client, {"alpha_key": alpha_key, "beta_key": beta_key}


def beta_state(client: TestClient) -> dict[str, Any]:
    """Everything of beta a call could change."""
    beta = client.app.state.tenant_stores("beta")
    with client.app.state.database.scope("beta").engine.connect() as connection:
        scored = connection.execute(SCORING_AUDIT.select()).all()
        trail = audit.events(connection)
    return {
        "items": [beta.queue.item(f"BETA-CLAIM-{i}") for i in range(3)],
        "policy": beta.policies.current(),
        "scored": scored,
        "trail": trail,
    }


def alpha_headers(client: TestClient, via: str, alpha_key: str) -> dict[str, str]:
    if via == "key":
        return {"Authorization": f"Bearer {alpha_key}"}
    signed = client.post("/v1/session", json={"username": "al.alpha", "password": PASSWORD})
    client.cookies.clear()
    token = signed.cookies["denialops_session"]
    return {"Cookie": f"denialops_session={token}", "X-CSRF-Token": signed.json()["csrf_token"]}


def test_every_route_is_known_to_the_isolation_test(two_tenants) -> None:
    client, _ = two_tenants
    routes = route_table(client)
    published = {
        (method.upper(), path)
        for path, item in client.app.openapi()["paths"].items()
        for method in item
    }
    assert published <= set(routes), "the walk of app.routes missed a published route"
    assert set(routes) == set(CALLS), "tell CALLS how to call each route (and no more)"
    parameters = {name for _, path in routes for name in re.findall(r"{(\w+)}", path)}
    assert parameters <= set(PATH_FILLERS), f"no filler for {parameters - set(PATH_FILLERS)}"
    for (_, path), call in CALLS.items():
        assert call.object == ("{" in path), f"{path}: an object route names one by its path"


@pytest.mark.parametrize("via", ["key", "session"])
def test_a_caller_of_tenant_a_never_reaches_tenant_b(two_tenants, via: str, pending) -> None:
    client, keys = two_tenants
    before = beta_state(client)
    headers = alpha_headers(client, via, keys["alpha_key"])
    current = client.get("/v1/policy", headers=headers).json()
    bodies = {"claims": {"claims": pending[:2]}, "policy": current}
    answered = {}
    sign_out_last = sorted(route_table(client), key=lambda route: route[1] in SIGN_OUTS)
    for method, template in sign_out_last:
        call = CALLS[method, template]
        path = template.format(**PATH_FILLERS)
        body = bodies.get(call.body, call.body) if isinstance(call.body, str) else call.body
        if call.form is not None:
            answer = client.request(method, path, headers=headers, data=call.form)
        else:
            answer = client.request(method, path, headers=headers, json=body)
        client.cookies.clear()
        answered[method, template] = answer.status_code
        if call.object or call.named:
            assert answer.status_code == 404, (method, template, answer.text)
        assert answer.status_code < 500, (method, template, answer.text)
        shown = answer.text.replace(BETA_CLAIM, "") if call.object or call.named else answer.text
        for marker in BETA_MARKERS:  # a 404 may repeat the id asked for, nothing more
            assert marker not in shown, (method, template, marker)
    assert beta_state(client) == before, "a call of alpha changed beta's data"
    # Alpha's own calls went through (so the 404s above are not a blanket refusal).
    assert answered["GET", "/v1/queue/items"] == 200
    assert answered["GET", "/queue"] == 200
    assert answered["GET", "/queue.csv"] == 200
    assert answered["GET", "/policy"] == 200
    assert answered["POST", "/queue/bulk/write-off"] == 409  # beta's claim is not in alpha's queue
    assert answered["PUT", "/v1/policy"] == 200
    assert answered["POST", "/v1/claims/score"] == 200
    assert answered["POST", "/v1/admin/reload"] == 403  # a tenant admin runs no installation
    alpha_item = client.app.state.tenant_stores("alpha").queue.item("ALPHA-1")
    assert (alpha_item.assigned_to, alpha_item.action) == (None, "appeal"), "all or none"


def test_a_key_of_tenant_a_gets_404_on_tenant_bs_item(two_tenants) -> None:
    client, keys = two_tenants
    path = f"/v1/queue/items/{BETA_CLAIM}"
    as_beta = client.get(path, headers={"Authorization": f"Bearer {keys['beta_key']}"})
    assert as_beta.status_code == 200
    assert as_beta.json()["lease_holder"] == BETA_ACTOR
    as_alpha = client.get(path, headers={"Authorization": f"Bearer {keys['alpha_key']}"})
    assert as_alpha.status_code == 404
    listed = client.get("/v1/queue/items", headers={"Authorization": f"Bearer {keys['alpha_key']}"})
    assert [item["claim_id"] for item in listed.json()["items"]] == [
        "ALPHA-0",
        "ALPHA-1",
        "ALPHA-2",
    ]


def test_scoring_is_audited_in_the_callers_tenant(two_tenants, pending) -> None:
    client, keys = two_tenants
    answer = client.post(
        "/v1/claims/score",
        json={"claims": pending[:1]},
        headers={"Authorization": f"Bearer {keys['alpha_key']}"},
    )
    assert answer.status_code == 200
    database = client.app.state.database
    for tenant, expected in (("alpha", [pending[0]["claim_id"]]), ("beta", [BETA_SCORED])):
        with database.scope(tenant).engine.connect() as connection:
            claims = connection.execute(SCORING_AUDIT.select()).all()
        assert [row.claim_id for row in claims] == expected
