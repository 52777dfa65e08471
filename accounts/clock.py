"""Time for the sign-in rules, injected so that expiries are tested to the microsecond.

Every rule takes its `now` from a `Clock` (a function returning an aware UTC
datetime) instead of reading the system time, so a test moves a fake clock across
an expiry boundary and a database store keeps comparable timestamps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The system time in UTC: the clock of the running service."""
    return datetime.now(UTC)


def require_aware(now: datetime, what: str = "now") -> datetime:
    """`now` if it carries a time zone; a naive datetime is refused because comparing it
    with stored UTC times would shift every expiry by the server's offset."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{what} must be a time-zone-aware datetime (UTC), got {now!r}")
    return now
