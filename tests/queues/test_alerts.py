"""Authorization alerts on a tiny hand-made practice, read through the contract's reader so
the tables are typed as the page gets them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.reader import ContractData, read_data_dir
from queues.alerts import auth_alerts, needs_authorization, units_used

AS_OF = date(2026, 11, 20)
CLAIM = {
    "patient_id": "PAT1",
    "payer_id": "PAY-A",
    "plan_type": "commercial",
    "network_status": "in",
    "rendering_provider_id": "PRV1",
    "provider_credential": "LCSW",
    "facility_id": "FAC1",
    "program": "IOP",
    "place_of_service": "11",
    "primary_dx": "F33.1",
    "secondary_dx": "",
    "prior_auth_id": "",
    "total_charge": 300.0,
    "frequency_code": "1",
    "original_claim_id": "",
}
# claim_id: (service date, changes, units on its one line)
CLAIMS = {
    # PAY-A IOP needs authorization (4 of its 5 claims carry a number).
    "OLD": ("2026-09-01", {"prior_auth_id": "AU1"}, 3),  # before the recent window
    "IN1": ("2026-11-02", {"prior_auth_id": "AU2"}, 3),
    "IN2": ("2026-11-10", {"prior_auth_id": "AU2"}, 4),
    "GAP": ("2026-11-12", {"patient_id": "PAT2", "prior_auth_id": "AU2"}, 1),  # AU2 is PAT1's
    "SCHED": ("2026-11-27", {}, 1),  # scheduled, after AU2 ends: none in force
    # A voided claim and the claim it voids count for nothing.
    "VOIDED": ("2026-11-11", {"patient_id": "PAT3"}, 9),
    "VOID": (
        "2026-11-11",
        {"patient_id": "PAT3", "frequency_code": "8", "original_claim_id": "VOIDED"},
        9,
    ),
    # PAY-A OP needs none (no claim carries a number); PAY-B IOP: 1 of 3, below half.
    "OP1": ("2026-11-15", {"program": "OP"}, 1),
    "B1": ("2026-11-15", {"payer_id": "PAY-B", "prior_auth_id": "AU9"}, 1),
    "B2": ("2026-11-16", {"payer_id": "PAY-B"}, 1),
    "B3": ("2026-11-17", {"payer_id": "PAY-B"}, 1),
}
AUTHS = [
    # auth_id, patient, payer, program, start, end, units approved
    ("AU1", "PAT1", "PAY-A", "IOP", "2026-08-20", "2026-09-30", 12),
    ("AU2", "PAT1", "PAY-A", "", "2026-11-01", "2026-11-25", 9),  # 7 of 9 used
    ("AU3", "PAT4", "PAY-A", "IOP", "2026-11-01", "2026-11-26", 30),  # 6 days left
    ("AU4", "PAT5", "PAY-A", "IOP", "2026-11-01", "2027-02-01", 30),  # plenty of both
    ("AU5", "PAT6", "PAY-A", "IOP", "2026-11-21", "2026-12-01", 1),  # not started yet
    ("AU9", "PAT1", "PAY-B", "IOP", "2026-11-01", "2026-12-31", 40),
]


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> ContractData:
    folder: Path = tmp_path_factory.mktemp("alerts")
    claims, lines = [], []
    for claim_id, (day, changes, units) in CLAIMS.items():
        claims.append(
            {**CLAIM, **changes, "claim_id": claim_id, "service_date": day, "submission_date": day}
        )
        lines.append(
            {
                "claim_id": claim_id,
                "line_number": 1,
                "procedure_code": "S9480",
                "modifiers": "",
                "units": units,
                "minutes": "",
                "line_charge": 300.0,
                "revenue_code": "",
            }
        )
    pd.DataFrame(claims).to_csv(folder / "claims.csv", index=False)
    pd.DataFrame(lines).to_csv(folder / "claim_lines.csv", index=False)
    columns = ["auth_id", "patient_id", "payer_id", "program", "start_date", "end_date"]
    pd.DataFrame(AUTHS, columns=[*columns, "units_approved"]).assign(procedure_codes="").to_csv(
        folder / "authorizations.csv", index=False
    )
    return read_data_dir(folder)


def test_payers_and_programs_need_authorization_when_most_of_their_claims_carry_one(
    practice: ContractData,
) -> None:
    assert needs_authorization(practice.claims) == {("PAY-A", "IOP")}


def test_units_used_count_the_lines_of_claims_naming_the_auth_inside_its_window(
    practice: ContractData,
) -> None:
    used = units_used(practice, practice.claims)
    assert used["AU1"] == 3
    assert used["AU2"] == 3 + 4 + 1  # the number on PAT2's claim counts: payers count by number
    assert used["AU3"] == 0
    assert used["AU9"] == 1


def test_missing_auth_lists_recent_and_scheduled_sessions_with_none_in_force(
    practice: ContractData,
) -> None:
    alerts = auth_alerts(practice, AS_OF)
    missing = [(alert.claim_id, alert.service_date) for alert in alerts.missing]
    # OLD is covered and outside the window anyway; IN1/IN2 are inside AU2 (program: any);
    # GAP is PAT2's (AU2 is PAT1's); SCHED is after AU2 ends; the void and the voided claim
    # stand for nothing; OP and PAY-B need none.
    assert missing == [("GAP", date(2026, 11, 12)), ("SCHED", date(2026, 11, 27))]


def test_running_out_lists_in_force_authorizations_short_of_units_or_days(
    practice: ContractData,
) -> None:
    alerts = auth_alerts(practice, AS_OF)
    short = {alert.auth_id: (alert.units_left, alert.days_left) for alert in alerts.running_out}
    assert short == {"AU2": (1, 5), "AU3": (30, 6)}
    assert [alert.auth_id for alert in alerts.running_out] == ["AU2", "AU3"]


def test_a_practice_with_no_authorizations_has_only_missing_alerts(
    practice: ContractData,
) -> None:
    bare = ContractData(
        practice.claims,
        practice.claim_lines,
        practice.remits,
        practice.authorizations.head(0),
        practice.eligibility,
        practice.appeals,
    )
    alerts = auth_alerts(bare, AS_OF)
    assert alerts.running_out == []
    assert [alert.claim_id for alert in alerts.missing] == ["IN1", "IN2", "GAP", "SCHED"]
