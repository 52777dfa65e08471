"""The append-only audit trail of scoring decisions: who asked, which model, what it said.

No PHI: claim ids, model versions, risks and bands only. The table (`scoring_audit`,
storage/schema.py) is made by the migrations, with triggers refusing UPDATE and DELETE,
so the trail cannot be edited through the database either. Each decision belongs to the
tenant it was made for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from storage.database import Database, utc_now
from storage.schema import SCORING_AUDIT
from storage.tenancy import DEFAULT_TENANT

FLAGGED = ("review", "hold")
"""The bands (`serving.scorer.BANDS`) at which the scrubber stops a claim for a look."""


@dataclass(frozen=True, slots=True)
class WeekOfChecks:
    """The claims scored before submission in one week (Monday to Sunday, UTC)."""

    week: date
    """The week's Monday."""
    checked: int
    """Scoring decisions: a claim scored twice that week counts twice."""
    review: int
    hold: int

    @property
    def flagged(self) -> int:
        """Decisions at `review` or `hold`: what the scrubber caught."""
        return self.review + self.hold


class AuditLog:
    """The scoring decisions of `tenant` in `database` (shared with the queue)."""

    def __init__(
        self,
        database: Database,
        *,
        tenant: str = DEFAULT_TENANT,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._database = database.scope(tenant)
        self._clock = clock

    def record(
        self, key_id: str, model_version: str, decisions: list[tuple[str, float, str]]
    ) -> None:
        """One row per (claim_id, p_denial, band)."""
        now = self._clock()
        rows = [
            {
                "at": now,
                "key_id": key_id,
                "claim_id": c,
                "model_version": model_version,
                "p_denial": p,
                "band": b,
            }
            for c, p, b in decisions
        ]
        with self._database.writing() as connection:
            connection.execute(SCORING_AUDIT.insert(), rows)

    def weekly_checks(self, since: date) -> list[WeekOfChecks]:
        """Decisions from `since` on (UTC), by week, oldest first; weeks with none left out.

        The database counts by day and band (one GROUP BY, however many decisions), and the
        days are summed into weeks here, the same way on SQLite and PostgreSQL."""
        at = SCORING_AUDIT.c.at
        start = datetime.combine(since, time(), tzinfo=UTC)
        with self._database.engine.connect() as connection:
            day = _utc_day(at, connection.dialect.name)
            query = (
                sa.select(day, SCORING_AUDIT.c.band, sa.func.count())
                .where(at >= start)
                .group_by(day, SCORING_AUDIT.c.band)
            )
            counts = connection.execute(query).all()
        weeks: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for day_value, band, count in counts:
            found = date.fromisoformat(str(day_value))
            week = weeks[found - timedelta(days=found.weekday())]
            week["checked"] += count
            week[band] += count
        return [
            WeekOfChecks(week, found["checked"], found["review"], found["hold"])
            for week, found in sorted(weeks.items())
        ]


def _utc_day(at: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """The UTC date of a decision's time: SQLite keeps UTC text, PostgreSQL a timestamptz
    whose date would otherwise follow the session's time zone."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("UTC", at), sa.Date)
    return sa.func.date(at)
