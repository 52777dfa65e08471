"""CARC/RARC codes to the contract's denial categories.

The map is data (`codes/denial_category_rules.csv`): each rule names a reason
code, optionally a remark code that must accompany it anywhere on the claim,
and optionally whether the claim carries timed psychotherapy. Across all of a
claim's codes the matching rule with the lowest priority wins, so specific
reasons (a duplicate, a filing limit) beat generic ones (CO-16 "lacks
information"). The contract lists CO-4, CO-16 and CO-50 both under
time_code_mismatch ("on timed psychotherapy") and under their generic
categories; a remark code that names the real problem (N519 modifiers, M62
authorization, N290 provider id, ...) outranks the timed-psychotherapy reading.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import pandas as pd

from data_contracts.codes import timed_psychotherapy_codes
from data_contracts.enums import DENIAL_CATEGORIES

if TYPE_CHECKING:
    from data_contracts.reader import ContractData

NON_DENIAL_ADJUSTMENTS = frozenset({"PR-1", "PR-2", "PR-3", "CO-45"})
"""Deductible, coinsurance, copay and the contractual write-down: adjustments, not denials."""

OTHER = "other"

NO_APPEAL_RIGHTS = frozenset({"MA130", "N211"})
"""Remark codes saying the decision carries no appeal rights: MA130 (unprocessable claim,
submit a new one) and N211 (you may not appeal this decision)."""
UNPROCESSABLE = frozenset({"MA130"})
"""Of those, the ones that ask for a new, corrected claim instead."""


@dataclass(frozen=True)
class DenialRule:
    priority: int
    carc: str
    rarc: str | None
    timed_psychotherapy: bool | None
    category: str
    why: str


@cache
def denial_rules() -> tuple[DenialRule, ...]:
    path = resources.files(__package__).joinpath("codes", "denial_category_rules.csv")
    with path.open("r", encoding="utf-8") as handle:
        rules = tuple(
            DenialRule(
                priority=int(row["priority"]),
                carc=row["carc"],
                rarc=row["rarc"] or None,
                timed_psychotherapy={"": None, "true": True, "false": False}[
                    row["timed_psychotherapy"]
                ],
                category=row["category"],
                why=row["why"],
            )
            for row in csv.DictReader(handle)
        )
    unknown = {rule.category for rule in rules} - set(DENIAL_CATEGORIES)
    if unknown:
        raise ValueError(f"denial_category_rules.csv names unknown categories: {sorted(unknown)}")
    return tuple(sorted(rules, key=lambda rule: rule.priority))


@cache
def _rules_by_carc() -> dict[str, tuple[DenialRule, ...]]:
    by_carc: dict[str, list[DenialRule]] = {}
    for rule in denial_rules():
        by_carc.setdefault(rule.carc, []).append(rule)
    return {carc: tuple(rules) for carc, rules in by_carc.items()}


def split_list(cell: str | None) -> list[str]:
    """A contract list cell (`a;b`) as a list; empty and missing cells are empty lists."""
    if cell is None or cell is pd.NA or (isinstance(cell, float) and pd.isna(cell)):
        return []
    return [item.strip() for item in str(cell).split(";") if item.strip()]


def denial_codes(carc_codes: Iterable[str]) -> list[str]:
    """The adjustment codes that are denials: everything but PR-1/2/3 and CO-45."""
    return [code for code in carc_codes if code not in NON_DENIAL_ADJUSTMENTS]


def denial_category(
    carc_codes: Iterable[str], rarc_codes: Iterable[str], timed_psychotherapy: bool
) -> str | None:
    """The contract category of one adjudication, or None when its codes are not a denial.

    A claim with no codes at all is a denial of unknown cause (`other`): payers
    that deny without a reason still denied.
    """
    carcs = list(carc_codes)
    denials = denial_codes(carcs)
    if carcs and not denials:
        return None
    rarcs = set(rarc_codes)
    best: DenialRule | None = None
    for code in denials:
        reason = code.split("-", 1)[-1]
        for rule in _rules_by_carc().get(reason, ()):
            if best is not None and rule.priority >= best.priority:
                break
            if rule.rarc is not None and rule.rarc not in rarcs:
                continue
            if rule.timed_psychotherapy is not None and rule.timed_psychotherapy != bool(
                timed_psychotherapy
            ):
                continue
            best = rule
            break
    return best.category if best else OTHER


def remit_denial_categories(remits: pd.DataFrame, timed_psychotherapy: pd.Series) -> pd.Series:
    """Category per remit row (NA where the claim was paid or only adjusted).

    Remits repeat a few hundred code combinations, so the scalar rule is applied once per
    distinct combination of the denied rows rather than once per row (a million remits
    take well under a second).
    """
    denied_status = remits["status"].isin(["denied", "partial"]).to_numpy(dtype=bool)
    denied = remits.loc[denied_status]
    timed = timed_psychotherapy.reindex(remits.index).fillna(False).astype(bool)
    keys = (
        denied["carc_codes"].fillna("").astype(str)
        + "|"
        + denied["rarc_codes"].fillna("").astype(str)
        + "|"
        + timed[denied_status].map({True: "1", False: "0"}).astype(str)
    )
    codes, combos = pd.factorize(keys.to_numpy(dtype=object))
    named = []
    for combo in combos:
        carc, rarc, flag = combo.split("|")
        named.append(denial_category(split_list(carc), split_list(rarc), flag == "1"))
    categories = pd.Series(pd.NA, index=remits.index, dtype="string")
    categories[denied_status] = pd.array(named, dtype="string").take(codes)
    return categories


def is_denied(remits: pd.DataFrame, timed_psychotherapy: pd.Series | None = None) -> pd.Series:
    """The contract's modelling label: status denied/partial with at least one real denial code."""
    timed = (
        timed_psychotherapy
        if timed_psychotherapy is not None
        else pd.Series(False, index=remits.index)
    )
    return remit_denial_categories(remits, timed).notna()


def timed_psychotherapy_claims(claim_lines: pd.DataFrame) -> pd.Index:
    """Claim ids with at least one timed psychotherapy line."""
    timed = claim_lines["procedure_code"].isin(timed_psychotherapy_codes())
    return pd.Index(claim_lines.loc[timed, "claim_id"].unique())


def denial_outcomes(data: ContractData) -> pd.DataFrame:
    """Per adjudicated claim: denied (0/1) and the denial category from its CARC/RARC codes.

    The label training learns and monitoring judges the champion against, defined once."""
    remits = data.remits
    timed = remits["claim_id"].isin(timed_psychotherapy_claims(data.claim_lines))
    category = remit_denial_categories(remits, timed)
    return pd.DataFrame(
        {"denied": category.notna().astype(int).to_numpy(), "category": category.to_numpy()},
        index=pd.Index(remits["claim_id"], name="claim_id"),
    )
