"""The work queue over HTTP: billers list, lease, renew, release and resolve; outcomes come back.

A biller is the person's username (or the API key's id), so each lease and
resolution in the audit trail names who did it; the queue is the caller's tenant's.
Billers browse the open queue (filters and sorts of `queues.browse`, as the web page
has them), take an item they chose or the next one, and add notes. Billing leads work
the queue as billers do and may also record any item's outcome, override the
billed-amount bound, correct a final outcome, and assign items or change their action
in bulk (all or none). Queue refusals map to
HTTP: an unknown claim is a 404, a change the caller may not make a 403, a lease
someone else holds or that ran out (or the lease cap, or an outcome already recorded) a
409, a bad value a 422.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from data_contracts import plausibility
from data_contracts.enums import APPEAL_ACTIONS, APPEAL_OUTCOMES
from queues.browse import SORTS, Holder, QueueFilter
from queues.store import (
    MAX_EFFORT_MINUTES,
    NOTE_LENGTH,
    ConflictError,
    ForbiddenError,
    InvalidValueError,
    QueueError,
    UnknownItemError,
    WorkQueue,
)
from serving.api.deps import (
    LEADS,
    ClaimId,
    Lead,
    QueueReader,
    ScorerOrReason,
    Stores,
    Worker,
    assignees,
)
from serving.claim_detail import Detail, load_detail

router = APIRouter(prefix="/v1/queue", tags=["queue"])
MAX_BULK = 500
"""The most claims one bulk change (assign, action) names: one transaction, one lock each."""
Action = Literal.__getitem__(APPEAL_ACTIONS)  # type: ignore[valid-type]
Sort = Literal.__getitem__(SORTS)  # type: ignore[valid-type]


class WorkItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    claim_id: str
    rank: int
    payer_id: str
    denial_category: str
    action: str = Field(description="The recommended action.")
    p_recover: float
    recoverable_amount: float
    billed_amount: float | None = Field(
        description="The denied claim's billed amount: the most a biller may record as "
        "recovered (null on items loaded before the queue kept it: then the recoverable "
        "amount is the bound)."
    )
    expected_recovery: float
    effort_minutes: float
    deadline: date | None = Field(description="The payer's deadline; null: unknown.")
    deadline_unverified: bool | None = Field(
        description="True when the deadline is neither configured nor backed by the payer's "
        "refusals of late work (so the item is worked, never written off as late); null on "
        "items loaded before it was kept."
    )
    reason: str
    policy_version: str
    status: str = Field(
        description="open, resolved, stale (no longer ranked while a biller holds it: the "
        "lease and the work stay theirs) or closed (no longer ranked)."
    )
    closed_reason: str | None = Field(
        description="Why a stale or closed item left the ranking: appeal_closed, not_denied "
        "(a later remit paid it), not_in_data or not_in_ranking; null otherwise."
    )
    patient_id: str | None
    program: str | None
    clinician_id: str | None = Field(description="The claim's rendering provider.")
    carc_codes: str | None = Field(
        description="The remit's CARC codes, ';'-separated (these five are null on items "
        "loaded before the queue kept them, until the next load)."
    )
    rarc_codes: str | None
    lease_holder: str | None
    lease_expires_at: datetime | None
    assigned_to: str | None = Field(
        description="The biller a billing lead assigned the item to: no one else is handed "
        "it or may take it; null: anyone may."
    )
    resolved_action: str | None
    resolved_effort_minutes: int | None
    outcome: str | None
    recovered_amount: float | None
    closed_date: date | None


class ItemsOut(BaseModel):
    items: list[WorkItemOut]


class PageOut(ItemsOut):
    total: int = Field(description="How many open items the filter selects, over all pages.")


class CountsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    open: int
    due_this_week: int = Field(description="A deadline from today (UTC) to 7 days on.")
    past_deadline: int
    taken_by_me: int = Field(description="Under the caller's live lease.")


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    event: str
    detail: dict[str, Any]


class ItemOut(WorkItemOut):
    audit: list[AuditEventOut] = Field(description="The item's trail, oldest first.")


class NextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payer_id: str | None = Field(None, max_length=64)
    denial_category: str | None = Field(None, max_length=64)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    effort_minutes: int = Field(ge=0, le=MAX_EFFORT_MINUTES)
    note: str | None = Field(None, max_length=2000)


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal.__getitem__(APPEAL_OUTCOMES)  # type: ignore[valid-type]
    recovered_amount: float = Field(ge=0, le=plausibility.MAX_AMOUNT, allow_inf_nan=False)
    closed_date: date | None = Field(None, description="Not after today (UTC).")
    override_amount: bool = Field(
        False,
        description="Billing leads only: accept a recovered amount above the item's bound "
        "(recorded in the audit trail).",
    )


class CorrectionIn(OutcomeIn):
    reason: str = Field(min_length=1, max_length=2000, description="Why the outcome changes.")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=NOTE_LENGTH)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim_ids: list[ClaimId] = Field(min_length=1, max_length=MAX_BULK)


class AssignIn(BulkIn):
    biller: str | None = Field(
        min_length=1,
        max_length=64,
        description="Whom to assign them to: one of the practice's enabled billers and "
        "leads (by username); null unassigns them.",
    )


class ActionIn(BulkIn):
    action: Action


def refusal_status(error: QueueError) -> int:
    """The HTTP status of a queue refusal: unknown claim 404, a change the caller may not
    make 403, someone else's or a lapsed lease (or any other state conflict) 409, a value
    the queue does not take 422 (the pages answer with the same codes)."""
    if isinstance(error, UnknownItemError):
        return status.HTTP_404_NOT_FOUND
    if isinstance(error, ForbiddenError):
        return status.HTTP_403_FORBIDDEN
    if isinstance(error, InvalidValueError):
        return status.HTTP_422_UNPROCESSABLE_CONTENT
    if isinstance(error, ConflictError):
        return status.HTTP_409_CONFLICT
    return status.HTTP_400_BAD_REQUEST


async def _queue(stores: Stores) -> WorkQueue:
    return stores.queue


QueueDep = Annotated[WorkQueue, Depends(_queue)]
"""The caller's tenant's queue (`deps.tenant_stores`)."""


Text = Annotated[str | None, Query(max_length=64)]
Amount = Annotated[float | None, Query(ge=0, le=plausibility.MAX_AMOUNT, allow_inf_nan=False)]


def queue_filter(
    caller: QueueReader,
    payer_id: Text = None,
    denial_category: Text = None,
    action: Annotated[Action | None, Query()] = None,
    program: Text = None,
    clinician_id: Text = None,
    due_from_days: Annotated[
        int | None,
        Query(
            ge=-3650,
            le=3650,
            description="Deadline at least this many days from today (UTC); 0: not yet past "
            "due. Items with no known deadline never match.",
        ),
    ] = None,
    due_within_days: Annotated[
        int | None,
        Query(
            ge=-3650,
            le=3650,
            description="Deadline at most this many days from today (UTC); negative: past "
            "due by at least that many. Items with no known deadline never match.",
        ),
    ] = None,
    amount_min: Amount = None,
    amount_max: Amount = None,
    holder: Annotated[
        Holder | None,
        Query(
            description="Whose items: anyone, me (assigned to me or under my live lease), "
            "unassigned, or workable (what I may work). Default: workable for billers and "
            "leads, anyone for RevOps."
        ),
    ] = None,
) -> QueueFilter:
    """The view the query asks for (`queues.browse.QueueFilter`)."""
    if holder is None:
        holder = Holder.workable if caller.role in ("biller", "billing_lead") else Holder.anyone
    return QueueFilter(
        payer_id=payer_id,
        denial_category=denial_category,
        action=action,
        program=program,
        clinician_id=clinician_id,
        due_from_days=due_from_days,
        due_within_days=due_within_days,
        amount_min=amount_min,
        amount_max=amount_max,
        holder=holder,
    )


@router.get("/items", response_model=PageOut)
def items(
    queue: QueueDep,
    caller: QueueReader,
    view: Annotated[QueueFilter, Depends(queue_filter)],
    sort: Sort = "rank",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> PageOut:
    """A page of open items the filter selects, in the queue's order (`rank`: as `next`
    hands them out), nearest `deadline` first (unknown last) or largest `amount` first,
    with how many it selects in all. Unless `holder` says otherwise, a biller or lead sees
    what they may work (free items and their own leases, none assigned to someone else)
    and RevOps every open item."""
    found, total = queue.browse(view, caller.name, sort=sort, limit=limit, offset=offset)
    return PageOut(items=[WorkItemOut.model_validate(item) for item in found], total=total)


@router.get("/counts", response_model=CountsOut)
def counts(queue: QueueDep, caller: QueueReader) -> CountsOut:
    """The figures at the top of the work page: open items, due within a week, past their
    deadline, and under the caller's live lease."""
    return CountsOut.model_validate(queue.counts(caller.name))


