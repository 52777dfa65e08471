"""What a billing team did about past denials, and the truth about what working them recovers.

Each category has the action billers take for it, a base chance that working
it recovers the money, and the minutes it takes; payers differ in how readily
they overturn. History is imperfect: billers sometimes write off what was
worth appealing, and appeals still open at the extract date are pending.

Some requests go in close to the payer's appeal window (a backlog, a lost
remit), about one in seven; those past it are upheld as `untimely` whatever
their merit, which is how a clinic's history comes to show its payers' windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RECOVERY = {
    # category: (usual action, P(recovered) before payer effects, minutes of effort)
    "missing_auth": ("appeal", 0.35, 60),
    "auth_exhausted": ("appeal", 0.45, 50),
    "visit_limit": ("appeal", 0.15, 40),
    "timely_filing": ("appeal", 0.20, 45),
    "coverage_inactive": ("rebill", 0.75, 25),
    "time_code_mismatch": ("corrected_claim", 0.80, 15),
    "credential_not_covered": ("corrected_claim", 0.35, 35),
    "modifier_invalid": ("corrected_claim", 0.90, 10),
    "dx_not_covered": ("corrected_claim", 0.55, 20),
    "duplicate": ("write_off", 0.02, 5),
    "bundling": ("corrected_claim", 0.60, 20),
    "medical_necessity": ("appeal", 0.40, 90),
    "missing_info": ("corrected_claim", 0.85, 15),
    "other": ("appeal", 0.30, 45),
}
NEAR_WINDOW = 0.15
"""Share of requests made within `WINDOW_SPREAD` days either side of the payer's window."""
WINDOW_SPREAD = 10
UPHELD_REASONS = ("no_new_information", "not_covered", "other")


@dataclass
class Recovery:
    appeals: pd.DataFrame
    p_recover: pd.Series
    effort_minutes: pd.Series


def appeals_for(
    rng: np.random.Generator,
    claims: pd.DataFrame,
    outcome: pd.DataFrame,
    remits: pd.DataFrame,
    payers: pd.DataFrame,
    as_of_day: int,
) -> Recovery:
    """True recovery odds and effort for every denial; the appeals worked before `as_of_day`."""
    denied = outcome["denied"].to_numpy()
    category = outcome["category"].to_numpy()
    payer = claims["payer"].to_numpy()
    friendliness = payers["appeal_friendliness"].to_numpy()[payer]
    base_p = np.array([RECOVERY[c][1] for c in category])
    base_minutes = np.array([RECOVERY[c][2] for c in category], dtype=float)
    severity = claims["severity"].to_numpy()
    necessity_boost = np.where(category == "medical_necessity", np.exp(0.3 * severity), 1.0)
    p_recover = np.clip(base_p * friendliness * necessity_boost, 0.01, 0.97)
    effort = (
        base_minutes
        / np.sqrt(friendliness)
        * (1 + 0.15 * (claims["total_charge"].to_numpy() > 1000))
    )
    index = claims.index
    truth_p = pd.Series(np.where(denied, p_recover, np.nan), index=index)
    truth_effort = pd.Series(np.where(denied, effort, np.nan), index=index)

    received = remits["received_day"].to_numpy()
    n = len(claims)
    worked = denied & (received <= as_of_day) & (rng.random(n) < 0.7)
    action = np.array([RECOVERY[c][0] for c in category], dtype=object)
    habit = rng.random(n)
    action = np.where(habit < 0.12, "write_off", action)
    action = np.where((category == "visit_limit") & (habit > 0.7), "bill_patient", action)
    recovers = np.isin(action, ["appeal", "corrected_claim", "rebill"])
    window = payers["appeal_window_days"].to_numpy()[payer]
    near = recovers & (rng.random(n) < NEAR_WINDOW)
    lag = np.where(
        near,
        window + rng.integers(-WINDOW_SPREAD, WINDOW_SPREAD + 1, n),
        rng.integers(3, 45, n),
    )
    action_day = received + lag
    worked &= action_day <= as_of_day
    untimely = recovers & (lag > window)
    overturned = recovers & ~untimely & (rng.random(n) < p_recover)
    closed_day = np.where(
        recovers,
        action_day + np.where(untimely, rng.integers(7, 30, n), rng.integers(14, 75, n)),
        action_day,
    )
    still_open = closed_day > as_of_day
    expected_payment = (
        claims["total_charge"].to_numpy() * payers["allowed_fraction"].to_numpy()[payer]
    )
    patient_paid = (action == "bill_patient") & (rng.random(n) < 0.5)
    recovered = np.round(
        np.where(overturned, expected_payment * rng.uniform(0.85, 1.0, n), 0.0)
        + np.where(patient_paid, expected_payment * rng.uniform(0.3, 1.0, n), 0.0),
        2,
    )
    result = np.where(overturned, "overturned", "upheld")
    reason = np.where(untimely, "untimely", rng.choice(np.array(UPHELD_REASONS, dtype=object), n))
    reason = np.where(recovers & ~overturned & ~still_open, reason, None)
    appeals = pd.DataFrame(
        {
            "claim": index,
            "action": action,
            "action_day": action_day,
            "effort_minutes": np.maximum(1, np.round(effort * rng.lognormal(0, 0.35, n))).astype(
                np.int64
            ),
            "outcome": np.where(still_open, "pending", result),
            "recovered_amount": np.where(still_open, 0.0, recovered),
            "closed_day": pd.Series(closed_day, dtype="Float64").where(~still_open).to_numpy(),
            "outcome_reason": reason,
        }
    )[worked]
    return Recovery(appeals.reset_index(drop=True), truth_p, truth_effort)
