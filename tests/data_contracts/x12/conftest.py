"""The public X12 samples copied beside these tests, and small builders for hand-made files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.reader import check_tables
from data_contracts.x12.write import write_x12

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Path:
    """A sample by its path under fixtures/, e.g. '835/tigershark__835-example.835'."""
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {path}"
    return path


def remittance(*claim_loops: str, date: str = "20240301", trace: str = "TRACE1") -> str:
    """An 835 without envelope around hand-written CLP loops (segments joined by ~)."""
    body = [
        f"BPR*I*0*C*CHK************{date}",
        f"TRN*1*{trace}*PAYER",
        f"DTM*405*{date}",
        "N1*PR*TEST PAYER",
        "LX*1",
        *(segment for loop in claim_loops for segment in loop.split("~") if segment),
    ]
    return "~".join(["ST*835*0001", *body, f"SE*{len(body) + 2}*0001"]) + "~\n"


CLAIM_COLUMNS = {
    "claim_id": "C1",
    "patient_id": "P1",
    "payer_id": "PAY1",
    "plan_type": "commercial",
    "network_status": "in",
    "rendering_provider_id": "R1",
    "provider_credential": "LCSW",
    "facility_id": "FAC1",
    "program": "OP",
    "place_of_service": "11",
    "service_date": "2024-02-01",
    "submission_date": "2024-02-05",
    "primary_dx": "F33.1",
    "secondary_dx": "F41.1",
    "prior_auth_id": None,
    "total_charge": "200.00",
    "frequency_code": "1",
    "original_claim_id": None,
}
LINE_COLUMNS = {
    "line_number": "1",
    "procedure_code": "90837",
    "modifiers": "95",
    "units": "1",
    "minutes": "55",
    "line_charge": "200.00",
    "revenue_code": None,
}


def contract_claims(*claims: dict, lines: list[dict] | None = None) -> dict[str, pd.DataFrame]:
    """Typed claims and claim_lines from hand-written rows (one default line per claim)."""
    claim_rows = [CLAIM_COLUMNS | claim for claim in claims]
    line_rows = lines or [LINE_COLUMNS | {"claim_id": row["claim_id"]} for row in claim_rows]
    return check_tables(
        "test claims",
        {"claims": pd.DataFrame(claim_rows), "claim_lines": pd.DataFrame(line_rows)},
    )


def claims_file(directory: Path, *claims: dict, lines: list[dict] | None = None) -> list[Path]:
    """837 files (through our writer) for hand-written contract claims."""
    return write_x12(directory, contract_claims(*claims, lines=lines))


@pytest.fixture
def write(tmp_path: Path):
    """Write text to a file in tmp_path and return its path."""

    def write_text(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write_text
