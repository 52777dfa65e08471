"""Payers' deadlines learned from the clinic's own history, never invented.

Two deadlines matter to a denial: the appeal window (days from the remit to the
appeal, corrected claim or rebill) and the timely-filing limit (days from
service to submission). Payers publish them in contracts a clinic seldom has at
hand, so they are estimated from what the payer did: lags it accepted (an appeal
decided on its merits, a claim it paid) and lags it refused as late (an appeal
upheld with `outcome_reason` `untimely`, a claim denied with CARC 29).

The estimate is the smallest cut-off with the fewest examples on the wrong side
(accepted beyond it, refused within it), so one odd record does not move it far,
and it is reported with its evidence. A deadline can justify writing an item off
only when the payer's own refusals back it, or revenue operations configured it:
a window learned from accepted lags alone is a lower bound (the payer may accept
later), so it is shown and ranks by, but flagged unverified; with no evidence
and no configuration the deadline is unknown (None) and the item is worked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from data_contracts.enums import PAYER_ACTIONS
from data_contracts.reader import ContractData
from features.claim_level import days
from queues.policy import Policy

Kind = Literal["appeal_window", "filing_limit"]
Source = Literal["configured", "learned", "unknown"]
UNTIMELY = "untimely"
LATE_FILING = r"(?:^|;)\s*[A-Z]{2}-29\s*(?:;|$)"
"""CARC 29, 'the time limit for filing has expired', under any group code."""


@dataclass(frozen=True)
class Deadline:
    """One payer's deadline of one kind, where it came from and the evidence behind it."""

    payer_id: str
    kind: Kind
    days: int | None
    """The deadline in days (None: unknown): configured, else the estimate."""
    source: Source
    n_accepted: int
    n_refused: int
    write_off_days: int | None
    """Past this many days an item is written off for lateness: the configured value, or one
    day short of the shortest lag beyond the estimate that the payer refused as late. None
    when neither exists: lateness is then never a reason to write off."""

    @property
    def unverified(self) -> bool:
        """True when lateness cannot be a reason to write off (no configuration, no refusal)."""
        return self.write_off_days is None


def cutoff(accepted: np.ndarray, refused: np.ndarray) -> int | None:
    """The smallest cut-off (accepted at or below it, refused above it) with the fewest
    examples on the wrong side; None without evidence."""
    if not len(accepted) and not len(refused):
        return None
    accepted, refused = np.sort(accepted), np.sort(refused)
    candidates = np.unique(np.concatenate([accepted, refused - 1]))
    wrong = (len(accepted) - np.searchsorted(accepted, candidates, side="right")) + np.searchsorted(
        refused, candidates, side="right"
    )
    return int(candidates[np.argmin(wrong)])


def estimate(
    payer_id: str, kind: Kind, accepted: np.ndarray, refused: np.ndarray, configured: int | None
) -> Deadline:
    """The payer's deadline from its accepted and refused lags, unless `configured`."""
    n_accepted, n_refused = len(accepted), len(refused)
    if configured is not None:
        return Deadline(payer_id, kind, configured, "configured", n_accepted, n_refused, configured)
    learned = cutoff(accepted, refused)
    if learned is None:
        return Deadline(payer_id, kind, None, "unknown", 0, 0, None)
    beyond = refused[refused > learned]
    write_off = int(beyond.min()) - 1 if len(beyond) else None
    return Deadline(payer_id, kind, learned, "learned", n_accepted, n_refused, write_off)


@dataclass(frozen=True)
class Deadlines:
    """Every payer's appeal window and filing limit."""

    appeal: dict[str, Deadline]
    filing: dict[str, Deadline]

    def table(self) -> pd.DataFrame:
        """One row per payer and kind, for `policy show` and the policy report."""
        rows = [*self.appeal.values(), *self.filing.values()]
        return pd.DataFrame(
            [
                {
                    "payer_id": d.payer_id,
                    "deadline": d.kind,
                    "days": d.days,
                    "source": d.source,
                    "accepted": d.n_accepted,
                    "refused": d.n_refused,
                    "write_off_after": d.write_off_days,
                }
                for d in rows
            ],
            columns=[
                "payer_id",
                "deadline",
                "days",
                "source",
                "accepted",
                "refused",
                "write_off_after",
            ],
        ).astype({"days": "Int64", "write_off_after": "Int64"})


