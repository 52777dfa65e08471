"""X12 segments to contract columns, and contract values back to X12 elements: the one place.

Everything here produces the contract's *text* form (ISO dates, amounts as
sent, `;`-joined lists), which `reader.check_table` then types and checks, so
the contract's rules are applied once, by the contract's own code.

claims (837P/837I, loop 2300 and the loops above it)
  claim_id              CLM01.
  patient_id            the insured's member id (2010BA NM109). A dependant (HL 23) has no id of
                        their own in 5010: their key is the member id plus a digest of the
                        patient's name and birth date, so no name is stored.
  payer_id              the payer's id (2010BB NM1*PR NM109).
  plan_type             SBR09 claim filing indicator (`PLAN_TYPE_BY_FILING_INDICATOR`); a
                        Medicaid MCO files as MC or HM like Medicaid or a commercial HMO, so
                        `medicaid_mco` is never derived. Absent: `other`.
  network_status        `out` when a repricer's HCP says so (HCP01 00 "not covered under
                        contract" or HCP13 T1 "provider not a participant"), else `in`: a
                        provider's own claim does not say.
  rendering_provider_id NM1*82 (2310B) NM109; on 837I the attending NM1*71 when there is no
                        rendering provider; else a line-level NM1*82 all lines share; else the
                        billing provider (who then rendered the service).
  provider_credential   the rendering party's PRV taxonomy (`CREDENTIAL_BY_TAXONOMY`, then
                        `_CREDENTIAL_BY_TAXONOMY_PREFIX`). MD and DO share physician
                        taxonomies, PhD and PsyD share psychologist ones: read as MD and PhD.
                        No taxonomy, or one that is not a behavioral-health licence: `other`.
  facility_id           the service facility NM1*77 NM109 (2310C/2310E), else the billing
                        provider NM1*85 NM109.
  program               level of care from the lines' HCPCS and revenue codes
                        (`LEVEL_OF_CARE`, highest level wins); else OP when any line is a
                        behavioral-health outpatient code; else `other`.
  place_of_service      837P: CLM05-1. 837I has no POS: CLM05-1 is the facility type (first two
                        digits of the type of bill), mapped by `POS_BY_FACILITY_TYPE`; unknown
                        types are POS 99 (other).
  service_date          the earliest line DTP*472 (D8, or the start of an RD8); 837I without
                        line dates: the statement period's start (DTP*434).
  submission_date       claim DTP*050 when sent, else BHT04 (when the batch was created).
  primary_dx            HI qualifier ABK (ICD-10-CM principal), dotted. ICD-9-CM (BK/BF) is
                        read but refused: the contract is ICD-10-CM, and an ICD-9 V-code would
                        pass for a wrong ICD-10 code.
  secondary_dx          every HI ABF code, in order.
  prior_auth_id         REF*G1 on the claim, else the first line's REF*G1.
  total_charge          CLM02.
  frequency_code        CLM05-3: 7 (and 6, the old adjustment) replace, 8 voids; every other
                        code (1, interim 2-4, late charge 5, ...) is an original: `1`.
  original_claim_id     for 7/8, REF*F8 (the payer's claim number), resolved to our claim id
                        by `ingest` through the 835s' CLP07; without REF*F8 the claim replaces
                        itself (the same CLM01 sent again).

claim_lines (loop 2400)
  line_number           LX01 when it is a positive number unique in the claim, else the line's
                        position.
  procedure_code, modifiers  SV101 / SV202 composite: code and up to four modifiers.
  units                 SV104 / SV205 quantity; with unit basis MJ (minutes) the quantity is
                        the minutes and units are 1.
  minutes               only from an MJ quantity or our K3 extension: X12 has no element for
                        documented minutes.
  line_charge           SV102 / SV203.
  revenue_code          SV201 (837I), zero-padded to NUBC's four digits; none on 837P.

K3 extension (what `write` adds where standard elements cannot say a contract value)
  `K3*DENIALOPS field=value` in loop 2300 (fields of `EXTENSION_FIELDS`) or 2400
  (`minutes`) overrides the derived value. It is written only where the derivation
  above would give something else (a DO, a Medicaid MCO, POS 52 on an 837I, minutes),
  so a synthetic data set survives the trip through X12 unchanged. Files from
  elsewhere have no such K3 and get the derivations.

remits (835, loop 2100), one event per CLP; `ingest` folds a claim's events into its row
  claim_id              CLP01.
  received_date         BPR16 (the payment date) when it is a real date, else DTM*405 (the
                        production date), else GS04.
  status                CLP02 4 is denied; else denied when nothing was allowed and there is a
                        denial code (or no code at all), partial when a denial code comes with
                        an allowed amount, paid otherwise. "Denial code" is the contract's:
                        anything but PR-1/2/3 and CO-45 (`denials.denial_codes`).
  billed_amount         CLP03.  paid_amount CLP04.  patient_responsibility CLP05 (absent: 0).
  allowed_amount        AMT*AU (coverage amount) when sent, else CLP04 + CLP05.
  carc_codes            group-reason of every CAS, claim level first, then line by line, each
                        code once.
  rarc_codes            MOA03-07 and MIA05/20-23, then every line's LQ*HE, each code once.
  CLP02 22              a reversal: `ingest` undoes the adjudication it reverses.
  PLB                   provider-level adjustments belong to no claim: counted and summed for
                        the summary only.
  balancing             flagged, never refused: CLP04 against the sum of the lines' SVC03,
                        BPR02 against the sum of CLP04 less the PLB amounts.
  unknown codes         a CARC or RARC of the contract's form but missing from the bundled
                        2012 lists is kept as written and flagged; one not of that form
                        (a placeholder such as `X999`) is malformed: its claim is set aside.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from data_contracts.codes import (
    behavioral_health_procedures,
    carc_descriptions,
    dotted_icd10,
    rarc_descriptions,
)
from data_contracts.denials import denial_codes
from data_contracts.x12.errors import FLAGGED, X12Problem
from data_contracts.x12.loops import Claim, ClaimPayment, Party, Remittance, ServiceLine
from data_contracts.x12.tokens import Segment

PLAN_TYPE_BY_FILING_INDICATOR: dict[str, str] = {
    "CI": "commercial",
    "BL": "commercial",
    "HM": "commercial",
    "FI": "commercial",
    "12": "commercial",
    "13": "commercial",
    "14": "commercial",
    "15": "commercial",
    "17": "commercial",
    "MC": "medicaid",
    "MB": "medicare",
    "MA": "medicare",
    "16": "medicare_advantage",
    "CH": "tricare",
    "09": "self_pay",
    "11": "other",
    "AM": "other",
    "DS": "other",
    "LM": "other",
    "OF": "other",
    "TV": "other",
    "VA": "other",
    "WC": "other",
    "ZZ": "other",
}
"""SBR09 (5010 claim filing indicator code) to plan type; the first code per plan is written."""

CREDENTIAL_BY_TAXONOMY: dict[str, str] = {
    "2084P0800X": "MD",
    "363LP0808X": "PMHNP",
    "363L00000X": "NP",
    "363A00000X": "PA",
    "103TC0700X": "PhD",
    "1041C0700X": "LCSW",
    "101YP2500X": "LPC",
    "106H00000X": "LMFT",
    "101YM0800X": "LMHC",
    "101YA0400X": "LCADC",
}
"""NUCC taxonomy to licence; the first code per credential is the one written."""

_CREDENTIAL_BY_TAXONOMY_PREFIX = (
    ("103T", "PhD"),  # psychologists
    ("363L", "NP"),  # nurse practitioners
    ("363A", "PA"),  # physician assistants
    ("20", "MD"),  # allopathic and osteopathic physicians
)
_TAXONOMY_OF_LOOKALIKE = {"DO": "2084P0800X", "PsyD": "103TC0700X"}
"""Credentials X12 cannot tell apart are written with their look-alike's taxonomy (and a K3)."""

