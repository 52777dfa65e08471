"""The persistent work queue of denials: ranked items, leases, resolutions and outcomes.

One item per denied claim. The ranking (`load`) may be refreshed while an item
is open; a biller takes the best open item with `next`, which leases it for a
while so two billers never work the same claim, then `resolve`s it with what
was done; the payer's answer arrives later through `record_outcome`. Resolved
items export as the contract's `appeals` table, which the recovery model
learns from.

Every change writes its audit row (`queues/audit.py`) in the same transaction, so
the trail can neither miss a change nor record one that did not happen; the
database refuses UPDATE and DELETE on the trail, and its hash chain shows any
edit made around that.

How `next` stays atomic:

- PostgreSQL: a CTE picks the best unleased open item `FOR UPDATE SKIP LOCKED`
  and the same statement leases it (`UPDATE ... RETURNING`). Concurrent billers
  skip each other's candidates instead of queueing behind them, and a row
  leased by a transaction that committed meanwhile is re-checked and passed over.
- SQLite (one writer at a time, see `queues/database.py`): the lease is one
  `UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING` in BEGIN IMMEDIATE.

How the lease cap holds: a biller may hold at most `max_leases_per_biller` live
leases, so one key cannot take the whole queue. `next` counts the biller's live
leases and leases in the same transaction, with that biller's `next` calls
serialised: on PostgreSQL by a transaction-scoped advisory lock keyed on the
biller (other billers are not held up), on SQLite by BEGIN IMMEDIATE, which
serialises every writer anyway. A lease runs `lease_seconds`; its holder may
`renew` it while it is live.

Who may record an outcome: the biller who resolved the item or a billing lead,
once; a final outcome is changed only by a lead's audited `correct_outcome`.
The recovered amount is bounded by the denied claim's billed amount (by the
recoverable amount for items loaded before the queue kept billed amounts, the
tighter of what is known) unless a lead overrides, which the trail records.

Leases are judged by this process's clock in UTC (injectable for tests), so
servers sharing a database need synchronised clocks (NTP), as usual.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Self

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_contracts.enums import APPEAL_ACTIONS, APPEAL_OUTCOMES
from data_contracts.reader import ContractError, check_table
from queues import audit
from queues.audit import AuditEvent
from queues.database import NAME_LENGTH, Database, is_name, utc_now
from queues.schema import ITEMS, OPEN, RESOLVED, UTCDateTime
from settings import Settings, get_settings

log = logging.getLogger(__name__)

RANKING_COLUMNS = (
    "claim_id",
    "payer_id",
    "denial_category",
    "action",
    "p_recover",
    "recoverable_amount",
    "expected_recovery",
    "effort_minutes",
    "deadline",
    "deadline_unverified",
    "priority",
    "rank",
    "reason",
    "billed_amount",
)
"""The columns `load` takes: what the ranking says about each denial, and its billed amount.
A ranking without `deadline_unverified` (made before deadlines were learned) loads with it
unknown (None)."""
_OPTIONAL = ("deadline_unverified",)
_NUMBERS = (
    "p_recover",
    "recoverable_amount",
    "expected_recovery",
    "effort_minutes",
    "priority",
    "billed_amount",
)
_TEXTS = ("claim_id", "payer_id", "denial_category", "action", "reason")
_REFRESHED = (*RANKING_COLUMNS[1:], "policy_version")
_CHUNK = 500
"""Claims per IN (...) lookup: well under every driver's parameter limit."""
# A literal, not a bound parameter: only then may PostgreSQL's generic plans (psycopg prepares
# statements it sees often) and SQLite use the partial index on open items.
_IS_OPEN = ITEMS.c.status == sa.literal_column(f"'{OPEN}'")
_FLOATS = (*_NUMBERS, "recovered_amount")
FINAL_OUTCOMES = tuple(outcome for outcome in APPEAL_OUTCOMES if outcome != "pending")
"""Outcomes recorded once; changing one is a lead's correction."""
_LEASE_CAP_LOCK = 0x6C656173  # "leas": advisory locks (space, hashtext(biller)) on PostgreSQL

