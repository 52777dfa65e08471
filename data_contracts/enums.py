"""Enumerations fixed by the external contract (`../shared/CONTRACT.md`).

They are plain tuples of strings because pandas, pandera and the HTTP schema all
consume them as value sets; a `StrEnum` would be converted back to strings at
every boundary.
"""

from __future__ import annotations

PLAN_TYPES = (
    "commercial",
    "medicaid",
    "medicaid_mco",
    "medicare",
    "medicare_advantage",
    "tricare",
    "self_pay",
    "other",
)
NETWORK_STATUSES = ("in", "out")
CREDENTIALS = (
    "MD",
    "DO",
    "PMHNP",
    "NP",
    "PA",
    "PhD",
    "PsyD",
    "LCSW",
    "LPC",
    "LMFT",
    "LMHC",
    "LCADC",
    "other",
)
PROGRAMS = ("OP", "IOP", "PHP", "RES", "DETOX", "other")
FREQUENCY_CODES = ("1", "7", "8")
REMIT_STATUSES = ("paid", "denied", "partial")
APPEAL_ACTIONS = ("appeal", "corrected_claim", "rebill", "bill_patient", "write_off")
PAYER_ACTIONS = ("appeal", "corrected_claim", "rebill")
"""The actions that ask the payer again (the others accept the denial)."""
APPEAL_OUTCOMES = ("overturned", "upheld", "pending")
OUTCOME_REASONS = ("untimely", "no_new_information", "not_covered", "other")
"""Why an appeal was decided as it was; `untimely`: refused as filed past the payer's window."""

DENIAL_CATEGORIES = (
    "missing_auth",
    "auth_exhausted",
    "visit_limit",
    "timely_filing",
    "coverage_inactive",
    "time_code_mismatch",
    "credential_not_covered",
    "modifier_invalid",
    "dx_not_covered",
    "duplicate",
    "bundling",
    "medical_necessity",
    "missing_info",
    "other",
)
