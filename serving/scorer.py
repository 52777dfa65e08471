"""Scoring with explanations: P(denial), band, top drivers and fixes with the risk after each.

Two front doors share one back end. `score_records` is the scrubbing hook's
path: a few claims as dicts, featured row by row against the bundled state
(`features.online`), so one claim costs a few milliseconds rather than the
fixed cost of a hundred pandas calls. `score_features` is the batch path over
feature frames. Both then explain only what needs it (claims at review or
hold, plus the deterministic edits, which are cheap and certain), per claim,
with the same code. The scorer holds a loaded `DenialRiskBundle`; it never
trains and never imports `training`.
"""

from __future__ import annotations

import copy
from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.codes import behavioral_health_procedures
from data_contracts.records import tables_from_records
from features.claim_level import EXPECTED_CREDENTIAL_MODIFIER, line_summary
from features.online import features_for_records, timed_code
from features.pipeline import features_for_claims
from model_bundle.denial import DenialRiskBundle
from serving.fixes import FixRule, corrected, fix_rules, holds, render, rule_hits

BANDS = ("pass", "review", "hold")
ROW_PATH_MAX_CLAIMS = 64
"""Above this many claims a request goes the batch way: the fixed cost of the pandas path
is paid once and its per-claim cost is lower."""
Record = Mapping[str, Any]


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


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _whole(value: Any) -> str:
    """Counts and days read as whole numbers in a sentence (8, not 8.0)."""
    return "unknown" if _missing(value) else str(int(value))


def _pct(value: Any) -> str:
    return "unknown" if _missing(value) else f"{value:.0%}"


def _prior(state_all: pd.DataFrame, measure: str) -> float:
    n = float(state_all["all__n"].sum()) if len(state_all) else 0.0
    k = float(state_all[f"all__{measure}"].sum()) if len(state_all) else 0.0
    return (k + 1) / (n + 2)


def _words(row: Record, facts: Record) -> dict[str, Any]:
    """Words and numbers the fix texts quote that are not features themselves."""
    minutes = behavioral_health_procedures().get(facts["timed_code"] or "", {})
    low, high = minutes.get("min_minutes", ""), minutes.get("max_minutes", "")
    return {
        "timed_code": facts["timed_code"],
        "primary_dx": facts["primary_dx"],
        "prior_auth_id": facts["prior_auth_id"],
        "band": f"{low}–{high}" if high else f"{low}+",
        "minutes": "no" if _missing(row["timed_minutes"]) else int(row["timed_minutes"]),
        "expected_modifier": EXPECTED_CREDENTIAL_MODIFIER.get(row["provider_credential"]),
        "units_left": _whole(row["auth_units_remaining"] + row["total_units"]),
        "auth_days_left_text": (
            "unknown days"
            if _missing(row["auth_days_left"])
            else f"{int(row['auth_days_left'])} days"
        ),
        "visit_number": _whole(row["visit_number_this_year"]),
        "learned_cap": _whole(row["visit_number_this_year"] - row["visits_over_learned_cap"]),
        "filing_limit": _whole(row["days_to_submit"] - row["days_to_submit_over_learned_limit"]),
        "days_to_submit_text": _whole(row["days_to_submit"]),
        "payer_modifier_invalid_pct": _pct(row["payer_modifier_invalid_rate"]),
        "auth_rate_pct": _pct(row["payer_program_auth_denial_rate"]),
        "credential_rate_pct": _pct(row["payer_credential_not_covered_rate"]),
        "time_rate_pct": _pct(row["payer_code_time_mismatch_rate"]),
        "days_in_program_text": _whole(row["days_in_program"]),
    }


