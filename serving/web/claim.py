"""The claim detail page and the work done from it: take, release, resolve, record the
outcome, add a note.

The page shows `serving.claim_detail.load_detail`, as the JSON twin does. Every action is
the queue's own (`WorkQueue.take`, `resolve`...), so its rules hold here as in the API: a
refusal (someone else holds the lease, an outcome already recorded) re-renders the page
with the queue's words and the API's status code, and nothing is overwritten; a success
redirects back to the page (303), so a reload does not post again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from data_contracts.enums import APPEAL_ACTIONS
from queues.store import FINAL_OUTCOMES, QueueError, UnknownItemError, WorkQueue
from serving.api.deps import (
    LEADS,
    ClaimId,
    QueueReader,
    ScorerOrReason,
    Stores,
    TenantStores,
    Worker,
    assignees,
)
from serving.api.queue import refusal_status
from serving.api.security import Caller
from serving.claim_detail import load_detail
from serving.loading import TenantScorer
from serving.web.queue import inside_buffer
from serving.web.render import page

router = APIRouter(include_in_schema=False)
ACTION_LABELS = {
    "appeal": "Appeal filed",
    "corrected_claim": "Corrected claim sent",
    "rebill": "Rebilled",
    "write_off": "Written off",
    "bill_patient": "Billed patient",
}
"""What the "Action taken" select says for each of the contract's `APPEAL_ACTIONS`."""
assert set(ACTION_LABELS) == set(APPEAL_ACTIONS), "a label for every appeal action"
REASSIGNED = "reassigned"
"""The "Action taken" that hands the item to a colleague ("Reassign to") instead of
resolving it: the issue's one Resolve form for every way a biller finishes with an item."""
Field = Annotated[str, Form(max_length=2000)]


class FormError(ValueError):
    """A form value the page cannot use: shown on the page, as the queue's refusals are."""


@router.get("/claims/{claim_id}")
def claim_page(
    claim_id: ClaimId, request: Request, stores: Stores, scorer: ScorerOrReason, caller: QueueReader
) -> Response:
    """The claim's detail, with the actions the caller may take on it now."""
    return _render(request, stores, scorer, caller, claim_id)


@router.post("/claims/{claim_id}/take")
def take(
    claim_id: ClaimId, request: Request, stores: Stores, scorer: ScorerOrReason, caller: Worker
) -> Response:
    """Lease the item from its page (refused, naming the holder, if someone has it)."""
    return _act(request, stores, scorer, caller, claim_id, lambda q: q.take(claim_id, caller.name))


@router.post("/claims/{claim_id}/release")
def release(
    claim_id: ClaimId, request: Request, stores: Stores, scorer: ScorerOrReason, caller: Worker
) -> Response:
    """Give the lease back: the item returns to the queue at its rank."""
    return _act(
        request, stores, scorer, caller, claim_id, lambda q: q.release(claim_id, caller.name)
    )


def _colleagues(request: Request, caller: Caller) -> list[str]:
    """The practice's other enabled billers and leads: whom an item may be handed to."""
    return [name for name in assignees(request, caller) if name != caller.name]


@router.post("/claims/{claim_id}/resolve")
def resolve(
    claim_id: ClaimId,
    request: Request,
    stores: Stores,
    scorer: ScorerOrReason,
    caller: Worker,
    action: Field = "",
    effort_minutes: Field = "",
    note: Field = "",
    to: Field = "",
) -> Response:
    """Record what the lease holder did; a write-off needs its reason in the note and every
    action its effort. "Reassigned" hands the item to the colleague named in `to` instead
    (`WorkQueue.reassign`: no effort, the note kept in the trail)."""

    def work(queue: WorkQueue) -> object:
        if action == REASSIGNED:
            if to not in _colleagues(request, caller):
                raise FormError("Reassign to: choose whom to hand it to.")
            item = queue.reassign(claim_id, caller.name, to)
            if note.strip():
                queue.add_note(claim_id, caller.name, note)
            return item
        if action not in APPEAL_ACTIONS:
            raise FormError("Choose the action taken.")
        if action == "write_off" and not note.strip():
            raise FormError("A write-off needs its reason: say why in the note.")
        if not effort_minutes.strip():
            raise FormError("Effort (minutes): say how long the work took.")
        minutes = _number(effort_minutes, "Effort (minutes)", int)
        return queue.resolve(claim_id, caller.name, action, minutes, note.strip() or None)

    return _act(request, stores, scorer, caller, claim_id, work)


