"""Work items: every open denial, with what working it would recover and what it would cost.

An open denial is a remit whose codes map to a denial category (patient
responsibility and a lone CO-45 do not) and whose claim has no closed appeal.
Estimates come from the clinic's own history rather than from configuration:
the payer's expected payment (allowed over billed on paid claims), the effort
of each action (median minutes in the appeals table, by action, category and
payer, falling back to coarser groups where examples are few) and the payer's
deadlines (`queues.deadlines`, where a configured value overrides).
P(recovered) comes from the registered recovery model, for the action the
policy would take.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from data_contracts.denials import (
    NO_APPEAL_RIGHTS,
    UNPROCESSABLE,
    remit_denial_categories,
    split_list,
    timed_psychotherapy_claims,
)
from data_contracts.enums import PAYER_ACTIONS
from data_contracts.reader import ContractData
from features.claim_level import days
from model_bundle.recovery import RecoveryBundle, recovery_features
from model_bundle.registered import load_registered
from queues.deadlines import Deadline, Deadlines, Lags, concat_parts, deadlines_from
from queues.policy import Policy
from settings import Settings
from storage.schema import DETAILS

log = logging.getLogger(__name__)
MIN_EXAMPLES = 5
"""Fewest appeals of a group whose median effort is trusted over the coarser group's."""


@dataclass(frozen=True)
class History:
    """What the clinic's own past says about payers and appeal effort."""

    effort: dict[tuple, float]
    """Median minutes by (action, category, payer), (action, category) and (action,)."""
    allowed_ratio: dict[str, float]
    """Allowed over billed on the payer's paid claims (median), and '' for all payers."""

    def effort_minutes(self, action: str, category: str, payer_id: str, default: float) -> float:
        for key in ((action, category, payer_id), (action, category), (action,)):
            if key in self.effort:
                return self.effort[key]
        return default


def load_recovery(settings: Settings) -> tuple[RecoveryBundle, str]:
    """The registered recovery model and its version (`ModelUnavailableError` if none)."""
    model, version = load_registered(settings.recovery_model_uri, settings.resolved_tracking_uri())
    return model.bundle, version


@dataclass(frozen=True)
class Evidence:
    """What ranking learns from, claim by claim: each paid remit's allowed ratio, each
    appeal's effort (with the denial's category and the payer) and the deadlines' lags.
    The evidence of a directory is that of its parts (shards of whole claims) put together
    (`combined`), and what is learned from it depends on no row order."""

    ratios: pd.DataFrame
    """payer_id and allowed over billed, of the remits paid on a billed amount."""
    efforts: pd.DataFrame
    """action, category, payer_id and effort_minutes of each appeal."""
    lags: Lags

    @classmethod
    def of(cls, data: ContractData, category: pd.Series | None = None) -> Evidence:
        """`category`: `denial_categories(data)`, computed here when not given."""
        if category is None:
            category = denial_categories(data)
        remits = data.remits
        payers = data.claims.set_index("claim_id")["payer_id"]
        paid = remits[(remits["status"] == "paid") & (remits["billed_amount"] > 0)]
        ratios = pd.DataFrame(
            {
                "payer_id": payers.reindex(paid["claim_id"]).to_numpy(),
                "ratio": (paid["allowed_amount"] / paid["billed_amount"]).to_numpy(),
            }
        )
        appeals = data.appeals
        efforts = pd.DataFrame(
            {
                "action": appeals["action"].to_numpy(),
                "category": category.reindex(appeals["claim_id"]).to_numpy(),
                "payer_id": payers.reindex(appeals["claim_id"]).to_numpy(),
                "effort_minutes": appeals["effort_minutes"].to_numpy(),
            }
        )
        return cls(ratios, efforts, Lags.of(data))

    @classmethod
    def combined(cls, parts: Sequence[Evidence]) -> Evidence:
        return cls(
            concat_parts([part.ratios for part in parts]),
            concat_parts([part.efforts for part in parts]),
            Lags.combined([part.lags for part in parts]),
        )


def learn_history(evidence: Evidence) -> History:
    """Payers' allowed ratios and appeal effort by action, category and payer."""
    ratio = pd.Series(evidence.ratios["ratio"].to_numpy(), index=evidence.ratios["payer_id"])
    allowed = ratio.groupby(level=0).median().to_dict() | {"": float(ratio.median())}
    effort: dict[tuple, float] = {}
    if len(evidence.efforts):
        for keys in (["action", "category", "payer_id"], ["action", "category"], ["action"]):
            groups = evidence.efforts.groupby(keys)["effort_minutes"].agg(["median", "size"])
            groups = groups[groups["size"] >= MIN_EXAMPLES]
            for key, minutes in groups["median"].items():
                effort[key if isinstance(key, tuple) else (key,)] = float(minutes)
    return History(effort, allowed)


def denial_categories(data: ContractData) -> pd.Series:
    """The denial category of each remit, indexed by claim_id (NA where it is no denial)."""
    remits = data.remits
    timed = remits["claim_id"].isin(timed_psychotherapy_claims(data.claim_lines))
    category = remit_denial_categories(remits, pd.Series(timed.to_numpy(), index=remits.index))
    return category.set_axis(remits["claim_id"].to_numpy())


