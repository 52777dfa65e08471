"""One row per claim with everything the KPIs and the cash forecast count, as of a date.

The measures of `analytics.kpis` are sums and ratios over these rows, so each fact about a
claim (was it denied, what was collected, what is still owed) is derived here once. The
ledger is point in time: with `as_of`, claims submitted later are left out, remits received
later leave their claim pending, appeal rows dated later are not known yet, and an appeal
closed later was still pending then (no outcome, nothing recovered), so a period can be
compared with the one before it on what was known then, and a forecast made at a past date
can be checked against what came after it.

Money is the payer's side of the claim: what the patient owes (patient responsibility) is
not collected by the payer and the contract's tables do not say whether the patient paid.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from data_contracts.denials import remit_denial_categories, timed_psychotherapy_claims
from data_contracts.reader import ContractData

SCRUBBER_CATEGORIES = frozenset(
    {
        "time_code_mismatch",
        "bundling",
        "modifier_invalid",
        "missing_auth",
        "auth_exhausted",
        "timely_filing",
        "coverage_inactive",
        "missing_info",
        "duplicate",
    }
)
"""The denial categories the pre-submission scrubber's edits address (the `edit` rules of
`serving/fix_rules.csv`; a test holds the two equal). A first remit denied for one of these
means the claim did not pass the scrubber's edits clean."""

CLOSING_ACTIONS = frozenset({"write_off", "bill_patient"})
"""Appeal-table actions after which the payer owes nothing more on the claim."""
FINAL_OUTCOMES = frozenset({"overturned", "upheld"})
VOID = "8"
ORIGINAL = "1"


def data_as_of(data: ContractData) -> date:
    """The last date the directory knows of: its newest submission, remit or appeal action."""
    dates = [data.claims["submission_date"].max()]
    if len(data.remits):
        dates.append(data.remits["received_date"].max())
    if len(data.appeals):
        dates.append(data.appeals["action_date"].max())
    known = [pd.Timestamp(when) for when in dates if pd.notna(when)]
    return max(known).date() if known else date.today()


def claim_ledger(data: ContractData, as_of: date | None = None) -> pd.DataFrame:
    """The claims of `data` known on `as_of` (default: `data_as_of`), voids left out, one
    row each, with the columns the KPIs sum (see the module's docstring)."""
    as_of = as_of or data_as_of(data)
    cutoff = pd.Timestamp(as_of)
    claims = data.claims[pd.to_datetime(data.claims["submission_date"]) <= cutoff]
    remits = data.remits[pd.to_datetime(data.remits["received_date"]) <= cutoff]
    appeals = _appeals_known_on(data.appeals, cutoff)

    frequency = claims["frequency_code"].astype("string")
    corrected = claims.loc[frequency.isin(["7", VOID]), "original_claim_id"].dropna()
    ledger = claims.loc[frequency != VOID].set_index("claim_id", drop=False)
    ledger.index = ledger.index.astype("string")
    service = pd.to_datetime(ledger["service_date"])
    submitted = pd.to_datetime(ledger["submission_date"])
    out = pd.DataFrame(
        {
            "claim_id": ledger["claim_id"].astype("string"),
            "payer_id": ledger["payer_id"].astype("string"),
            "plan_type": ledger["plan_type"].astype("string"),
            "program": ledger["program"].astype("string"),
            "provider_credential": ledger["provider_credential"].astype("string"),
            "clinician": ledger["rendering_provider_id"].astype("string"),
            "month": service.dt.strftime("%Y-%m"),
            "week": (service - pd.to_timedelta(service.dt.day_of_week, unit="D")).dt.strftime(
                "%Y-%m-%d"
            ),
            "submission_date": submitted,
            "charge": ledger["total_charge"].astype(float),
            "original": (ledger["frequency_code"].astype("string") == ORIGINAL).to_numpy(),
            "corrected_later": ledger["claim_id"].isin(corrected),
        },
        index=ledger.index,
    )
    out = out.join(_first_remits(remits, data.claim_lines), how="left")
    out["adjudicated"] = out["status"].notna()
    out["denied"] = out["denial_category"].notna()
    out["first_pass_paid"] = out["adjudicated"] & ~out["denied"] & (out["paid_amount"] > 0)
    paid = out["status"].eq("paid").fillna(False).astype(bool)
    out["days_to_pay"] = ((out["received_date"] - out["submission_date"]).dt.days).where(paid)
    out["clean"] = (
        out["original"]
        & out["adjudicated"]
        & ~out["corrected_later"]
        & ~out["denial_category"].isin(SCRUBBER_CATEGORIES).fillna(False).astype(bool)
    )
    out["expected_allowed"] = expected_allowed(out)
    out = out.join(_appeal_totals(appeals), how="left")
    for column in ("recovered", "appeal_minutes", "appeals_closed", "appeals_overturned"):
        out[column] = out[column].fillna(0)
    out["closed"] = out["closed"].fillna(False).astype(bool)
    for column in ("paid_amount", "patient_responsibility"):
        out[column] = out[column].fillna(0.0)
    out["collections"] = out["paid_amount"] + out["recovered"]
    out["collectible"] = (out["expected_allowed"] - out["patient_responsibility"]).clip(lower=0)
    owed = (out["collectible"] - out["collections"]).clip(lower=0)
    pending = ~out["adjudicated"]
    open_denial = out["denied"] & ~out["closed"]
    out["ar_balance"] = owed.where(pending | open_denial, 0.0)
    out["written_off"] = owed.where(out["denied"] & out["written_off_flag"].fillna(False), 0.0)
    out["age_days"] = (cutoff - out["submission_date"]).dt.days
    return out.drop(columns=["written_off_flag"]).reset_index(drop=True)


