"""One denied claim as a biller works it: the claim and its lines, the remit's codes in
words, the authorizations and coverage in force on the service date, the recovery
estimate, and one timeline of everything that happened to it (the practice's records and
the queue's trail).

The claim detail page and its JSON twin (`GET /v1/queue/items/{claim_id}/detail`) both
show `claim_detail`'s answer, so the two never disagree. The queue item alone is enough
for an answer: without the tenant's data the history is left out and `unavailable` says
why, since the estimate and the trail still let a biller work the item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import pandas as pd

from data_contracts.codes import carc_descriptions, rarc_descriptions
from data_contracts.denials import split_list
from data_contracts.reader import ContractData
from queues.store import WorkItem
from storage.audit import AuditEvent

NO_DESCRIPTION = "no description in the bundled list"


@dataclass(frozen=True)
class Code:
    """A remit code and its official description (`NO_DESCRIPTION` when the bundled list,
    as of 2012, has none)."""

    code: str
    description: str


@dataclass(frozen=True)
class Line:
    line_number: int
    procedure_code: str
    modifiers: list[str]
    units: int
    minutes: int | None
    line_charge: float


@dataclass(frozen=True)
class Remit:
    received_date: date
    status: str
    billed_amount: float
    allowed_amount: float
    paid_amount: float
    patient_responsibility: float


@dataclass(frozen=True)
class Authorization:
    auth_id: str
    procedure_codes: list[str]
    program: str | None
    start_date: date
    end_date: date
    units_approved: int
    covers_claim: bool
    """It names one of the claim's procedure codes, or none (the contract's "the whole
    program"), and the claim's program when it names one."""


@dataclass(frozen=True)
class Coverage:
    coverage_start: date
    coverage_end: date | None
    """None: open-ended."""


@dataclass(frozen=True)
class Claim:
    """The claim's header facts as submitted."""

    patient_id: str
    payer_id: str
    plan_type: str
    network_status: str
    program: str
    place_of_service: str
    service_date: date
    submission_date: date
    rendering_provider_id: str
    provider_credential: str
    primary_dx: str
    secondary_dx: list[str]
    prior_auth_id: str | None
    total_charge: float
    frequency_code: str


@dataclass(frozen=True)
class Estimate:
    """The queue's recovery estimate and why."""

    p_recover: float
    recoverable_amount: float
    expected_recovery: float
    expected_net: float
    """Expected recovery less the biller's time at the policy's cost per minute."""
    effort_minutes: float
    deadline: date | None
    days_left: int | None
    reason: str
    action: str


@dataclass(frozen=True)
class Event:
    """One line of the timeline: when, what, by whom, in words."""

    at: datetime
    kind: str
    actor: str | None
    text: str


@dataclass(frozen=True)
class History:
    """What the practice's records say about the claim."""

    claim: Claim
    lines: list[Line]
    remit: Remit | None
    authorizations: list[Authorization]
    """Of the patient and payer, in force on the service date."""
    coverage: list[Coverage]
    """Eligibility spans of the patient and payer in force on the service date."""


@dataclass(frozen=True)
class ClaimDetail:
    claim_id: str
    item: WorkItem
    estimate: Estimate
    carcs: list[Code]
    rarcs: list[Code]
    history: History | None
    unavailable: str | None
    """Why `history` is None (no data directory, or the claim is not in it)."""
    timeline: list[Event] = field(default_factory=list)
    """Oldest first."""


def claim_detail(
    item: WorkItem,
    trail: Sequence[AuditEvent],
    data: ContractData | None,
    as_of: date,
    cost_per_minute: float,
    unavailable: str | None = None,
) -> ClaimDetail:
    """The detail of `item`'s claim: its `trail` (`WorkQueue.audit`) and, from `data` (the
    tenant's contract data, or None with `unavailable` saying why), its history."""
    history, appeals = None, []
    if data is not None:
        history = _history(data, item.claim_id)
        if history is None:
            unavailable = f"claim {item.claim_id} is not in the practice's data"
        else:
            appeals = _appeals(data, item.claim_id)
    return ClaimDetail(
        claim_id=item.claim_id,
        item=item,
        estimate=_estimate(item, as_of, cost_per_minute),
        carcs=explain_carcs(split_list(item.carc_codes)),
        rarcs=explain_rarcs(split_list(item.rarc_codes)),
        history=history,
        unavailable=unavailable if history is None else None,
        timeline=_timeline(history, appeals, trail),
    )


def explain_carcs(codes: Sequence[str]) -> list[Code]:
    """CARCs (`CO-197`) with their descriptions: the list keys the reason without its group."""
    known = carc_descriptions()
    return [Code(code, known.get(code.split("-", 1)[-1], NO_DESCRIPTION)) for code in codes]


def explain_rarcs(codes: Sequence[str]) -> list[Code]:
    known = rarc_descriptions()
    return [Code(code, known.get(code, NO_DESCRIPTION)) for code in codes]


def _estimate(item: WorkItem, as_of: date, cost_per_minute: float) -> Estimate:
    return Estimate(
        p_recover=item.p_recover,
        recoverable_amount=item.recoverable_amount,
        expected_recovery=item.expected_recovery,
        expected_net=item.expected_recovery - cost_per_minute * item.effort_minutes,
        effort_minutes=item.effort_minutes,
        deadline=item.deadline,
        days_left=None if item.deadline is None else (item.deadline - as_of).days,
        reason=item.reason,
        action=item.action,
    )


