"""The frames the tallies read: one row per claim (events and queries) and one per remit.

Both are built from contract frames alone, by the same functions in training
and in serving, so a key or a value cannot mean one thing in one path and
another in the other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts.denials import remit_denial_categories
from features.claim_level import REPLACEMENT_FREQUENCIES, days

REMIT_CATEGORY_FLAGS = (
    "time_code_mismatch",
    "credential_not_covered",
    "modifier_invalid",
    "dx_not_covered",
    "coverage_inactive",
    "visit_limit",
    "auth_exhausted",
    "timely_filing",
)


def claim_events(claims: pd.DataFrame, claim_level: pd.DataFrame) -> pd.DataFrame:
    """Keys and values of each claim, in the order of `claims` (a RangeIndex)."""
    c = claims.reset_index(drop=True)
    replaces = c["frequency_code"].isin(REPLACEMENT_FREQUENCIES)
    frame = pd.DataFrame(
        {
            "claim_id": c["claim_id"],
            # The claim a replacement or void replaces: never part of its own history.
            "original_claim_id": c["original_claim_id"].where(replaces),
            "patient_id": c["patient_id"],
            "payer_id": c["payer_id"],
            "program": c["program"],
            "facility_id": c["facility_id"],
            "rendering_provider_id": c["rendering_provider_id"],
            "provider_credential": c["provider_credential"],
            "place_of_service": c["place_of_service"],
            "prior_auth_id": c["prior_auth_id"],
            "has_prior_auth": c["prior_auth_id"].notna().to_numpy(),
            "service_day": days(c["service_date"]),
            "submission_day": days(c["submission_date"]),
            "service_year": c["service_date"].dt.year.to_numpy(),
            "everyone": 0,
            "one": 1.0,
        }
    )
    level = claim_level.reset_index(drop=True)
    for name in ("code_1", "modifier_pattern", "dx_category", "total_units", "days_to_submit"):
        frame[name] = level[name].to_numpy()
    return frame


def submission_order(events: pd.DataFrame) -> np.ndarray:
    """Rank of each claim in submission order (date, then claim id): what 'earlier' means."""
    order = np.lexsort((events["claim_id"].to_numpy(), events["submission_day"].to_numpy()))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def remit_events(
    remits: pd.DataFrame, claims: pd.DataFrame, timed_psychotherapy: pd.Series
) -> pd.DataFrame:
    """Each remit with its claim's keys and what it said: denied, and for which reason.

    `claims` is the claim-event frame with the stage-2 columns (`visit_number`);
    `timed_psychotherapy` is indexed by claim_id.
    """
    timed = timed_psychotherapy.reindex(remits["claim_id"]).fillna(False)
    category = remit_denial_categories(remits, pd.Series(timed.to_numpy(), index=remits.index))
    frame = pd.DataFrame(
        {
            "claim_id": remits["claim_id"].to_numpy(),
            "received_day": days(remits["received_date"]),
            "denied": category.notna().to_numpy().astype("float64"),
        }
    )
    frame["paid"] = frame["denied"] == 0
    for name in REMIT_CATEGORY_FLAGS:
        frame[f"is_{name}"] = (category == name).fillna(False).to_numpy()
    frame["is_auth"] = (
        frame["is_auth_exhausted"] | (category == "missing_auth").fillna(False).to_numpy()
    )
    for name in (*REMIT_CATEGORY_FLAGS, "auth"):
        frame[f"is_{name}"] = frame[f"is_{name}"].astype("float64")
    frame["one"] = 1.0
    keyed = claims.drop(columns=["one"]).set_index("claim_id")
    return frame.join(keyed, on="claim_id")