def _first_remits(remits: pd.DataFrame, claim_lines: pd.DataFrame) -> pd.DataFrame:
    """Each claim's first adjudication: status, amounts, codes and denial category."""
    # As Python strings: pandas' isin over Arrow strings loops in Python over the ids looked
    # for (4 of the ledger's 6 seconds on 200,000 claims); over objects it hashes them.
    timed = (
        remits["claim_id"]
        .astype(object)
        .isin(timed_psychotherapy_claims(claim_lines).astype(object))
    )
    categories = remit_denial_categories(remits, timed)
    return pd.DataFrame(
        {
            "status": remits["status"].astype("string").to_numpy(),
            "received_date": pd.to_datetime(remits["received_date"]).to_numpy(),
            "billed_amount": remits["billed_amount"].astype(float).to_numpy(),
            "allowed_amount": remits["allowed_amount"].astype(float).to_numpy(),
            "paid_amount": remits["paid_amount"].astype(float).to_numpy(),
            "patient_responsibility": remits["patient_responsibility"].astype(float).to_numpy(),
            "carc_codes": remits["carc_codes"].astype("string").to_numpy(),
            "denial_category": categories.to_numpy(),
        },
        index=pd.Index(remits["claim_id"].astype("string"), name="claim_id"),
    )


def expected_allowed(ledger: pd.DataFrame) -> pd.Series:
    """What the payer would allow on each claim: its allowed amount where it paid, else
    its charge times the payer's median allowed-to-billed ratio on paid claims (the whole
    book's ratio for a payer with none), since a denied or pending claim has no allowed
    amount of its own."""
    paid = ledger["adjudicated"] & ~ledger["denied"] & (ledger["charge"] > 0)
    ratio = (ledger["allowed_amount"] / ledger["charge"]).where(paid)
    overall = ratio.median()
    by_payer = ratio.groupby(ledger["payer_id"]).median()
    fallback = 1.0 if pd.isna(overall) else float(overall)
    payer_ratio = ledger["payer_id"].map(by_payer).astype(float).fillna(fallback)
    estimate = ledger["charge"] * payer_ratio
    return ledger["allowed_amount"].where(paid, estimate).astype(float)


def _appeals_known_on(appeals: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The appeal rows as they stood on `cutoff`: rows acted on later left out, and a row
    closed later still pending (the table holds each row's latest state, so its outcome and
    recovered amount were not known before its closed date)."""
    known = appeals[pd.to_datetime(appeals["action_date"]) <= cutoff]
    later = pd.to_datetime(known["closed_date"]) > cutoff
    if not later.any():
        return known
    known = known.copy()
    known.loc[later, "outcome"] = "pending"
    known.loc[later, "recovered_amount"] = 0.0
    known.loc[later, "closed_date"] = pd.NaT
    return known


def _appeal_totals(appeals: pd.DataFrame) -> pd.DataFrame:
    """Per claim: dollars recovered and the day the last of them came in (its closed date,
    else its action date), minutes worked, appeals closed and overturned, and whether the
    denial is closed (a final outcome, or written off or billed to the patient)."""
    if appeals.empty:
        return pd.DataFrame(
            {
                "recovered": pd.Series(dtype=float),
                "recovered_date": pd.Series(dtype="datetime64[us]"),
                "appeal_minutes": pd.Series(dtype=float),
                "appeals_closed": pd.Series(dtype=int),
                "appeals_overturned": pd.Series(dtype=int),
                "closed": pd.Series(dtype=bool),
                "written_off_flag": pd.Series(dtype=bool),
            },
            index=pd.Index([], name="claim_id", dtype="string"),
        )
    action = appeals["action"].astype("string")
    outcome = appeals["outcome"].astype("string")
    is_appeal = action == "appeal"
    rows = pd.DataFrame(
        {
            "claim_id": appeals["claim_id"].astype("string"),
            "recovered": appeals["recovered_amount"].astype(float).fillna(0.0),
            "appeal_minutes": appeals["effort_minutes"].astype(float).fillna(0.0),
            "appeals_closed": (is_appeal & outcome.isin(FINAL_OUTCOMES)).astype(int),
            "appeals_overturned": (is_appeal & (outcome == "overturned")).astype(int),
            "closed": (outcome.isin(FINAL_OUTCOMES) | action.isin(CLOSING_ACTIONS)).astype(int),
            "written_off_flag": (action == "write_off").astype(int),
        }
    )
    totals = rows.groupby("claim_id").sum()
    came_in = pd.to_datetime(appeals["closed_date"]).fillna(pd.to_datetime(appeals["action_date"]))
    totals["recovered_date"] = (
        came_in.where(rows["recovered"].to_numpy() > 0).groupby(rows["claim_id"].to_numpy()).max()
    )
    totals["closed"] = totals["closed"] > 0
    totals["written_off_flag"] = totals["written_off_flag"] > 0
    return totals


def aging_bucket(age_days: pd.Series) -> pd.Series:
    """A/R aging buckets by days since submission: 0-30, 31-60, 61-90, 91-120, 120+."""
    edges = [-np.inf, 30, 60, 90, 120, np.inf]
    labels = ["0-30", "31-60", "61-90", "91-120", "120+"]
    return pd.cut(age_days, bins=edges, labels=labels)
