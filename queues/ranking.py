"""The queue's order: expected net recovery per minute of effort, raised as a deadline nears.

A biller's hour should go where it recovers the most, so work items are
ranked by (P(recovered) × recoverable amount − the effort's cost) per minute
of effort. Within the policy's urgency window before a payer's (buffered)
deadline that rate is raised, up to ×(1 + urgency_weight) on the last day. An
item is written off as late only past a deadline that is configured or backed by
the payer's refusals of late work (`queues.deadlines`); past an unverified
deadline, or with none known, it is worked and flagged. Items the policy would
not work (expected net below its threshold, or accepted by a hard rule) come
last, as bill_patient or write_off. Vectorised: a million items rank in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts.enums import PAYER_ACTIONS
from features.claim_level import EPOCH
from queues.policy import Policy

CONTRACT_COLUMNS = [
    "claim_id",
    "rank",
    "denial_category",
    "p_recover",
    "expected_recovery",
    "effort_minutes",
    "action",
]
"""`denialops queue rank` writes these first, as the contract says; then deadline,
deadline_unverified and reason."""


def rank_items(items: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """`items` (from `queues.items.work_items`) with the final action, score, rank and a
    one-line reason, sorted by rank. `priority` is the rank turned round (n for rank 1), the
    order the persistent queue hands items out in."""
    p = items["p_recover"].to_numpy(float)
    amount = items["recoverable_amount"].to_numpy(float)
    effort = np.maximum(items["effort_minutes"].to_numpy(float), 1.0)
    category = items["denial_category"].to_numpy(object)
    expected = p * amount
    net = expected - policy.cost_per_minute * effort
    as_of = items["as_of_day"].to_numpy(float)
    days_left = items["deadline_day"].to_numpy(float) - policy.deadline_buffer_days - as_of
    write_off_left = items["write_off_day"].to_numpy(float) - policy.deadline_buffer_days - as_of
    threshold = _thresholds(items, policy)
    planned = items["action"].to_numpy(object)
    is_worked = np.isin(planned, PAYER_ACTIONS)
    past = is_worked & (write_off_left < 0)  # NaN (never written off as late) is not past
    worth = net >= threshold
    working = is_worked & ~past & worth
    accept = np.where(np.isin(category, policy.patient_liable), "bill_patient", "write_off")
    action = np.where(working | ~is_worked, planned, accept)
    urgency = 1.0 + policy.urgency_weight * np.clip(
        np.nan_to_num(1.0 - days_left / policy.urgency_window_days, nan=0.0), 0.0, 1.0
    )
    score = np.where(working, net / effort * urgency, np.nan)
    # Worked items by score; then accepted ones, the largest expected net first.
    order = np.lexsort((-net, -np.nan_to_num(score, nan=-np.inf), ~working))
    rank = np.empty(len(items), dtype=np.int64)
    rank[order] = np.arange(1, len(items) + 1)
    out = items.assign(
        action=action,
        expected_recovery=expected.round(2),
        expected_net=net.round(2),
        score=score,
        rank=rank,
        priority=(len(items) + 1 - rank).astype(float),
        deadline=EPOCH + pd.to_timedelta(items["deadline_day"], unit="D"),
        reason=_reasons(
            items, policy, action, is_worked, working, past, expected, net, threshold, urgency
        ),
    )
    return out.iloc[order].reset_index(drop=True)


def _thresholds(items: pd.DataFrame, policy: Policy) -> np.ndarray:
    """The policy's minimum expected net per item, resolved once per (payer, category)."""
    pairs = items[["payer_id", "denial_category"]].drop_duplicates()
    lookup = {
        (payer, category): policy.min_net(payer, category)
        for payer, category in pairs.itertuples(index=False)
    }
    return np.array(
        [lookup[pair] for pair in zip(items["payer_id"], items["denial_category"], strict=True)],
        dtype=float,
    )


def _reasons(
    items: pd.DataFrame,
    policy: Policy,
    action: np.ndarray,
    planned_work: np.ndarray,
    working: np.ndarray,
    past: np.ndarray,
    expected: np.ndarray,
    net: np.ndarray,
    threshold: np.ndarray,
    urgency: np.ndarray,
) -> list[str]:
    """One line a biller understands: what to do, and why this item sits where it does."""
    out = []
    rows = zip(
        action,
        planned_work,
        working,
        past,
        items["hard_rule"],
        items["p_recover"],
        items["recoverable_amount"],
        items["effort_minutes"],
        expected,
        net,
        threshold,
        urgency,
        items["deadline_day"] - items["as_of_day"],
        items["deadline_unverified"],
        strict=True,
    )
    for (
        act,
        planned,
        work,
        late,
        rule,
        p,
        amount,
        minutes,
        exp,
        value,
        floor,
        boost,
        left,
        unverified,
    ) in rows:
        if work:
            line = (
                f"{act}: {p:.0%} × ${amount:,.0f} = ${exp:,.0f} expected for ~{minutes:.0f} min "
                f"(${value / max(minutes, 1.0):,.2f} net a minute)"
            )
            if boost > 1.0:
                line += f"; deadline in {left:.0f} days, priority ×{boost:.1f}"
            if unverified:
                line += "; deadline unknown" if pd.isna(left) else "; payer's deadline unverified"
            if rule:
                line += f" ({rule})"
        elif rule:
            line = f"{act}: {rule}"
        elif not planned:
            line = f"{act}: the policy accepts these denials"
        elif late:
            line = (
                f"{act}: past the payer's deadline (less {policy.deadline_buffer_days} days' "
                "buffer)"
            )
        else:
            line = (
                f"{act}: expected ${exp:,.0f} less ${exp - value:,.0f} of effort is below "
                f"the ${floor:,.0f} worth working"
            )
        out.append(line)
    return out
