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
import pyarrow as pa

from data_contracts.codes import timed_psychotherapy_codes
from data_contracts.denials import remit_denial_categories
from data_contracts.known_on import appeals_known_on
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
    row each, with the columns the KPIs sum (see the module's docstring).

    Remits and appeals are placed on their claim's row by position (an Arrow hash lookup
    of each claim id, then NumPy) rather than by pandas joins on string keys, which take
    seconds on a million claims."""
    as_of = as_of or data_as_of(data)
    cutoff = pd.Timestamp(as_of)
    claims = data.claims[_dates(data.claims["submission_date"]) <= cutoff]
    remits = data.remits[_dates(data.remits["received_date"]) <= cutoff]
    appeals = appeals_known_on(data.appeals, cutoff)

    frequency = claims["frequency_code"].astype("string").to_numpy(dtype=object, na_value="")
    named = claims.loc[np.isin(frequency, ["7", VOID]), "original_claim_id"].dropna()
    claims = claims[frequency != VOID]
    timed_lines = data.claim_lines.loc[
        data.claim_lines["procedure_code"].isin(timed_psychotherapy_codes()), "claim_id"
    ]
    rows = ClaimRows(
        claims["claim_id"], named, remits["claim_id"], appeals["claim_id"], timed_lines
    )
    named_rows, remit_rows, appeal_rows, timed_rows = rows.lookups
    corrected = np.zeros(len(claims), dtype=bool)
    corrected[_found(named_rows)] = True
    timed = np.zeros(len(claims), dtype=bool)
    timed[_found(timed_rows)] = True
    service = _dates(claims["service_date"])
    submitted = _dates(claims["submission_date"])
    out = pd.DataFrame(
        {
            "claim_id": claims["claim_id"].astype("string").to_numpy(),
            "payer_id": _labels(claims["payer_id"]),
            "plan_type": _labels(claims["plan_type"]),
            "program": _labels(claims["program"]),
            "provider_credential": _labels(claims["provider_credential"]),
            "clinician": _labels(claims["rendering_provider_id"]),
            "month": _periods(service, "M"),
            "week": _periods(service, "W-SUN"),
            "submission_date": submitted.to_numpy(),
            "charge": claims["total_charge"].astype(float).to_numpy(),
            "original": frequency[frequency != VOID] == ORIGINAL,
            "corrected_later": corrected,
        }
    )
    _place_first_remits(out, remits, remit_rows, timed)
    out["adjudicated"] = out["status"].notna()
    out["denied"] = out["denial_category"].notna()
    out["first_pass_paid"] = out["adjudicated"] & ~out["denied"] & (out["paid_amount"] > 0)
    paid = out["status"].eq("paid").fillna(False).to_numpy(dtype=bool)
    out["days_to_pay"] = (out["received_date"] - out["submission_date"]).dt.days.where(paid)
    scrubber_denial = out["denial_category"].isin(SCRUBBER_CATEGORIES).fillna(False)
    out["clean"] = (
        out["original"]
        & out["adjudicated"]
        & ~out["corrected_later"]
        & ~scrubber_denial.to_numpy(dtype=bool)
    )
    out["expected_allowed"] = expected_allowed(out)
    _place_appeals(out, appeals, appeal_rows)
    for column in ("paid_amount", "patient_responsibility"):
        out[column] = out[column].fillna(0.0)
    out["collections"] = out["paid_amount"] + out["recovered"]
    out["collectible"] = (out["expected_allowed"] - out["patient_responsibility"]).clip(lower=0)
    owed = (out["collectible"] - out["collections"]).clip(lower=0)
    pending = ~out["adjudicated"]
    open_denial = out["denied"] & ~out["closed"]
    out["ar_balance"] = owed.where(pending | open_denial, 0.0)
    out["written_off"] = owed.where(out["denied"] & out["write_off_action"], 0.0)
    out["age_days"] = (cutoff - out["submission_date"]).dt.days
    return out


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values)


class ClaimRows:
    """Where each of several claim-id columns' ids sits among the claims' rows, from one
    Arrow dictionary encoding of all of them (one hash pass, not one per lookup)."""

    def __init__(self, claim_ids: pd.Series, *others: pd.Series) -> None:
        columns = [claim_ids, *others]
        chunks = [_arrow_text(column) for column in columns]
        encoded = pa.concat_arrays(chunks).dictionary_encode()
        indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        codes = np.split(indices, np.cumsum([len(chunk) for chunk in chunks])[:-1])
        row_of_code = np.full(len(encoded.dictionary), -1, dtype=np.int64)
        claim_codes = codes[0]
        row_of_code[claim_codes[claim_codes >= 0]] = np.flatnonzero(claim_codes >= 0)
        self.lookups = [
            np.where(found >= 0, row_of_code[np.maximum(found, 0)], -1) for found in codes[1:]
        ]
        """Per other column: each id's claim row, -1 where no claim has it."""


