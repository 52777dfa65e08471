"""The work queue page: the tenant's ranked open items, 50 a page, filtered and sorted by
what is in the URL (so a view can be shared), with the counts at the top and "Take next".

The page asks `WorkQueue.browse` and `WorkQueue.counts`, as `GET /v1/queue/items` does;
a filter change fetches only the results (htmx) and puts the view in the address bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import QueryParams

from data_contracts.enums import APPEAL_ACTIONS, DENIAL_CATEGORIES, PROGRAMS
from queues.browse import SORTS, Holder, QueueFilter
from queues.store import QueueError, WorkItem, WorkQueue
from serving.api.deps import LEADS, QueueReader, Stores, Worker, assignees
from serving.api.security import Caller
from serving.web.alerts import page_alerts
from serving.web.render import page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
EXPORTERS = ("billing_lead", "revops", "admin")
"""Who may export a view as CSV: the whole view, patients' ids included, leaves the service."""
_TEXT_FIELDS = ("payer_id", "denial_category", "action", "program", "clinician_id")
_CHOICES = {"denial_category": DENIAL_CATEGORIES, "action": APPEAL_ACTIONS, "program": PROGRAMS}


@dataclass
class View:
    """What the URL asks to see, and what in it could not be read (shown, not fatal)."""

    filter: QueueFilter = field(default_factory=QueueFilter)
    sort: str = "rank"
    page: int = 1
    problems: list[str] = field(default_factory=list)

    def url(self, path: str = "/queue", **changes: Any) -> str:
        """This view's address at `path` (the page; `/queue.csv` its export), with
        `changes` (a page number, a sort)."""
        query = self.query(**changes)
        return path + (f"?{query}" if query else "")

    def query(self, **changes: Any) -> str:
        """This view as a query string (defaults left out), with `changes`."""
        params = {**self.filter.as_params(), "sort": self.sort, "page": str(self.page)}
        params.update({key: str(value) for key, value in changes.items()})
        if params["sort"] == "rank":
            del params["sort"]
        if params["page"] == "1":
            del params["page"]
        return str(QueryParams(params))


def read_view(params: QueryParams) -> View:
    """The view a URL asks for: empty fields mean "any"; a value that cannot be read is
    left out and named in `problems`, so a mistyped link still shows the queue."""
    view = View()
    values: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = params.get(name, "").strip()
        if not value:
            continue
        if name in _CHOICES and value not in _CHOICES[name]:
            view.problems.append(f"{name.replace('_', ' ')} {value!r} is not one we know")
            continue
        values[name] = value[:64]
    numbers = (
        ("due_from_days", int),
        ("due_within_days", int),
        ("amount_min", float),
        ("amount_max", float),
    )
    for name, kind in numbers:
        value = params.get(name, "").strip()
        if not value:
            continue
        try:
            number = kind(value)
        except ValueError:
            view.problems.append(f"{name.replace('_', ' ')} {value[:20]!r} is not a number")
            continue
        if not math.isfinite(number) or abs(number) > 1e9:
            view.problems.append(f"{name.replace('_', ' ')} {value[:20]!r} is out of range")
            continue
        values[name] = number
    holder = params.get("holder", "").strip() or Holder.anyone.value
    if holder in Holder.__members__:
        values["holder"] = Holder(holder)
    else:
        view.problems.append(f"holder {holder[:20]!r} is not one of {', '.join(Holder)}")
    view.filter = QueueFilter(**values)
    sort = params.get("sort", "").strip() or "rank"
    if sort in SORTS:
        view.sort = sort
    else:
        view.problems.append(f"sort {sort[:20]!r} is not one of {', '.join(SORTS)}")
    page_text = params.get("page", "1").strip() or "1"
    view.page = int(page_text) if page_text.isdigit() and 0 < int(page_text) < 10**6 else 1
    return view


@dataclass(frozen=True)
class Row:
    """One item as the page shows it."""

    item: WorkItem
    expected_net: float
    days_left: int | None
    urgent: bool
    """Inside the policy's deadline buffer (or past the deadline): shown red."""
    taken_by: str
    """Who holds a live lease on it, else whom a lead assigned it to, else ''."""


