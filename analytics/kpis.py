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

import numpy as np
import pandas as pd

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
AGING_EDGES = np.array([30, 60, 90, 120])
"""Days since submission ending each A/R bucket but the last (0-30, 31-60, ..., 120+)."""
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
    biller hour, for cost to collect and contribution margin.

    Each sum is one `np.bincount` over the rows' group numbers: a million claims take a
    fraction of a second per breakdown."""
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"cannot break KPIs down by {by!r}: choose one of {', '.join(DIMENSIONS)}")
    column = DIMENSIONS.get(by) if by else None
    rows, groups, labels = _grouping(ledger, column)
    size = len(labels)
    every_row = len(rows) == len(ledger)  # rows is then 0..n-1: no copy needed
    sums = pd.DataFrame(
        {
            name: np.bincount(groups, weights=values if every_row else values[rows], minlength=size)
            for name, values in _quantities(ledger).items()
        }
    )
    paid_days = pd.Series(ledger["days_to_pay"].to_numpy(dtype=float)[rows])
    by_group = paid_days.groupby(groups)
    sums["days_to_pay_median"] = by_group.median().reindex(range(size))
    sums["days_to_pay_p90"] = by_group.quantile(0.9).reindex(range(size))
    if column in DENIAL_DIMENSIONS:  # the denominators are every adjudicated claim
        sums["adjudicated_claims"] = float(ledger["adjudicated"].sum())
        sums["adjudicated_charges"] = float(ledger["charge"].where(ledger["adjudicated"], 0).sum())
    table = _ratios(sums, hour_cost)
    if column in DENIAL_DIMENSIONS:  # measures of all claims, not of denied ones
        table[["first_pass_yield", "clean_claim_rate"]] = np.nan
    if column in TIME_DIMENSIONS:  # A/R of a past month is a balance as of that month
        table["days_in_ar"] = np.nan
    if column is None:
        return table[list(MEASURES)]
    table.insert(0, column, labels)
    seen = table[table["claims"] > 0]  # a payer, program... with no claims in these rows
    return seen.sort_values(column, kind="stable").reset_index(drop=True)[[column, *MEASURES]]


def _grouping(ledger: pd.DataFrame, column: str | None) -> tuple[np.ndarray, np.ndarray, list]:
    """The ledger rows a breakdown counts (positions; a claim may count twice by CARC),
    each one's group number, and the groups' labels."""
    if column is None:
        return np.arange(len(ledger)), np.zeros(len(ledger), dtype=np.int64), [None]
    if column == "carc":
        return _denial_carcs(ledger)
    if column == "denial_category":
        rows = np.flatnonzero(ledger["denied"].to_numpy(dtype=bool))
        groups, labels = pd.factorize(ledger["denial_category"].to_numpy(dtype=object)[rows])
        return rows, groups, list(labels)
    values = ledger[column]
    groups = values.cat.codes.to_numpy(dtype=np.int64)
    rows = np.flatnonzero(groups >= 0)
    return rows, groups[rows], list(values.cat.categories)


def _denial_carcs(ledger: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list]:
    """Denied claims, once per denial CARC they carry (`CO-197`, not `PR-3`; `(none)` for a
    denial without codes). The codes are split once per distinct cell, not per claim."""
    denied = np.flatnonzero(ledger["denied"].to_numpy(dtype=bool))
    cell_of_row, cells = pd.factorize(
        ledger["carc_codes"].to_numpy(dtype=object, na_value="")[denied]
    )
    lists = [denial_codes(split_list(cell)) or ["(none)"] for cell in cells]
    lengths = np.array([len(codes) for codes in lists], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    repeat = lengths[cell_of_row]
    rows = np.repeat(denied, repeat)
    first_of_row = np.repeat(np.cumsum(repeat) - repeat, repeat)
    flat = np.repeat(starts[cell_of_row], repeat) + np.arange(len(rows)) - first_of_row
    groups, labels = pd.factorize(np.concatenate(lists)[flat] if len(flat) else np.array([]))
    return rows, groups, list(labels)


def _quantities(ledger: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per ledger row, each summed quantity (a count of 0/1 or dollars/minutes)."""

    def flag(name: str) -> np.ndarray:
        return ledger[name].to_numpy(dtype=bool)

    def amount(name: str) -> np.ndarray:
        return ledger[name].to_numpy(dtype=float)

    adjudicated, denied, charge = flag("adjudicated"), flag("denied"), amount("charge")
    ar_balance = amount("ar_balance")
    age = ledger["age_days"].to_numpy()
    bucket = np.searchsorted(AGING_EDGES, age, side="left")
    recent = age < RECENT_DAYS
    return {
        "claims": np.ones(len(ledger)),
        "charges": charge,
        "adjudicated_claims": adjudicated.astype(float),
        "adjudicated_charges": np.where(adjudicated, charge, 0.0),
        "denied_claims": denied.astype(float),
        "denied_dollars": np.where(denied, charge, 0.0),
        "first_pass_paid": flag("first_pass_paid").astype(float),
        "originals_adjudicated": (flag("original") & adjudicated).astype(float),
        "clean_claims": flag("clean").astype(float),
        "appeals_closed": amount("appeals_closed"),
        "appeals_overturned": amount("appeals_overturned"),
        "collections": amount("collections"),
        "collectible": amount("collectible"),
        "recent_collectible": np.where(recent, amount("collectible"), 0.0),
        "recovered": amount("recovered"),
        "ar_balance": ar_balance,
        **{name: np.where(bucket == i, ar_balance, 0.0) for i, name in enumerate(AGING.values())},
        "appeal_minutes": amount("appeal_minutes"),
        "denial_write_offs": amount("written_off"),
    }


