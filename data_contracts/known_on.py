"""A data directory as it stood on a past day: what had been submitted, remitted and
acted on by then, and nothing later.

The KPIs compare a period with the one before on what was known then, the forecast's
backtest forecasts from past cut-offs, and a model can be trained on what a past day knew
and then judged on what came after: each needs the same cut, so it is made here once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd

from data_contracts.reader import ContractData


def appeals_known_on(appeals: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
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


def known_on(data: ContractData, day: date) -> ContractData:
    """`data` as of the end of `day`: claims submitted by then (and their lines), remits
    received by then, appeals as they stood (`appeals_known_on`), authorizations and
    eligibility that had started."""
    cutoff = pd.Timestamp(day)
    claims = data.claims[pd.to_datetime(data.claims["submission_date"]) <= cutoff]
    return replace(
        data,
        claims=claims,
        claim_lines=data.claim_lines[data.claim_lines["claim_id"].isin(claims["claim_id"])],
        remits=data.remits[pd.to_datetime(data.remits["received_date"]) <= cutoff],
        appeals=appeals_known_on(data.appeals, cutoff),
        authorizations=data.authorizations[
            pd.to_datetime(data.authorizations["start_date"]) <= cutoff
        ],
        eligibility=data.eligibility[pd.to_datetime(data.eligibility["coverage_start"]) <= cutoff],
    )