POS_BY_FACILITY_TYPE: dict[str, str] = {
    "11": "21",  # hospital inpatient
    "12": "21",
    "13": "22",  # hospital outpatient
    "14": "22",
    "21": "31",  # skilled nursing
    "22": "31",
    "32": "12",  # home health
    "33": "12",
    "71": "72",  # rural health clinic
    "72": "65",  # ESRD facility
    "77": "50",  # FQHC
    "75": "62",  # CORF
    "76": "53",  # community mental health centre
    "81": "34",  # hospice
    "82": "34",
    "83": "24",  # ambulatory surgery
    "85": "22",  # critical access hospital
    "86": "55",  # residential facility (behavioral health: residential SUD treatment)
    "89": "99",  # special facility, other
}
"""837I facility type (CLM05-1) to CMS place of service; the first type per POS is written."""
UNKNOWN_POS = "99"
OTHER_FACILITY_TYPE = "89"

LEVEL_OF_CARE: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    (
        "DETOX",
        frozenset({"H0008", "H0009", "H0010", "H0011", "H0012", "H0013", "H0014"}),
        frozenset({"0116", "0126", "0136", "0146", "0156"}),
    ),
    ("RES", frozenset({"H0017", "H0018", "H0019"}), frozenset({"1001", "1002"})),
    ("PHP", frozenset({"H0035", "S0201"}), frozenset({"0912", "0913"})),
    ("IOP", frozenset({"S9480", "H0015"}), frozenset({"0905", "0906"})),
)
"""Programs in order of precedence, with the HCPCS and revenue codes that bill them."""

