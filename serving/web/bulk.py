"""A billing lead's bulk actions on the work queue page, and the export of a view as CSV.

The lead ticks rows (or "Select all on this page") and assigns them to a biller, changes
their action, or writes them off with a reason. A write-off first shows a confirmation
with how many items and how many dollars (their recoverable amount) it gives up, and runs
only when confirmed. Each change is the store's, all or none and audited
(`WorkQueue.assign`, `change_action`, `write_off`): a selection holding an item someone
else is working changes nothing and says which.

Only leads (and the tenant's admin) see the controls, and the routes refuse anyone else
(403), so a biller's forged post changes nothing. `GET /queue.csv` streams every item of
the view the page shows (not only its page), with the page's columns.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import QueryParams

from data_contracts.enums import APPEAL_ACTIONS
from queues.store import QueueError, WorkItem
from serving.api.deps import CLAIM_ID_PATTERN, Lead, Stores, TenantStores, assignees, require
from serving.api.security import Caller
from serving.web.queue import EXPORTERS, View, queue_page, read_view, rows
from serving.web.render import HEADERS, page, spreadsheet_cell

router = APIRouter(include_in_schema=False)
Exporter = Annotated[Caller, Depends(require(*EXPORTERS))]
_CLAIM_ID = re.compile(CLAIM_ID_PATTERN)
CLAIM_ID_LENGTH = 64
MAX_SELECTED = 500
"""The most items one bulk action may change (a page shows 50)."""
UNASSIGNED = "*nobody*"
"""The "Unassigned" choice of "Assign to": no username can be it."""
OPERATIONS = ("assign", "action", "write_off")
Claims = Annotated[list[str], Form()]
"""The selected claims; more than `MAX_SELECTED` are refused with the page, not parsed away."""
Text = Annotated[str, Form(max_length=2000)]
CSV_COLUMNS = (
    "rank",
    "claim_id",
    "patient_id",
    "payer_id",
    "denial_category",
    "carc_codes",
    "rarc_codes",
    "recoverable_amount",
    "p_recover",
    "expected_net",
    "effort_minutes",
    "deadline",
    "days_left",
    "reason",
    "taken_by",
)


@router.post("/queue/bulk")
def bulk(
    request: Request,
    stores: Stores,
    caller: Lead,
    operation: Annotated[str, Form(max_length=20)],
    claim_ids: Claims = [],  # noqa: B006 (FastAPI copies defaults)
    assign_to: Annotated[str, Form(max_length=320)] = "",
    action: Annotated[str, Form(max_length=64)] = "",
    reason: Text = "",
    view: Text = "",
) -> Response:
    """Assign the selected items or change their action, then the queue again saying what
    was done; a write-off goes to its confirmation first."""
    shown = read_view(QueryParams(view))
    refusal = _check_selection(stores, claim_ids)
    if operation not in OPERATIONS:
        refusal = f"there is no bulk action {operation[:20]!r}"
    if refusal:
        return _refused(request, stores, caller, shown, refusal)
    count = _items(len(set(claim_ids)))
    try:
        if operation == "assign":
            if assign_to == UNASSIGNED:
                stores.queue.assign(claim_ids, None, caller.name)
                return queue_page(request, stores, caller, shown, f"Unassigned {count}.")
            if assign_to not in assignees(request, caller):
                return _refused(request, stores, caller, shown, "choose whom to assign them to")
            stores.queue.assign(claim_ids, assign_to, caller.name)
            return queue_page(request, stores, caller, shown, f"Assigned {count} to {assign_to}.")
        if operation == "action":
            if action not in APPEAL_ACTIONS:
                return _refused(request, stores, caller, shown, "choose the action to set")
            stores.queue.change_action(claim_ids, action, caller.name)
            label = action.replace("_", " ")
            return queue_page(
                request, stores, caller, shown, f"Set the action of {count} to {label}."
            )
    except QueueError as error:
        return _refused(request, stores, caller, shown, f"nothing was changed: {error}")
    return _confirm_write_off(request, stores, caller, shown, claim_ids, reason)


@router.post("/queue/bulk/write-off")
def write_off(
    request: Request,
    stores: Stores,
    caller: Lead,
    claim_ids: Claims = [],  # noqa: B006 (FastAPI copies defaults)
    reason: Text = "",
    view: Text = "",
) -> Response:
    """The confirmed write-off: all the items or none."""
    shown = read_view(QueryParams(view))
    refusal = _check_selection(stores, claim_ids) or _check_reason(reason)
    if refusal:
        return _refused(request, stores, caller, shown, refusal)
    try:
        done = stores.queue.write_off(claim_ids, caller.name, reason)
    except QueueError as error:
        return _refused(request, stores, caller, shown, f"nothing was written off: {error}")
    total = sum(item.recoverable_amount for item in done)
    notice = f"Wrote off {_items(len(done))} (${total:,.2f}): {reason.strip()}"
    return queue_page(request, stores, caller, shown, notice)


@router.get("/queue.csv")
def export_csv(request: Request, stores: Stores, caller: Exporter) -> Response:
    """Every item of the view the query describes, as CSV, streamed a chunk at a time.

    Billing data leaving the service: the export is audited (who, the view, how many rows)
    before the first row is sent (`WorkQueue.record_export`)."""
    view = read_view(request.query_params)
    stores.queue.record_export(view.filter, caller.name, view.query(page=1))
    name = f"queue-{stores.tenant}-{date.today().isoformat()}.csv"
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(
        _csv_lines(stores, caller, view), media_type="text/csv; charset=utf-8", headers=headers
    )


def _csv_lines(stores: TenantStores, caller: Caller, view: View) -> Iterator[str]:
    """The header, then the rows of each chunk of the view; values as the page computes them
    (expected net of effort, days left, who has it), text guarded against spreadsheet
    formulas."""
    policy = stores.policies.current()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for chunk in stores.queue.stream(view.filter, caller.name, sort=view.sort):
        now = stores.queue.now()
        for row in rows(chunk, policy.cost_per_minute, policy.deadline_buffer_days, now):
            writer.writerow(_csv_row(row.item, row.expected_net, row.days_left, row.taken_by))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def _csv_row(item: WorkItem, net: float, days_left: int | None, taken_by: str) -> list:
    return [
        item.rank,
        spreadsheet_cell(item.claim_id),
        spreadsheet_cell(item.patient_id),
        spreadsheet_cell(item.payer_id),
        item.denial_category,
        spreadsheet_cell(item.carc_codes),
        spreadsheet_cell(item.rarc_codes),
        f"{item.recoverable_amount:.2f}",
        f"{item.p_recover:.4f}",
        f"{net:.2f}",
        f"{item.effort_minutes:.0f}",
        "" if item.deadline is None else item.deadline.isoformat(),
        "" if days_left is None else days_left,
        spreadsheet_cell(item.reason),
        spreadsheet_cell(taken_by),
    ]


def _check_selection(stores: TenantStores, claim_ids: list[str]) -> str | None:
    """Why the selection cannot be worked on, or None. Claims not in the tenant's queue are
    counted, not named: the page does not repeat ids it was sent."""
    if not claim_ids:
        return "select at least one item first"
    if len(claim_ids) > MAX_SELECTED:
        return f"select at most {MAX_SELECTED} items at a time"
    if not all(len(claim) <= CLAIM_ID_LENGTH and _CLAIM_ID.match(claim) for claim in claim_ids):
        return "the selection holds a claim id no queue item could have"
    wanted = set(claim_ids)
    missing = len(wanted) - len(stores.queue.items(sorted(wanted)))
    if missing:
        return (
            f"{_items(missing)} of the selection {'is' if missing == 1 else 'are'} not in the queue"
        )
    return None


def _check_reason(reason: str) -> str | None:
    return None if reason.strip() else "a write-off needs a reason"


def _confirm_write_off(
    request: Request,
    stores: TenantStores,
    caller: Caller,
    shown: View,
    claim_ids: list[str],
    reason: str,
) -> Response:
    """The confirmation: how many items, how many dollars, and any that cannot go."""
    refusal = _check_reason(reason)
    if refusal:
        return _refused(request, stores, caller, shown, refusal)
    items = stores.queue.items(claim_ids)
    context = {
        "items": items,
        "total": sum(item.recoverable_amount for item in items),
        "refusals": stores.queue.refusals(claim_ids, caller.name),
        "reason": reason.strip(),
        "view": shown,
    }
    return page(request, "bulk/confirm.html", caller, context)


def _refused(
    request: Request, stores: TenantStores, caller: Caller, shown: View, why: str
) -> Response:
    """The queue again, saying why nothing changed (409: the selection, not the request)."""
    return queue_page(
        request, stores, caller, shown, status_code=status.HTTP_409_CONFLICT, error=f"{why}."
    )


def _items(count: int) -> str:
    return f"{count:,} item{'' if count == 1 else 's'}"
