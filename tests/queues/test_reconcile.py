"""Why a claim left the ranking, read from the data directory the ranking was built from."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pandas as pd

from data_contracts.reader import ContractData
from queues.items import open_denials
from queues.reconcile import closure_reasons
from queues.store import WorkQueue
from tests.queues.test_store import ranking


def test_a_claim_is_not_in_ranking_exactly_when_it_is_still_an_open_denial(
    queue_data: ContractData,
) -> None:
    """The reasons mirror what the ranking keeps out, for every claim of the data."""
    claims = [*queue_data.claims["claim_id"], "NOT-A-CLAIM"]
    reasons = pd.Series(closure_reasons(queue_data, claims))
    still_open = set(open_denials(queue_data)["claim_id"])
    assert set(reasons.index[reasons == "not_in_ranking"]) == still_open
    remitted = set(queue_data.remits["claim_id"])
    assert set(reasons.index[reasons == "not_in_data"]) == set(claims) - remitted
    appeals = queue_data.appeals
    closed = set(appeals.loc[appeals["closed_date"].notna(), "claim_id"])
    assert set(reasons.index[reasons == "appeal_closed"]) == closed & remitted
    paid = set(queue_data.remits.loc[queue_data.remits["status"] == "paid", "claim_id"])
    not_denied = set(reasons.index[reasons == "not_denied"])
    assert paid - closed <= not_denied
    assert not_denied == remitted - closed - still_open
    assert set(reasons.value_counts().index) == {
        "not_in_ranking",
        "not_in_data",
        "appeal_closed",
        "not_denied",
    }


def test_a_later_remit_or_a_closed_appeal_closes_the_queue_item_with_its_reason(
    queue_data: ContractData, queue: WorkQueue
) -> None:
    """Two open denials, then the next extract: one paid on a later remit, one whose appeal
    closed outside the queue; the load closes each with that reason."""
    paid_later, appealed = open_denials(queue_data)["claim_id"].head(2)
    queue.load(ranking({paid_later: 2.0, appealed: 1.0}), actor="ranker", policy_version="1")
    remits = queue_data.remits.copy()
    row = remits["claim_id"] == paid_later
    remits.loc[row, ["status", "carc_codes", "rarc_codes"]] = ["paid", "CO-45", pd.NA]
    remits.loc[row, "paid_amount"] = remits.loc[row, "allowed_amount"]
    closing = pd.DataFrame(
        {
            "claim_id": [appealed],
            "action": ["appeal"],
            "action_date": [pd.Timestamp("2025-01-02")],
            "effort_minutes": pd.array([30], dtype="Int64"),
            "outcome": ["upheld"],
            "recovered_amount": [0.0],
            "closed_date": [pd.Timestamp("2025-02-01")],
            "outcome_reason": ["no_new_information"],
        }
    )
    later = replace(
        queue_data,
        remits=remits,
        appeals=pd.concat([queue_data.appeals, closing.astype(queue_data.appeals.dtypes)]),
    )
    assert not {paid_later, appealed} & set(open_denials(later)["claim_id"])

    counts = queue.load(
        ranking({}),
        actor="ranker",
        policy_version="1",
        explain=partial(closure_reasons, later),
        force=True,  # the ranking is empty; force says every open claim really is settled
    )

    assert counts.closed == {"appeal_closed": 1, "not_denied": 1}
    assert queue.item(paid_later).closed_reason == "not_denied"
    assert queue.item(appealed).closed_reason == "appeal_closed"
