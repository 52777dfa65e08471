"""Envelopes and loops: numbered segments to 835 remittances and 837 claims.

Only the structure the contract needs is assembled, in one pass per
transaction, by the segment that opens each loop: CLP and SVC in an 835 (with
their CAS, MOA/MIA, LQ and DTM; LX and PLB end a claim), HL levels 20/22/23,
CLM and LX in an 837 (with the claim's NM1/PRV provider loops, and a claim's
other-payer SBR loop kept apart so its NM1*PR never overwrites the payer).
Segments the contract has no column for (addresses, contacts, TS3, AMT, ...)
are passed over, so their order does not matter.

An envelope error sets aside the transaction sets it encloses, and nothing
else, because a transaction set cut short or mis-enclosed would otherwise be
half-posted: an SE whose control number is not its ST's, a transaction set with
no SE, a group or interchange whose trailer is missing or names another control
number than its header, a transaction set that is not an 835 or 837. The other
interchanges and transactions of the file still post. Segments outside any
transaction set are reported. Wrong counts (SE01, GE01, IEA01) are flagged, not
refused: real files get them wrong and nothing in them is lost by it. Loops that
lack the segment that identifies them (a billing provider HL without NM1*85, a
CLM outside a subscriber, an SVC outside a CLP) raise `X12Error`, which sets
their transaction set aside.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from data_contracts.x12.errors import FLAGGED, SET_ASIDE, X12Error, X12Problem
from data_contracts.x12.tokens import Segment

log = logging.getLogger(__name__)

Loop = TypeVar("Loop")

INGESTED_KINDS = ("835", "837")


@dataclass
class Transaction:
    """One ST..SE transaction set with the envelope around it, and what is wrong with it."""

    st: Segment
    body: list[Segment]
    group: Segment | None
    interchange: Segment | None
    problems: list[X12Problem] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.st[1]

    @property
    def control(self) -> str:
        return self.st[2]

    @property
    def set_aside(self) -> bool:
        return any(problem.severity == SET_ASIDE for problem in self.problems)

    def report(
        self,
        segment: Segment | None,
        reason: str,
        severity: str = SET_ASIDE,
        category: str = "envelope",
    ) -> None:
        self.problems.append(
            X12Problem(
                segment.number if segment else None,
                reason,
                transaction=self.control,
                severity=severity,
                category=category,
            )
        )


@dataclass
class _Enclosure:
    """An open interchange (ISA) or functional group (GS) and what it encloses so far."""

    header: Segment
    transactions: list[Transaction] = field(default_factory=list)
    groups: int = 0


@dataclass
class Envelope:
    """A file's transaction sets, and the problems that belong to none of them."""

    transactions: list[Transaction]
    problems: list[X12Problem]


_TRAILERS = {"ISA": ("IEA", 13), "GS": ("GE", 6)}


