"""Queue fixtures: one synthetic data directory with a recovery model fitted on it (the
store and the clock are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from data_contracts.reader import ContractData, read_data_dir
from model_bundle.recovery import RecoveryBundle
from settings import Settings
from synthetic import SyntheticData, generate, write_synthetic
from training.recovery import fit_recovery


@pytest.fixture(scope="package")
def queue_synthetic() -> SyntheticData:
    return generate(20_000, seed=5)


@pytest.fixture(scope="package")
def queue_data(queue_synthetic: SyntheticData, tmp_path_factory) -> ContractData:
    out = tmp_path_factory.mktemp("queue-data")
    write_synthetic(queue_synthetic, out)
    return read_data_dir(out)


@pytest.fixture(scope="package")
def recovery(queue_data: ContractData) -> RecoveryBundle:
    return fit_recovery(queue_data, Settings(max_boost_rounds=200)).bundle
