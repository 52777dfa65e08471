"""Implausible values, each in a claim of the reader tests' valid directory and in a scoring
request: the reader (tests/data_contracts) and the API (tests/serving) must both refuse each,
naming the same field, for the same rule of `data_contracts.plausibility`."""

from __future__ import annotations

from typing import NamedTuple

from data_contracts import plausibility


class Implausible(NamedTuple):
    table: str
    column: str
    value: str
    rule: str

    @property
    def api_path(self) -> tuple[str | int, ...]:
        """Where the value goes in a scoring request's claim."""
        return ("lines", 0, self.column) if self.table == "claim_lines" else (self.column,)

    @property
    def api_value(self) -> object:
        return float(self.value) if self.column.endswith("charge") else self.value


IMPLAUSIBLE = [
    Implausible("claims", "service_date", "1900-01-01", plausibility.DATE_RULE),
    Implausible("claims", "submission_date", "2999-12-31", plausibility.DATE_RULE),
    Implausible("claims", "patient_id", "P\t1", plausibility.IDENTIFIER_RULE),
    Implausible("claims", "payer_id", "PAY\x7f1", plausibility.IDENTIFIER_RULE),
    Implausible("claims", "facility_id", "FAC\x851", plausibility.IDENTIFIER_RULE),
    Implausible("claims", "prior_auth_id", "A\x1b100", plausibility.IDENTIFIER_RULE),
    Implausible("claims", "rendering_provider_id", "R" * 65, plausibility.ID_LENGTH_RULE),
    Implausible("claims", "total_charge", "99999999999999.00", plausibility.AMOUNT_RULE),
    Implausible("claim_lines", "line_charge", "10000000.01", plausibility.AMOUNT_RULE),
    Implausible("claims", "total_charge", "2000000.00", plausibility.CHARGE_RULE),
]
"""The reader tests put each value in claim C3 (row 3, no remit) or its only line (row 4)."""

PLAUSIBLE_IDS = ["PATIENT ACCOUNT NUMBER", "001-18573-358", "P" * 64, "Ünïcode-ID"]
"""Identifiers both accept: blanks inside (X12 CLP01 sends such ids), 64 characters, non-ASCII."""
