"""Shared fixtures: small synthetic data sets built by the generator, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic import SyntheticData, generate, write_synthetic

SMALL_CLAIMS = 60_000


@pytest.fixture(scope="session")
def synthetic_data() -> SyntheticData:
    return generate(SMALL_CLAIMS, seed=11)


@pytest.fixture(scope="session")
def synthetic_dir(synthetic_data: SyntheticData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic(synthetic_data, out)
    return out
