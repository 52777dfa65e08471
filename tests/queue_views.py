"""Reading the open queue in tests, as the pages and routes read it (`WorkQueue.browse`)."""

from __future__ import annotations

from queues.browse import Holder, QueueFilter
from queues.store import WorkItem, WorkQueue


def open_items(
    queue: WorkQueue,
    limit: int = 50,
    offset: int = 0,
    biller: str | None = None,
    **view: str | None,
) -> list[WorkItem]:
    """Open items in the order `next` hands them out: with a biller, what that biller may
    work (`Holder.workable`); without, every open item."""
    holder = Holder.workable if biller is not None else Holder.anyone
    found, _total = queue.browse(
        QueueFilter(holder=holder, **view), biller or "", limit=limit, offset=offset
    )
    return found
