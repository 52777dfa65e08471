"""Contract tables to X12 and back: the same ids, codes, amounts and dates."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.reader import check_tables, read_data_dir
from data_contracts.x12 import expand_paths, ingest
from data_contracts.x12.write import write_x12
from synthetic import generate
from tests.data_contracts.x12.conftest import contract_claims

ROUND_TRIP = ("claims", "claim_lines", "remits")
KEYS = {"claims": ["claim_id"], "claim_lines": ["claim_id", "line_number"], "remits": ["claim_id"]}


def sorted_table(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEYS[name]).reset_index(drop=True)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), claims=st.integers(20, 300))
def test_synthetic_tables_survive_the_trip_through_x12(seed: int, claims: int) -> None:
    data = generate(claims, seed)
    tables = {name: data.tables[name] for name in ROUND_TRIP}
    expected = check_tables("synthetic", tables)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        write_x12(out / "x12", tables)
        summary = ingest(expand_paths([out / "x12"]), out / "data")
        assert summary.failures == []
        found = read_data_dir(out / "data")
    for name in ROUND_TRIP:
        pd.testing.assert_frame_equal(
            sorted_table(name, getattr(found, name)), sorted_table(name, expected[name])
        )


def test_files_split_by_kind_and_month_with_k3_only_where_needed(tmp_path: Path) -> None:
    tables = contract_claims(
        {"claim_id": "P1"},
        {"claim_id": "P2", "provider_credential": "DO", "submission_date": "2024-03-01"},
        {"claim_id": "I1", "program": "RES", "place_of_service": "55"},
        lines=[
            {"claim_id": "P1", "line_number": "1", "procedure_code": "90834", "modifiers": "",
             "units": "1", "minutes": None, "line_charge": "200.00", "revenue_code": None},
            {"claim_id": "P2", "line_number": "1", "procedure_code": "90834", "modifiers": "HO",
             "units": "1", "minutes": None, "line_charge": "200.00", "revenue_code": None},
            {"claim_id": "I1", "line_number": "1", "procedure_code": "H0018", "modifiers": "",
             "units": "7", "minutes": None, "line_charge": "200.00", "revenue_code": "1002"},
        ],
    )  # fmt: skip
    paths = write_x12(tmp_path, tables)
    assert sorted(path.name for path in paths) == [
        "837I-2024-02.x12",
        "837P-2024-02.x12",
        "837P-2024-03.x12",
    ]
    professional = (tmp_path / "837P-2024-02.x12").read_text()
    assert "K3" not in professional
    assert "PRV*PE*PXC*1041C0700X~" in professional  # LCSW
    assert "SV1*HC:90834*200.00*UN*1***1~" in professional
    assert "K3*DENIALOPS provider_credential=DO~" in (tmp_path / "837P-2024-03.x12").read_text()
    institutional = (tmp_path / "837I-2024-02.x12").read_text()
    assert "CLM*I1*200.00***86:A:1*Y*A*Y*Y~" in institutional  # residential: facility type 86
    assert "SV2*1002*HC:H0018*200.00*UN*7~" in institutional
    assert "K3" not in institutional


def test_values_with_separators_are_refused(tmp_path: Path) -> None:
    tables = contract_claims({"claim_id": "C*1"})
    with pytest.raises(ValueError, match="contains an X12 separator"):
        write_x12(tmp_path, tables)