def envelope(segments: list[Segment], unreadable: Collection[int] = ()) -> Envelope:
    """Every transaction set of the file, each with its envelope problems; a segment in
    `unreadable` (numbers of segments whose identifier is not one) sets aside its
    transaction set."""
    found: list[Transaction] = []
    outside: list[X12Problem] = []
    opened: dict[str, _Enclosure] = {}
    current: Transaction | None = None

    def close_transaction(at: Segment | None) -> None:
        nonlocal current
        if current is not None:
            where = f"before {at.tag} at segment {at.number}" if at else "at the end of the file"
            current.report(
                current.st, f"transaction set {current.control!r} has no SE {where}: cut short?"
            )
            current = None

    def close(tag: str, at: Segment | None) -> None:
        enclosure = opened.pop(tag, None)
        if enclosure is None:
            return
        trailer, _ = _TRAILERS[tag]
        where = f"before segment {at.number}" if at else "at the end of the file"
        for transaction in enclosure.transactions:
            transaction.report(
                enclosure.header,
                f"{tag} at segment {enclosure.header.number} has no {trailer} {where}: cut short?",
            )

    for segment in segments:
        tag = segment.tag
        if unreadable and segment.number in unreadable:
            reason = f"{tag!r} is not a segment identifier"
            if current is not None:
                current.report(segment, reason, category="structure")
                current.body.append(segment)  # counted in SE01; the transaction is set aside
            else:
                outside.append(X12Problem(segment.number, reason, category="structure"))
        elif tag in _TRAILERS:
            close_transaction(segment)
            if tag == "ISA":
                close("GS", segment)
            close(tag, segment)
            opened[tag] = _Enclosure(segment)
            if tag == "GS" and "ISA" in opened:
                opened["ISA"].groups += 1
        elif tag in ("IEA", "GE"):
            close_transaction(segment)
            if tag == "IEA":
                close("GS", segment)
            _close_checked("ISA" if tag == "IEA" else "GS", segment, opened, outside)
        elif tag == "ST":
            close_transaction(segment)
            group, interchange = opened.get("GS"), opened.get("ISA")
            current = Transaction(
                segment,
                [],
                group.header if group else None,
                interchange.header if interchange else None,
            )
            found.append(current)
            for enclosure in (group, interchange):
                if enclosure is not None:
                    enclosure.transactions.append(current)
            if current.kind not in INGESTED_KINDS:
                current.report(
                    segment,
                    f"transaction set {current.kind!r} is not ingested (only 835 and 837)",
                    category="unsupported",
                )
        elif tag == "SE":
            if current is None:
                outside.append(
                    X12Problem(segment.number, "SE without an ST before it", category="envelope")
                )
                continue
            _check_trailer(current, segment)
            current = None
        elif current is None:
            outside.append(
                X12Problem(
                    segment.number,
                    f"{tag} is outside a transaction set (no ST before it)",
                    category="envelope",
                )
            )
        else:
            current.body.append(segment)
    close_transaction(None)
    close("GS", None)
    close("ISA", None)
    return Envelope(found, outside)


def _check_trailer(transaction: Transaction, se: Segment) -> None:
    if se[2] != transaction.control:
        transaction.report(
            se,
            f"SE02 {se[2]!r} is not the control number of its ST ({transaction.control!r})",
        )
    actual = len(transaction.body) + 2
    if se[1] != str(actual):
        transaction.report(
            se,
            f"SE01 says {se[1] or 'nothing'} segments, the transaction set has {actual}",
            severity=FLAGGED,
            category="count",
        )


def _close_checked(
    tag: str, trailer: Segment, opened: dict[str, _Enclosure], outside: list[X12Problem]
) -> None:
    """Close an interchange or group: a control number that is not its header's sets aside
    what it encloses; a wrong count is flagged."""
    enclosure = opened.pop(tag, None)
    if enclosure is None:
        outside.append(
            X12Problem(
                trailer.number, f"{trailer.tag} without a {tag} before it", category="envelope"
            )
        )
        return
    _, control_at = _TRAILERS[tag]
    control, said = enclosure.header[control_at], trailer[2]
    count = enclosure.groups if tag == "ISA" else len(enclosure.transactions)
    if said != control:
        for transaction in enclosure.transactions:
            transaction.report(
                trailer,
                f"{trailer.tag}02 {said!r} is not the control number of its {tag} "
                f"at segment {enclosure.header.number} ({control!r})",
            )
    if trailer[1] != str(count):
        outside.append(
            X12Problem(
                trailer.number,
                f"{trailer.tag}01 says {trailer[1] or 'nothing'}, the "
                f"{'interchange' if tag == 'ISA' else 'group'} has {count}",
                severity=FLAGGED,
                category="count",
            )
        )


# ---------------------------------------------------------------- 835


@dataclass
class ServicePayment:
    """Loop 2110: one SVC with its dates, adjustments and remark codes."""

    svc: Segment
    adjustments: list[Segment] = field(default_factory=list)
    remarks: list[Segment] = field(default_factory=list)


@dataclass
class ClaimPayment:
    """Loop 2100: one CLP with claim-level adjustments, remarks, amounts and service lines."""

    clp: Segment
    sequence: int
    adjustments: list[Segment] = field(default_factory=list)
    remarks: list[Segment] = field(default_factory=list)
    amounts: list[Segment] = field(default_factory=list)
    services: list[ServicePayment] = field(default_factory=list)

    def segments(self) -> Iterator[Segment]:
        yield self.clp
        yield from self.adjustments
        yield from self.remarks
        yield from self.amounts
        for service in self.services:
            yield service.svc
            yield from service.adjustments
            yield from service.remarks


