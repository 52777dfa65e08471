"""Payers' deadlines from history: the estimate, its evidence, configuration, and what it
does to the queue when evidence is thin or absent."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from data_contracts.reader import ContractData
from features.pipeline import day_after_latest
from queues.deadlines import cutoff, estimate, learn_deadlines
from queues.items import work_items
from queues.policy import PayerOverride, default_policy
from queues.ranking import rank_items


def lags(*values: int) -> np.ndarray:
    return np.array(values, dtype="int64")


@pytest.mark.parametrize(
    ("accepted", "refused", "expected"),
    [
        (lags(10, 40, 88), lags(), 88),  # a lower bound: the payer took 88 days
        (lags(), lags(95, 120), 94),  # an upper bound: it refused 95 days
        (lags(10, 80, 88), lags(91, 95), 88),  # the smallest cut-off between them
        (lags(10, 30, 85, 89, 95), lags(31, 91, 93, 97), 89),  # fewest on the wrong side: 2
        (lags(), lags(), None),
    ],
)
def test_the_cutoff_has_the_fewest_examples_on_the_wrong_side(accepted, refused, expected):
    assert cutoff(accepted, refused) == expected


def test_only_refusals_make_a_deadline_to_write_off_by() -> None:
    accepted_only = estimate("P", "appeal_window", lags(10, 88), lags(), None)
    assert (accepted_only.days, accepted_only.source, accepted_only.unverified) == (
        88,
        "learned",
        True,
    )
    both = estimate("P", "appeal_window", lags(10, 50, 70, 88), lags(91, 95, 30), None)
    assert (both.days, both.write_off_days, both.n_accepted, both.n_refused) == (88, 90, 4, 3)
    assert not both.unverified
    unknown = estimate("P", "appeal_window", lags(), lags(), None)
    assert (unknown.days, unknown.source, unknown.unverified) == (None, "unknown", True)
    configured = estimate("P", "appeal_window", lags(10, 88), lags(91), 60)
    assert (configured.days, configured.source, configured.write_off_days) == (60, "configured", 60)


def test_the_generators_windows_and_limits_are_recovered(queue_data, queue_synthetic) -> None:
    """Held out: truth.csv holds each claim's payer's true deadlines."""
    truth = queue_synthetic.truth.merge(queue_synthetic.tables["claims"], on="claim_id")
    true = truth.groupby("payer_id")[["appeal_window_days", "filing_limit_days"]].first()
    learned = learn_deadlines(queue_data, default_policy())
    for kind, column in (("appeal", "appeal_window_days"), ("filing", "filing_limit_days")):
        found = getattr(learned, kind)
        error = pd.Series({payer: found[payer].days - days for payer, days in true[column].items()})
        assert error.abs().max() <= 10, (kind, error.to_dict())
        assert (error.abs() <= 3).mean() >= 0.75, (kind, error.to_dict())
        assert all(found[payer].n_refused > 0 for payer in true.index)


def _ranked(data: ContractData, recovery, policy=None) -> pd.DataFrame:
    policy = policy or default_policy()
    return rank_items(work_items(data, recovery, policy, day_after_latest(data)), policy)


def test_older_history_without_reasons_flags_every_window_and_writes_none_off_as_late(
    queue_data, recovery
) -> None:
    """Before `outcome_reason` no refusal is known: windows are lower bounds, never a reason
    to write off; a configured window still is."""
    old = dataclasses.replace(queue_data, appeals=queue_data.appeals.drop(columns="outcome_reason"))
    learned = learn_deadlines(old, default_policy())
    assert {d.n_refused for d in learned.appeal.values()} == {0}
    ranked = _ranked(old, recovery)
    assert ranked.loc[ranked["deadline"].notna()].shape[0] == len(ranked)
    assert ranked["deadline_unverified"].all()
    assert not ranked["reason"].str.contains("past the payer's deadline").any()

    payer = ranked["payer_id"].iloc[0]
    strict = default_policy().model_copy(
        update={"payers": {payer: PayerOverride(appeal_window_days=1)}}
    )
    configured = _ranked(old, recovery, strict)
    of_payer = configured[configured["payer_id"] == payer]
    worked_before = ranked.loc[ranked["payer_id"] == payer, "action"].isin(["appeal", "rebill"])
    assert worked_before.any()
    assert of_payer["reason"].str.contains("past the payer's deadline").any()
    assert not of_payer["deadline_unverified"].any()


def test_with_no_evidence_and_no_configuration_the_deadline_is_unknown_and_worked(
    queue_data, recovery
) -> None:
    empty = dataclasses.replace(queue_data, appeals=queue_data.appeals.iloc[:0])
    ranked = _ranked(empty, recovery)
    assert ranked["deadline"].isna().all()
    assert ranked["deadline_unverified"].all()
    assert not ranked["reason"].str.contains("past the payer's deadline").any()
    worked = ranked["action"].isin(["appeal", "corrected_claim", "rebill"])
    assert ranked.loc[worked, "reason"].str.contains("deadline unknown").all()