# The statements `next`, `release` and `resolve` run, built once with named parameters
# (p_*): building and hashing a statement per call costs as much as running it on SQLite.
_NOW = sa.bindparam("p_now", type_=UTCDateTime())
_BILLER = sa.bindparam("p_biller", type_=sa.String())
_FREE = sa.or_(ITEMS.c.lease_expires_at.is_(None), ITEMS.c.lease_expires_at <= _NOW)
_PRIORITY_ORDER = (ITEMS.c.priority.desc(), ITEMS.c.id)
_OPTIONAL_FILTERS = tuple(
    sa.or_(parameter.is_(None), column == parameter)
    for column, parameter in (
        (ITEMS.c.payer_id, sa.bindparam("p_payer_id", type_=sa.String())),
        (ITEMS.c.denial_category, sa.bindparam("p_category", type_=sa.String())),
    )
)


def _lease_statement(dialect: str) -> sa.Update:
    """Lease the best free open item in one statement; see the module docstring for why."""
    candidate = (
        sa.select(ITEMS.c.id)
        .where(_IS_OPEN, _FREE, *_OPTIONAL_FILTERS)
        .order_by(*_PRIORITY_ORDER)
        .limit(1)
    )
    if dialect == "postgresql":
        chosen = candidate.with_for_update(skip_locked=True).cte("candidate")
        which = ITEMS.c.id == chosen.c.id
    else:
        which = ITEMS.c.id == candidate.scalar_subquery()
    return (
        ITEMS.update()
        .where(which)
        .values(
            lease_holder=_BILLER,
            lease_expires_at=sa.bindparam("p_expires", type_=UTCDateTime()),
            updated_at=_NOW,
        )
        .returning(*ITEMS.c)
    )


_LEASE = {dialect: _lease_statement(dialect) for dialect in ("postgresql", "sqlite")}
_HELD_BY_CALLER = (
    ITEMS.c.claim_id == sa.bindparam("p_claim_id", type_=sa.String()),
    _IS_OPEN,
    ITEMS.c.lease_holder == _BILLER,
    ITEMS.c.lease_expires_at > _NOW,
)
_LIVE_LEASES = (
    sa.select(ITEMS.c.claim_id)
    .where(ITEMS.c.lease_holder == _BILLER, ITEMS.c.lease_expires_at > _NOW)
    .order_by(ITEMS.c.claim_id)
)
_RENEW = (
    ITEMS.update()
    .where(*_HELD_BY_CALLER)
    .values(lease_expires_at=sa.bindparam("p_expires", type_=UTCDateTime()), updated_at=_NOW)
    .returning(*ITEMS.c)
)
_RELEASE = (
    ITEMS.update()
    .where(*_HELD_BY_CALLER)
    .values(lease_holder=None, lease_expires_at=None, updated_at=_NOW)
    .returning(*ITEMS.c)
)
_RESOLVE = (
    ITEMS.update()
    .where(*_HELD_BY_CALLER)
    .values(
        status=RESOLVED,
        lease_holder=None,
        lease_expires_at=None,
        resolved_by=_BILLER,
        resolved_at=_NOW,
        resolved_action=sa.bindparam("p_action", type_=sa.String()),
        action_date=sa.bindparam("p_action_date", type_=sa.Date()),
        resolved_effort_minutes=sa.bindparam("p_effort", type_=sa.Integer()),
        note=sa.bindparam("p_note", type_=sa.Text()),
        outcome="pending",
        recovered_amount=0.0,
        updated_at=_NOW,
    )
    .returning(*ITEMS.c)
)


class QueueError(Exception):
    """Anything the queue refuses; the message names the claim and the reason."""


class UnknownItemError(QueueError, LookupError):
    """No queue item for the claim (HTTP 404)."""


class ConflictError(QueueError):
    """The item is not in a state that allows the change (HTTP 409)."""


class LeaseError(ConflictError):
    """The caller does not hold a live lease on the item (HTTP 409)."""


class InvalidValueError(QueueError, ValueError):
    """A value the contract or the queue does not accept (HTTP 422)."""