@router.get("/items/{claim_id}", response_model=ItemOut)
def item(
    claim_id: ClaimId,
    queue: QueueDep,
    _caller: QueueReader,
) -> ItemOut:
    """One item, whatever its status (a closed one says why), with its audit trail."""
    found = WorkItemOut.model_validate(queue.item(claim_id))
    trail = [AuditEventOut.model_validate(event) for event in queue.audit(claim_id)]
    return ItemOut(**found.model_dump(), audit=trail)


@router.get("/items/{claim_id}/detail", response_model=Detail)
def detail(
    claim_id: ClaimId,
    request: Request,
    stores: Stores,
    scorer: ScorerOrReason,
    _caller: QueueReader,
) -> Detail:
    """What the claim detail page shows, as JSON: the claim and its lines, the remit's codes
    with their descriptions, the recovery estimate, the fixes for a corrected claim, the
    authorizations and coverage on the service date, and the timeline. Parts that need the
    tenant's data or a model say why they are missing instead of failing the answer."""
    return load_detail(request, stores, scorer, claim_id)


@router.post(
    "/next",
    response_model=WorkItemOut,
    responses={204: {"description": "Nothing left to work."}},
)
def next_item(
    queue: QueueDep, caller: Worker, body: NextIn | None = None
) -> WorkItemOut | Response:
    """Lease the top open item to the calling biller (atomically: no one else gets it);
    409 when the biller already holds as many live leases as one may."""
    body = body or NextIn()
    item = queue.next(caller.name, payer_id=body.payer_id, denial_category=body.denial_category)
    if item is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return WorkItemOut.model_validate(item)


