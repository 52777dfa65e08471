"""CARC/RARC codes map to the contract's denial categories."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from data_contracts import denials
from data_contracts.denials import (
    NON_DENIAL_ADJUSTMENTS,
    denial_category,
    denial_rules,
    is_denied,
    remit_denial_categories,
    split_list,
    timed_psychotherapy_claims,
)
from data_contracts.enums import DENIAL_CATEGORIES

# The "Denial categories" table of CONTRACT.md, copied by hand.
CONTRACT_CATEGORIES = (
    "missing_auth",
    "auth_exhausted",
    "visit_limit",
    "timely_filing",
    "coverage_inactive",
    "time_code_mismatch",
    "credential_not_covered",
    "modifier_invalid",
    "dx_not_covered",
    "duplicate",
    "bundling",
    "medical_necessity",
    "missing_info",
    "other",
)

RULES_CSV = Path(denials.__file__).parent / "codes" / "denial_category_rules.csv"


def rule_rows() -> list[dict[str, str]]:
    with RULES_CSV.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("carcs", "rarcs", "timed", "category"),
    [
        (["CO-197"], [], False, "missing_auth"),
        (["CO-15"], [], False, "missing_auth"),
        (["CO-197"], [], True, "missing_auth"),
        (["CO-198"], [], False, "auth_exhausted"),
        (["CO-197"], ["N362"], False, "auth_exhausted"),
        (["CO-119"], [], False, "visit_limit"),
        (["CO-29"], [], False, "timely_filing"),
        (["CO-27"], [], False, "coverage_inactive"),
        (["CO-26"], [], False, "coverage_inactive"),
        (["CO-31"], [], False, "coverage_inactive"),
        (["CO-4"], [], True, "time_code_mismatch"),
        (["CO-16"], [], True, "time_code_mismatch"),
        (["CO-50"], [], True, "time_code_mismatch"),
        (["CO-B7"], [], False, "credential_not_covered"),
        (["CO-185"], [], False, "credential_not_covered"),
        (["CO-170"], [], False, "credential_not_covered"),
        (["CO-182"], [], False, "modifier_invalid"),
        (["CO-182"], [], True, "modifier_invalid"),
        (["CO-4"], [], False, "modifier_invalid"),
        (["CO-11"], [], False, "dx_not_covered"),
        (["CO-167"], [], False, "dx_not_covered"),
        (["OA-18"], [], False, "duplicate"),
        (["CO-18"], [], False, "duplicate"),
        (["CO-97"], [], False, "bundling"),
        (["CO-231"], [], False, "bundling"),
        (["CO-50"], [], False, "medical_necessity"),
        (["CO-55"], [], False, "medical_necessity"),
        (["CO-56"], [], False, "medical_necessity"),
        (["CO-16"], [], False, "missing_info"),
        (["CO-16"], ["N290"], False, "missing_info"),
        (["CO-999"], [], False, "other"),
        (["CO-999"], [], True, "other"),
        ([], [], False, "other"),
    ],
)
def test_contract_table_of_typical_carcs(carcs, rarcs, timed, category) -> None:
    assert denial_category(carcs, rarcs, timed) == category


@pytest.mark.parametrize(
    "carcs",
    [["PR-1"], ["PR-2"], ["PR-3"], ["PR-1", "PR-2", "PR-3"], ["CO-45"], ["CO-45", "PR-3"]],
)
@pytest.mark.parametrize("timed", [False, True])
def test_patient_responsibility_and_lone_contractual_are_not_denials(carcs, timed) -> None:
    assert denial_category(carcs, ["N54"], timed) is None


def test_non_denial_adjustments_are_the_contracts() -> None:
    assert frozenset({"PR-1", "PR-2", "PR-3", "CO-45"}) == NON_DENIAL_ADJUSTMENTS


@pytest.mark.parametrize(
    ("carcs", "rarcs", "timed", "category"),
    [
        (["CO-45", "CO-197"], [], False, "missing_auth"),
        (["PR-3", "CO-18"], [], False, "duplicate"),
        (["CO-18", "CO-16"], [], False, "duplicate"),
        (["CO-29", "CO-197"], [], False, "timely_filing"),
        (["CO-50", "CO-197"], [], True, "missing_auth"),
        (["CO-4"], ["N519"], True, "modifier_invalid"),
        (["CO-16"], ["M62"], True, "missing_auth"),
        (["CO-16"], ["N290"], True, "missing_info"),
        (["CO-4", "CO-97"], [], True, "time_code_mismatch"),
        (["CO-4", "CO-97"], [], False, "modifier_invalid"),
        (["CO-999", "CO-231"], [], False, "bundling"),
    ],
)
def test_lowest_priority_rule_wins_in_any_order(carcs, rarcs, timed, category) -> None:
    assert denial_category(carcs, rarcs, timed) == category
    assert denial_category(list(reversed(carcs)), rarcs, timed) == category


def test_enum_categories_are_the_contracts() -> None:
    assert DENIAL_CATEGORIES == CONTRACT_CATEGORIES


def test_every_rule_names_a_contract_category() -> None:
    rows = rule_rows()

    assert {row["category"] for row in rows} <= set(CONTRACT_CATEGORIES)
    assert {row["category"] for row in rows} == set(CONTRACT_CATEGORIES) - {"other"}
    assert {row["timed_psychotherapy"] for row in rows} <= {"", "true", "false"}


def test_rules_are_unambiguous_and_all_loaded() -> None:
    rows = rule_rows()
    conditions = [(row["carc"], row["rarc"], row["timed_psychotherapy"]) for row in rows]

    assert len(set(conditions)) == len(conditions)
    rules = denial_rules()
    assert len(rules) == len(rows)
    assert [rule.priority for rule in rules] == sorted(rule.priority for rule in rules)


@pytest.mark.parametrize(
    ("cell", "items"),
    [
        ("CO-197;PR-3", ["CO-197", "PR-3"]),
        (" CO-197 ; PR-3 ;", ["CO-197", "PR-3"]),
        ("N54", ["N54"]),
        ("", []),
        (None, []),
        (pd.NA, []),
        (float("nan"), []),
    ],
)
def test_split_list(cell, items) -> None:
    assert split_list(cell) == items


def test_vectorised_categories_agree_with_the_scalar_rule() -> None:
    rows = [
        # status, carc_codes, rarc_codes, timed, expected
        ("denied", "CO-197;PR-3", "N54", False, "missing_auth"),
        ("partial", "CO-4", None, True, "time_code_mismatch"),
        ("partial", "CO-4", None, False, "modifier_invalid"),
        ("paid", "CO-45", None, False, pd.NA),
        ("paid", "CO-197", None, False, pd.NA),
        ("denied", "PR-3", None, True, pd.NA),
        ("denied", None, None, False, "other"),
        ("denied", "CO-4", "N519", True, "modifier_invalid"),
        ("denied", "CO-197;PR-3", "N54", False, "missing_auth"),
        ("denied", "CO-18;CO-16", "M62", True, "duplicate"),
        ("denied", "CO-16", None, None, "missing_info"),  # no timed entry: not timed
    ]
    index = pd.Index([30, 10, 20, 40, 50, 60, 70, 80, 90, 100, 110])
    remits = pd.DataFrame(
        {
            "status": [row[0] for row in rows],
            "carc_codes": pd.array([row[1] for row in rows], dtype="string"),
            "rarc_codes": pd.array([row[2] for row in rows], dtype="string"),
        },
        index=index,
    )
    timed = pd.Series([row[3] for row in rows[:-1]], index=index[:-1], dtype=bool)

    categories = remit_denial_categories(remits, timed)

    assert categories.index.equals(index)
    assert categories.dtype == "string"
    expected = pd.Series([row[4] for row in rows], index=index, dtype="string")
    pd.testing.assert_series_equal(categories, expected, check_names=False)
    for position, (status, carc, rarc, is_timed, _) in enumerate(rows):
        scalar = denial_category(split_list(carc), split_list(rarc), bool(is_timed))
        if status == "paid" or scalar is None:
            assert pd.isna(categories.iloc[position])
        else:
            assert categories.iloc[position] == scalar
    pd.testing.assert_series_equal(is_denied(remits, timed), categories.notna(), check_names=False)


def test_is_denied_without_timed_series_treats_claims_as_untimed() -> None:
    remits = pd.DataFrame(
        {
            "status": ["denied", "partial", "paid"],
            "carc_codes": ["CO-45", "CO-4", "CO-4"],
            "rarc_codes": [None, None, None],
        }
    )

    assert is_denied(remits).tolist() == [False, True, False]


def test_timed_psychotherapy_claims() -> None:
    lines = pd.DataFrame(
        {
            "claim_id": ["C1", "C1", "C2", "C3", "C3"],
            "procedure_code": ["99214", "90833", "90791", "H0015", "90837"],
        }
    )

    assert sorted(timed_psychotherapy_claims(lines)) == ["C1", "C3"]
