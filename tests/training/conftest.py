"""Training tests: a small synthetic data set and an MLflow store of their own per test."""

from __future__ import annotations

import pytest

from data_contracts.reader import ContractData, read_data_dir
from settings import Settings
from synthetic import generate, write_synthetic


@pytest.fixture(scope="package")
def train_data(tmp_path_factory: pytest.TempPathFactory) -> ContractData:
    out = tmp_path_factory.mktemp("train-data")
    write_synthetic(generate(8_000, seed=31), out)
    return read_data_dir(out)


@pytest.fixture
def settings() -> Settings:
    """Few boosting rounds: these tests check behaviour, not accuracy."""
    return Settings(max_boost_rounds=80, early_stopping_rounds=10, shap_sample_rows=200)


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch) -> str:
    """An empty MLflow store (SQLite, artifacts beside it) for one test."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