def appeal_lags(data: ContractData) -> pd.DataFrame:
    """Decided requests to the payer (appeals, corrected claims, rebills): payer_id, the days
    from the claim's latest remit before the request to the request, and whether the payer
    refused it as untimely. Pending requests say nothing yet and are left out."""
    appeals = data.appeals
    reason = (
        appeals["outcome_reason"]
        if "outcome_reason" in appeals.columns
        else pd.Series(pd.NA, index=appeals.index, dtype="string")
    )
    decided = appeals["action"].isin(PAYER_ACTIONS) & (appeals["outcome"] != "pending")
    asked = appeals.loc[decided, ["claim_id", "action_date"]].assign(
        refused=(reason[decided] == UNTIMELY).fillna(False).to_numpy(bool)
    )
    remits = data.remits[["claim_id", "received_date"]].dropna()
    joined = pd.merge_asof(
        asked.sort_values("action_date"),
        remits.sort_values("received_date"),
        left_on="action_date",
        right_on="received_date",
        by="claim_id",
    ).dropna(subset=["received_date"])
    payer = data.claims.drop_duplicates("claim_id").set_index("claim_id")["payer_id"]
    return pd.DataFrame(
        {
            "payer_id": payer.reindex(joined["claim_id"]).to_numpy(),
            "lag": days(joined["action_date"]) - days(joined["received_date"]),
            "refused": joined["refused"].to_numpy(bool),
        }
    )


def filing_lags(data: ContractData) -> pd.DataFrame:
    """Adjudicated claims: payer_id, days from service to submission, and whether the payer
    refused the claim as filed late (CARC 29). Accepted: paid in whole or part without it."""
    remits = data.remits
    late = remits["carc_codes"].fillna("").str.contains(LATE_FILING, regex=True)
    paid = remits["status"].isin(["paid", "partial"]) & ~late
    claims = data.claims.drop_duplicates("claim_id").set_index("claim_id")
    ids = remits.loc[late | paid, "claim_id"]
    judged = claims.reindex(ids)
    return pd.DataFrame(
        {
            "payer_id": judged["payer_id"].to_numpy(),
            "lag": days(judged["submission_date"]) - days(judged["service_date"]),
            "refused": late[late | paid].to_numpy(bool),
        }
    ).dropna(subset=["payer_id"])


@dataclass(frozen=True)
class Lags:
    """What deadlines are learned from: the claims' payers and the lags of `appeal_lags` and
    `filing_lags`. Each lag is one claim's, so the lags of a directory are those of its parts
    (shards of whole claims) put together."""

    payers: frozenset[str]
    appeal: pd.DataFrame
    filing: pd.DataFrame

    @classmethod
    def of(cls, data: ContractData) -> Lags:
        return cls(
            frozenset(data.claims["payer_id"].dropna()), appeal_lags(data), filing_lags(data)
        )

    @classmethod
    def combined(cls, parts: Sequence[Lags]) -> Lags:
        return cls(
            frozenset().union(*(part.payers for part in parts)),
            concat_parts([part.appeal for part in parts]),
            concat_parts([part.filing for part in parts]),
        )


def concat_parts(frames: Sequence[pd.DataFrame], ignore_index: bool = True) -> pd.DataFrame:
    """Parts of one table as one, in order; an empty part (which has the columns but not
    always their dtypes) is left out unless all are."""
    kept = [frame for frame in frames if len(frame)] or frames[:1]
    return pd.concat(kept, ignore_index=ignore_index)


def learn_deadlines(data: ContractData, policy: Policy) -> Deadlines:
    """Every payer's appeal window and filing limit (of the claims' payers and those the
    policy configures): configured where the policy says, else learned, else unknown."""
    return deadlines_from(Lags.of(data), policy)


def deadlines_from(lags: Lags, policy: Policy) -> Deadlines:
    """`learn_deadlines` from the lags (the sorted lags of each payer: their order is not
    used)."""
    payers = sorted(lags.payers | set(policy.payers))
    found: dict[Kind, dict[str, Deadline]] = {}
    for kind, kind_lags, configured in (
        ("appeal_window", lags.appeal, policy.window_days),
        ("filing_limit", lags.filing, policy.filing_limit),
    ):
        by_payer = {payer: group for payer, group in kind_lags.groupby("payer_id")}
        empty = kind_lags.iloc[:0]
        found[kind] = {}
        for payer in payers:
            group = by_payer.get(payer, empty)
            lag, refused = group["lag"].to_numpy("int64"), group["refused"].to_numpy(bool)
            found[kind][payer] = estimate(
                payer, kind, lag[~refused], lag[refused], configured(payer)
            )
    return Deadlines(found["appeal_window"], found["filing_limit"])