EXTENSION_TAG = "DENIALOPS"
EXTENSION_FIELDS = (
    "plan_type",
    "network_status",
    "provider_credential",
    "program",
    "place_of_service",
)
LINE_EXTENSION_FIELDS = ("minutes",)

_DIAGNOSIS_QUALIFIERS = {"ABK": "principal", "ABF": "other", "BK": "principal", "BF": "other"}
_ICD9_QUALIFIERS = {"BK", "BF"}
_ADJUSTMENT_REASONS = range(2, 19, 3)
_MOA_REMARKS = range(3, 8)
_MIA_REMARKS = (5, 20, 21, 22, 23)
REVERSAL = "22"
DENIED = "4"


class UnmappableError(ValueError):
    """A claim or remittance that cannot become contract rows, and the segment to blame."""

    def __init__(self, segment: Segment | None, reason: str, category: str = "malformed"):
        super().__init__(reason)
        self.problem = X12Problem(segment.number if segment else None, reason, category=category)


# ---------------------------------------------------------------- shared element readers


def x12_date(text: str) -> str | None:
    """ISO date of a D8 (CCYYMMDD), the start of an RD8 range or a DT timestamp; None when
    it is not a real date."""
    digits = text.strip().split("-")[0]
    if len(digits) not in (8, 12) or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])).isoformat()
    except ValueError:
        return None


def _amount(segment: Segment, position: int, default: Decimal | None = None) -> Decimal:
    text = segment[position]
    if not text and default is not None:
        return default
    try:
        return Decimal(text)
    except InvalidOperation:
        raise UnmappableError(
            segment, f"{segment.tag}{position:02d} {text!r} is not an amount"
        ) from None


def _text(value: Decimal) -> str:
    return format(value, "f")


def _quantity(segment: Segment, position: int) -> str:
    """A whole quantity without X12's decimals ('1.00' -> '1'); a fraction is left for the
    contract check to refuse."""
    value = _amount(segment, position)
    return str(int(value)) if value == value.to_integral_value() else _text(value)


def _identifier(party: Segment | None) -> str:
    return party[9] if party is not None else ""


def _extensions(segments: Iterable[Segment], fields: tuple[str, ...]) -> dict[str, str]:
    """`field=value` pairs of our K3 segments; other senders' K3s are not ours to read."""
    found: dict[str, str] = {}
    for segment in segments:
        words = segment[1].split()
        if words[:1] != [EXTENSION_TAG]:
            continue
        for word in words[1:]:
            name, _, value = word.partition("=")
            if name in fields:
                found[name] = value
    return found


# ---------------------------------------------------------------- derivations (both ways)


def plan_type(filing_indicator: str) -> str:
    return PLAN_TYPE_BY_FILING_INDICATOR.get(filing_indicator, "other")


def credential(taxonomy: str) -> str:
    if taxonomy in CREDENTIAL_BY_TAXONOMY:
        return CREDENTIAL_BY_TAXONOMY[taxonomy]
    return next(
        (found for prefix, found in _CREDENTIAL_BY_TAXONOMY_PREFIX if taxonomy.startswith(prefix)),
        "other",
    )


def pos_of_facility_type(facility_type: str) -> str:
    return POS_BY_FACILITY_TYPE.get(facility_type, UNKNOWN_POS)


