"""The order of the queue: value per minute, deadlines, and what is not worth working."""

from __future__ import annotations

import pandas as pd

from queues.policy import default_policy
from queues.ranking import rank_items

AS_OF = 2000


def items(*rows: dict) -> pd.DataFrame:
    base = {
        "payer_id": "PY-A",
        "denial_category": "missing_auth",
        "action": "appeal",
        "hard_rule": "",
        "p_recover": 0.5,
        "recoverable_amount": 400.0,
        "effort_minutes": 30.0,
        "service_day": AS_OF - 60,
        "received_day": AS_OF - 20,
        "deadline_day": AS_OF + 70,
        "write_off_day": AS_OF + 70,
        "deadline_unverified": False,
        "as_of_day": AS_OF,
    }
    return pd.DataFrame([base | {"claim_id": f"C{i}"} | row for i, row in enumerate(rows)])


def ranks(frame: pd.DataFrame) -> list[str]:
    return rank_items(frame, default_policy())["claim_id"].tolist()


def test_more_net_recovery_per_minute_ranks_first() -> None:
    frame = items(
        {"recoverable_amount": 300.0},
        {"recoverable_amount": 300.0, "effort_minutes": 5.0},
        {"recoverable_amount": 900.0},
    )
    assert ranks(frame) == ["C1", "C2", "C0"]


def test_a_near_deadline_lifts_an_item_above_its_equal() -> None:
    policy = default_policy()
    soon = AS_OF + policy.deadline_buffer_days + 2
    frame = items({}, {"deadline_day": soon})
    ranked = rank_items(frame, policy)
    assert ranked["claim_id"].tolist() == ["C1", "C0"]
    assert "deadline in" in ranked.loc[0, "reason"]


def test_past_the_deadline_is_written_off_and_ranks_after_all_work() -> None:
    late = {"deadline_day": AS_OF - 1, "write_off_day": AS_OF - 1, "recoverable_amount": 5000.0}
    frame = items(late, {})
    ranked = rank_items(frame, default_policy())
    assert ranked["claim_id"].tolist() == ["C1", "C0"]
    assert ranked.loc[1, "action"] == "write_off"
    assert "deadline" in ranked.loc[1, "reason"]


def test_past_an_unverified_or_unknown_deadline_is_worked_and_flagged() -> None:
    """Lateness writes off only against a configured or refusal-backed deadline (issue 13)."""
    frame = items(
        {"deadline_day": AS_OF - 30, "write_off_day": float("nan"), "deadline_unverified": True},
        {"deadline_day": float("nan"), "write_off_day": float("nan"), "deadline_unverified": True},
        {"deadline_day": AS_OF - 30, "write_off_day": AS_OF + 40},
    )
    ranked = rank_items(frame, default_policy()).set_index("claim_id")
    assert (ranked["action"] == "appeal").all()
    assert "payer's deadline unverified" in ranked.loc["C0", "reason"]
    assert "deadline unknown" in ranked.loc["C1", "reason"]
    assert pd.isna(ranked.loc["C1", "deadline"])
    assert ranked.loc[["C0", "C1", "C2"], "deadline_unverified"].tolist() == [True, True, False]
    # Past the estimated deadline the priority is the highest; unknown gets no urgency.
    assert ranked.loc["C0", "score"] > ranked.loc["C1", "score"]


def test_not_worth_working_goes_last_as_write_off_or_bill_patient() -> None:
    frame = items(
        {"recoverable_amount": 20.0},
        {"recoverable_amount": 20.0, "denial_category": "visit_limit"},
        {},
    )
    ranked = rank_items(frame, default_policy()).set_index("claim_id")
    assert ranked.loc["C2", "rank"] == 1
    assert ranked.loc["C0", "action"] == "write_off"
    assert ranked.loc["C1", "action"] == "bill_patient"
    assert "worth working" in ranked.loc["C0", "reason"]


def test_a_hard_rule_is_kept_and_explained() -> None:
    frame = items({"action": "write_off", "hard_rule": "N211: no appeal rights", "p_recover": 0.0})
    ranked = rank_items(frame, default_policy())
    assert ranked.loc[0, "action"] == "write_off"
    assert ranked.loc[0, "reason"] == "write_off: N211: no appeal rights"


def test_ranks_are_one_to_n_in_order() -> None:
    frame = items(*({"recoverable_amount": float(a)} for a in (50, 500, 5, 250, 900)))
    ranked = rank_items(frame, default_policy())
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
