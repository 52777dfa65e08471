"""The serving state's files: written whole or in parts, read back the same, and read
only as far as they are used."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.reader import ContractData
from features.pipeline import build_state
from features.state import FeatureState, StateWriter


@pytest.fixture(scope="module")
def state(data: ContractData) -> FeatureState:
    return build_state(data)


def _write_in_parts(state: FeatureState, directory: Path) -> Path:
    """As the Dask engine writes a state: tallies one by one, claims and remits in parts in
    no particular order, one part with a column that has no values."""
    writer = StateWriter(directory)
    for name, frame in state.tallies.items():
        writer.tally(name, frame)
    claims = state.claims
    cuts = [claims.iloc[len(claims) // 2 :], claims.iloc[: len(claims) // 3]]
    cuts.append(claims.iloc[len(claims) // 3 : len(claims) // 2].assign(prior_auth_id=pd.NA))
    for part in cuts:
        writer.append("claims", part)
    remits = state.remits
    writer.append("remits", remits.iloc[:0])
    writer.append("remits", remits)
    return writer.close(state.as_of, state.authorizations, state.eligibility)


def test_a_state_written_in_parts_reads_back_in_submission_order(state, tmp_path) -> None:
    loaded = FeatureState.load(_write_in_parts(state, tmp_path / "parts"))
    third, half = len(state.claims) // 3, len(state.claims) // 2
    expected = state.claims.copy()
    expected.loc[third : half - 1, "prior_auth_id"] = pd.NA
    pd.testing.assert_frame_equal(loaded.claims, expected)
    pd.testing.assert_frame_equal(loaded.remits, state.remits)
    assert loaded.as_of == state.as_of
    for name, frame in state.tallies.items():
        pd.testing.assert_frame_equal(loaded.tallies[name], frame, obj=name)


def test_a_loaded_state_reads_its_history_only_when_asked(state, tmp_path) -> None:
    """A batch scorer reads one tally's totals: the claims and remits are not read."""
    folder = state.save(tmp_path / "state")
    loaded = FeatureState.load(folder)
    (folder / "claims.parquet").rename(tmp_path / "claims.parquet")
    pd.testing.assert_frame_equal(loaded.tallies["all"], state.tallies["all"])
    with pytest.raises(FileNotFoundError):
        loaded.claims  # noqa: B018 - the read is the point
    (tmp_path / "claims.parquet").rename(folder / "claims.parquet")
    pd.testing.assert_frame_equal(loaded.claims, state.claims)


def test_a_loaded_state_saves_by_copying_its_files(state, tmp_path) -> None:
    folder = state.save(tmp_path / "state")
    copy = FeatureState.load(folder).save(tmp_path / "copy")
    for path in folder.iterdir():
        assert (copy / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_state_without_its_claims_is_refused(state, tmp_path) -> None:
    writer = StateWriter(tmp_path / "state")
    writer.append("remits", state.remits)
    with pytest.raises(ValueError, match="needs its claims"):
        writer.close(state.as_of, state.authorizations, state.eligibility)
    with pytest.raises(ValueError, match="lines is not one of"):
        writer.append("lines", state.remits)
