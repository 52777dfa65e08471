"""Start-up says what it is doing: each loading step is logged with its duration."""

from __future__ import annotations

import dataclasses
import logging
from types import SimpleNamespace

import pytest

from features.state import FeatureState
from serving import loading
from serving.loading import ModelUnavailableError
from settings import Settings
from storage.tenants import SEEDED, Tenant


def test_each_loading_step_is_logged_with_its_duration(monkeypatch, caplog, bundle) -> None:
    monkeypatch.setattr(loading, "resolve_version", lambda _uri, _t: ("models:/m/3", "3"))
    monkeypatch.setattr(loading, "load_model", lambda _uri: SimpleNamespace(bundle=bundle))
    monkeypatch.setattr(loading.gc, "freeze", lambda: None)  # keep the test process as it is
    with caplog.at_level(logging.INFO, logger=loading.__name__):
        scorer = loading.load_scorer(Settings(model_uri="models:/m@champion"))
    assert scorer.version == "3"
    steps = [record.getMessage() for record in caplog.records]
    for name in (
        "registry lookup of models:/m@champion",
        "bundle download and load of models:/m/3",
        "feature state lookups",
        "code lists warm-up",
        "garbage collector freeze",
    ):
        assert any(
            message.startswith(f"{name}: ") and message.endswith(" s") for message in steps
        ), name


def test_a_batch_loads_the_model_without_building_the_state_lookups(
    monkeypatch, bundle, tmp_path
) -> None:
    """The lookups are dictionaries over every key of the history (gigabytes at millions of
    claims) that only the claim path reads: a batch command must not build them."""
    fresh = dataclasses.replace(
        bundle, state=FeatureState.load(bundle.state.save(tmp_path / "state"))
    )
    monkeypatch.setattr(loading, "resolve_version", lambda _uri, _t: ("models:/m/3", "3"))
    monkeypatch.setattr(loading, "load_model", lambda _uri: SimpleNamespace(bundle=fresh))
    monkeypatch.setattr(loading.gc, "freeze", lambda: None)
    settings = Settings(model_uri="models:/m@champion")
    assert loading.load_batch_scorer(settings).bundle.state is fresh.state
    assert not fresh.state._index
    assert fresh.state._claims is None
    loading.load_scorer(settings)
    assert fresh.state._index
    assert fresh.state._claims is not None


@pytest.fixture
def registry(monkeypatch, bundle) -> dict[str, str]:
    """A registry of champions by model name (to version); loading any of them gives `bundle`."""
    champions: dict[str, str] = {}

    def resolve(uri: str, _tracking: str) -> tuple[str, str]:
        name = uri.removeprefix("models:/").split("@")[0]
        if name not in champions:
            raise ModelUnavailableError(f"cannot load {uri}: not registered")
        return f"models:/{name}/{champions[name]}", champions[name]

    monkeypatch.setattr(loading, "resolve_version", resolve)
    monkeypatch.setattr(loading, "load_model", lambda _uri: SimpleNamespace(bundle=bundle))
    monkeypatch.setattr(loading.gc, "freeze", lambda: None)
    return champions


def test_a_tenant_scores_with_its_own_model_else_the_shared_one(registry) -> None:
    acme = Tenant("acme", None, None, None)
    registry["denial-risk"] = "4"
    shared = loading.load_tenant_scorer(Settings(), acme)
    assert (shared.model_name, shared.model_tenant, shared.shared) == (
        "denial-risk",
        "default",
        True,
    )
    assert shared.scorer.version == "4"
    registry["denial-risk-acme"] = "1"
    own = loading.load_tenant_scorer(Settings(), acme)
    assert (own.model_name, own.model_tenant, own.shared) == ("denial-risk-acme", "acme", False)
    assert own.scorer.version == "1"
    default = loading.load_tenant_scorer(Settings(), SEEDED)
    assert (default.model_name, default.model_tenant, default.shared) == (
        "denial-risk",
        "default",
        False,
    )


@pytest.mark.usefixtures("registry")
def test_no_model_at_all_is_an_error() -> None:
    for tenant in (SEEDED, Tenant("acme", None, None, None)):
        with pytest.raises(ModelUnavailableError, match="denial-risk@champion"):
            loading.load_tenant_scorer(Settings(), tenant)


def test_a_tenant_model_that_fails_to_load_does_not_fall_back(registry, monkeypatch) -> None:
    registry.update({"denial-risk": "4", "denial-risk-acme": "1"})

    def broken(uri: str):
        raise ModelUnavailableError(f"cannot load {uri}: artifact missing")

    monkeypatch.setattr(loading, "load_model", broken)
    with pytest.raises(ModelUnavailableError, match="denial-risk-acme/1"):
        loading.load_tenant_scorer(Settings(), Tenant("acme", None, None, None))
