"""Every KPI of RevOps and billing leadership, defined once, over the claim ledger.

Each measure is a sum or a ratio of sums over `analytics.ledger.claim_ledger` rows, so it
can be broken down by any of the ledger's dimensions (`DIMENSIONS`) and the CLI, the API
and the pages show the same figure. Definitions follow the field's standard ones (HFMA's
MAP Keys where one exists), restricted to what a billing company sees: the payer's side of
each claim, and the billers' appeal time as the cost of collecting.

- **claims**: claims submitted (voids left out); **charges**: their total charge.
- **adjudicated_claims**: claims with a first remit.
- **denied_claims**: first remits `denied` or `partial` with a real denial code (the
  contract's denial; patient responsibility and a lone CO-45 are not denials).
- **denial_rate** = denied_claims / adjudicated_claims;
  **denial_rate_dollars** = charges of denied claims / charges of adjudicated claims.
- **first_pass_yield** = claims paid (not denied, paid amount > 0) on first adjudication /
  adjudicated_claims.
- **clean_claim_rate** = original claims that passed the scrubber's edits on first
  submission (never replaced or voided, first remit not denied for a category the
  scrubber's edits address, `SCRUBBER_CATEGORIES`) / adjudicated original claims.
- **overturn_rate** = appeals overturned / appeals closed (overturned or upheld).
- **net_collection_rate** = collections / collectible, where collections = first-remit
  payments + dollars recovered by appeals, and collectible = expected allowed amount less
  patient responsibility (HFMA's payments over charges net of contractual adjustments).
- **ar_balance**: dollars still owed by payers on pending claims and on open denials (not
  closed by a final outcome, a write-off or a bill to the patient); **ar_0_30** ...
  **ar_120_plus**: the same by days since submission.
- **days_in_ar** = ar_balance / average daily collectible of the claims submitted in the
  last 90 days before the ledger's date.
- **days_to_pay_median**, **days_to_pay_p90**: days from submission to a first remit with
  status `paid`.
- **appeal_hours**: billers' minutes on appeal-table actions / 60;
  **appeal_hours_per_recovered_dollar** = appeal_hours / dollars recovered.
- **cost_to_collect** = appeal_hours x the policy's biller hour cost / collections.
- **denial_write_offs**: dollars still owed on denials written off.
- **contribution_margin** = collections - appeal_hours x biller hour cost; by payer it is
  the payer contribution margin, by program the program's collection margin
  (**margin_rate** = contribution_margin / collections).

Breakdowns by `category` and `carc` cover denied claims only (a claim with two denial CARCs
counts under each); their `denial_rate` is the group's share of all adjudicated claims, and
first-pass yield and clean claim rate (measures of all claims) are left out. Breakdowns by
service `month` and `week` leave out days in A/R: their A/R is today's balance of that
period's claims, not the balance the period ended with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.ledger import aging_bucket
from data_contracts.denials import denial_codes, split_list

DENIAL_DIMENSIONS = ("denial_category", "carc")
TIME_DIMENSIONS = ("month", "week")
DIMENSIONS = {
    "payer": "payer_id",
    "program": "program",
    "credential": "provider_credential",
    "clinician": "clinician",
    "plan": "plan_type",
    "month": "month",
    "week": "week",
    "category": "denial_category",
    "carc": "carc",
}
"""The `--by` names and the column each groups by (the key column of the output)."""
AGING = {"0-30": "ar_0_30", "31-60": "ar_31_60", "61-90": "ar_61_90", "91-120": "ar_91_120"}
AGING["120+"] = "ar_120_plus"
RECENT_DAYS = 90
UNITS = {
    "claims": "count",
    "charges": "dollars",
    "adjudicated_claims": "count",
    "denied_claims": "count",
    "denial_rate": "fraction",
    "denied_dollars": "dollars",
    "denial_rate_dollars": "fraction",
    "first_pass_yield": "fraction",
    "clean_claim_rate": "fraction",
    "appeals_closed": "count",
    "overturn_rate": "fraction",
    "collections": "dollars",
    "collectible": "dollars",
    "net_collection_rate": "fraction",
    "recovered": "dollars",
    "ar_balance": "dollars",
    **dict.fromkeys(AGING.values(), "dollars"),
    "days_in_ar": "days",
    "days_to_pay_median": "days",
    "days_to_pay_p90": "days",
    "appeal_hours": "hours",
    "appeal_hours_per_recovered_dollar": "hours per dollar",
    "cost_to_collect": "fraction",
    "denial_write_offs": "dollars",
    "contribution_margin": "dollars",
    "margin_rate": "fraction",
}
"""Every measure, in the order a table prints them, with its unit (how to show it)."""
MEASURES = tuple(UNITS)


def kpis(ledger: pd.DataFrame, by: str | None = None, hour_cost: float = 0.0) -> pd.DataFrame:
    """The measures of `ledger`, one row for the whole book (`by` None) or one per group of
    a `DIMENSIONS` name, sorted by the group key; `hour_cost` is the policy's cost of a
    biller hour, for cost to collect and contribution margin."""
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"cannot break KPIs down by {by!r}: choose one of {', '.join(DIMENSIONS)}")
    column = DIMENSIONS.get(by) if by else None
    rows = _with_sums(ledger)
    if column == "carc":
        rows = _by_denial_carc(rows)
    elif column == "denial_category":
        rows = rows[rows["denied"]]
    key = [column] if column else []
    grouped = rows.groupby(key, sort=True, observed=True) if key else None
    sums = grouped[_SUMMED].sum() if grouped is not None else rows[_SUMMED].sum().to_frame().T
    days = rows["days_to_pay"]
    if grouped is not None:
        sums["days_to_pay_median"] = grouped["days_to_pay"].median()
        sums["days_to_pay_p90"] = grouped["days_to_pay"].quantile(0.9)
    else:
        sums["days_to_pay_median"] = days.median()
        sums["days_to_pay_p90"] = days.quantile(0.9)
    if column in DENIAL_DIMENSIONS:
        sums["adjudicated_claims"] = int(ledger["adjudicated"].sum())
        sums["adjudicated_charges"] = float(ledger["charge"].where(ledger["adjudicated"], 0).sum())
    table = _ratios(sums, hour_cost, _daily_collectible(rows, key))
    if column in DENIAL_DIMENSIONS:  # measures of all claims, not of denied ones
        table[["first_pass_yield", "clean_claim_rate"]] = np.nan
    if column in TIME_DIMENSIONS:  # A/R of a past month is a balance as of that month
        table["days_in_ar"] = np.nan
    table = table.reset_index() if key else table.reset_index(drop=True)
    return table[[*key, *MEASURES]]


_SUMMED = [
    "claims",
    "charges",
    "adjudicated_claims",
    "adjudicated_charges",
    "denied_claims",
    "denied_dollars",
    "first_pass_paid",
    "originals_adjudicated",
    "clean_claims",
    "appeals_closed",
    "appeals_overturned",
    "collections",
    "collectible",
    "recovered",
    "ar_balance",
    *AGING.values(),
    "appeal_minutes",
    "denial_write_offs",
]


def _with_sums(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger with one numeric column per summed quantity."""
    adjudicated = ledger["adjudicated"]
    denied = ledger["denied"]
    rows = ledger.assign(
        claims=1,
        charges=ledger["charge"],
        adjudicated_claims=adjudicated.astype(int),
        adjudicated_charges=ledger["charge"].where(adjudicated, 0.0),
        denied_claims=denied.astype(int),
        denied_dollars=ledger["charge"].where(denied, 0.0),
        first_pass_paid=ledger["first_pass_paid"].astype(int),
        originals_adjudicated=(ledger["original"] & adjudicated).astype(int),
        clean_claims=ledger["clean"].astype(int),
        denial_write_offs=ledger["written_off"],
    )
    bucket = aging_bucket(ledger["age_days"])
    for label, name in AGING.items():
        rows[name] = ledger["ar_balance"].where(bucket == label, 0.0)
    return rows


