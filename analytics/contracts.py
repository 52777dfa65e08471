"""The payer contract review: each payer's measures over a period beside the period before.

RevOps reviews payer contracts every quarter: is the payer denying more, paying slower,
costing more appeal hours for what it pays? The measures are `analytics.kpis`' own, over
the claims submitted in each period (as far as the ledger knows today: the earlier period
has had longer to be paid, which the review shows rather than hides).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from analytics.kpis import kpis

REVIEW_MEASURES = (
    "claims",
    "charges",
    "denial_rate",
    "overturn_rate",
    "days_to_pay_median",
    "appeal_hours",
    "net_collection_rate",
    "collections",
    "contribution_margin",
)
"""The review's columns: volume, denial and overturn rates, days to pay, appeal hours, net
collection and contribution margin."""
PREVIOUS = "_previous"


def periods(end: date, months: int) -> tuple[tuple[date, date], tuple[date, date]]:
    """The period of `months` months ending on `end` (inclusive) and the one before it, as
    (first day, last day) pairs."""
    after = pd.Timestamp(end) + pd.Timedelta(days=1)
    start = after - pd.DateOffset(months=months)
    before_start = start - pd.DateOffset(months=months)
    before_end = start - pd.Timedelta(days=1)
    return (start.date(), end), (before_start.date(), before_end.date())


def submitted_between(ledger: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    """The ledger's claims submitted from `first` to `last`, both included."""
    submitted = ledger["submission_date"]
    return ledger[(submitted >= pd.Timestamp(first)) & (submitted <= pd.Timestamp(last))]


def contract_review(
    ledger: pd.DataFrame, end: date, months: int = 3, hour_cost: float = 0.0
) -> pd.DataFrame:
    """One row per payer seen in either period: `REVIEW_MEASURES` for the period of `months`
    months ending `end`, then the same for the period before (suffixed `_previous`); a payer
    absent from a period has empty measures there."""
    (first, last), (before_first, before_last) = periods(end, months)
    now = kpis(submitted_between(ledger, first, last), "payer", hour_cost)
    before = kpis(submitted_between(ledger, before_first, before_last), "payer", hour_cost)
    columns = ["payer_id", *REVIEW_MEASURES]
    merged = now[columns].merge(
        before[columns], on="payer_id", how="outer", suffixes=("", PREVIOUS)
    )
    return merged.sort_values("payer_id", kind="stable").reset_index(drop=True)