def program(procedure_codes: Iterable[str], revenue_codes: Iterable[str]) -> str:
    procedures, revenues = set(procedure_codes), set(revenue_codes)
    for name, hcpcs, revenue in LEVEL_OF_CARE:
        if procedures & hcpcs or revenues & revenue:
            return name
    return "OP" if procedures & behavioral_health_procedures().keys() else "other"


def _first_key(mapping: Mapping[str, str]) -> dict[str, str]:
    inverse: dict[str, str] = {}
    for key, value in mapping.items():
        inverse.setdefault(value, key)
    return inverse


FILING_INDICATOR_FOR_PLAN = _first_key(PLAN_TYPE_BY_FILING_INDICATOR) | {"medicaid_mco": "MC"}
TAXONOMY_FOR_CREDENTIAL = _first_key(CREDENTIAL_BY_TAXONOMY) | _TAXONOMY_OF_LOOKALIKE
FACILITY_TYPE_FOR_POS = _first_key(POS_BY_FACILITY_TYPE)


@dataclass(frozen=True)
class ClaimEncoding:
    """The standard elements `write` puts on a claim, and the K3 pairs for what they miss."""

    filing_indicator: str
    taxonomy: str | None
    facility_code: str
    extensions: dict[str, str]


def encode_claim(
    row: Mapping[str, object],
    institutional: bool,
    procedure_codes: Iterable[str],
    revenue_codes: Iterable[str],
) -> ClaimEncoding:
    """How a contract claim is said in X12, checked against how it will be read back."""
    filing = FILING_INDICATOR_FOR_PLAN[str(row["plan_type"])]
    taxonomy = TAXONOMY_FOR_CREDENTIAL.get(str(row["provider_credential"]))
    pos = str(row["place_of_service"])
    facility = FACILITY_TYPE_FOR_POS.get(pos, OTHER_FACILITY_TYPE) if institutional else pos
    read_back = {
        "plan_type": plan_type(filing),
        "network_status": "in",
        "provider_credential": credential(taxonomy or ""),
        "program": program(procedure_codes, revenue_codes),
        "place_of_service": pos_of_facility_type(facility) if institutional else pos,
    }
    extensions = {
        name: str(row[name]) for name in EXTENSION_FIELDS if read_back[name] != str(row[name])
    }
    return ClaimEncoding(filing, taxonomy, facility, extensions)


def extension_text(fields: Mapping[str, str]) -> str:
    return " ".join([EXTENSION_TAG, *(f"{name}={value}" for name, value in fields.items())])


# ---------------------------------------------------------------- 837 -> claims, claim_lines


@dataclass
class ClaimRows:
    """One claim as contract text rows, and what stops it from being ingested."""

    claim: dict[str, str | None]
    lines: list[dict[str, str | None]]
    problems: list[X12Problem]


def claim_rows(claim: Claim) -> ClaimRows:
    """One claims row and its claim_lines rows (contract text), or `UnmappableError` when the
    claim cannot even be read."""
    clm = claim.clm
    if not clm[1]:
        raise UnmappableError(clm, "CLM01 (claim id) is empty")
    facility_code, _, frequency = _clm05(clm)
    institutional = _institutional(claim)
    lines = [_line_row(line, institutional) for line in claim.lines]
    if not lines:
        raise UnmappableError(clm, f"claim {clm[1]} has no service lines (LX/SV1/SV2)")
    _number_lines(lines)
    rendering = _rendering(claim, institutional)
    problems: list[X12Problem] = []
    primary, secondary = _diagnoses(claim, problems)
    row: dict[str, str | None] = {
        "claim_id": clm[1],
        "patient_id": _patient_id(claim),
        "payer_id": _identifier(claim.subscriber.payer),
        "plan_type": plan_type(claim.subscriber.sbr[9] if claim.subscriber.sbr else ""),
        "network_status": _network_status(claim.pricing),
        "rendering_provider_id": _identifier(rendering.name),
        "provider_credential": credential(rendering.taxonomy[3] if rendering.taxonomy else ""),
        "facility_id": _facility_id(claim),
        "program": program(
            (str(line["procedure_code"]) for line in lines),
            (str(line["revenue_code"]) for line in lines if line["revenue_code"]),
        ),
        "place_of_service": pos_of_facility_type(facility_code) if institutional else facility_code,
        "service_date": _service_date(claim),
        "submission_date": _submission_date(claim),
        "primary_dx": primary,
        "secondary_dx": ";".join(secondary),
        "prior_auth_id": _prior_auth(claim),
        "total_charge": _text(_amount(clm, 2)),
        "frequency_code": {"6": "7", "7": "7", "8": "8"}.get(frequency, "1"),
        "original_claim_id": None,
        "segment": str(clm.number),
    }
    if row["frequency_code"] != "1":
        reference = _reference(claim.references, "F8")
        row["original_claim_id"] = reference or clm[1]
    row.update(_extensions(claim.extensions, EXTENSION_FIELDS))
    for line in lines:
        line["claim_id"] = clm[1]
    return ClaimRows(row, lines, problems)