@router.post("/claims/{claim_id}/outcome")
def outcome(
    claim_id: ClaimId,
    request: Request,
    stores: Stores,
    scorer: ScorerOrReason,
    caller: Worker,
    result: Field = "",
    recovered_amount: Field = "",
    closed_date: Field = "",
) -> Response:
    """Record the payer's answer: by the biller who resolved the item, or a lead."""

    def work(queue: WorkQueue) -> object:
        if result not in FINAL_OUTCOMES:
            raise FormError("Choose the outcome.")
        amount = _number(recovered_amount, "Amount paid", float)
        try:
            closed = date.fromisoformat(closed_date)
        except ValueError:
            raise FormError("Closed on: give the date the payer answered.") from None
        return queue.record_outcome(
            claim_id, caller.name, result, amount, closed, lead=caller.role in LEADS
        )

    return _act(request, stores, scorer, caller, claim_id, work)


@router.post("/claims/{claim_id}/notes")
def add_note(
    claim_id: ClaimId,
    request: Request,
    stores: Stores,
    scorer: ScorerOrReason,
    caller: Worker,
    note: Field = "",
) -> Response:
    """A note on the item, kept in its trail whatever its status."""
    return _act(
        request, stores, scorer, caller, claim_id, lambda q: q.add_note(claim_id, caller.name, note)
    )


def _number(text: str, label: str, kind: Callable[[str], Any]) -> Any:
    try:
        return kind(text.strip())
    except ValueError:
        raise FormError(f"{label}: {text.strip()[:20]!r} is not a number.") from None


def _act(
    request: Request,
    stores: Stores,
    scorer: TenantScorer | str,
    caller: Caller,
    claim_id: ClaimId,
    work: Callable[[WorkQueue], object],
) -> Response:
    """Do `work` on the caller's tenant's queue, then back to the page (303); the page again
    with the refusal when the queue or the form says no."""
    try:
        work(stores.queue)
    except FormError as error:
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return _render(request, stores, scorer, caller, claim_id, str(error), code)
    except QueueError as error:  # an unknown claim: the page's 404
        code = refusal_status(error)
        return _render(request, stores, scorer, caller, claim_id, str(error), code)
    return RedirectResponse(f"/claims/{claim_id}", status_code=status.HTTP_303_SEE_OTHER)


def _render(
    request: Request,
    stores: TenantStores,
    scorer: TenantScorer | str,
    caller: Caller,
    claim_id: ClaimId,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        shown = load_detail(request, stores, scorer, claim_id)
    except UnknownItemError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    item = shown.detail.item
    now = stores.queue.now()
    live = item.lease_expires_at is not None and item.lease_expires_at > now
    worker = caller.role in ("biller", "billing_lead", "admin")
    mine = live and item.lease_holder == caller.name
    buffer_days = stores.policies.current().deadline_buffer_days
    context = {
        "shown": shown,
        "late": inside_buffer(shown.detail.estimate.days_left, buffer_days),
        "buffer_days": buffer_days,
        "detail": shown.detail,
        "item": item,
        "refusal": refusal,
        "held_by_other": item.lease_holder if live and item.lease_holder != caller.name else None,
        "mine": mine,
        "can_take": worker
        and item.status == "open"
        and not live
        and item.assigned_to in (None, caller.name),
        "can_record_outcome": worker
        and item.status == "resolved"
        and item.outcome not in FINAL_OUTCOMES
        and (item.resolved_by == caller.name or caller.role in LEADS),
        "worker": worker,
        "actions": ACTION_LABELS,
        "colleagues": _colleagues(request, caller) if mine else [],
        "reassigned": REASSIGNED,
        "outcomes": FINAL_OUTCOMES,
    }
    return page(request, "claim/page.html", caller, context, status_code=status_code)