class ForbiddenError(QueueError, PermissionError):
    """The caller may not make this change to the item (HTTP 403)."""


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One denied claim in the queue: its ranking, its lease and what became of it."""

    id: int
    claim_id: str
    payer_id: str
    denial_category: str
    action: str
    """The recommended action (the ranking's); `resolved_action` is what was done."""
    p_recover: float
    recoverable_amount: float
    expected_recovery: float
    effort_minutes: float
    """The ranking's estimate; `resolved_effort_minutes` is what it took."""
    deadline: date | None
    """The payer's deadline for working the item; None: unknown."""
    deadline_unverified: bool | None
    """True: neither configured nor backed by the payer's refusals of late work, so lateness
    is no reason to write the item off; None on items loaded before it was kept."""
    priority: float
    rank: int
    reason: str
    policy_version: str
    billed_amount: float | None
    """The denied claim's billed amount; None on items loaded before the queue kept it."""
    loaded_at: datetime
    updated_at: datetime
    status: str
    lease_holder: str | None
    lease_expires_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolved_action: str | None
    action_date: date | None
    resolved_effort_minutes: int | None
    note: str | None
    outcome: str | None
    recovered_amount: float | None
    closed_date: date | None


@dataclass(frozen=True, slots=True)
class LoadCounts:
    """What a load did; `worked` items (leased or resolved) kept their state and ranking."""

    inserted: int
    refreshed: int
    unchanged: int
    worked: int


def _item(row: sa.Row[Any]) -> WorkItem:
    """A WorkItem with float fields as floats (SQLite's RETURNING gives 2.0 back as 2)."""
    values = dict(row._mapping)
    for column in _FLOATS:
        if values[column] is not None:
            values[column] = float(values[column])
    return WorkItem(**values)


class WorkQueue:
    """The denial work queue in one database (`WorkQueue.from_settings()` for the usual one).

    Opening it migrates the queue's tables to the latest revision, so there is no
    separate set-up step. Methods are safe to call from many threads: each call
    takes its own pooled connection and commits before it returns.
    """

    def __init__(
        self,
        database_url: str,
        *,
        lease_seconds: int,
        pool_size: int,
        busy_timeout_seconds: float,
        max_leases_per_biller: int,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.lease_seconds = _positive(lease_seconds, "lease_seconds")
        self.max_leases_per_biller = _positive(max_leases_per_biller, "max_leases_per_biller")
        self._clock = clock
        self.database = Database(
            database_url, pool_size=pool_size, busy_timeout_seconds=busy_timeout_seconds
        )
        """The database, for the stores that share it (policy versions, API keys)."""
        self.engine = self.database.engine
        self._writing = self.database.writing

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now
    ) -> WorkQueue:
        """The queue in `database_url` with the configured leases, pool and busy timeout."""
        settings = settings or get_settings()
        return cls(
            settings.database_url,
            lease_seconds=settings.lease_seconds,
            pool_size=settings.queue_pool_size,
            busy_timeout_seconds=settings.queue_busy_timeout_seconds,
            max_leases_per_biller=settings.max_leases_per_biller,
            clock=clock,
        )

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Loading the ranking.

    def load(self, items: pd.DataFrame, *, actor: str, policy_version: str) -> LoadCounts:
        """Upsert ranked denials by claim_id: new claims open, open ones take the new ranking.

        An item a biller holds or has resolved keeps its state and ranking, so a
        re-ranking never pulls work from under someone nor re-opens finished
        work, and loading the same denials twice adds nothing. A load is a batch
        job: run one at a time (two loads racing to insert the same new claim
        make the later one fail on the unique claim_id, adding nothing twice).
        """
        actor = _name(actor, "actor")
        policy_version = _name(policy_version, "policy_version")
        rows = _ranking_rows(items)
        now = self._now()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        unchanged = worked = 0
        with self._writing() as connection:
            existing = _existing_items(connection, [row["claim_id"] for row in rows])
            for row in rows:
                row["policy_version"] = policy_version
                old = existing.get(row["claim_id"])
                if old is None:
                    inserts.append({**row, "loaded_at": now, "updated_at": now, "status": OPEN})
                    ranking = _jsonable_dict({column: row[column] for column in _REFRESHED})
                    audits.append(_audit(now, actor, row["claim_id"], "loaded", ranking))
                elif old["status"] != OPEN or _lease_live(old["lease_expires_at"], now):
                    worked += 1
                elif changed := {
                    column: [_jsonable(old[column]), _jsonable(row[column])]
                    for column in _REFRESHED
                    if old[column] != row[column]
                }:
                    updates.append({**row, "item_id": old["id"], "updated_at": now})
                    audits.append(_audit(now, actor, row["claim_id"], "refreshed", changed))
                else:
                    unchanged += 1
            if inserts:
                connection.execute(ITEMS.insert(), inserts)
            if updates:
                refresh = ITEMS.update().where(ITEMS.c.id == sa.bindparam("item_id"))
                connection.execute(refresh, updates)
            audit.append(connection, audits)
        counts = LoadCounts(len(inserts), len(updates), unchanged, worked)
        log.info("queue load by %s, policy %s: %s", actor, policy_version, counts)
        return counts

    # A biller's work.

    def next(
        self,
        biller: str,
        lease_seconds: int | None = None,
        *,
        payer_id: str | None = None,
        denial_category: str | None = None,
    ) -> WorkItem | None:
        """Lease the highest-priority open item nobody holds (ties: first loaded), or None.

        `lease_seconds` defaults to the configured lease. A lease that ran out is
        free to take: the biller who let it expire can no longer resolve it. A biller
        already holding `max_leases_per_biller` live leases is refused (ConflictError).
        """
        biller = _name(biller, "biller")
        seconds = self._seconds(lease_seconds)
        now = self._now()
        expires = now + timedelta(seconds=seconds)
        params = {
            "p_now": now,
            "p_expires": expires,
            "p_biller": biller,
            "p_payer_id": payer_id,
            "p_category": denial_category,
        }
        with self._writing() as connection:
            self._check_lease_cap(connection, biller, now)
            row = connection.execute(_LEASE[connection.dialect.name], params).one_or_none()
            if row is None:
                return None
            item = _item(row)
            detail = {"lease_expires_at": expires.isoformat(), "priority": item.priority}
            audit.append(connection, [_audit(now, biller, item.claim_id, "leased", detail)])
        log.debug("%s leased %s until %s", biller, item.claim_id, expires)
        return item

    def renew(self, claim_id: str, biller: str, lease_seconds: int | None = None) -> WorkItem:
        """Renew the caller's live lease: it then runs `lease_seconds` (default: the
        configured lease) from now, so a renewal never banks more than one lease ahead.
        A lapsed lease or someone else's is a LeaseError, as for `release`."""
        biller = _name(biller, "biller")
        now = self._now()
        expires = now + timedelta(seconds=self._seconds(lease_seconds))
        with self._writing() as connection:
            row = _change_held(connection, _RENEW, claim_id, biller, now, {"p_expires": expires})
            detail = {"lease_expires_at": expires.isoformat()}
            audit.append(connection, [_audit(now, biller, claim_id, "renewed", detail)])
        return _item(row)

    def release(self, claim_id: str, biller: str) -> WorkItem:
        """Give a lease back early so the item returns to the queue at its priority."""
        biller = _name(biller, "biller")
        now = self._now()
        with self._writing() as connection:
            row = _change_held(connection, _RELEASE, claim_id, biller, now)
            audit.append(connection, [_audit(now, biller, claim_id, "released", {})])
        return _item(row)

    def resolve(
        self,
        claim_id: str,
        biller: str,
        action: str,
        effort_minutes: int,
        note: str | None = None,
    ) -> WorkItem:
        """Record what the lease holder did (dated today, UTC); the outcome is pending until
        `record_outcome`. Only the holder of a live lease may resolve."""
        biller = _name(biller, "biller")
        if action not in APPEAL_ACTIONS:
            raise InvalidValueError(
                f"claim {claim_id}: action {action!r} is not one of {', '.join(APPEAL_ACTIONS)}"
            )
        if (
            not isinstance(effort_minutes, numbers.Integral)
            or isinstance(effort_minutes, bool)
            or effort_minutes < 0
        ):
            raise InvalidValueError(
                f"claim {claim_id}: effort_minutes must be a whole number ≥ 0, "
                f"not {effort_minutes!r}"
            )
        effort = int(effort_minutes)
        now = self._now()
        work = {"p_action": action, "p_action_date": now.date(), "p_effort": effort, "p_note": note}
        with self._writing() as connection:
            row = _change_held(connection, _RESOLVE, claim_id, biller, now, work)
            detail = {"action": action, "effort_minutes": effort, "note": note}
            audit.append(connection, [_audit(now, biller, claim_id, "resolved", detail)])
        log.debug("%s resolved %s: %s", biller, claim_id, action)
        return _item(row)

    def record_outcome(
        self,
        claim_id: str,
        actor: str,
        outcome: str,
        recovered_amount: float,
        closed_date: date | None,
        *,
        lead: bool = False,
        override_amount: bool = False,
    ) -> WorkItem:
        """Record the payer's answer to a resolved item: by the biller who resolved it, or
        by a lead (`lead`: the caller vouches for the role; the HTTP layer checks it).

        A pending outcome has no closed_date and may be recorded again; a final one
        (overturned, upheld) needs one, on or after the action date and not after
        today (UTC), and is recorded once: changing it is `correct_outcome`. The
        amount may not exceed the item's bound (see the module docstring) unless a
        lead passes `override_amount`.
        """
        actor = _name(actor, "actor")
        answer = _answer(claim_id, outcome, recovered_amount, closed_date)
        now = self._now()
        with self._writing() as connection:
            item = _resolved_item(connection, claim_id)
            if not lead and actor != item.resolved_by:
                raise ForbiddenError(
                    f"claim {claim_id} was resolved by {item.resolved_by}: only they or a "
                    "billing lead may record its outcome"
                )
            if item.outcome in FINAL_OUTCOMES:
                raise ConflictError(
                    f"claim {claim_id} already has its final outcome ({item.outcome}, closed "
                    f"{item.closed_date}): only a billing lead may correct it"
                )
            detail = _jsonable_dict(answer) | _checked(item, answer, now, lead, override_amount)
            row = _set_outcome(connection, item.id, answer, now)
            audit.append(connection, [_audit(now, actor, claim_id, "outcome", detail)])
        return _item(row)

    def correct_outcome(
        self,
        claim_id: str,
        lead: str,
        outcome: str,
        recovered_amount: float,
        closed_date: date | None,
        *,
        reason: str,
        override_amount: bool = False,
    ) -> WorkItem:
        """A billing lead's correction of a final outcome, audited with the old and new
        values and the reason. The caller vouches that `lead` is a lead (the HTTP route
        admits only billing leads and admins); the answer is checked as when recorded.
        """
        lead = _name(lead, "lead")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidValueError(f"claim {claim_id}: a correction needs a reason")
        answer = _answer(claim_id, outcome, recovered_amount, closed_date)
        now = self._now()
        with self._writing() as connection:
            item = _resolved_item(connection, claim_id)
            if item.outcome not in FINAL_OUTCOMES:
                raise ConflictError(
                    f"claim {claim_id} has no final outcome to correct ({item.outcome}): "
                    "record it instead"
                )
            old = {
                "outcome": item.outcome,
                "recovered_amount": float(item.recovered_amount),
                "closed_date": item.closed_date,
            }
            if old == answer:
                raise InvalidValueError(f"claim {claim_id}: the correction changes nothing")
            detail = {
                "old": _jsonable_dict(old),
                "new": _jsonable_dict(answer),
                "reason": reason,
                **_checked(item, answer, now, True, override_amount),
            }
            row = _set_outcome(connection, item.id, answer, now)
            audit.append(connection, [_audit(now, lead, claim_id, "outcome_corrected", detail)])
        log.info("%s corrected the outcome of %s", lead, claim_id)
        return _item(row)

    # Reading.

    def item(self, claim_id: str) -> WorkItem:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(ITEMS).where(ITEMS.c.claim_id == claim_id)
            ).one_or_none()
        if row is None:
            raise UnknownItemError(f"no queue item for claim {claim_id}")
        return _item(row)

    def count_open(self) -> int:
        """Open items (leased or not): the queue's depth, one COUNT on the open-items index."""
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(ITEMS).where(_IS_OPEN)
            ).scalar_one()

    def ranked(
        self,
        limit: int = 50,
        offset: int = 0,
        biller: str | None = None,
        *,
        payer_id: str | None = None,
        denial_category: str | None = None,
    ) -> list[WorkItem]:
        """Open items in the order `next` hands them out.

        With a biller: what that biller may work (free items and their own leases);
        without: every open item, leased or not (a supervisor's view).
        """
        query = sa.select(ITEMS).where(_IS_OPEN, *_OPTIONAL_FILTERS)
        if biller is not None:
            query = query.where(sa.or_(_FREE, ITEMS.c.lease_holder == biller))
        query = query.order_by(*_PRIORITY_ORDER).limit(limit).offset(offset)
        params = {"p_now": self._now(), "p_payer_id": payer_id, "p_category": denial_category}
        with self.engine.connect() as connection:
            return [_item(row) for row in connection.execute(query, params)]

    def export_appeals(self) -> pd.DataFrame:
        """Resolved items as the contract's `appeals` table, typed and checked.

        Pending outcomes export with recovered_amount 0 and no closed_date, as the
        contract has them.
        """
        query = (
            sa.select(
                ITEMS.c.claim_id,
                ITEMS.c.resolved_action.label("action"),
                ITEMS.c.action_date,
                ITEMS.c.resolved_effort_minutes.label("effort_minutes"),
                ITEMS.c.outcome,
                ITEMS.c.recovered_amount,
                ITEMS.c.closed_date,
            )
            .where(ITEMS.c.status == RESOLVED)
            .order_by(ITEMS.c.action_date, ITEMS.c.id)
        )
        with self.engine.connect() as connection:
            result = connection.execute(query)
            raw = pd.DataFrame(result.all(), columns=list(result.keys()))
        for column in ("action_date", "closed_date"):
            raw[column] = pd.to_datetime(raw[column]).astype("datetime64[us]")
        appeals, problems = check_table("appeals", raw)
        if problems:
            raise ContractError("the work queue's appeals export", problems)
        return appeals

    def audit(self, claim_id: str | None = None) -> list[AuditEvent]:
        """The trail in the order it was written, for one claim or all."""
        with self.engine.connect() as connection:
            return audit.events(connection, claim_id)

    def _seconds(self, lease_seconds: int | None) -> int:
        """A lease's length: the configured one unless the caller asks for another."""
        if lease_seconds is None:
            return self.lease_seconds
        return _positive(lease_seconds, "lease_seconds")

    def _check_lease_cap(self, connection: sa.Connection, biller: str, now: datetime) -> None:
        """Refuse a new lease to a biller at the cap; see the module docstring for why the
        count cannot race another `next` of the same biller."""
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:space, hashtext(:biller))"),
                {"space": _LEASE_CAP_LOCK, "biller": biller},
            )
        held = connection.scalars(_LIVE_LEASES, {"p_biller": biller, "p_now": now}).all()
        if len(held) >= self.max_leases_per_biller:
            raise ConflictError(
                f"{biller} already holds {len(held)} live leases, the most a biller may hold "
                f"(max_leases_per_biller = {self.max_leases_per_biller}): claims "
                f"{', '.join(held)}; resolve or release one first"
            )

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the queue's clock must return aware datetimes")
        return now