def _clm05(clm: Segment) -> list[str]:
    parts = [*clm.components(5), "", ""][:3]
    if not parts[0]:
        raise UnmappableError(
            clm, f"CLM05 (place of service or facility type, frequency) is empty on {clm[1]}"
        )
    return parts


def _institutional(claim: Claim) -> bool:
    kinds = {line.service.tag for line in claim.lines if line.service is not None}
    if len(kinds) > 1:
        raise UnmappableError(claim.clm, f"claim {claim.clm[1]} mixes SV1 and SV2 lines")
    return kinds == {"SV2"}


def _line_row(line: ServiceLine, institutional: bool) -> dict[str, str | None]:
    service = line.service
    if service is None:
        raise UnmappableError(line.lx, "service line (LX) has no SV1/SV2")
    procedure = service.components(2 if institutional else 1)
    unit_basis, quantity = (4, 5) if institutional else (3, 4)
    units = _quantity(service, quantity) if service[quantity] else "1"
    minutes = units if service[unit_basis] == "MJ" else None
    row: dict[str, str | None] = {
        "line_number": line.lx[1] if line.lx[1].isdigit() and int(line.lx[1]) > 0 else "",
        "procedure_code": procedure[1] if len(procedure) > 1 else "",
        "modifiers": ";".join(code for code in procedure[2:6] if code),
        "units": "1" if minutes else units,
        "minutes": minutes,
        "line_charge": _text(_amount(service, 3 if institutional else 2)),
        "revenue_code": service[1].zfill(4) if institutional and service[1] else None,
        "segment": str(service.number),
    }
    row.update(_extensions(line.extensions, LINE_EXTENSION_FIELDS))
    return row


def _number_lines(lines: list[dict[str, str | None]]) -> None:
    """Keep the LX numbers when they can key the lines, else number the lines in order."""
    numbers = [line["line_number"] for line in lines]
    if not all(numbers) or len(set(numbers)) != len(numbers):
        for position, line in enumerate(lines, 1):
            line["line_number"] = str(position)


def _rendering(claim: Claim, institutional: bool) -> Party:
    for entity in ("82", "71") if institutional else ("82",):
        if entity in claim.providers and claim.providers[entity].name[9]:
            return claim.providers[entity]
    line_parties = [line.rendering for line in claim.lines]
    ids = {_identifier(party.name) for party in line_parties if party is not None}
    if all(line_parties) and len(ids) == 1 and "" not in ids:
        return line_parties[0]
    billing = claim.billing
    person = billing.name[2] == "1"
    return billing if person else Party(billing.name)


def _patient_id(claim: Claim) -> str:
    member = _identifier(claim.subscriber.insured)
    if not member:
        raise UnmappableError(
            claim.subscriber.insured or claim.clm, f"no member id (NM1*IL NM109) for {claim.clm[1]}"
        )
    patient = claim.patient
    if patient is None or patient.name is None:
        return member
    birth = patient.demographics[2] if patient.demographics else ""
    who = f"{patient.name[3]}|{patient.name[4]}|{birth}".upper()
    return f"{member}-{hashlib.sha256(who.encode()).hexdigest()[:10]}"


def _network_status(pricing: list[Segment]) -> str:
    out = any(segment[1] == "00" or segment[13] == "T1" for segment in pricing)
    return "out" if out else "in"


def _facility_id(claim: Claim) -> str:
    facility = claim.providers.get("77")
    return _identifier(facility.name) if facility and facility.name[9] else claim.billing.name[9]