def _ratio(top: pd.Series, bottom: pd.Series) -> pd.Series:
    """top / bottom, NaN where bottom is 0 (a rate of nothing is unknown, not 0)."""
    bottom = bottom.astype(float)
    return top.astype(float) / bottom.where(bottom != 0)


def _ratios(sums: pd.DataFrame, hour_cost: float) -> pd.DataFrame:
    out = sums.copy()
    out["denial_rate"] = _ratio(out["denied_claims"], out["adjudicated_claims"])
    out["denial_rate_dollars"] = _ratio(out["denied_dollars"], out["adjudicated_charges"])
    out["first_pass_yield"] = _ratio(out["first_pass_paid"], out["adjudicated_claims"])
    out["clean_claim_rate"] = _ratio(out["clean_claims"], out["originals_adjudicated"])
    out["overturn_rate"] = _ratio(out["appeals_overturned"], out["appeals_closed"])
    out["net_collection_rate"] = _ratio(out["collections"], out["collectible"])
    out["days_in_ar"] = _ratio(out["ar_balance"], out["recent_collectible"] / RECENT_DAYS)
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


def format_measure(name: str, value: object) -> str:
    """A measure as a person reads it, in its unit (`format_value`)."""
    return format_value(value, UNITS.get(name, "count"))


def format_value(value: object, unit: str) -> str:
    """A number as the tables show it, by unit: fractions to a tenth of a percent, dollars
    whole with a sign, counts whole, days and hours to a tenth, decimals (ROC-AUC, ECE, PSI)
    to a thousandth; a dash when unknown (a rate of nothing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    number = float(value)  # type: ignore[arg-type]
    if unit == "fraction":
        return f"{number:.1%}"
    if unit == "dollars":
        return f"-${-number:,.0f}" if number < 0 else f"${number:,.0f}"
    if unit == "count":
        return f"{number:,.0f}"
    if unit == "hours per dollar":
        return f"{number:.4f}"
    if unit == "decimal":  # a score of 0 to 1 read to the third place (ROC-AUC, PSI)
        return f"{number:.3f}"
    return f"{number:,.1f}"