def open_denials(data: ContractData, category: pd.Series | None = None) -> pd.DataFrame:
    """Denied remits without a closed appeal, with their category and the claim's keys
    (`category`: `denial_categories(data)`, computed here when not given)."""
    remits = data.remits.reset_index(drop=True)
    if category is None:
        category = denial_categories(data)
    category = category.reset_index(drop=True)
    closed = data.appeals.loc[data.appeals["closed_date"].notna(), "claim_id"]
    keep = category.notna().to_numpy() & ~remits["claim_id"].isin(closed).to_numpy()
    denials = remits[keep].reset_index(drop=True)
    claims = data.claims.set_index("claim_id").reindex(denials["claim_id"])
    return denials.assign(
        denial_category=category[keep].to_numpy(),
        payer_id=claims["payer_id"].to_numpy(),
        patient_id=claims["patient_id"].to_numpy(),
        program=claims["program"].to_numpy(),
        clinician_id=claims["rendering_provider_id"].to_numpy(),
        service_date=claims["service_date"].to_numpy(),
        days_to_submit=days(claims["submission_date"]) - days(claims["service_date"]),
        remarks=denials["rarc_codes"].map(split_list),
    )


@dataclass(frozen=True)
class Learned:
    """What ranking learns from the whole history rather than from each denial: payers'
    allowed ratios, appeal effort and deadlines."""

    history: History
    deadlines: Deadlines


def learn(evidence: Evidence, policy: Policy) -> Learned:
    """`Learned` from the evidence of the whole directory."""
    return Learned(learn_history(evidence), deadlines_from(evidence.lags, policy))


def work_items(
    data: ContractData,
    recovery: RecoveryBundle,
    policy: Policy,
    as_of: date,
    learned: Learned | None = None,
) -> pd.DataFrame:
    """One row per open denial: category, the action the policy would take if it is worked
    (after the hard rules), P(recovered) for it, recoverable amount, effort, deadline (NaN:
    unknown) and the day past which it is written off as late (NaN: never), whether the
    deadlines it depends on are unverified, and the billed amount, which bounds what a
    biller may record as recovered; and the denial's `DETAILS`.

    Each row depends on its own claim and on `learned` only, so `data` may be a part of the
    directory holding whole claims (a shard of the Dask engine, `queues.distributed`) when
    `learned` comes from the whole of it; by default it is learned from `data`."""
    category = denial_categories(data)
    denials = open_denials(data, category)
    learned = learned or learn(Evidence.of(data, category), policy)
    history, deadlines = learned.history, learned.deadlines
    action = pd.Series(
        [
            _work_action(policy, deadlines.filing, c, remarks, payer, lag)
            for c, remarks, payer, lag in zip(
                denials["denial_category"],
                denials["remarks"],
                denials["payer_id"],
                denials["days_to_submit"],
                strict=True,
            )
        ],
        index=denials.index,
        dtype=object,
    )
    rule = action.map(lambda a: a[1])
    action = action.map(lambda a: a[0])
    features = recovery_features(data.claims, data.claim_lines, denials, action)
    p_recover = np.where(action.isin(PAYER_ACTIONS), 1.0, 0.0)
    if len(denials):
        p_recover = p_recover * recovery.score(features)
    ratio = denials["payer_id"].map(history.allowed_ratio).fillna(history.allowed_ratio[""])
    expected_payment = denials["billed_amount"].to_numpy(float) * ratio.to_numpy(float)
    amount = np.maximum(expected_payment - denials["paid_amount"].to_numpy(float), 0.0).round(2)
    effort = [
        history.effort_minutes(a, c, p, policy.default_effort_minutes)
        for a, c, p in zip(action, denials["denial_category"], denials["payer_id"], strict=True)
    ]
    received = days(denials["received_date"])
    window = [deadlines.appeal[payer] for payer in denials["payer_id"]]
    filing_unverified = (denials["denial_category"] == "timely_filing").to_numpy() & np.array(
        [deadlines.filing[payer].unverified for payer in denials["payer_id"]], dtype=bool
    )
    return pd.DataFrame(
        {
            "claim_id": denials["claim_id"].to_numpy(),
            "payer_id": denials["payer_id"].to_numpy(),
            "denial_category": denials["denial_category"].to_numpy(),
            "action": action.to_numpy(),
            "hard_rule": rule.to_numpy(),
            "p_recover": p_recover,
            "recoverable_amount": amount,
            "billed_amount": denials["billed_amount"].to_numpy(float),
            "effort_minutes": np.asarray(effort, dtype=float),
            "service_day": days(denials["service_date"]),
            "received_day": received,
            "deadline_day": received + _days(w.days for w in window),
            "write_off_day": received + _days(w.write_off_days for w in window),
            "deadline_unverified": np.array([w.unverified for w in window], dtype=bool)
            | filing_unverified,
            "as_of_day": days(pd.Series(pd.Timestamp(as_of))).item(),
            **{column: denials[column].to_numpy() for column in DETAILS},
        }
    )


def _days(values: Iterable[int | None]) -> np.ndarray:
    """Days as floats, NaN where unknown."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _work_action(
    policy: Policy,
    filing: dict[str, Deadline],
    category: str,
    remarks: list[str],
    payer: str,
    lag: float,
) -> tuple[str, str]:
    """The action if the denial is worked, and the hard rule that chose it ('' = policy).

    Billing rules come before any model: no appeal without appeal rights, and no
    timely-filing appeal of a claim sent past the payer's limit, when that limit is
    configured or backed by the payer's own CARC 29 refusals (else it is worked).
    """
    action = policy.action_for(category)
    no_rights = sorted(NO_APPEAL_RIGHTS & set(remarks))
    if action == "appeal" and no_rights:
        unprocessable = sorted(UNPROCESSABLE & set(no_rights))
        if unprocessable:
            return "corrected_claim", f"{unprocessable[0]}: unprocessable, send a corrected claim"
        return "write_off", f"{no_rights[0]}: no appeal rights"
    limit = filing[payer].write_off_days
    if category == "timely_filing" and action == "appeal" and limit is not None and lag > limit:
        return "write_off", f"sent {lag:.0f} days after service, past the {limit}-day filing limit"
    return action, ""
