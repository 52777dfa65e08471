"""A tiny hand-made book of claims whose every KPI is worked out by hand in the tests.

Payer A's paid claims allow 75% of the charge, so every claim without an allowed amount of
its own is expected to be allowed 75% of its charge. Procedure 90791 is not timed, so CO-50
is medical necessity (not a time-code denial).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from data_contracts.reader import ContractData, read_data_dir
from data_contracts.schemas import TABLES

AS_OF = date(2026, 6, 30)
HOUR_COST = 40.0
CLAIM = {
    "patient_id": "PAT1",
    "plan_type": "commercial",
    "network_status": "in",
    "rendering_provider_id": "PRV1",
    "provider_credential": "LCSW",
    "facility_id": "FAC1",
    "program": "OP",
    "place_of_service": "11",
    "primary_dx": "F33.1",
    "secondary_dx": "",
    "prior_auth_id": "",
    "frequency_code": "1",
    "original_claim_id": "",
}
# claim_id: payer, service date, submission date, charge, changes
CLAIMS = {
    "C1": ("PAY-A", "2026-06-01", "2026-06-01", 200.0, {}),  # paid 120 + 30 PR
    "C2": ("PAY-A", "2026-06-01", "2026-06-02", 100.0, {}),  # CO-197, appeal overturned 80
    "C3": ("PAY-A", "2026-04-30", "2026-05-01", 400.0, {"program": "IOP"}),  # paid, voided
    "C4": ("PAY-B", "2026-06-09", "2026-06-10", 100.0, {}),  # CO-50, appeal upheld, write-off
    "C5": ("PAY-B", "2026-06-19", "2026-06-20", 100.0, {}),  # pending
    "C6": ("PAY-B", "2026-02-14", "2026-02-15", 100.0, {}),  # CO-27, open denial
    "C7": ("PAY-A", "2026-06-04", "2026-06-05", 100.0, {}),  # paid 0 (deductible), replaced
    "C8": (
        "PAY-A",
        "2026-06-04",
        "2026-06-20",
        100.0,
        {"frequency_code": "7", "original_claim_id": "C7"},
    ),  # pending
    "V1": (
        "PAY-A",
        "2026-04-30",
        "2026-06-28",
        400.0,
        {"frequency_code": "8", "original_claim_id": "C3"},
    ),  # a void: counts for nothing
}
REMITS = [
    # claim, received, status, billed, allowed, paid, patient responsibility, CARC
    ("C1", "2026-06-11", "paid", 200.0, 150.0, 120.0, 30.0, "CO-45;PR-3"),
    ("C2", "2026-06-22", "denied", 100.0, 0.0, 0.0, 0.0, "CO-197"),
    ("C3", "2026-05-31", "paid", 400.0, 300.0, 300.0, 0.0, "CO-45"),
    ("C4", "2026-06-20", "denied", 100.0, 0.0, 0.0, 0.0, "CO-50"),
    ("C6", "2026-03-01", "denied", 100.0, 0.0, 0.0, 0.0, "CO-27"),
    ("C7", "2026-06-15", "paid", 100.0, 75.0, 0.0, 75.0, "CO-45;PR-1"),
]
APPEALS = [
    # claim, action, date, minutes, outcome, recovered, closed
    ("C2", "appeal", "2026-06-25", 60, "overturned", 80.0, "2026-06-28"),
    ("C4", "appeal", "2026-06-22", 45, "upheld", 0.0, "2026-06-24"),
    ("C4", "write_off", "2026-06-25", 15, "pending", 0.0, ""),
]


def write_book(folder: Path) -> Path:
    """The book's tables as contract CSV files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    claims = [
        {
            **CLAIM,
            "claim_id": claim_id,
            "payer_id": payer,
            "service_date": service,
            "submission_date": submitted,
            "total_charge": charge,
            **changes,
        }
        for claim_id, (payer, service, submitted, charge, changes) in CLAIMS.items()
    ]
    lines = [
        {
            "claim_id": claim_id,
            "line_number": 1,
            "procedure_code": "90791",
            "modifiers": "",
            "units": 1,
            "minutes": "",
            "line_charge": charge,
            "revenue_code": "",
        }
        for claim_id, (_, _, _, charge, _) in CLAIMS.items()
    ]
    remit_columns = [name for name in TABLES["remits"].column_names if name != "rarc_codes"]
    appeal_columns = [name for name in TABLES["appeals"].column_names if name != "outcome_reason"]
    pd.DataFrame(claims).to_csv(folder / "claims.csv", index=False)
    pd.DataFrame(lines).to_csv(folder / "claim_lines.csv", index=False)
    pd.DataFrame(REMITS, columns=remit_columns).assign(rarc_codes="").to_csv(
        folder / "remits.csv", index=False
    )
    pd.DataFrame(APPEALS, columns=appeal_columns).to_csv(folder / "appeals.csv", index=False)
    return folder


def read_book(folder: Path) -> ContractData:
    return read_data_dir(write_book(folder))
