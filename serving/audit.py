"""The append-only audit trail of scoring decisions: who asked, which model, what it said.

No PHI: claim ids, model versions, risks, bands and fix codes only. The table (`scoring_audit`,
storage/schema.py) is made by the migrations, with triggers refusing UPDATE and DELETE,
so the trail cannot be edited through the database either. Each decision belongs to the
tenant it was made for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from storage.database import Database, utc_now
from storage.schema import CHAMPION, SCORING_AUDIT
from storage.tenancy import DEFAULT_TENANT

if TYPE_CHECKING:
    from serving.scorer import ClaimResult

SCORE_COLUMNS = ("claim_id", "model_version", "p_denial", "band", "top_fix", "at")
"""The columns of `AuditLog.scores`."""
FLAGGED = ("review", "hold")
"""The bands (`serving.scorer.BANDS`) at which the scrubber stops a claim for a look."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One claim's scoring decision as the trail keeps it."""

    claim_id: str
    p_denial: float
    band: str
    top_fix: str | None = None
    """The fix code of the first fix offered; None when none was."""

    @classmethod
    def of(cls, result: ClaimResult) -> Decision:
        """The decision a scorer's result records."""
        return cls(
            result.claim_id,
            result.p_denial,
            result.band,
            result.fixes[0].fix_code if result.fixes else None,
        )


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
        self,
        key_id: str,
        model_version: str,
        decisions: Iterable[Decision],
        *,
        role: str = CHAMPION,
    ) -> None:
        """One row per decision, all at the same time; `role` `shadow` for a challenger's
        scores of claims the champion answered (kept beside, never answered)."""
        now = self._clock()
        rows = [
            {
                "at": now,
                "key_id": key_id,
                "claim_id": d.claim_id,
                "model_version": model_version,
                "p_denial": d.p_denial,
                "band": d.band,
                "top_fix": d.top_fix,
                "role": role,
            }
            for d in decisions
        ]
        if not rows:
            return
        with self._database.writing() as connection:
            connection.execute(SCORING_AUDIT.insert(), rows)

    def scores(self, since: datetime | None = None, role: str = CHAMPION) -> pd.DataFrame:
        """Each claim's latest score by `role` (scored at or after `since`, when given): what
        the monitor joins to how the claims ended. Columns `SCORE_COLUMNS`, one row per
        claim; a claim scored twice in one instant keeps its last row written."""
        audit = SCORING_AUDIT.c
        latest = sa.func.row_number().over(
            partition_by=audit.claim_id, order_by=(audit.at.desc(), audit.id.desc())
        )
        ranked = sa.select(*(audit[name] for name in SCORE_COLUMNS), latest.label("latest"))
        ranked = ranked.where(audit.role == role)
        if since is not None:
            if since.tzinfo is None:
                raise ValueError(f"naive datetime {since!r}: scoring times are aware (UTC)")
            ranked = ranked.where(audit.at >= since.astimezone(UTC))
        ranked = ranked.subquery()
        query = (
            sa.select(*(ranked.c[name] for name in SCORE_COLUMNS))
            .where(ranked.c.latest == 1)
            .order_by(ranked.c.claim_id)
        )
        with self._database.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
        frame["at"] = pd.to_datetime(frame["at"], utc=True)
        return frame.astype({"p_denial": float})

    def weekly_checks(self, since: date) -> list[WeekOfChecks]:
        """Answers from `since` on (UTC), by week, oldest first; weeks with none left out
        (shadow scores are no checks: nobody saw them).

        The database counts by day and band (one GROUP BY, however many decisions), and the
        days are summed into weeks here, the same way on SQLite and PostgreSQL."""
        at = SCORING_AUDIT.c.at
        start = datetime.combine(since, time(), tzinfo=UTC)
        with self._database.engine.connect() as connection:
            day = _utc_day(at, connection.dialect.name)
            query = (
                sa.select(day, SCORING_AUDIT.c.band, sa.func.count())
                .where(at >= start, SCORING_AUDIT.c.role == CHAMPION)
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