def _dated(segments: Iterable[Segment], qualifier: str) -> list[Segment]:
    return [segment for segment in segments if segment[1] == qualifier]


def _date_of(segment: Segment) -> str:
    found = x12_date(segment[3])
    if found is None:
        raise UnmappableError(segment, f"DTP*{segment[1]} {segment[3]!r} is not a date")
    return found


def _service_date(claim: Claim) -> str:
    dates = [_date_of(s) for line in claim.lines for s in _dated(line.dates, "472")]
    if not dates:
        dates = [_date_of(s) for s in _dated(claim.dates, "434")]
    if not dates:
        raise UnmappableError(
            claim.clm, f"no date of service (DTP*472 or DTP*434) on {claim.clm[1]}"
        )
    return min(dates)


def _submission_date(claim: Claim) -> str:
    received = _dated(claim.dates, "050")
    if received:
        return _date_of(received[0])
    created = x12_date(claim.header[4]) if claim.header else None
    if created is None:
        raise UnmappableError(
            claim.header or claim.clm, "no submission date (claim DTP*050 or BHT04)"
        )
    return created


def _diagnoses(claim: Claim, problems: list[X12Problem]) -> tuple[str, list[str]]:
    """Principal and other diagnoses, dotted. ICD-9-CM codes are read (so a file's content
    can be shown) but reported: such a claim cannot be ingested."""
    principal: str | None = None
    others: list[str] = []
    for segment in claim.diagnoses:
        for position in range(1, len(segment) + 1):
            parts = segment.components(position)
            if parts[0] in _ICD9_QUALIFIERS and not problems:
                problems.append(
                    X12Problem(
                        segment.number,
                        f"ICD-9-CM diagnosis (HI qualifier {parts[0]}) on {claim.clm[1]}: "
                        "the contract takes ICD-10-CM (ABK/ABF), used since 2015-10-01",
                        category="icd9",
                    )
                )
            kind = _DIAGNOSIS_QUALIFIERS.get(parts[0])
            if kind is None or len(parts) < 2:
                continue
            code = dotted_icd10(parts[1].upper())
            if kind == "principal" and principal is None:
                principal = code
            elif kind == "other":
                others.append(code)
    if principal is None and not problems:
        raise UnmappableError(
            claim.clm, f"no principal diagnosis (HI ABK) on {claim.clm[1]}", "no_principal_dx"
        )
    return principal or "", others


def _reference(references: Iterable[Segment], qualifier: str) -> str | None:
    return next((segment[2] for segment in references if segment[1] == qualifier), None)


def _prior_auth(claim: Claim) -> str | None:
    return _reference(claim.references, "G1") or next(
        (found for line in claim.lines if (found := _reference(line.references, "G1"))), None
    )


# ---------------------------------------------------------------- 835 -> remit events


def received_date(remit: Remittance) -> str | None:
    group = remit.transaction.group
    candidates = (
        remit.bpr[16] if remit.bpr else "",
        remit.production_date[2] if remit.production_date else "",
        group[4] if group else "",
    )
    return next((found for text in candidates if (found := x12_date(text))), None)


def remit_status(claim_status: str, allowed: Decimal, carc_codes: list[str]) -> str:
    if claim_status == DENIED:
        return "denied"
    denials = denial_codes(carc_codes)
    if allowed <= 0 and (denials or not carc_codes):
        return "denied"
    return "partial" if denials else "paid"


def remit_event(claim: ClaimPayment, received: str, trace: str) -> dict[str, str]:
    """One adjudication (CLP loop) as a remits row plus what folding needs, or `UnmappableError`."""
    clp = claim.clp
    if not clp[1]:
        raise UnmappableError(clp, "CLP01 (claim id) is empty")
    billed, paid = _amount(clp, 3), _amount(clp, 4)
    patient = _amount(clp, 5, default=Decimal(0))
    coverage = [amount for amount in claim.amounts if amount[1] == "AU"]
    allowed = _amount(coverage[0], 2) if coverage else paid + patient
    carcs = _adjustment_codes(
        [*claim.adjustments, *(cas for service in claim.services for cas in service.adjustments)]
    )
    rarcs = _remark_codes(claim)
    sign = -1 if clp[2] == REVERSAL else 1
    content = "~".join(segment.canonical() for segment in claim.segments())
    return {
        "event_id": hashlib.sha256(f"{trace}|{received}|{content}".encode()).hexdigest()[:20],
        "claim_id": clp[1],
        "received_date": received,
        "status": remit_status(clp[2], allowed * sign, carcs),
        "billed_amount": _text(billed),
        "allowed_amount": _text(allowed),
        "paid_amount": _text(paid),
        "patient_responsibility": _text(patient),
        "carc_codes": ";".join(carcs),
        "rarc_codes": ";".join(rarcs),
        "claim_status_code": clp[2],
        "payer_claim_number": clp[7],
        "trace_number": trace,
        "sequence": str(claim.sequence),
        "segment": str(clp.number),
    }


