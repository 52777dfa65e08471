"""Plausibility: the limits a value must keep to be believed, declared once for every way in.

The reader (through the column checks of `schemas` and the rules between tables in
`reader.reference_problems`) and the HTTP API (`serving.api.schemas`) take their
limits and their wording from here, so a file and a scoring request are refused
for the same values. The limits are wide enough for every real claim (the public
X12 samples date from 2002 to 2012, the synthetic data from 2024; the largest
public amount is a $211,366.97 Medicare Part A claim) and narrow enough to catch
what broken exports send: 1900-01-01 and 9999-12-31 placeholders, overflowed
amounts, identifiers with tabs, line breaks or NULs in them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd

EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)
DATE_RULE = f"must be a date from {EARLIEST_DATE} to {LATEST_DATE}"

MAX_AMOUNT = 10_000_000
"""Dollars, per amount (a charge, a payment, a recovery): far above any behavioral-health claim."""
AMOUNT_RULE = f"must be at most {MAX_AMOUNT:,.2f} dollars"

MAX_ID_LENGTH = 64
ID_LENGTH_RULE = f"must be at most {MAX_ID_LENGTH} characters"
IDENTIFIER = r"^[^\x00-\x20\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f])?$"
"""Printable text: no control character (Unicode Cc: C0, DEL, C1) anywhere, and no blank at
either end; blanks inside are allowed (X12 sends claim ids such as `PATIENT ACCOUNT NUMBER`).
The same regex works in Python, Arrow (RE2) and pydantic (Rust)."""
IDENTIFIER_RULE = "must be printable text: no control characters, no blank at either end"

CHARGE_TOLERANCE_CENTS = 1
CHARGE_RULE = "total_charge differs from the sum of the claim's line_charge by more than a cent"

_IDENTIFIER = re.compile(IDENTIFIER)


def checked_date(value: date) -> date:
    """`value`, or ValueError with `DATE_RULE`."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(DATE_RULE)
    return value


def checked_identifier(text: str) -> str:
    """`text`, or ValueError with `IDENTIFIER_RULE` (length is checked by the caller's schema)."""
    if not _IDENTIFIER.match(text):
        raise ValueError(IDENTIFIER_RULE)
    return text


def _cents(amounts: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(amounts, dtype=np.float64) * 100).astype(np.int64)


def charges_disagree(total: float, line_charges: Iterable[float]) -> bool:
    """True when one claim's `total_charge` is not the sum of its lines' `line_charge`."""
    lines = _cents(np.fromiter(line_charges, dtype=np.float64))
    return bool(abs(int(_cents(np.array([total]))[0]) - int(lines.sum())) > CHARGE_TOLERANCE_CENTS)


def amount_ok(amounts: pd.Series) -> pd.Series:
    """Amounts their own column accepts (present, 0 to `MAX_AMOUNT`)."""
    return amounts.notna() & amounts.between(0, MAX_AMOUNT)


def charge_mismatches(
    claim_id: pd.Series,
    total_charge: pd.Series,
    line_claim_id: pd.Series,
    line_charge: pd.Series,
    line_ok: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """Which claims' `total_charge` disagrees with the sum of their lines, and that sum.

    A claim is judged only when its total and every one of its line charges are amounts
    their own columns accept, its lines are all `line_ok` (e.g. not a repeated line), and
    it has lines: what is wrong there is reported there, once.
    """
    ok = (amount_ok(line_charge) & line_ok).to_numpy()
    lines = pd.DataFrame({"claim_id": line_claim_id.to_numpy(), "cents": 0, "ok": ok})
    lines.loc[ok, "cents"] = _cents(line_charge[ok].to_numpy())
    by_claim = lines.groupby("claim_id", sort=False).agg(cents=("cents", "sum"), ok=("ok", "all"))
    summed = by_claim.reindex(claim_id.to_numpy())
    judged = amount_ok(total_charge).to_numpy() & summed["ok"].fillna(False).to_numpy(dtype=bool)
    totals = _cents(total_charge.where(amount_ok(total_charge), 0).to_numpy())
    line_cents = summed["cents"].fillna(0).to_numpy(dtype=np.int64)
    bad = judged & (np.abs(totals - line_cents) > CHARGE_TOLERANCE_CENTS)
    return (
        pd.Series(bad, index=total_charge.index),
        pd.Series(line_cents / 100, index=total_charge.index),
    )
