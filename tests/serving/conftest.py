"""Serving tests: a small bundle trained in-process, served without a registry or under the
versions a temporary one names."""

from __future__ import annotations

from collections import Counter

import mlflow
import pytest
from fastapi.testclient import TestClient

from data_contracts.reader import ContractData, read_data_dir
from data_contracts.records import records_from_tables
from model_bundle.denial import DenialRiskBundle
from serving.api.app import create_app
from serving.scorer import Scorer
from settings import Settings
from synthetic import generate, write_synthetic
from tests.small_bundle import small_bundle

KEYS = {
    "scrubber": "scrub-key",
    "biller": "bill-key",
    "revops": "revops-key",
    "admin": "admin-key",
}


@pytest.fixture(scope="package")
def serve_data(tmp_path_factory: pytest.TempPathFactory) -> ContractData:
    out = tmp_path_factory.mktemp("serve-data")
    write_synthetic(generate(8_000, seed=41), out)
    return read_data_dir(out)


@pytest.fixture(scope="package")
def bundle(serve_data: ContractData) -> DenialRiskBundle:
    return small_bundle(serve_data)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        api_keys=",".join(f"{key}:{role}" for role, key in KEYS.items()),
        key_store=tmp_path / "keys.json",
        database_url=f"sqlite:///{tmp_path / 'audit.db'}",
        policy_path=tmp_path / "policy.yaml",
    )


def scorer_for(bundle: DenialRiskBundle, version: str = "7") -> Scorer:
    return Scorer(bundle, version, 0.15, 0.5)


@pytest.fixture
def client(settings: Settings, bundle: DenialRiskBundle):
    with TestClient(create_app(settings, loader=lambda _s: scorer_for(bundle))) as test_client:
        yield test_client


@pytest.fixture
def pending(serve_data) -> list[dict]:
    ids = serve_data.claims.loc[
        ~serve_data.claims["claim_id"].isin(serve_data.remits["claim_id"]), "claim_id"
    ]
    return [claim_json(serve_data, claim_id) for claim_id in ids.head(8)]


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


def claim_json(data, claim_id: str) -> dict:
    """One claim of the synthetic data as the contract's JSON."""
    claims = data.claims[data.claims["claim_id"] == claim_id]
    return records_from_tables(claims, data.claim_lines[data.claim_lines["claim_id"] == claim_id])[
        0
    ]


class Registry:
    """Models registered by name in a temporary MLflow store (versions only, no artifacts:
    a test's loader serves the test bundle under the version the registry names), and the
    loads the service made."""

    def __init__(self, tracking_uri: str, source: str) -> None:
        self.client = mlflow.MlflowClient(tracking_uri)
        self.source = source
        self.loads: Counter[str] = Counter()
        self.broken: set[str] = set()

    def champion(self, name: str) -> str:
        """Register a new version of `name` and make it the champion; its version."""
        return self.register(name, "champion")

    def challenger(self, name: str) -> str:
        """Register a new version of `name` and make it the challenger; its version."""
        return self.register(name, "challenger")

    def register(self, name: str, alias: str) -> str:
        if not self.client.search_registered_models(filter_string=f"name = '{name}'"):
            self.client.create_registered_model(name)
        version = self.client.create_model_version(name, self.source).version
        self.client.set_registered_model_alias(name, alias, version)
        return str(version)


@pytest.fixture
def registry(tmp_path, monkeypatch) -> Registry:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    (tmp_path / "artifacts").mkdir()
    return Registry(uri, str(tmp_path / "artifacts"))