def _arrow_text(values: pd.Series) -> pa.Array:
    """A text column as one Arrow large-string array (no copy when it is Arrow already)."""
    array = pa.array(values.astype("string"))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.large_string())


def _found(positions: np.ndarray) -> np.ndarray:
    return positions[positions >= 0]


def _labels(values: pd.Series) -> pd.Categorical:
    """A low-cardinality text column as a categorical: grouping by it is integer work."""
    encoded = _arrow_text(values).dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return pd.Categorical.from_codes(codes, categories=encoded.dictionary.to_pylist())


def _periods(days: pd.Series, freq: str) -> pd.Categorical:
    """Each date's month (`2026-06`) or week (its Monday, `2026-06-01`), named once per
    distinct period rather than formatted row by row."""
    codes, periods = pd.factorize(days.dt.to_period(freq), sort=True)
    names = [str(p) if freq == "M" else p.start_time.strftime("%Y-%m-%d") for p in periods]
    return pd.Categorical.from_codes(codes, categories=names)


def _place_first_remits(
    out: pd.DataFrame, remits: pd.DataFrame, where: np.ndarray, timed: np.ndarray
) -> None:
    """Each claim's first adjudication (status, amounts, codes, denial category) on its
    row (`where`: each remit's claim row); missing where there is none."""
    remits, where = remits[where >= 0], where[where >= 0]
    categories = remit_denial_categories(remits, pd.Series(timed[where], index=remits.index))
    n = len(out)
    for column in ("allowed_amount", "paid_amount", "patient_responsibility"):
        values = np.full(n, np.nan)
        values[where] = remits[column].astype(float).to_numpy()
        out[column] = values
    for column, values in (
        ("status", remits["status"]),
        ("carc_codes", remits["carc_codes"]),
        ("denial_category", categories),
    ):
        out[column] = _scatter_text(values, where, n)
    received = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    received[where] = _dates(remits["received_date"]).to_numpy(dtype="datetime64[ns]")
    out["received_date"] = received


def _scatter_text(values: pd.Series, where: np.ndarray, n: int) -> pd.Series:
    """Text `values` placed at rows `where` of `n` rows, missing elsewhere (Arrow take)."""
    source = np.full(n, -1, dtype=np.int64)
    source[where] = np.arange(len(where))
    taken = _arrow_text(values).take(pa.array(source, mask=source < 0))
    return pd.Series(pd.arrays.ArrowStringArray(taken))


def _place_appeals(out: pd.DataFrame, appeals: pd.DataFrame, where: np.ndarray) -> None:
    """Per claim: dollars recovered and the day the last of them came in (its closed date,
    else its action date), minutes worked, appeals closed and overturned, whether the denial
    is closed (a final outcome, or written off or billed to the patient) and whether it was
    written off (`where`: each appeal row's claim row)."""
    appeals, where = appeals[where >= 0], where[where >= 0]
    action = appeals["action"].astype("string").to_numpy(dtype=object, na_value="")
    outcome = appeals["outcome"].astype("string").to_numpy(dtype=object, na_value="")
    final = np.isin(outcome, list(FINAL_OUTCOMES))
    is_appeal = action == "appeal"
    n = len(out)

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(where, weights=weights.astype(float), minlength=n)

    recovered = appeals["recovered_amount"].astype(float).fillna(0.0).to_numpy()
    out["recovered"] = total(recovered)
    came_in = _dates(appeals["closed_date"]).fillna(_dates(appeals["action_date"]))
    latest = pd.Series(came_in.to_numpy()).where(recovered > 0).groupby(where).max()
    out["recovered_date"] = latest.reindex(range(n)).to_numpy()
    out["appeal_minutes"] = total(appeals["effort_minutes"].astype(float).fillna(0.0).to_numpy())
    out["appeals_closed"] = total(is_appeal & final).astype(int)
    out["appeals_overturned"] = total(is_appeal & (outcome == "overturned")).astype(int)
    out["closed"] = total(final | np.isin(action, list(CLOSING_ACTIONS))) > 0
    out["write_off_action"] = total(action == "write_off") > 0


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
