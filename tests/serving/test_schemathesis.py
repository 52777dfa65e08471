"""Nothing a client sends produces a 500: schemathesis generates requests from the OpenAPI
schema (valid and invalid) and every answer must be below 500 and match the schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from serving.api.app import create_app
from serving.loading import ModelUnavailableError
from settings import Settings
from tests.serving.conftest import KEYS, scorer_for

_folder = Path(tempfile.mkdtemp(prefix="schemathesis-"))
_served: dict = {}


def _loader(_settings):
    if "bundle" not in _served:
        raise ModelUnavailableError("schema loading: no bundle yet")
    return scorer_for(_served["bundle"])


APP = create_app(
    Settings(
        api_keys=",".join(f"{key}:{role}" for role, key in KEYS.items()),
        key_store=_folder / "keys.json",
        database_url=f"sqlite:///{_folder / 'audit.db'}",
        policy_path=_folder / "policy.yaml",
    ),
    loader=_loader,
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def running(bundle):
    _served["bundle"] = bundle
    with TestClient(APP) as client:
        yield client


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.usefixtures("running")
def test_no_request_makes_a_500(case) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {KEYS['admin']}"}
    response = case.call()
    assert response.status_code < 500, response.text