def _rows(frame: pd.DataFrame, column: str, value: str) -> list[dict[str, Any]]:
    """The rows of `frame` whose `column` is `value`, as plain Python values."""
    found = frame[frame[column] == value]
    return [{key: _plain(v) for key, v in row.items()} for row in found.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _fields(kind: type, row: dict[str, Any]) -> dict[str, Any]:
    """The values of `row` that the dataclass `kind` has fields for."""
    return {name: row[name] for name in kind.__dataclass_fields__}


def _history(data: ContractData, claim_id: str) -> History | None:
    found = _rows(data.claims, "claim_id", claim_id)
    if not found:
        return None
    row = found[0]
    claim = Claim(**{**_fields(Claim, row), "secondary_dx": split_list(row["secondary_dx"])})
    lines = sorted(
        (
            Line(**{**_fields(Line, line), "modifiers": split_list(line["modifiers"])})
            for line in _rows(data.claim_lines, "claim_id", claim_id)
        ),
        key=lambda line: line.line_number,
    )
    remits = _rows(data.remits, "claim_id", claim_id)
    remit = None
    if remits:
        remit = Remit(**_fields(Remit, remits[0]))
    return History(
        claim=claim,
        lines=lines,
        remit=remit,
        authorizations=_authorizations(data, claim, {line.procedure_code for line in lines}),
        coverage=_coverage(data, claim),
    )


def _authorizations(data: ContractData, claim: Claim, procedures: set[str]) -> list[Authorization]:
    """The patient's authorizations with this payer whose span holds the service date."""
    out = []
    for row in _rows(data.authorizations, "patient_id", claim.patient_id):
        if row["payer_id"] != claim.payer_id:
            continue
        if not row["start_date"] <= claim.service_date <= row["end_date"]:
            continue
        codes = split_list(row["procedure_codes"])
        named = not codes or bool(procedures & set(codes))
        covers = named and row["program"] in (None, claim.program)
        fields = {name: row[name] for name in ("auth_id", "program", "start_date", "end_date")}
        out.append(
            Authorization(
                **fields,
                procedure_codes=codes,
                units_approved=row["units_approved"],
                covers_claim=covers,
            )
        )
    return sorted(out, key=lambda auth: (not auth.covers_claim, auth.start_date))


def _coverage(data: ContractData, claim: Claim) -> list[Coverage]:
    """The patient's eligibility spans with this payer that hold the service date."""
    return [
        Coverage(row["coverage_start"], row["coverage_end"])
        for row in _rows(data.eligibility, "patient_id", claim.patient_id)
        if row["payer_id"] == claim.payer_id
        and row["coverage_start"] <= claim.service_date
        and (row["coverage_end"] is None or claim.service_date <= row["coverage_end"])
    ]


def _appeals(data: ContractData, claim_id: str) -> list[dict[str, Any]]:
    return _rows(data.appeals, "claim_id", claim_id)


def _timeline(
    history: History | None, appeals: list[dict[str, Any]], trail: Sequence[AuditEvent]
) -> list[Event]:
    """The practice's records (dated by day, so first on their day) and the queue's trail,
    oldest first."""
    events = []
    if history is not None:
        claim = history.claim
        events.append(
            Event(_day(claim.service_date), "service", None, "Service rendered"),
        )
        events.append(
            Event(
                _day(claim.submission_date),
                "submitted",
                None,
                f"Claim submitted to {claim.payer_id} for ${claim.total_charge:,.2f}",
            )
        )
        if history.remit is not None:
            remit = history.remit
            events.append(
                Event(
                    _day(remit.received_date),
                    "remit",
                    None,
                    f"Remit received: {remit.status}, paid ${remit.paid_amount:,.2f} "
                    f"of ${remit.billed_amount:,.2f} billed",
                )
            )
    for appeal in appeals:
        text = f"Earlier {appeal['action'].replace('_', ' ')}: {appeal['outcome']}"
        if appeal["outcome"] != "pending":
            text += f", ${appeal['recovered_amount']:,.2f} recovered"
        events.append(Event(_day(appeal["action_date"]), "appeal", None, text))
    events.extend(Event(event.at, event.event, event.actor, _words(event)) for event in trail)
    return sorted(events, key=lambda event: event.at)


def _day(value: date) -> datetime:
    return datetime.combine(value, time.min, tzinfo=UTC)


def _words(event: AuditEvent) -> str:
    """A queue event as a biller reads it."""
    detail = event.detail or {}
    words = {
        "loaded": "Ranked into the queue",
        "leased": "Taken",
        "renewed": "Lease renewed",
        "released": "Released",
        "assigned": f"Assigned to {detail['to']}" if detail.get("to") else "Unassigned",
        "action_changed": f"Action changed from {detail.get('from')} to {detail.get('to')}",
        "note_added": f"Note: {detail.get('text', '')}",
    }
    if event.event == "resolved":
        text = (
            f"Resolved: {str(detail.get('action', '')).replace('_', ' ')}, "
            f"{detail.get('effort_minutes')} min"
        )
        return text + (f" — {detail['note']}" if detail.get("note") else "")
    if event.event in ("outcome", "outcome_corrected"):
        amount = detail.get("recovered_amount")
        paid = f", ${amount:,.2f} paid" if isinstance(amount, int | float) else ""
        return f"Outcome: {detail.get('outcome')}{paid}"
    return words.get(event.event, event.event.replace("_", " ").capitalize())