def _positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise InvalidValueError(f"{what} must be a whole number > 0, not {value!r}")
    return int(value)


def _name(value: str, what: str) -> str:
    if not is_name(value):
        raise InvalidValueError(f"{what} must be a non-empty name of at most {NAME_LENGTH} chars")
    return value


def _lease_live(expires: datetime | None, now: datetime) -> bool:
    return expires is not None and expires > now


def _change_held(
    connection: sa.Connection,
    statement: sa.Update,
    claim_id: str,
    biller: str,
    now: datetime,
    params: dict[str, Any] | None = None,
) -> sa.Row[Any]:
    """Run `statement` (`_RELEASE`, `_RESOLVE`) if `biller` holds a live lease on the open
    item, else say why not.

    The condition sits in the UPDATE itself, so a lease cannot lapse or change hands
    between checking and writing.
    """
    params = {"p_claim_id": claim_id, "p_biller": biller, "p_now": now, **(params or {})}
    row = connection.execute(statement, params).one_or_none()
    if row is not None:
        return row
    item = connection.execute(
        sa.select(ITEMS.c.status, ITEMS.c.lease_holder, ITEMS.c.lease_expires_at).where(
            ITEMS.c.claim_id == claim_id
        )
    ).one_or_none()
    if item is None:
        raise UnknownItemError(f"no queue item for claim {claim_id}")
    if item.status == RESOLVED:
        raise ConflictError(f"claim {claim_id} is already resolved")
    if item.lease_holder == biller:
        raise LeaseError(f"{biller}'s lease on claim {claim_id} expired at {item.lease_expires_at}")
    if _lease_live(item.lease_expires_at, now):
        raise LeaseError(
            f"claim {claim_id} is leased by {item.lease_holder} until {item.lease_expires_at}"
        )
    raise LeaseError(f"{biller} holds no lease on claim {claim_id}: take it with next first")


