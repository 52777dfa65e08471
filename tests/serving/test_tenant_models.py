"""Each tenant is scored by its own registered model, else by the shared one, and every
answer says which: the service's per-tenant scorers (`deps.current_scorer`).

The registry is a real MLflow store in a temporary SQLite file, holding model versions
only (no artifacts): the service's loader here serves the test bundle under the version
the registry names, so a test sees which champion was picked without loading a model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from model_bundle.registered import resolve_version
from serving.api.app import create_app
from serving.api.deps import TenantScorerCache
from serving.keys import KeyStore
from serving.loading import ModelUnavailableError, TenantScorer
from serving.scorer import Scorer
from settings import Settings
from storage.tenants import add_tenant
from tests.serving.conftest import Registry, auth, scorer_for

SCORE = "/v1/claims/score"


@dataclass
class Service:
    client: TestClient
    keys: dict[str, dict[str, str]]
    """A scrubber's Authorization header per tenant."""


@pytest.fixture
def service(settings: Settings, bundle, registry: Registry) -> Iterator[Service]:
    """The service over `registry` (the shared model registered), with tenants north and
    south, and a scrubber key of each tenant."""

    def loader(chosen: Settings) -> Scorer:
        registry.loads[chosen.denial_model_name] += 1
        if chosen.denial_model_name in registry.broken:
            raise ModelUnavailableError(f"cannot load {chosen.model_uri}: artifact missing")
        _, version = resolve_version(chosen.model_uri, chosen.resolved_tracking_uri())
        return scorer_for(bundle, version)

    registry.champion("denial-risk")
    with TestClient(create_app(settings, loader=loader)) as client:
        keys = {"default": auth("scrubber")}
        for tenant in ("north", "south"):
            add_tenant(client.app.state.database, tenant, by="test")
            key, _ = KeyStore(client.app.state.database, tenant=tenant).add("scrubber", by="t")
            keys[tenant] = {"Authorization": f"Bearer {key}"}
        yield Service(client, keys)


def score(service: Service, tenant: str, pending: list[dict]) -> tuple[str, str, bool]:
    """Which model answered a score request of `tenant`: name, version, shared."""
    answer = service.client.post(SCORE, json={"claims": pending[:2]}, headers=service.keys[tenant])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["results"]) == 2
    return body["model_name"], body["model_version"], body["shared_model"]


def test_a_tenant_without_a_model_of_its_own_is_scored_by_the_shared_one(
    service: Service, registry: Registry, pending
) -> None:
    assert score(service, "default", pending) == ("denial-risk", "1", False)
    assert score(service, "south", pending) == ("denial-risk", "1", True)
    assert score(service, "south", pending) == ("denial-risk", "1", True)
    # The shared model is the one loaded at start-up: no tenant loads a copy of it.
    assert registry.loads == {"denial-risk": 1}


def test_a_tenant_with_its_own_registered_model_is_scored_by_it(
    service: Service, registry: Registry, pending
) -> None:
    registry.champion("denial-risk-north")
    registry.champion("denial-risk-north")  # the champion is version 2
    assert score(service, "north", pending) == ("denial-risk-north", "2", False)
    assert score(service, "north", pending) == ("denial-risk-north", "2", False)
    assert score(service, "south", pending) == ("denial-risk", "1", True)
    assert score(service, "default", pending) == ("denial-risk", "1", False)
    assert registry.loads == {"denial-risk": 1, "denial-risk-north": 1}  # loaded once, kept


def test_a_registered_model_that_fails_to_load_is_an_error_not_the_shared_one(
    service: Service, registry: Registry, pending
) -> None:
    registry.champion("denial-risk-north")
    registry.broken.add("denial-risk-north")
    answer = service.client.post(SCORE, json={"claims": pending[:1]}, headers=service.keys["north"])
    assert answer.status_code == 503
    assert "north" in answer.json()["detail"]
    assert "artifact missing" in answer.json()["detail"]
    registry.broken.clear()  # a failed load is not kept: the next request tries again
    assert score(service, "north", pending) == ("denial-risk-north", "1", False)


def test_a_reload_makes_every_tenant_look_for_its_champion_again(
    service: Service, registry: Registry, pending
) -> None:
    registry.champion("denial-risk-north")
    assert score(service, "north", pending) == ("denial-risk-north", "1", False)
    assert score(service, "south", pending) == ("denial-risk", "1", True)
    registry.champion("denial-risk-north")
    registry.champion("denial-risk-south")
    registry.champion("denial-risk")
    # Until a reload, each tenant keeps what it has.
    assert score(service, "north", pending) == ("denial-risk-north", "1", False)
    assert score(service, "south", pending) == ("denial-risk", "1", True)
    assert service.client.post("/v1/admin/reload", headers=auth("admin")).status_code == 200
    assert score(service, "north", pending) == ("denial-risk-north", "2", False)
    assert score(service, "south", pending) == ("denial-risk-south", "1", False)
    assert score(service, "default", pending) == ("denial-risk", "2", False)


def test_a_load_overtaken_by_a_reload_answers_but_is_not_kept(bundle) -> None:
    """A load that began before a reload may hold the replaced model: its request is
    answered, and the tenant's next request loads again."""
    made: list[str] = []

    def load(tenant: str) -> TenantScorer:
        made.append(tenant)
        if len(made) == 1:
            cache.clear()  # a reload, while the first load runs
        return TenantScorer(scorer_for(bundle, str(len(made))), "m", tenant, False)

    cache = TenantScorerCache(load)
    assert cache("north").scorer.version == "1"
    assert cache.get("north") is None
    assert cache("north").scorer.version == "2"
    assert cache.get("north") is cache("north")
    assert made == ["north", "north"]