def inside_buffer(days_left: int | None, buffer_days: int) -> bool:
    """A deadline inside the policy's buffer, or past: shown red (`late`) wherever a page
    shows it, the queue's rows and the claim page alike."""
    return days_left is not None and days_left <= buffer_days


def rows(
    items: list[WorkItem], cost_per_minute: float, buffer_days: int, now: datetime
) -> list[Row]:
    """The page's rows: expected net of effort, days left and who has each item."""
    out = []
    for item in items:
        left = None if item.deadline is None else (item.deadline - now.date()).days
        net = item.expected_recovery - cost_per_minute * item.effort_minutes
        leased = item.lease_expires_at is not None and item.lease_expires_at > now
        taken_by = item.lease_holder if leased else f"assigned: {item.assigned_to}"
        if not leased and item.assigned_to is None:
            taken_by = ""
        out.append(Row(item, net, left, inside_buffer(left, buffer_days), taken_by or ""))
    return out


def _by_deadline(view: QueueFilter) -> str:
    return View(view, sort="deadline").url()


@router.get("/queue")
def work_queue(request: Request, stores: Stores, caller: QueueReader) -> Response:
    """The work queue page, or (asked by htmx) just its results."""
    return queue_page(request, stores, caller, read_view(request.query_params))


def queue_page(
    request: Request,
    stores: Stores,
    caller: Caller,
    view: View,
    notice: str | None = None,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    """The page (or, asked by htmx, its results) of `view`, saying `notice` or `error`."""
    queue, policy = stores.queue, stores.policies.current()
    items, total = _page_of(queue, view, caller)
    if not items and view.page > 1 and total:  # past the end (an old link, a shrunk view)
        view.page = math.ceil(total / PAGE_SIZE)
        items, total = _page_of(queue, view, caller)
    counts = queue.counts(caller.name)
    is_lead = caller.role in LEADS  # who sees the bulk actions (`serving.web.bulk`)
    partial = (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-target") == "results"
    )
    context = {
        "view": view,
        "rows": rows(items, policy.cost_per_minute, policy.deadline_buffer_days, queue.now()),
        "total": total,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "counts": counts,
        "facets": queue.facets(),
        "choices": _CHOICES,
        "buffer_days": policy.deadline_buffer_days,
        "notice": notice,
        "error": error,
        "is_lead": is_lead,
        "assignees": assignees(request, caller) if is_lead else [],
        "can_export": caller.role in EXPORTERS,
        "alerts": None if partial else page_alerts(request, stores, caller, counts, _by_deadline),
    }
    template = "queue/results.html" if partial else "queue/page.html"
    return page(request, template, caller, context, status_code=status_code)


def _page_of(queue: WorkQueue, view: View, caller: Caller) -> tuple[list[WorkItem], int]:
    return queue.browse(
        view.filter,
        caller.name,
        sort=view.sort,
        limit=PAGE_SIZE,
        offset=(view.page - 1) * PAGE_SIZE,
    )


@router.post("/queue/next")
def take_next(
    request: Request,
    stores: Stores,
    caller: Worker,
    payer_id: Annotated[str | None, Form(max_length=64)] = None,
    denial_category: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """Lease the top item the caller may work (of the payer and category the page shows)
    and open it; the queue again, saying why, when there is none or the caller holds as
    many leases as one may."""
    view = View(QueueFilter(payer_id=payer_id or None, denial_category=denial_category or None))
    try:
        item = stores.queue.next(
            caller.name, payer_id=view.filter.payer_id, denial_category=view.filter.denial_category
        )
    except QueueError as error:
        return queue_page(request, stores, caller, view, str(error), status.HTTP_409_CONFLICT)
    if item is None:
        return queue_page(request, stores, caller, view, "Nothing left to take in this view.")
    return RedirectResponse(f"/claims/{item.claim_id}", status_code=status.HTTP_303_SEE_OTHER)
