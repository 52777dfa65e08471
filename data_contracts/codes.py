"""Code formats and code lists that the contract's tables are checked against.

Formats are errors at load time (a malformed code is a data problem the sender
must fix). Membership in a code list is not: a well-formed ICD-10-CM code that
is not billable in the 2026 release, or a CARC newer than our 2012 list, is a
fact about the claim that features and the denial map use, not a reason to
reject a file. Provenance of every list is in `codes/PROVENANCE.md`.
"""

from __future__ import annotations

import csv
import gzip
import re
from functools import cache
from importlib import resources

ICD10CM = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
CPT_HCPCS = r"(?:[0-9]{4}[0-9FTU]|[A-V][0-9]{4})"
MODIFIER = r"[0-9A-Z]{2}"
PLACE_OF_SERVICE = r"[0-9]{2}"
REVENUE_CODE = r"[0-9]{4}"
CARC_GROUPS = ("CO", "PR", "OA", "PI", "CR")
CARC = r"(?:CO|PR|OA|PI|CR)-(?:[0-9]{1,3}|[A-Z][0-9]{1,2})"
RARC = r"(?:MA[0-9]{2,3}|M[0-9]{1,3}|N[0-9]{1,4})"

ICD10CM_UNDOTTED = r"([A-Z][0-9][0-9A-Z])([0-9A-Z]{1,4})"
"""An upper-case ICD-10-CM code sent without its dot: category (group 1) and the rest (group 2).
The reader's vectorised normalisation and `normal_icd10` both dot codes with it."""
_UNDOTTED_ICD = re.compile(f"^{ICD10CM_UNDOTTED}$")


def dotted_icd10(code: str) -> str:
    """Canonical dotted form: X12 and many exports send `F331`, the contract shows `F33.1`."""
    match = _UNDOTTED_ICD.match(code)
    return f"{match.group(1)}.{match.group(2)}" if match else code


def normal_icd10(code: str) -> str:
    """An ICD-10-CM code as senders differ harmlessly (blanks, lower case, no dot) in its
    canonical form: ` f331` is `F33.1`. What is not a code stays as it is, for the check."""
    return dotted_icd10(code.strip().upper())


def _open_text(name: str):
    return resources.files(__package__).joinpath("codes", name).open("r", encoding="utf-8")


def _csv_dict(name: str, key: str = "code", value: str = "description") -> dict[str, str]:
    with _open_text(name) as handle:
        return {row[key]: row[value] for row in csv.DictReader(handle)}


@cache
def icd10cm_codes() -> frozenset[str]:
    """Every ICD-10-CM node of the April 2026 release (headers and leaves), dotted."""
    path = resources.files(__package__).joinpath("codes", "icd10cm_code_list_April-2026.txt.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        codes = [line.strip() for line in handle]
    # The list interleaves chapter numbers ("1".."22") and block ranges ("A00-A09") with codes.
    return frozenset(dotted_icd10(code) for code in codes if code[:1].isalpha() and "-" not in code)


@cache
def icd10cm_billable() -> frozenset[str]:
    """Leaf codes: a claim coded to a header (e.g. F33 instead of F33.1) is unspecific."""
    codes = icd10cm_codes()
    parents = {code[:i] for code in codes for i in range(3, len(code)) if code[:i] in codes}
    parents |= {code.rstrip(".") for code in parents}
    return frozenset(code for code in codes if code not in parents)


@cache
def icd10cm_f_chapter() -> dict[str, str]:
    """Billable mental, behavioral and neurodevelopmental codes with descriptions."""
    with _open_text("icd10cm_2026_F_chapter.csv") as handle:
        return {
            row["code_dotted"]: row["description"]
            for row in csv.DictReader(handle)
            if row["billable_leaf"] == "True"
        }


@cache
def carc_descriptions() -> dict[str, str]:
    """CARC reason code (without group) to description, as of 2012: newer codes are absent."""
    return _csv_dict("carc_2012_tigershark.csv")


@cache
def rarc_descriptions() -> dict[str, str]:
    return _csv_dict("rarc_2012_tigershark.csv")


@cache
def place_of_service_codes() -> dict[str, str]:
    return _csv_dict("place_of_service_codes_claimvalidator.csv")


@cache
def revenue_codes() -> dict[str, str]:
    return _csv_dict("revenue_codes_claimvalidator.csv")


@cache
def behavioral_health_procedures() -> dict[str, dict[str, str]]:
    """Procedure code facts billing rules depend on: family, time band, add-on and its primary."""
    with _open_text("behavioral_health_procedures.csv") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


@cache
def timed_psychotherapy_codes() -> frozenset[str]:
    """Codes whose choice depends on documented minutes (90832/90834/90837, add-ons, crisis)."""
    return frozenset(
        code
        for code, row in behavioral_health_procedures().items()
        if row["family"].startswith(("psychotherapy", "crisis"))
    )