def _answer(
    claim_id: str, outcome: str, recovered_amount: float, closed_date: date | None
) -> dict[str, Any]:
    """The payer's answer as stored (amount in cents), or why the contract refuses it."""
    if outcome not in APPEAL_OUTCOMES:
        raise InvalidValueError(
            f"claim {claim_id}: outcome {outcome!r} is not one of {', '.join(APPEAL_OUTCOMES)}"
        )
    if (
        isinstance(recovered_amount, bool)
        or not isinstance(recovered_amount, numbers.Real)
        or not math.isfinite(recovered_amount)
        or recovered_amount < 0
    ):
        raise InvalidValueError(
            f"claim {claim_id}: recovered_amount must be dollars ≥ 0, not {recovered_amount!r}"
        )
    if (outcome == "pending") != (closed_date is None):
        raise InvalidValueError(
            f"claim {claim_id}: a {outcome} outcome "
            + ("has no closed_date" if outcome == "pending" else "needs a closed_date")
        )
    return {
        "outcome": outcome,
        "recovered_amount": round(float(recovered_amount), 2),
        "closed_date": closed_date,
    }


def _resolved_item(connection: sa.Connection, claim_id: str) -> sa.Row[Any]:
    """The item, locked until the transaction ends, if it has been resolved."""
    item = connection.execute(
        sa.select(ITEMS).where(ITEMS.c.claim_id == claim_id).with_for_update()
    ).one_or_none()
    if item is None:
        raise UnknownItemError(f"no queue item for claim {claim_id}")
    if item.status != RESOLVED:
        raise ConflictError(
            f"claim {claim_id} has no action yet: resolve it before recording an outcome"
        )
    return item