@router.post("/items/{claim_id}/take", response_model=WorkItemOut)
def take(claim_id: ClaimId, queue: QueueDep, caller: Worker) -> WorkItemOut:
    """Lease an item the caller chose from the list: 409 naming the holder while someone
    else's lease runs, or the assignee when it is assigned to someone else, or at the lease
    cap; the caller's own live lease is renewed."""
    return WorkItemOut.model_validate(queue.take(claim_id, caller.name))


@router.post("/items/{claim_id}/notes", response_model=AuditEventOut, status_code=201)
def add_note(claim_id: ClaimId, body: NoteIn, queue: QueueDep, caller: Worker) -> AuditEventOut:
    """Add a note to an item, whatever its status; it is kept in the item's trail."""
    return AuditEventOut.model_validate(queue.add_note(claim_id, caller.name, body.text))


@router.post("/items/{claim_id}/renew", response_model=WorkItemOut)
def renew(claim_id: ClaimId, queue: QueueDep, caller: Worker) -> WorkItemOut:
    """Renew the caller's live lease for another lease period from now."""
    return WorkItemOut.model_validate(queue.renew(claim_id, caller.name))


@router.post("/items/{claim_id}/release", response_model=WorkItemOut)
def release(claim_id: ClaimId, queue: QueueDep, caller: Worker) -> WorkItemOut:
    """Give the lease back; the item returns to the queue at its rank."""
    return WorkItemOut.model_validate(queue.release(claim_id, caller.name))


@router.post("/items/{claim_id}/resolve", response_model=WorkItemOut)
def resolve(claim_id: ClaimId, body: ResolveIn, queue: QueueDep, caller: Worker) -> WorkItemOut:
    """Record what was done and how long it took; the outcome stays pending."""
    item = queue.resolve(claim_id, caller.name, body.action, body.effort_minutes, body.note)
    return WorkItemOut.model_validate(item)


@router.post("/items/{claim_id}/outcome", response_model=WorkItemOut)
def outcome(claim_id: ClaimId, body: OutcomeIn, queue: QueueDep, caller: Worker) -> WorkItemOut:
    """Record the payer's answer, once: by the biller who resolved the item or a lead.
    Resolved items export as the contract's appeals table."""
    item = queue.record_outcome(
        claim_id,
        caller.name,
        body.outcome,
        body.recovered_amount,
        body.closed_date,
        lead=caller.role in LEADS,
        override_amount=body.override_amount,
    )
    return WorkItemOut.model_validate(item)


@router.post("/items/{claim_id}/correction", response_model=WorkItemOut)
def correction(claim_id: ClaimId, body: CorrectionIn, queue: QueueDep, caller: Lead) -> WorkItemOut:
    """A billing lead corrects a final outcome; the trail keeps the old and new values."""
    item = queue.correct_outcome(
        claim_id,
        caller.name,
        body.outcome,
        body.recovered_amount,
        body.closed_date,
        reason=body.reason,
        override_amount=body.override_amount,
    )
    return WorkItemOut.model_validate(item)


@router.post("/assign", response_model=ItemsOut)
def assign(body: AssignIn, request: Request, queue: QueueDep, caller: Lead) -> ItemsOut:
    """A billing lead assigns open items to a biller (null: unassigns them), all or none:
    an unknown claim is a 404, a closed one or one under another biller's live lease a 409,
    and then nothing changes. Each change is audited with who had it before. The biller
    must be one of the practice's enabled billers and leads, as the web page offers them
    (a 422 naming the value otherwise): an item assigned to a name nobody signs in with,
    or someone who may not work it, would be taken by no one."""
    if body.biller is not None and body.biller not in assignees(request, caller):
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "biller"),
                    "msg": f"biller {body.biller!r} is not one of this practice's enabled "
                    "billers and leads",
                    "input": body.biller,
                }
            ]
        )
    changed = queue.assign(body.claim_ids, body.biller, caller.name)
    return ItemsOut(items=[WorkItemOut.model_validate(item) for item in changed])


@router.post("/action", response_model=ItemsOut)
def change_action(body: ActionIn, queue: QueueDep, caller: Lead) -> ItemsOut:
    """A billing lead overrides the recommended action of open items, all or none as for
    assign; the ranking's next load puts its own back on items nobody worked meanwhile."""
    changed = queue.change_action(body.claim_ids, body.action, caller.name)
    return ItemsOut(items=[WorkItemOut.model_validate(item) for item in changed])