@dataclass
class Remittance:
    """One 835 transaction: payment header, production date, claims and provider adjustments."""

    transaction: Transaction
    bpr: Segment | None = None
    trn: Segment | None = None
    production_date: Segment | None = None
    claims: list[ClaimPayment] = field(default_factory=list)
    provider_adjustments: list[Segment] = field(default_factory=list)


def remittance(transaction: Transaction, source: str) -> Remittance:
    remit = Remittance(transaction)
    claim: ClaimPayment | None = None
    service: ServicePayment | None = None
    for segment in transaction.body:
        tag = segment.tag
        if tag == "CLP":
            claim = ClaimPayment(segment, len(remit.claims))
            remit.claims.append(claim)
            service = None
        elif tag == "SVC":
            claim = _inside(claim, segment, "CLP", source)
            service = ServicePayment(segment)
            claim.services.append(service)
        elif tag in ("LX", "PLB"):
            claim = service = None
            if tag == "PLB":
                remit.provider_adjustments.append(segment)
        elif tag == "CAS":
            (service or _inside(claim, segment, "CLP", source)).adjustments.append(segment)
        elif tag == "LQ":
            _inside(service, segment, "SVC", source).remarks.append(segment)
        elif tag in ("MOA", "MIA"):
            _inside(claim, segment, "CLP", source).remarks.append(segment)
        elif tag == "AMT" and claim is not None and service is None:
            claim.amounts.append(segment)
        elif tag == "BPR":
            remit.bpr = segment
        elif tag == "TRN":
            remit.trn = segment
        elif tag == "DTM" and claim is None and segment[1] == "405":
            remit.production_date = segment
    return remit


def _inside(loop: Loop | None, segment: Segment, opener: str, source: str) -> Loop:
    if loop is None:
        raise X12Error.at(
            source, segment.number, f"{segment.tag} is outside a loop ({opener} before it)"
        )
    return loop


# ---------------------------------------------------------------- 837


@dataclass
class Party:
    """An NM1 entity with the PRV taxonomy of its loop."""

    name: Segment
    taxonomy: Segment | None = None


@dataclass
class Subscriber:
    """HL level 22: the SBR, the insured (NM1*IL) and the payer (NM1*PR)."""

    hl: Segment
    sbr: Segment | None = None
    insured: Segment | None = None
    payer: Segment | None = None


@dataclass
class Patient:
    """HL level 23: a dependant, who has no member id of their own in 5010."""

    hl: Segment
    name: Segment | None = None
    demographics: Segment | None = None


@dataclass
class ServiceLine:
    """Loop 2400: LX, the SV1/SV2 service, its dates, references, extensions and a
    line-level rendering provider."""

    lx: Segment
    service: Segment | None = None
    dates: list[Segment] = field(default_factory=list)
    references: list[Segment] = field(default_factory=list)
    extensions: list[Segment] = field(default_factory=list)
    rendering: Party | None = None


@dataclass
class Claim:
    """Loop 2300 with the billing provider, subscriber and patient it sits under."""

    clm: Segment
    billing: Party
    subscriber: Subscriber
    patient: Patient | None
    header: Segment | None
    """BHT of the transaction: its date is when the batch was created."""
    dates: list[Segment] = field(default_factory=list)
    references: list[Segment] = field(default_factory=list)
    extensions: list[Segment] = field(default_factory=list)
    diagnoses: list[Segment] = field(default_factory=list)
    pricing: list[Segment] = field(default_factory=list)
    providers: dict[str, Party] = field(default_factory=dict)
    lines: list[ServiceLine] = field(default_factory=list)


@dataclass
class _ClaimContext:
    """Where in the 837 hierarchy the walk is."""

    billing_hl: Segment | None = None
    billing: Party | None = None
    subscriber: Subscriber | None = None
    patient: Patient | None = None
    claim: Claim | None = None
    line: ServiceLine | None = None
    party: Party | None = None
    """The last NM1 loop opened, which a following PRV belongs to."""
    billing_taxonomy: Segment | None = None
    """The billing provider's PRV, which comes before its NM1*85."""
    other_payer: bool = False
    """Inside a claim's 2320 other-subscriber loop, whose NM1s are not this claim's."""