def _checked(
    item: sa.Row[Any], answer: dict[str, Any], now: datetime, lead: bool, override: bool
) -> dict[str, Any]:
    """Refuse an answer the item cannot have; returns the audit's record of an amount
    override ({} when none was needed)."""
    closed = answer["closed_date"]
    if closed is not None and closed < item.action_date:
        raise InvalidValueError(
            f"claim {item.claim_id}: closed_date {closed} is before the action date "
            f"{item.action_date}"
        )
    if closed is not None and closed > now.date():
        raise InvalidValueError(
            f"claim {item.claim_id}: closed_date {closed} is in the future (today is "
            f"{now.date()}, UTC)"
        )
    basis = "billed_amount" if item.billed_amount is not None else "recoverable_amount"
    bound = float(getattr(item, basis))
    amount = answer["recovered_amount"]
    if amount <= bound:
        return {}
    if not override:
        raise InvalidValueError(
            f"claim {item.claim_id}: recovered_amount {amount:.2f} is more than the item's "
            f"{basis} {bound:.2f}; only a billing lead may override that"
        )
    if not lead:
        raise ForbiddenError(
            f"claim {item.claim_id}: only a billing lead may record more than the {basis}"
        )
    return {"amount_override": {"bound": bound, "basis": basis}}


def _set_outcome(
    connection: sa.Connection, item_id: int, answer: dict[str, Any], now: datetime
) -> sa.Row[Any]:
    return connection.execute(
        ITEMS.update()
        .where(ITEMS.c.id == item_id)
        .values(**answer, updated_at=now)
        .returning(*ITEMS.c)
    ).one()