def _adjustment_codes(adjustments: Iterable[Segment]) -> list[str]:
    codes = [
        f"{cas[1]}-{cas[position]}"
        for cas in adjustments
        for position in _ADJUSTMENT_REASONS
        if cas[position]
    ]
    return list(dict.fromkeys(codes))


def _remark_codes(claim: ClaimPayment) -> list[str]:
    codes = []
    for segment in claim.remarks:
        positions = _MOA_REMARKS if segment.tag == "MOA" else _MIA_REMARKS
        codes += [segment[position] for position in positions if segment[position]]
    codes += [
        lq[2] for service in claim.services for lq in service.remarks if lq[1] == "HE" and lq[2]
    ]
    return list(dict.fromkeys(codes))


def claim_balance(claim: ClaimPayment) -> X12Problem | None:
    """A flag when the service lines' payments (SVC03) do not add up to the claim's (CLP04):
    the payer's arithmetic, which the contract keeps at claim level, so the claim posts."""
    if not claim.services:
        return None
    paid = _amount(claim.clp, 4)
    try:
        lines = sum((_amount(service.svc, 3) for service in claim.services), Decimal(0))
    except UnmappableError as error:  # no contract column comes from SVC03: the claim posts
        return _unbalanced(
            error.problem.segment, f"{error}: the service lines cannot be balanced", claim.clp[1]
        )
    if paid == lines:
        return None
    return _unbalanced(
        claim.clp.number,
        f"CLP04 {_text(paid)} is not the sum of its service lines' SVC03 ({_text(lines)})",
        claim.clp[1],
    )


def _unbalanced(segment: int | None, reason: str, claim_id: str = "") -> X12Problem:
    return X12Problem(segment, reason, claim_id, severity=FLAGGED, category="balance")


def payment_balance(remit: Remittance, provider_adjustments: Decimal) -> X12Problem | None:
    """A flag when the payment (BPR02) is not the claims' payments (CLP04) less the provider
    adjustments (PLB): money the payer sent or kept that no claim explains."""
    if remit.bpr is None or not remit.bpr[2]:
        return None
    paid = []
    for claim in remit.claims:
        try:
            paid.append(_amount(claim.clp, 4))
        except UnmappableError:
            return None  # that claim is set aside for it: there is no total to compare
    expected = sum(paid, Decimal(0)) - provider_adjustments
    try:
        sent = _amount(remit.bpr, 2)
    except UnmappableError as error:
        return _unbalanced(error.problem.segment, str(error))
    if sent == expected:
        return None
    return _unbalanced(
        remit.bpr.number,
        f"BPR02 {_text(sent)} is not the claims' CLP04 less the PLB adjustments "
        f"({_text(expected)})",
    )


def unknown_codes(carc_codes: str, rarc_codes: str) -> list[str]:
    """Well-formed CARC and RARC codes missing from the bundled (2012) code lists: kept as
    written, and flagged, since newer codes are real and the lists are old."""
    carcs = carc_descriptions()
    rarcs = rarc_descriptions()
    return [
        *(code for code in carc_codes.split(";") if code and code.partition("-")[2] not in carcs),
        *(code for code in rarc_codes.split(";") if code and code not in rarcs),
    ]


def provider_adjustment_total(remit: Remittance) -> Decimal:
    """Sum of the PLB amounts (PLB04, 06, ...), which belong to the payee, not to a claim."""
    return sum(
        (
            _amount(plb, position)
            for plb in remit.provider_adjustments
            for position in range(4, len(plb) + 1, 2)
            if plb[position]
        ),
        Decimal(0),
    )