_CLAIM_SEGMENTS = {
    "DTP": "dates",
    "REF": "references",
    "K3": "extensions",
    "HI": "diagnoses",
    "HCP": "pricing",
}


def claims(transaction: Transaction, source: str) -> list[Claim]:
    """Every CLM of an 837 transaction, each with everything above and inside it."""
    found: list[Claim] = []
    at = _ClaimContext()
    header = None
    for segment in transaction.body:
        tag = segment.tag
        if tag == "BHT":
            header = segment
        elif tag == "HL":
            _open_level(at, segment, source)
        elif tag == "NM1":
            _name(at, segment, source)
        elif tag == "PRV":
            if at.party is not None and at.party.taxonomy is None:
                at.party.taxonomy = segment
            elif at.billing_hl is not None and at.billing is None:
                at.billing_taxonomy = segment
        elif tag == "SBR":
            if at.claim is not None:
                at.other_payer, at.party = True, None
            elif at.subscriber is not None:
                at.subscriber.sbr = segment
        elif tag == "DMG" and at.patient is not None:
            at.patient.demographics = segment
        elif tag == "CLM":
            at.claim = _open_claim(at, segment, header, source)
            found.append(at.claim)
        elif tag == "LX":
            at.line = ServiceLine(segment)
            _inside(at.claim, segment, "CLM", source).lines.append(at.line)
            at.other_payer, at.party = False, None
        elif tag in ("SV1", "SV2"):
            line = _inside(at.line, segment, "LX", source)
            line.service = line.service or segment
        elif at.line is not None and tag in ("DTP", "REF", "K3"):
            getattr(at.line, _CLAIM_SEGMENTS[tag]).append(segment)
        elif at.claim is not None and not at.other_payer and tag in _CLAIM_SEGMENTS:
            getattr(at.claim, _CLAIM_SEGMENTS[tag]).append(segment)
    return found


def _open_level(at: _ClaimContext, hl: Segment, source: str) -> None:
    level = hl[3]
    at.claim = at.line = at.party = None
    at.other_payer = False
    if level == "20":
        at.billing_hl, at.billing, at.billing_taxonomy = hl, None, None
        at.subscriber = at.patient = None
    elif level == "22":
        at.subscriber, at.patient = Subscriber(hl), None
    elif level == "23":
        at.patient = Patient(hl)
    else:
        raise X12Error.at(
            source, hl.number, f"HL level {level!r} is not 20 (billing), 22 or 23 (patient)"
        )


def _name(at: _ClaimContext, nm1: Segment, source: str) -> None:
    entity = nm1[1]
    at.party = None
    if at.line is not None:
        if entity == "82":
            at.line.rendering = at.party = Party(nm1)
    elif at.claim is not None:
        if not at.other_payer:
            at.party = at.claim.providers.setdefault(entity, Party(nm1))
    elif at.patient is not None:
        if entity == "QC":
            at.patient.name = nm1
    elif at.subscriber is not None:
        if entity == "IL":
            at.subscriber.insured = nm1
        elif entity == "PR":
            at.subscriber.payer = nm1
    elif at.billing_hl is not None:
        if at.billing is None and entity != "85":
            raise X12Error.at(
                source,
                nm1.number,
                f"NM1*{entity} where the billing provider loop (HL at segment "
                f"{at.billing_hl.number}) must start with NM1*85",
            )
        if entity == "85":
            at.billing = at.party = Party(nm1, at.billing_taxonomy)


def _open_claim(at: _ClaimContext, clm: Segment, header: Segment | None, source: str) -> Claim:
    if at.billing is None:
        raise X12Error.at(source, clm.number, "CLM without a billing provider (HL 20, NM1*85)")
    subscriber = _inside(at.subscriber, clm, "HL 22 subscriber", source)
    at.line = at.party = None
    at.other_payer = False
    return Claim(clm, at.billing, subscriber, at.patient, header)
