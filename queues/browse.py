"""How people look through a tenant's open queue: filters, sort orders, pages and the counts
at the top of the billers' work page.

One definition serves the JSON route (`GET /v1/queue/items`) and the web page, so the
two always show the same items in the same order. The statements are built here and run by
`WorkQueue.browse` and `WorkQueue.counts`, inside the tenant's scope.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from storage.schema import ITEMS, OPEN

SORTS = ("rank", "deadline", "amount")
"""Orders a view may ask for: the queue's own (priority), the nearest deadline first, or
the largest recoverable amount first; ties in the queue's order."""
WEEK_DAYS = 7
"""'Due this week': a deadline within this many days from today (inclusive)."""


class Holder(StrEnum):
    """Whose items a view shows."""

    anyone = "anyone"
    me = "me"
    """Assigned to the viewer, or under the viewer's live lease."""
    unassigned = "unassigned"
    """Neither assigned to anyone nor under a live lease."""
    workable = "workable"
    """What the viewer may work: items nobody holds or the viewer holds, not assigned to
    anyone else (what `WorkQueue.next` and `take` would give them); a biller's list."""


@dataclass(frozen=True)
class QueueFilter:
    """A view of the open queue; every field None (or `anyone`) shows every open item.

    `due_within_days` keeps items whose deadline is at most that many days from today (a
    negative value: past due by at least that many days), `due_from_days` those whose
    deadline is at least that many days from today (0: not yet past); items with no known
    deadline never match either. The amount range is on the recoverable amount, inclusive."""

    payer_id: str | None = None
    denial_category: str | None = None
    action: str | None = None
    program: str | None = None
    clinician_id: str | None = None
    due_from_days: int | None = None
    due_within_days: int | None = None
    amount_min: float | None = None
    amount_max: float | None = None
    holder: Holder = Holder.anyone

    def as_params(self) -> dict[str, str]:
        """The filter's set fields as text (a shareable URL's query), in field order."""
        out: dict[str, str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None or value == Holder.anyone:
                continue
            out[spec.name] = _text(value)
        return out


def _text(value: object) -> str:
    """A value as a URL shows it: a whole amount without ".0", any other in full (`:g` would
    round 1234567.5 to 1.23457e+06, so the shared view would select other items)."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


@dataclass(frozen=True)
class QueueCounts:
    """The figures at the top of the work page, for one viewer."""

    open: int
    due_this_week: int
    past_deadline: int
    taken_by_me: int


_EQUALS = ("payer_id", "denial_category", "action", "program", "clinician_id")


IS_OPEN = ITEMS.c.status == sa.literal_column(f"'{OPEN}'")
"""A literal, not a bound parameter: only then may the databases use the partial indexes on
open items (see `queues.store`)."""


def conditions(view: QueueFilter, viewer: str, now: datetime) -> list[sa.ColumnElement[bool]]:
    """The WHERE terms of `view` over open items, for `viewer` at `now` (UTC)."""
    terms: list[sa.ColumnElement[bool]] = [IS_OPEN]
    for name in _EQUALS:
        value = getattr(view, name)
        if value is not None:
            terms.append(ITEMS.c[name] == value)
    if view.due_from_days is not None:
        terms.append(ITEMS.c.deadline >= now.date() + timedelta(days=view.due_from_days))
    if view.due_within_days is not None:
        terms.append(ITEMS.c.deadline <= now.date() + timedelta(days=view.due_within_days))
    if view.amount_min is not None:
        terms.append(ITEMS.c.recoverable_amount >= view.amount_min)
    if view.amount_max is not None:
        terms.append(ITEMS.c.recoverable_amount <= view.amount_max)
    live = ITEMS.c.lease_expires_at > now
    if view.holder == Holder.me:
        terms.append(
            sa.or_(ITEMS.c.assigned_to == viewer, sa.and_(ITEMS.c.lease_holder == viewer, live))
        )
    elif view.holder == Holder.unassigned:
        terms.append(ITEMS.c.assigned_to.is_(None))
        terms.append(sa.or_(ITEMS.c.lease_expires_at.is_(None), sa.not_(live)))
    elif view.holder == Holder.workable:
        terms.append(sa.or_(ITEMS.c.assigned_to.is_(None), ITEMS.c.assigned_to == viewer))
        terms.append(
            sa.or_(
                ITEMS.c.lease_expires_at.is_(None), sa.not_(live), ITEMS.c.lease_holder == viewer
            )
        )
    return terms


Segment = tuple[tuple[sa.ColumnElement[bool], ...], tuple[sa.ColumnElement[Any], ...]]
"""Extra WHERE terms and the ORDER BY of one run of a sorted view."""


def segments(sort: str) -> list[Segment]:
    """`sort` (one of `SORTS`) as runs read one after the other, ties in the queue's own
    order. The deadline sort is two runs, known deadlines (nearest first, read along the
    open-items deadline index) then unknown ones: one ORDER BY putting NULLs last would
    sort every open item for each page (0.3 s at 100,000)."""
    queue_order = (ITEMS.c.priority.desc(), ITEMS.c.id)
    if sort == "rank":
        return [((), queue_order)]
    if sort == "deadline":
        deadline = ITEMS.c.deadline
        return [
            ((deadline.is_not(None),), (deadline, *queue_order)),
            ((deadline.is_(None),), queue_order),
        ]
    if sort == "amount":
        return [((), (ITEMS.c.recoverable_amount.desc(), *queue_order))]
    raise ValueError(f"sort {sort!r} is not one of {', '.join(SORTS)}")


def count_statements(viewer: str, today: date, now: datetime) -> dict[str, sa.Select]:
    """One COUNT per figure of `QueueCounts`, each answerable from an index on open items
    (one statement summing CASEs over every open row read the whole table: 0.5 s at
    100,000 items)."""
    deadline = ITEMS.c.deadline

    def count(*terms: sa.ColumnElement[bool]) -> sa.Select:
        return sa.select(sa.func.count()).select_from(ITEMS).where(IS_OPEN, *terms)

    return {
        "open": count(),
        "due_this_week": count(deadline >= today, deadline <= today + timedelta(days=WEEK_DAYS)),
        "past_deadline": count(deadline < today),
        "taken_by_me": count(ITEMS.c.lease_holder == viewer, ITEMS.c.lease_expires_at > now),
    }
