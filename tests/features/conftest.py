"""Feature tests share one small synthetic data directory, read back through the contract."""

from __future__ import annotations

import pytest

from data_contracts.reader import ContractData, read_data_dir
from features.pipeline import build_features
from synthetic import generate, write_synthetic


@pytest.fixture(scope="package")
def data(tmp_path_factory: pytest.TempPathFactory) -> ContractData:
    out = tmp_path_factory.mktemp("features-data")
    write_synthetic(generate(12_000, seed=21), out)
    return read_data_dir(out)


@pytest.fixture(scope="package")
def features(data: ContractData):
    return build_features(data)
