"""Code formats and code lists."""

from __future__ import annotations

import re

import pytest

from data_contracts import codes
from data_contracts.codes import (
    dotted_icd10,
    icd10cm_billable,
    icd10cm_codes,
    timed_psychotherapy_codes,
)


def test_icd10cm_billable_holds_leaves_not_headers() -> None:
    billable = icd10cm_billable()

    assert {"F33.1", "F41.1", "F32.A", "F10.20"} <= billable
    assert {"F33", "F41", "F10.2"}.isdisjoint(billable)
    assert {"F33", "F33.1", "F10.2"} <= icd10cm_codes()
    assert billable < icd10cm_codes()


def test_code_list_is_dotted() -> None:
    assert "F331" not in icd10cm_codes()
    assert "F33.1" in icd10cm_codes()


def test_timed_psychotherapy_codes() -> None:
    timed = timed_psychotherapy_codes()

    assert {"90832", "90834", "90837", "90833", "90836", "90838", "90839"} <= timed
    assert {"90791", "90792", "90853", "99214", "H0015"}.isdisjoint(timed)


@pytest.mark.parametrize(
    ("code", "dotted"),
    [
        ("F331", "F33.1"),
        ("F1020", "F10.20"),
        ("F32A", "F32.A"),
        ("Z630", "Z63.0"),
        ("F33.1", "F33.1"),
        ("F33", "F33"),
        ("90837", "90837"),
        ("", ""),
    ],
)
def test_dotted_icd10(code: str, dotted: str) -> None:
    assert dotted_icd10(code) == dotted


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (
            codes.ICD10CM,
            ["F33.1", "F3X.1", "F32.A", "F10.239", "F33", "T43.621A"],
            ["3F3.1", "F33.", "F33.12345", "F3", "U", "f33.1"],
        ),
        (
            codes.CPT_HCPCS,
            ["90837", "H0015", "S9480", "0591T", "3725F"],
            ["9083", "908370", "H001", "90837X", "W1"],
        ),
        (codes.MODIFIER, ["95", "HO", "GT", "59"], ["9", "HOX", "h"]),
        (codes.CARC, ["CO-197", "PR-3", "OA-18", "CO-B7"], ["197", "XX-1", "CO197", "CO-1970"]),
        (codes.RARC, ["N54", "M127", "MA130", "N519"], ["X54", "N", "54"]),
        (codes.PLACE_OF_SERVICE, ["02", "11"], ["2", "011"]),
        (codes.REVENUE_CODE, ["0905", "1001"], ["905", "09050"]),
    ],
)
def test_code_formats(pattern: str, good: list[str], bad: list[str]) -> None:
    assert [code for code in good if not re.fullmatch(pattern, code)] == []
    assert [code for code in bad if re.fullmatch(pattern, code)] == []


def test_code_list_holds_no_chapter_numbers() -> None:
    assert not [code for code in icd10cm_codes() if code.isdigit()]


def test_u_codes_are_dotted_and_well_formed() -> None:
    assert dotted_icd10("U099") == "U09.9"
    assert {"U07.1", "U09.9"} <= icd10cm_billable()
    assert re.fullmatch(codes.ICD10CM, "U09.9")


@pytest.mark.parametrize(
    ("sent", "canonical"),
    [
        ("f331", "F33.1"),
        (" F1020 ", "F10.20"),
        ("z630", "Z63.0"),
        ("f32.a", "F32.A"),
        ("F33.1", "F33.1"),
        ("F33", "F33"),
        ("3F31", "3F31"),  # not a code: left for the format check to name
    ],
)
def test_icd10_codes_are_normalised_as_the_reader_does(sent: str, canonical: str) -> None:
    assert codes.normal_icd10(sent) == canonical
