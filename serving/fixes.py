"""Fix suggestions: one table of rules (`fix_rules.csv`) from claim features to contract fixes.

Each rule names a `fix_code` (a contract denial category), a condition over the
claim's features, the features whose SHAP contribution makes it relevant, the
correction to those features, and the words a biller reads. `edit` rules are
billing certainties and fire whenever their condition holds (they are marked as
rule hits); `model` rules fire only when one of their features is among the
claim's top drivers of risk. Either way the risk after the fix comes from
re-scoring the corrected features with the same model.
"""

from __future__ import annotations

import csv
import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import CodeType
from typing import Any, Literal

import numpy as np
import pandas as pd

from data_contracts.enums import DENIAL_CATEGORIES
from features.catalog import FEATURES

FEATURE_NAMES = frozenset(feature.name for feature in FEATURES)


@dataclass(frozen=True)
class FixRule:
    rule_id: str
    kind: Literal["edit", "model"]
    fix_code: str
    condition: str
    drivers: tuple[str, ...]
    correction: dict[str, Any]
    text: str


@cache
def fix_rules() -> tuple[FixRule, ...]:
    """The rule table, checked: known fix codes and features, well-formed corrections."""
    path = resources.files(__package__).joinpath("fix_rules.csv")
    with path.open("r", encoding="utf-8") as handle:
        rules = tuple(
            FixRule(
                rule_id=row["rule_id"],
                kind=row["kind"],  # type: ignore[arg-type]
                fix_code=row["fix_code"],
                condition=row["condition"],
                drivers=tuple(row["drivers"].split(";")),
                correction=json.loads(row["correction"]),
                text=row["text"],
            )
            for row in csv.DictReader(handle)
        )
    for rule in rules:
        problems = []
        if rule.kind not in ("edit", "model"):
            problems.append(f"kind {rule.kind!r}")
        if rule.fix_code not in DENIAL_CATEGORIES:
            problems.append(f"fix_code {rule.fix_code!r} is not a contract category")
        # Conditions read features only, so they hold the same on the batch and the row path.
        unknown = (set(rule.drivers) | set(rule.correction) | set(_names(rule))) - FEATURE_NAMES
        if unknown:
            problems.append(f"unknown features {sorted(unknown)}")
        if problems:
            raise ValueError(f"fix_rules.csv rule {rule.rule_id}: " + "; ".join(problems))
    return rules


def rule_hits(rules: tuple[FixRule, ...], features: pd.DataFrame) -> pd.DataFrame:
    """Boolean frame: where each rule's condition holds, for a batch of feature rows."""
    hits = {}
    for rule in rules:
        # Only the columns the condition names: pandas resolves every column it is given.
        names = [n for n in _names(rule) if n in features]
        result = features[names].eval(rule.condition, engine="python")
        hits[rule.rule_id] = pd.Series(result, index=features.index).fillna(False).astype(bool)
    return pd.DataFrame(hits, index=features.index)


def holds(rule: FixRule, record: Mapping[str, Any]) -> bool:
    """Whether the rule's condition holds for one claim's features: `rule_hits` for a dict,
    without the milliseconds a one-row frame costs. A missing value compares false, as there."""
    # Our own checked table, not client input; no builtins reachable.
    return bool(eval(_compiled(rule.condition), {"__builtins__": {}}, record))


@cache
def _compiled(condition: str) -> CodeType:
    return compile(condition, "fix_rules.csv", "eval")


def _names(rule: FixRule) -> tuple[str, ...]:
    return _compiled(rule.condition).co_names


def corrected(record: Mapping[str, Any], rule: FixRule, fields: Mapping[str, Any]) -> dict:
    """The claim's features once the rule's fix is made; `=name` copies `fields[name]`
    (an overall rate, say, in place of this payer's)."""
    out = dict(record)
    for name, value in rule.correction.items():
        if isinstance(value, str) and value.startswith("="):
            out[name] = fields[value[1:]]
        else:
            out[name] = float("nan") if value is None else float(value)
    return out


def render(rule: FixRule, fields: Mapping[str, Any]) -> str:
    """The rule's sentence with the claim's values; a missing value reads as 'unknown'."""
    safe = {}
    for name in _placeholders(rule.text):
        value = fields.get(name)
        missing = value is None or (isinstance(value, float) and np.isnan(value))
        safe[name] = "unknown" if missing else value
    return rule.text.format(**safe)


@cache
def _placeholders(text: str) -> tuple[str, ...]:
    """The field names a sentence quotes: only those are looked up for each fix."""
    return tuple(name for _, name, _, _ in string.Formatter().parse(text) if name)