def _existing_items(
    connection: sa.Connection, claim_ids: Sequence[str]
) -> dict[str, sa.RowMapping]:
    """The stored items among `claim_ids`, locked on PostgreSQL until the load commits, so
    `next` skips them rather than leasing an item the load is about to re-rank.

    Rows are locked in claim_id order, so loads that overlap cannot deadlock.
    """
    found = {}
    ordered = sorted(claim_ids)
    for start in range(0, len(ordered), _CHUNK):
        query = (
            sa.select(ITEMS)
            .where(ITEMS.c.claim_id.in_(ordered[start : start + _CHUNK]))
            .order_by(ITEMS.c.claim_id)
            .with_for_update()
        )
        found.update({row["claim_id"]: row for row in connection.execute(query).mappings()})
    return found


def _ranking_rows(items: pd.DataFrame) -> list[dict[str, Any]]:
    """The ranking's rows as plain Python values, or every reason they cannot be loaded."""
    missing = [
        column
        for column in RANKING_COLUMNS
        if column not in items.columns and column not in _OPTIONAL
    ]
    if missing:
        raise InvalidValueError(f"queue items lack column(s): {', '.join(missing)}")
    frame = items.reindex(columns=list(RANKING_COLUMNS)).reset_index(drop=True)
    claim = frame["claim_id"].astype("string")
    numeric = {
        column: pd.to_numeric(frame[column], errors="coerce").astype("float64")
        for column in (*_NUMBERS, "rank")
    }
    problems = [
        f"{column} is missing for {_some(claim[frame[column].isna().to_numpy()])}"
        for column in _TEXTS
        if frame[column].isna().any()
    ]
    for column, values in numeric.items():
        bad = ~np.isfinite(values) | ((values % 1 != 0) if column == "rank" else False)
        if bad.any():
            kind = "a whole number" if column == "rank" else "a finite number"
            problems.append(f"{column} is not {kind} for {_some(claim[bad.to_numpy()])}")
    if claim.str.strip().eq("").any():
        problems.append("claim_id is empty on some rows")
    duplicated = claim.duplicated(keep=False) & claim.notna()
    if duplicated.any():
        problems.append(f"claim_id is not unique: {_some(claim[duplicated].drop_duplicates())}")
    bad_action = ~frame["action"].isin(APPEAL_ACTIONS) & frame["action"].notna()
    if bad_action.any():
        problems.append(
            f"action is not one of {', '.join(APPEAL_ACTIONS)} for {_some(claim[bad_action])}"
        )
    deadline = pd.to_datetime(frame["deadline"], errors="coerce")
    bad_deadline = deadline.isna() & frame["deadline"].notna()
    if bad_deadline.any():
        problems.append(f"deadline is not a date for {_some(claim[bad_deadline])}")
    unverified = frame["deadline_unverified"]
    bad_flag = unverified.notna() & ~unverified.isin([True, False])
    if bad_flag.any():
        problems.append(f"deadline_unverified is not true or false for {_some(claim[bad_flag])}")
    if problems:
        raise InvalidValueError("queue items cannot be loaded: " + "; ".join(problems))
    columns: dict[str, list[Any]] = {
        **{column: frame[column].astype(str).tolist() for column in _TEXTS},
        **{column: numeric[column].tolist() for column in _NUMBERS},
        "rank": numeric["rank"].astype("int64").tolist(),
        "deadline": [None if pd.isna(day) else day.date() for day in deadline],
        "deadline_unverified": [None if pd.isna(flag) else bool(flag) for flag in unverified],
    }
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def _some(claims: pd.Series) -> str:
    shown = ", ".join(str(claim) for claim in claims.head(5))
    more = f" and {len(claims) - 5} more" if len(claims) > 5 else ""
    return f"claim(s) {shown}{more}"


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _jsonable_dict(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _jsonable(value) for key, value in values.items()}


def _audit(
    at: datetime, actor: str, claim_id: str, event: str, detail: dict[str, Any]
) -> dict[str, Any]:
    return {"at": at, "actor": actor, "claim_id": claim_id, "event": event, "detail": detail}