def _by_denial_carc(rows: pd.DataFrame) -> pd.DataFrame:
    """Denied claims, one row per denial CARC they carry (`CO-197`, not `PR-3`)."""
    denied = rows[rows["denied"]]
    codes = denied["carc_codes"].map(lambda cell: denial_codes(split_list(cell)) or ["(none)"])
    return denied.assign(carc=codes).explode("carc")


def _daily_collectible(rows: pd.DataFrame, key: Sequence[str]) -> pd.Series | float:
    """Average collectible dollars a day of the claims submitted in the `RECENT_DAYS` days
    up to the ledger's date, per group: the denominator of days in A/R."""
    collectible = rows["collectible"].where(rows["age_days"] < RECENT_DAYS, 0.0)
    if not key:
        return float(collectible.sum()) / RECENT_DAYS
    return collectible.groupby([rows[name] for name in key], observed=True).sum() / RECENT_DAYS


def _ratio(top: pd.Series, bottom: pd.Series) -> pd.Series:
    """top / bottom, NaN where bottom is 0 (a rate of nothing is unknown, not 0)."""
    bottom = bottom.astype(float)
    return top.astype(float) / bottom.where(bottom != 0)


def _ratios(sums: pd.DataFrame, hour_cost: float, daily: pd.Series | float) -> pd.DataFrame:
    out = sums.copy()
    out["denial_rate"] = _ratio(out["denied_claims"], out["adjudicated_claims"])
    out["denial_rate_dollars"] = _ratio(out["denied_dollars"], out["adjudicated_charges"])
    out["first_pass_yield"] = _ratio(out["first_pass_paid"], out["adjudicated_claims"])
    out["clean_claim_rate"] = _ratio(out["clean_claims"], out["originals_adjudicated"])
    out["overturn_rate"] = _ratio(out["appeals_overturned"], out["appeals_closed"])
    out["net_collection_rate"] = _ratio(out["collections"], out["collectible"])
    daily_series = daily if isinstance(daily, pd.Series) else pd.Series(daily, index=out.index)
    out["days_in_ar"] = _ratio(out["ar_balance"], daily_series.reindex(out.index).fillna(0.0))
    out["appeal_hours"] = out["appeal_minutes"] / 60.0
    out["appeal_hours_per_recovered_dollar"] = _ratio(out["appeal_hours"], out["recovered"])
    cost = out["appeal_hours"] * hour_cost
    out["cost_to_collect"] = _ratio(cost, out["collections"])
    out["contribution_margin"] = out["collections"] - cost
    out["margin_rate"] = _ratio(out["contribution_margin"], out["collections"])
    integer = ["claims", "adjudicated_claims", "denied_claims", "appeals_closed"]
    out[integer] = out[integer].astype(int)
    return out


def as_records(table: pd.DataFrame) -> list[dict[str, object]]:
    """The rows as JSON objects: numbers as Python numbers, an unknown measure (a rate of
    nothing) as None (JSON null)."""
    return [
        {key: _plain(value) for key, value in row.items()}
        for row in table.to_dict(orient="records")
    ]


def _plain(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value