def _jsonable(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


class Scorer:
    def __init__(
        self,
        bundle: DenialRiskBundle,
        version: str,
        review_threshold: float,
        hold_threshold: float,
        drivers_per_claim: int = 5,
        min_push: float = 0.1,
    ):
        if not review_threshold < hold_threshold:
            raise ValueError("the review threshold must be below the hold threshold")
        self.bundle = bundle
        self.version = version
        self.thresholds = (review_threshold, hold_threshold)
        self.drivers_per_claim = drivers_per_claim
        self.min_push = min_push
        self.rules = fix_rules()
        self.position = {name: i for i, name in enumerate(bundle.columns)}
        state_all = bundle.state.tallies["all"]
        self.priors = {
            "overall_modifier_invalid_rate": _prior(state_all, "modifier_invalid"),
            "overall_auth_denial_rate": _prior(state_all, "auth"),
            "overall_credential_rate": _prior(state_all, "credential_not_covered"),
            "overall_dx_rate": _prior(state_all, "dx_not_covered"),
            "overall_time_mismatch_rate": _prior(state_all, "time_code_mismatch"),
        }
        """What a fix may put in place of a payer's own rate: the rate over all payers."""

    def for_features(self) -> Scorer:
        """This scorer for `score_features` alone: its bundle without the feature state, which
        only the record and claim paths read (a batch over a directory brings its features).
        The state is most of a bundle's size and grows with the history, so this is what a
        cluster's workers are sent."""
        light = copy.copy(self)
        light.bundle = self.bundle.without_state()
        return light

    def band(self, p: np.ndarray) -> np.ndarray:
        review, hold = self.thresholds
        return np.where(p >= hold, "hold", np.where(p >= review, "review", "pass"))

    def score_records(self, claims: Sequence[Record]) -> list[ClaimResult]:
        """The scrubbing hook's path: claims as dicts (contract columns plus `lines`, as the
        API's request model gives them), in request order. Large requests go the batch way;
        either way the answer is the same (the tests hold the two paths together)."""
        if len(claims) > ROW_PATH_MAX_CLAIMS:
            return self.score_claims(*tables_from_records(claims))
        if not claims:
            return []
        features = features_for_records(claims, self.bundle.state)
        hits = [[rule for rule in self.rules if holds(rule, row)] for row in features]
        matrix = self.bundle.records_matrix(features)
        return self._results(
            [claim["claim_id"] for claim in claims],
            matrix,
            self.bundle.score_matrix(matrix),
            hits,
            features.__getitem__,
            lambda i: {
                "timed_code": timed_code(claims[i]["lines"]),
                "primary_dx": claims[i]["primary_dx"],
                "prior_auth_id": claims[i]["prior_auth_id"],
            },
        )

    def score_claims(self, claims: pd.DataFrame, claim_lines: pd.DataFrame) -> list[ClaimResult]:
        """Batch path: typed contract frames of new claims, against the bundled state."""
        features = features_for_claims(claims, claim_lines, self.bundle.state)
        return self.score_features(features, claims, claim_lines)

    def score_features(
        self, features: pd.DataFrame, claims: pd.DataFrame, claim_lines: pd.DataFrame
    ) -> list[ClaimResult]:
        """Batch path over feature rows; `claims`/`claim_lines` supply the words of the fixes.

        Rule conditions are evaluated for the whole frame at once; only the claims
        that are explained or hit a rule are turned into dicts for the per-claim work.
        """
        if features.empty:
            return []
        matrix = self.bundle.matrix(features)
        hit_frame = rule_hits(self.rules, features)
        hits = [
            [rule for rule, hit in zip(self.rules, flags, strict=True) if hit]
            for flags in hit_frame.to_numpy()
        ]
        p = self.bundle.score_matrix(matrix)
        needed = np.flatnonzero((self.band(p) != "pass") | hit_frame.to_numpy().any(axis=1))
        ids = features.index[needed]
        rows = dict(zip(needed, feature_records(features.loc[ids]), strict=True))
        timed = line_summary(claim_lines[claim_lines["claim_id"].isin(ids)])["timed_code"]
        claim = claims.set_index("claim_id").loc[ids, ["primary_dx", "prior_auth_id"]]
        facts = claim.assign(timed_code=timed.reindex(ids).to_numpy())
        facts = dict(zip(needed, feature_records(facts), strict=True))
        return self._results(
            list(features.index), matrix, p, hits, rows.__getitem__, facts.__getitem__
        )

    def _results(
        self,
        claim_ids: list[str],
        matrix: np.ndarray,
        p: np.ndarray,
        hits: list[list[FixRule]],
        row: Callable[[int], Record],
        facts: Callable[[int], Record],
    ) -> list[ClaimResult]:
        """P(denial), band, drivers (explained claims) and ranked fixes, claim by claim.

        `row(i)` and `facts(i)` are only asked for claims that are explained or hit a rule.
        """
        band = self.band(p)
        explain = np.flatnonzero(band != "pass")
        contributions = (
            dict(
                zip(explain, self.bundle.contribution_matrix(matrix[explain])[:, :-1], strict=True)
            )
            if len(explain)
            else {}
        )
        drivers = {i: self._drivers(row(i), contributions[i]) for i in explain}
        candidates = {
            i: self._candidates(rules, contributions.get(i))
            for i, rules in enumerate(hits)
            if rules
        }
        after = self._after(candidates, row)
        results = []
        for i, claim_id in enumerate(claim_ids):
            fixes = (
                self._fixes(candidates[i], after, i, row(i), facts(i), contributions.get(i))
                if candidates.get(i)
                else []
            )
            results.append(
                ClaimResult(str(claim_id), float(p[i]), str(band[i]), drivers.get(i, []), fixes)
            )
        return results

    def _drivers(self, row: Record, contributions: np.ndarray) -> list[dict[str, Any]]:
        """Top features by |SHAP| (log-odds), with the claim's value of each."""
        top = np.argsort(-np.abs(contributions), kind="stable")[: self.drivers_per_claim]
        return [
            {
                "feature": self.bundle.columns[j],
                "value": _jsonable(row[self.bundle.columns[j]]),
                "contribution": float(contributions[j]),
            }
            for j in top
        ]

    def _candidates(self, rules: list[FixRule], contributions: np.ndarray | None) -> list[FixRule]:
        """Every edit that holds, and the model rules whose features push this claim's risk up
        by at least `min_push` (log-odds, summed): what the model says is wrong with it, among
        all features rather than only the few drivers shown."""
        return [
            rule
            for rule in rules
            if rule.kind == "edit"
            or (contributions is not None and self._push(rule, contributions) >= self.min_push)
        ]

    def _push(self, rule: FixRule, contributions: np.ndarray) -> float:
        """How much the rule's features add to the claim's risk (positive SHAP, log-odds)."""
        return float(
            contributions[[self.position[name] for name in rule.drivers]].clip(min=0).sum()
        )

    def _after(
        self, candidates: dict[int, list[FixRule]], row: Callable[[int], Record]
    ) -> dict[tuple[int, str], float]:
        """P(denial) after each candidate fix: every corrected claim scored in one call."""
        pairs = [(i, rule) for i, rules in candidates.items() for rule in rules]
        if not pairs:
            return {}
        fixed = [corrected(row(i), rule, ChainMap(row(i), self.priors)) for i, rule in pairs]
        p = self.bundle.score_matrix(self.bundle.records_matrix(fixed))
        return {(i, rule.rule_id): float(q) for (i, rule), q in zip(pairs, p, strict=True)}

    def _fixes(
        self,
        rules: list[FixRule],
        after: dict[tuple[int, str], float],
        i: int,
        row: Record,
        facts: Record,
        contributions: np.ndarray | None,
    ) -> list[Fix]:
        """Best first, one suggestion per fix code.

        Where the claim was explained, the fix whose features push its risk up the most
        (sum of their positive SHAP contributions) leads: that is what is wrong with it.
        Otherwise certain edits come before model fixes, then the larger drop in risk.
        """
        fields = ChainMap(_words(row, facts), dict(row))
        ranked: dict[str, tuple[tuple, Fix]] = {}
        for rule in rules:
            fix = Fix(
                rule.fix_code,
                render(rule, fields),
                after[(i, rule.rule_id)],
                rule.rule_id,
                rule.kind == "edit",
            )
            weight = -self._push(rule, contributions) if contributions is not None else 0.0
            key = (weight, not fix.rule_hit, fix.p_denial_after)
            if rule.fix_code not in ranked or key < ranked[rule.fix_code][0]:
                ranked[rule.fix_code] = (key, fix)
        return [fix for _, fix in sorted(ranked.values(), key=lambda item: item[0])]


def feature_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as dicts with Python values, a missing string being None (as on the row
    path)."""
    return [
        {name: None if value is pd.NA else value for name, value in record.items()}
        for record in frame.to_dict("records")
    ]
