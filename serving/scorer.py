"""Scoring with explanations: P(denial), band, top drivers and fixes with the risk after each.

Explanations are only computed for claims that need them (band review or hold)
plus the deterministic edits, which are cheap and certain. The scorer holds a
loaded `DenialRiskBundle`; it never trains and never imports `training`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.codes import behavioral_health_procedures
from features.claim_level import EXPECTED_CREDENTIAL_MODIFIER, line_summary
from features.pipeline import features_for_claims
from model_bundle.denial import DenialRiskBundle
from serving.fixes import FixRule, corrected, fix_rules, render, rule_hits

BANDS = ("pass", "review", "hold")


@dataclass
class Fix:
    fix_code: str
    text: str
    p_denial_after: float
    rule_id: str
    rule_hit: bool


@dataclass
class ClaimResult:
    claim_id: str
    p_denial: float
    band: str
    drivers: list[dict[str, Any]] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)


def _pct(value: float) -> str:
    return "unknown" if pd.isna(value) else f"{value:.0%}"


def _whole(values: pd.Series) -> pd.Series:
    """Counts and days read as whole numbers in a sentence (8, not 8.0)."""
    return values.map(lambda v: "unknown" if pd.isna(v) else str(int(v)))


def _prior(state_all: pd.DataFrame, measure: str) -> float:
    n = float(state_all["all__n"].sum()) if len(state_all) else 0.0
    k = float(state_all[f"all__{measure}"].sum()) if len(state_all) else 0.0
    return (k + 1) / (n + 2)


class Scorer:
    def __init__(
        self,
        bundle: DenialRiskBundle,
        version: str,
        review_threshold: float,
        hold_threshold: float,
        drivers_per_claim: int = 5,
    ):
        if not review_threshold < hold_threshold:
            raise ValueError("the review threshold must be below the hold threshold")
        self.bundle = bundle
        self.version = version
        self.thresholds = (review_threshold, hold_threshold)
        self.drivers_per_claim = drivers_per_claim
        self.rules = fix_rules()
        state_all = bundle.state.tallies["all"]
        self.priors = {
            "overall_modifier_invalid_rate": _prior(state_all, "modifier_invalid"),
            "overall_auth_denial_rate": _prior(state_all, "auth"),
            "overall_credential_rate": _prior(state_all, "credential_not_covered"),
            "overall_dx_rate": _prior(state_all, "dx_not_covered"),
            "overall_time_mismatch_rate": _prior(state_all, "time_code_mismatch"),
        }

    def band(self, p: np.ndarray) -> np.ndarray:
        review, hold = self.thresholds
        return np.where(p >= hold, "hold", np.where(p >= review, "review", "pass"))

    def score_claims(self, claims: pd.DataFrame, claim_lines: pd.DataFrame) -> list[ClaimResult]:
        """Score new claims against the bundled state (the scrubbing hook's path)."""
        features = features_for_claims(claims, claim_lines, self.bundle.state)
        return self.score_features(features, claims, claim_lines)

    def score_features(
        self, features: pd.DataFrame, claims: pd.DataFrame, claim_lines: pd.DataFrame
    ) -> list[ClaimResult]:
        """Score feature rows; `claims`/`claim_lines` supply the words of the fixes."""
        if features.empty:
            return []
        p = self.bundle.score_features(features)
        band = self.band(p)
        context = self._context(features, claims, claim_lines)
        fields = pd.concat([features, context], axis=1)
        hits = rule_hits(self.rules, fields)
        explain = features.index[band != "pass"]
        contributions = (
            self.bundle.contributions(features.loc[explain]).drop(columns="bias")
            if len(explain)
            else pd.DataFrame(columns=features.columns)
        )
        drivers = self._drivers(features, contributions)
        candidates = self._candidates(hits, drivers, features.index)
        after = self._after(features, fields, candidates)
        by_claim: dict[str, list[FixRule]] = {}
        for claim_id, rule in candidates:
            by_claim.setdefault(claim_id, []).append(rule)
        results = []
        for row, claim_id in enumerate(features.index):
            fixes = self._fixes(claim_id, by_claim.get(claim_id, []), after, fields, contributions)
            results.append(
                ClaimResult(
                    claim_id=str(claim_id),
                    p_denial=float(p[row]),
                    band=str(band[row]),
                    drivers=drivers.get(claim_id, []),
                    fixes=fixes,
                )
            )
        return results

    def _drivers(
        self, features: pd.DataFrame, contributions: pd.DataFrame
    ) -> dict[str, list[dict[str, Any]]]:
        """Top features by |SHAP| (log-odds), with the claim's value of each."""
        out = {}
        for claim_id, row in contributions.iterrows():
            top = row.abs().nlargest(self.drivers_per_claim).index
            out[claim_id] = [
                {
                    "feature": name,
                    "value": _jsonable(features.at[claim_id, name]),
                    "contribution": float(row[name]),
                }
                for name in top
            ]
        return out

    def _candidates(
        self, hits: pd.DataFrame, drivers: dict[str, list[dict[str, Any]]], index: pd.Index
    ) -> list[tuple[str, FixRule]]:
        """(claim, rule) pairs to suggest: every edit hit, and model rules backed by a driver."""
        pairs = []
        for rule in self.rules:
            for claim_id in index[hits[rule.rule_id].to_numpy()]:
                if rule.kind == "edit":
                    pairs.append((claim_id, rule))
                    continue
                pushing = {d["feature"] for d in drivers.get(claim_id, []) if d["contribution"] > 0}
                if pushing & set(rule.drivers):
                    pairs.append((claim_id, rule))
        return pairs

    def _after(
        self,
        features: pd.DataFrame,
        fields: pd.DataFrame,
        candidates: list[tuple[str, FixRule]],
    ) -> dict[tuple[str, str], float]:
        """P(denial) after each candidate fix: the claims of each rule corrected together,
        all corrected rows scored in one call."""
        if not candidates:
            return {}
        claims_by_rule: dict[str, list[str]] = {}
        rules = {}
        for claim_id, rule in candidates:
            claims_by_rule.setdefault(rule.rule_id, []).append(claim_id)
            rules[rule.rule_id] = rule
        frames = [
            corrected(features.loc[claim_ids], fields, rules[rule_id])
            for rule_id, claim_ids in claims_by_rule.items()
        ]
        keys = [
            (claim_id, rule_id)
            for rule_id, claim_ids in claims_by_rule.items()
            for claim_id in claim_ids
        ]
        p = self.bundle.score_features(pd.concat(frames))
        return dict(zip(keys, p.tolist(), strict=True))

    def _fixes(
        self,
        claim_id: str,
        rules: list[FixRule],
        after: dict[tuple[str, str], float],
        fields: pd.DataFrame,
        contributions: pd.DataFrame,
    ) -> list[Fix]:
        """Best first, one suggestion per fix code.

        Where the claim was explained, the fix whose features push its risk up the most
        (sum of their positive SHAP contributions) leads: that is what is wrong with it.
        Otherwise certain edits come before model fixes, then the larger drop in risk.
        """
        if not rules:
            return []
        values = fields.loc[claim_id].to_dict()
        pushes = (
            contributions.loc[claim_id].clip(lower=0) if claim_id in contributions.index else None
        )
        ranked: dict[str, tuple[tuple, Fix]] = {}
        for rule in rules:
            fix = Fix(
                rule.fix_code,
                render(rule, values),
                after[(claim_id, rule.rule_id)],
                rule.rule_id,
                rule.kind == "edit",
            )
            weight = -float(pushes[list(rule.drivers)].sum()) if pushes is not None else 0.0
            key = (weight, not fix.rule_hit, fix.p_denial_after)
            if rule.fix_code not in ranked or key < ranked[rule.fix_code][0]:
                ranked[rule.fix_code] = (key, fix)
        return [fix for _, fix in sorted(ranked.values(), key=lambda item: item[0])]

    def _context(
        self, features: pd.DataFrame, claims: pd.DataFrame, claim_lines: pd.DataFrame
    ) -> pd.DataFrame:
        """Words and numbers the fix texts quote, per claim (not model features)."""
        facts = behavioral_health_procedures()
        wanted = features.index
        lines = line_summary(claim_lines[claim_lines["claim_id"].isin(wanted)]).reindex(wanted)
        claim = claims[claims["claim_id"].isin(wanted)].set_index("claim_id").reindex(wanted)
        timed = lines["timed_code"]
        low = timed.map(lambda c: facts.get(c, {}).get("min_minutes", "") if pd.notna(c) else "")
        high = timed.map(lambda c: facts.get(c, {}).get("max_minutes", "") if pd.notna(c) else "")
        band = [f"{lo}–{hi}" if hi else f"{lo}+" for lo, hi in zip(low, high, strict=True)]
        units_left = features["auth_units_remaining"] + features["total_units"]
        out = pd.DataFrame(
            {
                "timed_code": timed,
                "band": band,
                "minutes": features["timed_minutes"].map(lambda m: "no" if pd.isna(m) else int(m)),
                "expected_modifier": claim["provider_credential"].map(EXPECTED_CREDENTIAL_MODIFIER),
                "primary_dx": claim["primary_dx"],
                "prior_auth_id": claim["prior_auth_id"],
                "units_left": _whole(units_left),
                "auth_days_left_text": features["auth_days_left"].map(
                    lambda d: "unknown days" if pd.isna(d) else f"{int(d)} days"
                ),
                "visit_number": _whole(features["visit_number_this_year"]),
                "learned_cap": _whole(
                    features["visit_number_this_year"] - features["visits_over_learned_cap"]
                ),
                "filing_limit": _whole(
                    features["days_to_submit"] - features["days_to_submit_over_learned_limit"]
                ),
                "days_to_submit_text": _whole(features["days_to_submit"]),
                "payer_modifier_invalid_pct": features["payer_modifier_invalid_rate"].map(_pct),
                "auth_rate_pct": features["payer_program_auth_denial_rate"].map(_pct),
                "credential_rate_pct": features["payer_credential_not_covered_rate"].map(_pct),
                "time_rate_pct": features["payer_code_time_mismatch_rate"].map(_pct),
                "days_in_program_text": _whole(features["days_in_program"]),
                **{name: value for name, value in self.priors.items()},
            },
            index=features.index,
        )
        return out


def _jsonable(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
