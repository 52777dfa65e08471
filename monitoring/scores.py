"""The claims a monitor judges: each one's score, the outcome that came later, and the
point-in-time features it was scored from.

A score is the one the service or the batch command kept (the scoring audit) when there
is one: that is what the hook was told. A claim of the directory without a kept score is
scored now by the champion from its point-in-time features (the training path: only the
history before the claim's submission), so a fresh data directory can be monitored too.
Outcomes are the contract's label (`denial_outcomes`) of claims whose first remit is in
the directory; the rest are pending, which only the label-free estimate can judge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from data_contracts.denials import denial_outcomes
from data_contracts.reader import ContractData
from features.pipeline import build_features
from model_bundle.denial import DenialRiskBundle

log = logging.getLogger(__name__)
KEPT, SCORED_NOW = "kept", "scored now"
KEPT_COLUMNS = ["claim_id", "model_version", "p_denial", "top_fix"]
"""What a kept score must say (the scoring audit's latest score per claim)."""


@dataclass(frozen=True)
class ScoredClaims:
    """The claims submitted in the monitored period, one row each (indexed by claim_id):
    payer_id, program, code (the first line's procedure code), submission_date, week (its
    Monday), p_denial, source (`kept` or `scored now`), model_version, top_fix (kept scores
    only), denied (1/0, missing while pending) and category (the realized denial category);
    and their features."""

    claims: pd.DataFrame
    features: pd.DataFrame
    since: date
    until: date

    @property
    def adjudicated(self) -> pd.DataFrame:
        return self.claims[self.claims["denied"].notna()]

    @property
    def pending(self) -> pd.DataFrame:
        return self.claims[self.claims["denied"].isna()]


def scored_claims(
    data: ContractData,
    bundle: DenialRiskBundle,
    version: str,
    since: date,
    kept: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
    shadow: pd.DataFrame | None = None,
) -> ScoredClaims:
    """The claims of `data` submitted from `since` on, scored (see the module docstring);
    `kept` holds the kept scores (`KEPT_COLUMNS`), `version` is the champion's; `shadow` the
    challenger's shadow scores (the same columns), kept beside as `shadow_p_denial` and
    `shadow_version` where there is one."""
    progress = progress or (lambda step: log.info("monitor: %s", step))
    progress("point-in-time features")
    features = build_features(data, progress)
    claims = data.claims.set_index("claim_id")
    submitted = pd.to_datetime(claims["submission_date"])
    window = claims.index[(submitted >= pd.Timestamp(since)).to_numpy()]
    features = features.loc[window]
    frame = pd.DataFrame(
        {
            "payer_id": claims.loc[window, "payer_id"].astype("string"),
            "program": claims.loc[window, "program"].astype("string"),
            "code": features["code_1"].astype("string"),
            "submission_date": submitted.loc[window],
        },
        index=window,
    )
    frame["week"] = frame["submission_date"].dt.to_period("W-SUN").dt.start_time
    progress("scores")
    frame = _with_scores(frame, features, bundle, version, kept)
    frame = _with_shadow(frame, shadow)
    outcomes = denial_outcomes(data)
    outcomes = outcomes[~outcomes.index.duplicated(keep="first")]
    frame["denied"] = outcomes["denied"].reindex(window).astype("Float64")
    frame["category"] = outcomes["category"].reindex(window).astype("string")
    until = (submitted.max() if len(submitted) else pd.Timestamp(since)).date()
    return ScoredClaims(frame, features, since, until)


def _latest(scores: pd.DataFrame, claims: pd.Index) -> pd.DataFrame:
    """Each claim's latest kept score (`KEPT_COLUMNS` but the id), missing where none."""
    latest = scores[KEPT_COLUMNS].drop_duplicates("claim_id", keep="last")
    return latest.set_index("claim_id").reindex(claims)


def _with_shadow(frame: pd.DataFrame, shadow: pd.DataFrame | None) -> pd.DataFrame:
    if shadow is None or shadow.empty:
        return frame.assign(shadow_p_denial=np.nan, shadow_version=pd.NA)
    found = _latest(shadow, frame.index)
    return frame.assign(
        shadow_p_denial=found["p_denial"].astype(float),
        shadow_version=found["model_version"].astype("string"),
    )


def _with_scores(
    frame: pd.DataFrame,
    features: pd.DataFrame,
    bundle: DenialRiskBundle,
    version: str,
    kept: pd.DataFrame | None,
) -> pd.DataFrame:
    """`frame` with each claim's kept score, else the champion's score of its features."""
    out = frame.assign(p_denial=np.nan, source=SCORED_NOW, model_version=version, top_fix=pd.NA)
    if kept is not None and len(kept):
        known = _latest(kept, out.index)
        found = known["p_denial"].notna().to_numpy()
        out.loc[found, "p_denial"] = known.loc[found, "p_denial"].astype(float)
        out.loc[found, "source"] = KEPT
        out.loc[found, "model_version"] = known.loc[found, "model_version"].astype(str)
        out.loc[found, "top_fix"] = known.loc[found, "top_fix"]
    missing = out["p_denial"].isna().to_numpy()
    if missing.any():
        out.loc[missing, "p_denial"] = bundle.score_features(features.loc[missing])
    out["top_fix"] = out["top_fix"].astype("string").replace("", pd.NA)
    return out
