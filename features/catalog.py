"""Every feature in one place: name, meaning, source and point-in-time rule.

The pipeline returns exactly these columns in this order (a test holds it to
that). `source` says where a feature comes from: `claim` features read only the
claim itself (the claim-columns-only baseline uses just those); the others
read history or reference tables under the rule given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["claim", "claims", "remits", "authorizations", "eligibility"]

CLAIM_RULE = "the claim itself, as it will be sent"
CLAIMS_RULE = (
    "claims submitted before this one (submission date, then claim id), never the claim itself "
    "(sent again) nor the claim it replaces (frequency 7/8)"
)
REMITS_RULE = "remits received before this claim's submission date"
REFERENCE_RULE = "the table as it stands (the contract allows it)"
RULES: dict[str, str] = {
    "claim": CLAIM_RULE,
    "claims": CLAIMS_RULE,
    "remits": REMITS_RULE,
    "authorizations": REFERENCE_RULE,
    "eligibility": REFERENCE_RULE,
}


@dataclass(frozen=True)
class Feature:
    name: str
    source: Source
    meaning: str
    categorical: bool = False

    @property
    def point_in_time(self) -> str:
        return RULES[self.source]


def _c(name: str, meaning: str, categorical: bool = False) -> Feature:
    return Feature(name, "claim", meaning, categorical)


FEATURES: tuple[Feature, ...] = (
    _c("payer_id", "payer the claim goes to", True),
    _c("plan_type", "plan type of the payer", True),
    _c("network_status", "in or out of network", True),
    _c("provider_credential", "rendering provider's licence", True),
    _c("program", "level of care: OP, IOP, PHP, RES, DETOX", True),
    _c("place_of_service", "CMS place of service", True),
    _c("code_1", "procedure code of the first line", True),
    _c("code_family_1", "family of that code (psychotherapy, em, iop, ...)", True),
    _c("modifier_pattern", "modifiers of the first line, as sent", True),
    _c("n_lines", "service lines on the claim"),
    _c("total_units", "units over all lines"),
    _c("total_charge", "billed charge"),
    _c("charge_per_unit", "charge divided by units"),
    _c("institutional", "has revenue codes (UB-04 style facility claim)"),
    _c("replacement_claim", "frequency code 7 or 8"),
    _c("days_to_submit", "days from service to submission"),
    _c("service_month", "month of service"),
    _c("service_weekday", "weekday of service (0 = Monday)"),
    _c("timed_psychotherapy", "has a time-based psychotherapy line"),
    _c("timed_minutes", "documented minutes on that line"),
    _c("timed_minutes_missing", "timed line without documented minutes"),
    _c("minutes_below_band", "minutes short of the code's band (90837 needs 53)"),
    _c("minutes_above_band", "minutes beyond the code's band (90839 without 90840)"),
    _c("time_code_mismatch", "documented minutes outside the code's band"),
    _c("supported_timed_code", "the psychotherapy code the minutes support", True),
    _c("telehealth_pos", "place of service 02 or 10"),
    _c("telehealth_modifier_missing", "telehealth POS without 95/GT/FQ/93"),
    _c("telehealth_modifier_off_pos", "telehealth modifier on an in-person POS"),
    _c("credential_modifier_expected", "credential that Medicaid-style plans want an HO/HP/HN for"),
    _c("credential_modifier_missing", "no level-of-licensure modifier where one is expected"),
    _c("credential_modifier_wrong", "a level-of-licensure modifier not matching the credential"),
    _c("addon_without_em", "psychotherapy add-on (90833/6/8) without an E/M line"),
    _c("crisis_with_complexity", "90785 billed with crisis psychotherapy"),
    _c("crisis_addon_without_crisis", "90840 without 90839"),
    _c("evaluation_with_crisis", "90791/90792 with crisis psychotherapy"),
    _c("screening_unbundled", "96127 beside psychotherapy without 59/25"),
    _c("prior_auth_present", "an authorization number is on the claim"),
    _c("dx_category", "three-character ICD-10-CM category of the primary diagnosis", True),
    _c("dx_chapter", "ICD-10-CM chapter letter", True),
    _c("dx_billable", "primary diagnosis is a billable leaf of ICD-10-CM 2026"),
    _c("dx_unspecified", "primary diagnosis is an unspecified code"),
    _c("dx_substance_use", "primary diagnosis is F10-F19"),
    _c("dx_z_code", "primary diagnosis is a Z code"),
    _c("n_secondary_dx", "secondary diagnoses listed"),
    _c("sud_service_without_sud_dx", "SUD service code with a non-SUD primary diagnosis"),
    Feature("overall_denial_rate", "remits", "share of all adjudicated claims denied"),
    Feature("payer_code_denial_rate", "remits", "smoothed denial rate of payer x first code"),
    Feature("payer_credential_denial_rate", "remits", "smoothed denial rate of payer x credential"),
    Feature(
        "payer_modifier_denial_rate", "remits", "smoothed denial rate of payer x modifiers x POS"
    ),
    Feature("provider_denial_rate", "remits", "smoothed denial rate of the rendering provider"),
    Feature("facility_denial_rate", "remits", "smoothed denial rate of the facility"),
    Feature(
        "payer_program_denial_rate",
        "remits",
        "smoothed denial rate of payer x program x authorization present",
    ),
    Feature("payer_dx_denial_rate", "remits", "smoothed denial rate of payer x dx category"),
    Feature("patient_denial_rate", "remits", "smoothed denial rate of the patient's claims"),
    Feature("payer_code_adjudicated", "remits", "payer x code claims adjudicated so far"),
    Feature(
        "payer_code_recent_denial_rate",
        "remits",
        "payer x code denial rate, exponentially decayed (90 days): catches payer policy changes",
    ),
    Feature("payer_code_time_mismatch_rate", "remits", "payer x code rate of time-code denials"),
    Feature(
        "payer_credential_not_covered_rate",
        "remits",
        "payer x credential rate of credential denials",
    ),
    Feature(
        "payer_modifier_invalid_rate", "remits", "payer x modifiers x POS rate of modifier denials"
    ),
    Feature(
        "payer_program_auth_denial_rate",
        "remits",
        "payer x program x auth-present rate of authorization denials",
    ),
    Feature("payer_dx_not_covered_rate", "remits", "payer x dx category rate of dx denials"),
    Feature("patient_prior_denials", "remits", "denials of this patient's earlier claims"),
    Feature("patient_recent_denials", "remits", "the same, decayed over 90 days"),
    Feature(
        "patient_payer_coverage_denials",
        "remits",
        "coverage-inactive denials for this patient with this payer",
    ),
    Feature(
        "patient_payer_visit_limit_denials",
        "remits",
        "visit-limit denials for this patient with this payer",
    ),
    Feature(
        "auth_exhausted_denials", "remits", "auth-exhausted denials on this authorization number"
    ),
    Feature("patient_prior_claims", "claims", "earlier claims of the patient"),
    Feature("days_since_last_claim", "claims", "days since the patient's latest earlier service"),
    Feature("same_day_prior_claims", "claims", "earlier claims for this patient and service date"),
    Feature(
        "same_service_prior_claims",
        "claims",
        "earlier claims for this patient, service date and code: a duplicate if > 0",
    ),
    Feature(
        "visit_number_this_year",
        "claims",
        "this visit's number with this payer, program and calendar year",
    ),
    Feature(
        "visits_over_learned_cap",
        "remits",
        "visit number minus the lowest visit number this payer has denied for a visit limit",
    ),
    Feature(
        "days_to_submit_over_learned_limit",
        "remits",
        "days to submit minus the shortest lag this payer has denied as untimely",
    ),
    Feature(
        "days_to_submit_over_longest_paid",
        "remits",
        "days to submit minus the longest lag this payer has paid",
    ),
    Feature("days_in_program", "claims", "days since the first claim of this stay in the program"),
    Feature("program_prior_claims", "claims", "earlier claims of this stay in the program"),
    Feature("auth_units_used", "claims", "units billed before on this authorization number"),
    Feature("auth_prior_claims", "claims", "claims billed before on this authorization number"),
    Feature("auth_on_file", "authorizations", "the authorization named is on file"),
    Feature("auth_unknown_number", "authorizations", "an authorization number not on file"),
    Feature("auth_units_approved", "authorizations", "units the authorization approved"),
    Feature("auth_days_left", "authorizations", "days from service to the authorization's end"),
    Feature("auth_not_started", "authorizations", "service before the authorization's start"),
    Feature("auth_payer_mismatch", "authorizations", "authorization is for another payer"),
    Feature("auth_program_mismatch", "authorizations", "authorization is for another program"),
    Feature("auth_code_not_covered", "authorizations", "authorization lists codes, not this one"),
    Feature(
        "active_auth_on_file",
        "authorizations",
        "an authorization for this patient and payer covers the service date",
    ),
    Feature("eligibility_on_file", "eligibility", "any eligibility record for patient and payer"),
    Feature("covered_on_service_date", "eligibility", "patient covered by this payer on the date"),
    Feature("days_since_coverage_end", "eligibility", "days since coverage with this payer ended"),
    Feature("other_payer_covered", "eligibility", "another payer covers the patient that day"),
    Feature(
        "auth_units_remaining",
        "authorizations",
        "approved units minus units used before and on this claim (claims history too)",
    ),
)

CATEGORICAL: frozenset[str] = frozenset(f.name for f in FEATURES if f.categorical)
CLAIM_ONLY: tuple[str, ...] = tuple(f.name for f in FEATURES if f.source == "claim")
MOVES_WITH_TIME: frozenset[str] = frozenset(
    {"service_month", "visit_number_this_year"} | {f.name for f in FEATURES if f.source == "remits"}
)
"""Features that move with the calendar by construction: the month, the visits counted since
New Year, and the running denial rates learned from remits. Against a reference of a few
weeks their PSI is large a month later with nothing wrong, so drift alerts leave them out
(monitoring shows them; what they would signal shows in the realized performance)."""
