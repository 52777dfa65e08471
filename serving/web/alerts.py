"""The alerts at the top of the work queue page: the deadline banner (items past their
deadline or inside the policy's buffer, each linking to that view) and the authorization
alerts of `queues.alerts`, computed from the tenant's contract data.

The authorization alerts are worked out once per tenant, data version and day
(`AuthAlertCache`, `app.state.auth_alerts`), not on every page: the data changes when its
files do (`serving.tenant_data`). A tenant without a data directory has none; one whose
directory cannot be read (broken, or gone) gets a short note instead, and the queue still
shows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from fastapi import Request

from data_contracts.reader import ContractData
from queues.alerts import AuthAlerts, auth_alerts
from queues.browse import QueueCounts, QueueFilter
from serving.api.deps import TenantStores
from serving.api.security import Caller

EXAMPLES = 3
"""Examples shown per authorization alert; the counts say how many there are in all."""


@dataclass(frozen=True)
class DeadlineBanner:
    """Open items past their deadline, and due inside the policy's buffer (not yet past)."""

    past: int
    due_soon: int
    buffer_days: int
    past_url: str
    due_soon_url: str


@dataclass(frozen=True)
class PageAlerts:
    deadlines: DeadlineBanner
    auth: AuthAlerts | None
    """None: the tenant has no contract data to judge authorizations by."""
    auth_note: str | None
    examples: int = EXAMPLES


class AuthAlertCache:
    """Each tenant's `AuthAlerts`, kept while its data object and the day stand."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[ContractData, date, AuthAlerts]] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, data: ContractData, as_of: date) -> AuthAlerts:
        with self._lock:
            kept = self._kept.get(tenant)
        if kept is not None and kept[0] is data and kept[1] == as_of:
            return kept[2]
        alerts = auth_alerts(data, as_of)
        with self._lock:
            self._kept[tenant] = (data, as_of, alerts)
        return alerts


def page_alerts(
    request: Request,
    stores: TenantStores,
    caller: Caller,
    counts: QueueCounts,
    link: Callable[[QueueFilter], str],
) -> PageAlerts:
    """The alerts the work queue page shows `caller`; `link` gives the page's address of a
    view (the banner links to the items it counts)."""
    queue, policy = stores.queue, stores.policies.current()
    buffer = policy.deadline_buffer_days
    due_soon = QueueFilter(due_from_days=0, due_within_days=buffer)  # counted as linked
    banner = DeadlineBanner(
        past=counts.past_deadline,
        due_soon=queue.browse(due_soon, caller.name, limit=0)[1],
        buffer_days=buffer,
        past_url=link(QueueFilter(due_within_days=-1)),
        due_soon_url=link(due_soon),
    )
    state = request.app.state
    data, unavailable = state.tenant_data.get_or_unavailable(caller.tenant, state.settings)
    if data is None:
        if unavailable is None or unavailable.missing:
            return PageAlerts(banner, None, None)
        note = "Authorization alerts are unavailable: the practice's data could not be read."
        return PageAlerts(banner, None, note)
    return PageAlerts(banner, state.auth_alerts.get(caller.tenant, data, queue.now().date()), None)
