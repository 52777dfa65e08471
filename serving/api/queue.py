"""The work queue over HTTP: billers list, lease, renew, release and resolve; outcomes come back.

A biller is the person's username (or the API key's id), so each lease and
resolution in the audit trail names who did it; the queue is the caller's tenant's.
Billing leads work the queue as billers do and may also record any item's outcome,
override the billed-amount bound and correct a final outcome. Queue refusals map to
HTTP: an unknown claim is a 404, a change the caller may not make a 403, a lease
someone else holds or that ran out (or the lease cap, or an outcome already recorded) a
409, a bad value a 422.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from data_contracts import plausibility
from data_contracts.enums import APPEAL_ACTIONS, APPEAL_OUTCOMES
from queues.store import (
    ConflictError,
    ForbiddenError,
    InvalidValueError,
    QueueError,
    UnknownItemError,
    WorkQueue,
)
from serving.api.deps import ScorerOrReason, Stores, require
from serving.api.security import Caller
from serving.claim_detail import Detail, load_detail

router = APIRouter(prefix="/v1/queue", tags=["queue"])
LEADS = ("billing_lead", "admin")
"""Roles that may record or correct any outcome and override the amount bound."""
Biller = Annotated[Caller, Depends(require("biller", "billing_lead"))]
Lead = Annotated[Caller, Depends(require("billing_lead"))]
Viewer = Annotated[Caller, Depends(require("biller", "billing_lead", "revops"))]
ClaimId = Annotated[str, Field(min_length=1, max_length=64)]


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
    lease_holder: str | None
    lease_expires_at: datetime | None
    resolved_action: str | None
    resolved_effort_minutes: int | None
    outcome: str | None
    recovered_amount: float | None
    closed_date: date | None


class ItemsOut(BaseModel):
    items: list[WorkItemOut]


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

    action: Literal.__getitem__(APPEAL_ACTIONS)  # type: ignore[valid-type]
    effort_minutes: int = Field(ge=0, le=24 * 60)
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


@router.get("/items", response_model=ItemsOut)
def items(
    queue: QueueDep,
    caller: Annotated[Caller, Depends(require("biller", "billing_lead", "revops"))],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    payer_id: Annotated[str | None, Query(max_length=64)] = None,
    denial_category: Annotated[str | None, Query(max_length=64)] = None,
) -> ItemsOut:
    """Open items in the order `next` hands them out: for a biller or lead, what they may
    work (free items and their own leases); for RevOps, every open item."""
    biller = caller.name if caller.role in ("biller", "billing_lead") else None
    found = queue.ranked(limit, offset, biller, payer_id=payer_id, denial_category=denial_category)
    return ItemsOut(items=[WorkItemOut.model_validate(item) for item in found])


@router.get("/items/{claim_id}", response_model=ItemOut)
def item(
    claim_id: ClaimId,
    queue: QueueDep,
    _caller: Viewer,
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
    _caller: Viewer,
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
    queue: QueueDep, caller: Biller, body: NextIn | None = None
) -> WorkItemOut | Response:
    """Lease the top open item to the calling biller (atomically: no one else gets it);
    409 when the biller already holds as many live leases as one may."""
    body = body or NextIn()
    item = queue.next(caller.name, payer_id=body.payer_id, denial_category=body.denial_category)
    if item is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return WorkItemOut.model_validate(item)


@router.post("/items/{claim_id}/renew", response_model=WorkItemOut)
def renew(claim_id: ClaimId, queue: QueueDep, caller: Biller) -> WorkItemOut:
    """Renew the caller's live lease for another lease period from now."""
    return WorkItemOut.model_validate(queue.renew(claim_id, caller.name))


@router.post("/items/{claim_id}/release", response_model=WorkItemOut)
def release(claim_id: ClaimId, queue: QueueDep, caller: Biller) -> WorkItemOut:
    """Give the lease back; the item returns to the queue at its rank."""
    return WorkItemOut.model_validate(queue.release(claim_id, caller.name))


@router.post("/items/{claim_id}/resolve", response_model=WorkItemOut)
def resolve(claim_id: ClaimId, body: ResolveIn, queue: QueueDep, caller: Biller) -> WorkItemOut:
    """Record what was done and how long it took; the outcome stays pending."""
    item = queue.resolve(claim_id, caller.name, body.action, body.effort_minutes, body.note)
    return WorkItemOut.model_validate(item)


@router.post("/items/{claim_id}/outcome", response_model=WorkItemOut)
def outcome(claim_id: ClaimId, body: OutcomeIn, queue: QueueDep, caller: Biller) -> WorkItemOut:
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
