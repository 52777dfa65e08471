"""The persistent work queue of denials: ranked items, leases, resolutions and outcomes.

One item per denied claim. The ranking (`load`) may be refreshed while an item
is open; a biller takes the best open item with `next`, which leases it for a
while so two billers never work the same claim, then `resolve`s it with what
was done; the payer's answer arrives later through `record_outcome`. Resolved
items export as the contract's `appeals` table, which the recovery model
learns from.

Every change writes its audit row (`storage/audit.py`) in the same transaction, so
the trail can neither miss a change nor record one that did not happen; the
database refuses UPDATE and DELETE on the trail, and its hash chain shows any
edit made around that.

How `next` stays atomic:

- PostgreSQL: a subquery in the WHERE clause (where the tenant scoping reaches it,
  storage/tenancy.py) picks the best unleased open item `FOR UPDATE SKIP LOCKED`
  and the same statement leases it (`UPDATE ... RETURNING`). Concurrent billers
  skip each other's candidates instead of queueing behind them, and a row
  leased by a transaction that committed meanwhile is re-checked and passed over.
- SQLite (one writer at a time, see `storage/database.py`): the lease is one
  `UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING` in BEGIN IMMEDIATE.

How the lease cap holds: a biller may hold at most `max_leases_per_biller` live
leases, so one key cannot take the whole queue. `next` counts the biller's live
leases and leases in the same transaction, with that biller's `next` calls
serialised: on PostgreSQL by a transaction-scoped advisory lock keyed on the
biller (other billers are not held up), on SQLite by BEGIN IMMEDIATE, which
serialises every writer anyway. A lease runs `lease_seconds`; its holder may
`renew` it while it is live.

How the queue follows the ranking: a load is the whole of what is open, so an open
item whose claim it lacks is closed with the reason the data gives
(`queues/reconcile.py`), or goes `stale` while a biller holds its lease (the work
stays theirs); a claim ranked again reopens. An empty ranking, or one closing most
open items for no reason in the data, is refused unless forced (see `load`).

Who may record an outcome: the biller who resolved the item or a billing lead,
once; a final outcome is changed only by a lead's audited `correct_outcome`.
The recovered amount is bounded by the denied claim's billed amount (by the
recoverable amount for items loaded before the queue kept billed amounts, the
tighter of what is known) unless a lead overrides, which the trail records.

Leases are judged by this process's clock in UTC (injectable for tests), so
servers sharing a database need synchronised clocks (NTP), as usual.
"""

from __future__ import annotations

import copy
import logging
import math
import numbers
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data_contracts.enums import APPEAL_ACTIONS, APPEAL_OUTCOMES
from data_contracts.reader import ContractError, check_table
from queues import browse
from queues.browse import QueueCounts, QueueFilter
from settings import Settings, get_settings
from storage import audit
from storage.audit import AuditEvent
from storage.database import NAME_LENGTH, Database, is_name, utc_now
from storage.schema import (
    CLOSED,
    CLOSED_REASONS,
    DETAILS,
    ITEMS,
    OPEN,
    RESOLVED,
    STALE,
    UTCDateTime,
)
from storage.tenancy import DEFAULT_TENANT

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
    *DETAILS,
)
"""The columns `load` takes: what the ranking says about each denial, its billed amount and
what a biller sees of it (`storage.schema.DETAILS`). A ranking without `deadline_unverified`
(made before deadlines were learned) or a detail loads with it unknown (None)."""
_OPTIONAL = ("deadline_unverified", *DETAILS)
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
MAX_EFFORT_MINUTES = 24 * 60
"""The most effort one resolution may record."""
ANALYZE_AFTER_ROWS = 1000
"""A load adding at least this many open items refreshes the database's statistics."""
FACETS_SECONDS = 60.0
"""How long `facets` keeps what it read."""
NOTE_LENGTH = 2000
"""The longest note a biller may add to an item."""
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
_FOR_BILLER = sa.or_(ITEMS.c.assigned_to.is_(None), ITEMS.c.assigned_to == _BILLER)
"""An item a lead assigned to someone is theirs to take: `next` hands it to no one else."""
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
        .where(_IS_OPEN, _FREE, _FOR_BILLER, *_OPTIONAL_FILTERS)
        .order_by(*_PRIORITY_ORDER)
        .limit(1)
    )
    if dialect == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
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
    ITEMS.c.status.in_((OPEN, STALE)),
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
    .values(
        # A stale item given back has nobody working it any more: it closes.
        status=sa.case((ITEMS.c.status == STALE, CLOSED), else_=ITEMS.c.status),
        lease_holder=None,
        lease_expires_at=None,
        updated_at=_NOW,
    )
    .returning(*ITEMS.c)
)


def _resolution(by: Any, now: Any, action: Any, action_date: Any, effort: Any, note: Any) -> dict:
    """The columns a resolution sets (values or bound parameters): the work recorded, the
    lease given up, the outcome pending until the payer answers."""
    return {
        "status": RESOLVED,
        "closed_reason": None,
        "lease_holder": None,
        "lease_expires_at": None,
        "resolved_by": by,
        "resolved_at": now,
        "resolved_action": action,
        "action_date": action_date,
        "resolved_effort_minutes": effort,
        "note": note,
        "outcome": "pending",
        "recovered_amount": 0.0,
        "updated_at": now,
    }


_RESOLVE = (
    ITEMS.update()
    .where(*_HELD_BY_CALLER)
    .values(
        _resolution(
            _BILLER,
            _NOW,
            sa.bindparam("p_action", type_=sa.String()),
            sa.bindparam("p_action_date", type_=sa.Date()),
            sa.bindparam("p_effort", type_=sa.Integer()),
            sa.bindparam("p_note", type_=sa.Text()),
        )
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


class ReconcileRefusedError(QueueError):
    """A ranking that would close too much of the queue to be trusted; `force` loads it."""


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
    patient_id: str | None
    program: str | None
    clinician_id: str | None
    """The claim's rendering provider."""
    carc_codes: str | None
    rarc_codes: str | None
    """The remit's codes, `;`-separated as in the contract; the five are None on items loaded
    before the queue kept them (revision 0009), until the next load."""
    loaded_at: datetime
    updated_at: datetime
    status: str
    lease_holder: str | None
    lease_expires_at: datetime | None
    assigned_to: str | None
    """The biller a billing lead assigned the item to; None: anyone may take it."""
    resolved_by: str | None
    resolved_at: datetime | None
    resolved_action: str | None
    action_date: date | None
    resolved_effort_minutes: int | None
    note: str | None
    outcome: str | None
    recovered_amount: float | None
    closed_date: date | None
    closed_reason: str | None
    """Why a stale or closed item left the ranking (`storage.schema.CLOSED_REASONS`)."""


@dataclass(frozen=True, slots=True)
class LoadCounts:
    """What a load did; `worked` items (leased or resolved) kept their state and ranking."""

    inserted: int
    refreshed: int
    unchanged: int
    worked: int
    reopened: int = 0
    """Stale or closed items whose claims are back in the ranking: open again."""
    closed: Mapping[str, int] = field(default_factory=dict)
    """Items whose claims are not in the ranking, closed by this load, by reason."""
    stale: Mapping[str, int] = field(default_factory=dict)
    """Leased items whose claims are not in the ranking, now stale (lease kept), by reason."""


@dataclass(frozen=True, slots=True)
class BillerThroughput:
    """One person's resolutions over a period (`WorkQueue.throughput`)."""

    biller: str
    resolved: int
    effort_minutes: int
    """The minutes they recorded resolving them (a bulk write-off records none)."""
    recovered: float
    """Dollars recovered on them so far: overturned appeals' amounts."""

    @property
    def hours(self) -> float:
        return self.effort_minutes / 60

    @property
    def resolved_per_hour(self) -> float | None:
        """Items resolved per recorded hour; None when no time was recorded."""
        return self.resolved / self.hours if self.effort_minutes else None

    @property
    def recovered_per_hour(self) -> float | None:
        """Dollars recovered per recorded hour; None when no time was recorded."""
        return self.recovered / self.hours if self.effort_minutes else None


Explain = Callable[[Sequence[str]], Mapping[str, str]]
"""Why each of these claims is not in the ranking: a reason of `CLOSED_REASONS` per claim
(`queues.reconcile.closure_reasons`); a claim left out is `not_in_ranking`."""
UNEXPLAINED_CLOSE_SHARE = 0.5
"""Most of the open items a load may close without a reason in the data (`not_in_data`,
`not_in_ranking`) unless forced: more looks like a partial ranking or data directory."""
_UNEXPLAINED = ("not_in_data", "not_in_ranking")
_FREED = {"lease_holder": None, "lease_expires_at": None}


def _item(row: sa.Row[Any]) -> WorkItem:
    """A WorkItem with float fields as floats (SQLite's RETURNING gives 2.0 back as 2); the
    tenant is the store's own."""
    values = dict(row._mapping)
    del values["tenant"]
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
        tenant: str = DEFAULT_TENANT,
    ):
        self.lease_seconds = _positive(lease_seconds, "lease_seconds")
        self.max_leases_per_biller = _positive(max_leases_per_biller, "max_leases_per_biller")
        self._clock = clock
        self.database = Database(
            database_url, pool_size=pool_size, busy_timeout_seconds=busy_timeout_seconds
        )
        """The database, for the stores that share it (policy versions, API keys)."""
        scope = self.database.scope(tenant)
        self.tenant = scope.tenant
        self.engine = scope.engine
        """The engine as `tenant` sees it: every statement scoped to its rows."""
        self._writing = scope.writing
        self._facets: tuple[float, dict[str, list[str]]] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        tenant: str = DEFAULT_TENANT,
    ) -> WorkQueue:
        """`tenant`'s queue in `database_url` with the configured leases, pool and busy
        timeout."""
        settings = settings or get_settings()
        return cls(
            settings.database_url,
            lease_seconds=settings.lease_seconds,
            pool_size=settings.queue_pool_size,
            busy_timeout_seconds=settings.queue_busy_timeout_seconds,
            max_leases_per_biller=settings.max_leases_per_biller,
            clock=clock,
            tenant=tenant,
        )

    def for_tenant(self, tenant: str) -> WorkQueue:
        """This queue's database and lease rules as `tenant` sees them: what the service
        hands a request of that tenant (no new engine: the database is shared)."""
        other = copy.copy(self)
        scope = self.database.scope(tenant)
        other.tenant, other.engine, other._writing = scope.tenant, scope.engine, scope.writing
        other._facets = None
        return other

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Loading the ranking.

    def load(
        self,
        items: pd.DataFrame,
        *,
        actor: str,
        policy_version: str,
        explain: Explain | None = None,
        force: bool = False,
        keep: Collection[str] = (),
    ) -> LoadCounts:
        """Upsert ranked denials by claim_id, and reconcile the queue with the ranking.

        New claims open, open ones take the new ranking. An item a biller holds or
        has resolved keeps its state and ranking, so a re-ranking never pulls work
        from under someone nor re-opens finished work, and loading the same denials
        twice adds nothing. A load is a batch job: run one at a time (two loads
        racing to insert the same new claim make the later one fail on the unique
        claim_id, adding nothing twice).

        The ranking is the whole of what is open, so an item whose claim is not in it
        no longer belongs in the queue with its old priority: an open item closes with
        the reason `explain` gives (default `not_in_ranking`); one a biller holds
        becomes `stale`, the lease and the work still theirs (resolve as usual;
        releasing it closes it; a later load closes it once the lease has lapsed).
        Resolved items are never touched. A stale or closed item whose claim is back
        in the ranking reopens. All of it is one transaction, each change audited
        (`reconciled`, `reopened`), and loading the same ranking again changes nothing.

        Unless `force`, a ranking is refused (`ReconcileRefusedError`) when it is empty
        while items are open, or would close more than `UNEXPLAINED_CLOSE_SHARE` of the
        open items for no reason found in the data: an empty or partial file must not
        silently close the queue.

        Items of the claims in `keep` (set aside in quarantine this time, so neither
        ranked nor gone) stay exactly as they are.
        """
        actor = _name(actor, "actor")
        policy_version = _name(policy_version, "policy_version")
        rows = _ranking_rows(items)
        now = self._now()
        inserts: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        unchanged = worked = refreshed = reopened = 0
        with self._writing() as connection:
            existing = _existing_items(connection, [row["claim_id"] for row in rows])
            for row in rows:
                row["policy_version"] = policy_version
                old = existing.get(row["claim_id"])
                ranking = {column: row[column] for column in _REFRESHED}
                if old is None:
                    inserts.append({**row, "loaded_at": now, "updated_at": now, "status": OPEN})
                    audits.append(
                        _audit(now, actor, row["claim_id"], "loaded", _jsonable_dict(ranking))
                    )
                    continue
                held = _lease_live(old["lease_expires_at"], now)
                changed = {
                    column: [_jsonable(old[column]), _jsonable(row[column])]
                    for column in _REFRESHED
                    if old[column] != row[column]
                }
                if old["status"] in (STALE, CLOSED):
                    reopened += 1
                    back = {"item_id": old["id"], "updated_at": now, "status": OPEN}
                    if held:  # its biller works on: the ranking stays theirs, as for `worked`
                        changes.append({**back, "closed_reason": None})
                        changed = {}
                    else:
                        changes.append({**back, "closed_reason": None, **_FREED, **ranking})
                    detail = {"was": old["status"], "closed_reason": old["closed_reason"]}
                    audits.append(_audit(now, actor, old["claim_id"], "reopened", detail | changed))
                elif old["status"] != OPEN or held:
                    worked += 1
                elif changed:
                    refreshed += 1
                    changes.append({**ranking, "item_id": old["id"], "updated_at": now})
                    audits.append(_audit(now, actor, row["claim_id"], "refreshed", changed))
                else:
                    unchanged += 1
            leaving = _leaving(connection, {row["claim_id"] for row in rows}.union(keep))
            closures = _closures(leaving, now, explain)
            opened = sum(item["status"] == OPEN for item in (*existing.values(), *leaving))
            if not force:
                _guard(len(rows), opened, closures)
            for item, status, reason in closures:
                change = {"item_id": item["id"], "updated_at": now, "status": status}
                changes.append({**change, "closed_reason": reason, **_freed_if(status)})
                detail = {"status": status, "closed_reason": reason}
                if status == STALE:
                    detail["lease_holder"] = item["lease_holder"]
                audits.append(_audit(now, actor, item["claim_id"], "reconciled", detail))
            if inserts:
                connection.execute(ITEMS.insert(), inserts)
            _update_items(connection, changes)
            audit.append(connection, audits)
        counts = LoadCounts(
            len(inserts),
            refreshed,
            unchanged,
            worked,
            reopened,
            closed=_by_reason(closures, CLOSED),
            stale=_by_reason(closures, STALE),
        )
        self._facets = None
        if counts.inserted + counts.reopened >= ANALYZE_AFTER_ROWS:
            self._analyze()
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
            or not 0 <= effort_minutes <= MAX_EFFORT_MINUTES
        ):
            raise InvalidValueError(
                f"claim {claim_id}: effort_minutes must be a whole number from 0 to "
                f"{MAX_EFFORT_MINUTES} (a day), not {effort_minutes!r}"
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

    def items(self, claim_ids: Sequence[str]) -> list[WorkItem]:
        """The stored items among `claim_ids` (whatever their status), in queue order; claims
        with no item are left out, so the caller can tell what it asked for that is gone."""
        ordered = sorted(set(claim_ids))
        found: list[WorkItem] = []
        with self.engine.connect() as connection:
            for start in range(0, len(ordered), _CHUNK):
                chunk = _literal_list(ordered[start : start + _CHUNK])
                query = sa.select(ITEMS).where(ITEMS.c.claim_id.in_(chunk))
                found.extend(_item(row) for row in connection.execute(query))
        return sorted(found, key=lambda item: (-item.priority, item.id))

    def count_open(self) -> int:
        """Open items (leased or not): the queue's depth, one COUNT on the open-items index."""
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(ITEMS).where(_IS_OPEN)
            ).scalar_one()

    def browse(
        self,
        view: QueueFilter,
        viewer: str,
        *,
        sort: str = "rank",
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[WorkItem], int]:
        """One page of the open items `view` selects, in `sort` order (`queues.browse`),
        and how many it selects in all; leased items included (each says who holds it)."""
        try:
            runs = browse.segments(sort)
        except ValueError as error:  # a caller's value: the HTTP layer's 422
            raise InvalidValueError(str(error)) from error
        now = self._now()
        terms = browse.conditions(view, viewer, now)
        rows: list[sa.Row[Any]] = []
        total = 0
        with self.engine.connect() as connection:
            for extra, ordered_by in runs:
                where = (*terms, *extra)
                count = sa.select(sa.func.count()).select_from(ITEMS).where(*where)
                found = connection.execute(count).scalar_one()
                skip = max(offset - total, 0)
                wanted = limit - len(rows)
                if wanted > 0 and skip < found:
                    page = sa.select(ITEMS).where(*where).order_by(*ordered_by)
                    rows += connection.execute(page.limit(wanted).offset(skip)).all()
                total += found
        return [_item(row) for row in rows], total

    def stream(
        self, view: QueueFilter, viewer: str, *, sort: str = "rank", chunk: int = 1000
    ) -> Iterator[list[WorkItem]]:
        """Every open item `view` selects, in `sort` order, `chunk` at a time, so an export
        holds a chunk in memory rather than the queue; one query per run of the sort
        (`queues.browse.segments`). The connection is held until the iterator is exhausted
        or closed."""
        terms = browse.conditions(view, viewer, self._now())
        with self.engine.connect() as connection:
            for extra, ordered_by in browse.segments(sort):
                query = sa.select(ITEMS).where(*terms, *extra).order_by(*ordered_by)
                result = connection.execution_options(yield_per=chunk).execute(query)
                for rows in result.partitions():
                    yield [_item(row) for row in rows]

    def counts(self, viewer: str) -> QueueCounts:
        """Open items, due within a week, past deadline, and under `viewer`'s live lease."""
        now = self._now()
        statements = browse.count_statements(viewer, now.date(), now)
        with self.engine.connect() as connection:
            found = {name: connection.execute(s).scalar_one() for name, s in statements.items()}
        return QueueCounts(**found)

    def throughput(self, since: date) -> list[BillerThroughput]:
        """What each person resolved from the day `since` on (UTC), whatever became of
        the item after: items, the minutes they recorded and the dollars recovered so far
        (pending outcomes count 0); by username. One GROUP BY over resolved items, for the
        leadership dashboard's throughput by biller."""
        start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
        query = (
            sa.select(
                ITEMS.c.resolved_by,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(ITEMS.c.resolved_effort_minutes), 0),
                sa.func.coalesce(sa.func.sum(ITEMS.c.recovered_amount), 0.0),
            )
            .where(ITEMS.c.resolved_by.is_not(None), ITEMS.c.resolved_at >= start)
            .group_by(ITEMS.c.resolved_by)
            .order_by(ITEMS.c.resolved_by)
        )
        with self.engine.connect() as connection:
            return [
                BillerThroughput(biller, int(items), int(minutes), float(recovered))
                for biller, items, minutes, recovered in connection.execute(query)
            ]

    def facets(self) -> dict[str, list[str]]:
        """The payers and clinicians of open items, sorted: the choices a view offers.

        Kept for `FACETS_SECONDS` (and until this process loads the queue again): they
        change with loads, and reading them is a pass over every open item."""
        kept = self._facets
        if kept is not None and time.monotonic() - kept[0] < FACETS_SECONDS:
            return kept[1]
        out: dict[str, list[str]] = {}
        with self.engine.connect() as connection:
            for name in ("payer_id", "clinician_id"):
                column = ITEMS.c[name]
                query = sa.select(column).where(_IS_OPEN, column.is_not(None)).distinct()
                out[name] = sorted(connection.scalars(query))
        self._facets = (time.monotonic(), out)
        return out

    def now(self) -> datetime:
        """The queue's clock (UTC): what leases run out and deadlines count days by."""
        return self._now()

    def take(self, claim_id: str, biller: str, lease_seconds: int | None = None) -> WorkItem:
        """Lease one open item the biller chose (from the page rather than `next`): refused
        while someone else's lease is live or the item is assigned to someone else; the
        biller's own live lease is renewed."""
        biller = _name(biller, "biller")
        now = self._now()
        expires = now + timedelta(seconds=self._seconds(lease_seconds))
        with self._writing() as connection:
            item = _item_for_update(connection, claim_id)
            if item.status != OPEN:
                raise ConflictError(f"claim {claim_id} is {item.status}, not open")
            if item.lease_holder != biller and _lease_live(item.lease_expires_at, now):
                raise LeaseError(
                    f"claim {claim_id} is leased by {item.lease_holder} until "
                    f"{item.lease_expires_at}"
                )
            if item.assigned_to not in (None, biller):
                raise LeaseError(f"claim {claim_id} is assigned to {item.assigned_to}")
            if item.lease_holder != biller or not _lease_live(item.lease_expires_at, now):
                self._check_lease_cap(connection, biller, now)
            row = connection.execute(
                ITEMS.update()
                .where(ITEMS.c.claim_id == claim_id)
                .values(lease_holder=biller, lease_expires_at=expires, updated_at=now)
                .returning(*ITEMS.c)
            ).one()
            detail = {"lease_expires_at": expires.isoformat(), "chosen": True}
            audit.append(connection, [_audit(now, biller, claim_id, "leased", detail)])
        return _item(row)

    def assign(self, claim_ids: Sequence[str], biller: str | None, lead: str) -> list[WorkItem]:
        """A lead assigns open items to `biller` (None: unassigns them), all or none: an
        unknown or closed claim, or one under another biller's live lease, refuses the lot."""
        biller = None if biller is None else _name(biller, "biller")
        return self._lead_change(claim_ids, lead, "assigned_to", biller, "assigned", biller)

    def change_action(self, claim_ids: Sequence[str], action: str, lead: str) -> list[WorkItem]:
        """A lead overrides the recommended action of open items (all or none, as `assign`);
        the ranking's next load puts its own back on items nobody worked meanwhile."""
        if action not in APPEAL_ACTIONS:
            raise InvalidValueError(f"action {action!r} is not one of {', '.join(APPEAL_ACTIONS)}")
        return self._lead_change(claim_ids, lead, "action", action, "action_changed", lead)

    def _lead_change(
        self,
        claim_ids: Sequence[str],
        lead: str,
        column: str,
        value: str | None,
        event: str,
        allowed: str | None,
    ) -> list[WorkItem]:
        """Set `column` to `value` on open items in one transaction, each change audited as
        `event` with the old and new value; refused whole if any item is not open or is
        under a live lease of anyone but `allowed`.

        A claim named twice is changed and audited once, and items are locked in claim_id
        order (as `load` locks them), so two leads' overlapping changes cannot deadlock."""
        lead = _name(lead, "lead")
        claim_ids = sorted(set(claim_ids))
        now = self._now()
        with self._writing() as connection:
            changes = {column: value, "updated_at": now}
            items, changed = _change_open(connection, claim_ids, now, allowed, changes)
            events = [
                _audit(now, lead, it.claim_id, event, {"from": getattr(it, column), "to": value})
                for it in items
            ]
            audit.append(connection, events)
        return sorted((_item(row) for row in changed), key=lambda item: item.rank)

    def reassign(self, claim_id: str, biller: str, to: str) -> WorkItem:
        """The lease holder hands the item to another biller: the lease ends and the item
        is assigned to `to` (only they may take it), in one transaction, both audited."""
        biller, to = _name(biller, "biller"), _name(to, "biller")
        if to == biller:
            raise InvalidValueError(f"claim {claim_id}: reassign it to someone else than {to}")
        now = self._now()
        with self._writing() as connection:
            released = _change_held(connection, _RELEASE, claim_id, biller, now)
            if released.status != OPEN:
                raise ConflictError(f"claim {claim_id} left the ranking: it cannot be reassigned")
            row = connection.execute(
                ITEMS.update()
                .where(ITEMS.c.claim_id == claim_id)
                .values(assigned_to=to, updated_at=now)
                .returning(*ITEMS.c)
            ).one()
            audit.append(
                connection,
                [
                    _audit(now, biller, claim_id, "released", {}),
                    _audit(now, biller, claim_id, "assigned", {"from": None, "to": to}),
                ],
            )
        return _item(row)

    def write_off(self, claim_ids: Sequence[str], lead: str, reason: str) -> list[WorkItem]:
        """A lead writes open items off in bulk, all or none: each is resolved as `resolve`
        would (action `write_off`, no effort, the reason as its note, outcome pending), and
        audited as `resolved` with `bulk` and the reason. An unknown, closed or resolved
        claim, or one under anyone's live lease but the lead's own, refuses the lot, so a
        biller's work is never written off under them."""
        lead = _name(lead, "lead")
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason or len(reason) > NOTE_LENGTH:
            raise InvalidValueError(
                f"a write-off needs a reason of 1 to {NOTE_LENGTH} characters, not {len(reason)}"
            )
        claims = [] if isinstance(claim_ids, str) else sorted(set(claim_ids))
        if not claims:  # (locked below in claim_id order, as loads lock)
            raise InvalidValueError("a write-off needs at least one claim")
        now = self._now()
        values = _resolution(lead, now, "write_off", now.date(), 0, reason)
        with self._writing() as connection:
            items, changed = _change_open(connection, claims, now, lead, values)
            detail = {"action": "write_off", "effort_minutes": 0, "note": reason}
            events = [
                _audit(
                    now,
                    lead,
                    item.claim_id,
                    "resolved",
                    {**detail, "bulk": True, "reason": reason, "amount": item.recoverable_amount},
                )
                for item in items
            ]
            audit.append(connection, events)
        log.info("%s wrote off %d items", lead, len(items))
        return sorted((_item(row) for row in changed), key=lambda item: item.rank)

    def refusals(self, claim_ids: Sequence[str], lead: str) -> dict[str, str]:
        """Why a lead's change (`assign`, `change_action`, `write_off`) would refuse each of
        these items now, by claim (unknown claims left out: see `items`); {}: none would.
        A confirmation page shows it; the change itself checks again."""
        now = self._now()
        found = {}
        for item in self.items(claim_ids):
            try:
                _check_open_and_free(item, now, lead)
            except ConflictError as error:
                found[item.claim_id] = str(error)
        return found

    def add_note(self, claim_id: str, actor: str, text: str) -> AuditEvent:
        """A note on an item, whatever its status: kept in the trail, which is its history."""
        actor = _name(actor, "actor")
        text = text.strip()
        if not text or len(text) > NOTE_LENGTH:
            raise InvalidValueError(f"a note is 1 to {NOTE_LENGTH} characters, not {len(text)}")
        now = self._now()
        with self._writing() as connection:
            _item_for_update(connection, claim_id)
            [written] = audit.append(
                connection, [_audit(now, actor, claim_id, "note_added", {"text": text})]
            )
            # Read back in the same transaction: after it, another note may already follow.
            return next(e for e in reversed(audit.events(connection, claim_id)) if e.id == written)

    def record_export(self, view: QueueFilter, viewer: str, query: str) -> int:
        """Audit that `viewer` exports the open items `view` selects (`stream` reads them):
        an `exported` event with no claim, the view as `query` (its query string) and how
        many rows it selects; returns that count.

        Written before any row leaves, so a download cut short is in the trail too; the
        count is the view's at that moment (a load while the file streams may change what
        it holds)."""
        viewer = _name(viewer, "viewer")
        now = self._now()
        count = sa.select(sa.func.count()).select_from(ITEMS)
        with self._writing() as connection:
            rows = connection.execute(count.where(*browse.conditions(view, viewer, now))).scalar()
            detail = {"query": query, "rows": rows}
            audit.append(connection, [_audit(now, viewer, None, "exported", detail)])
        log.info("%s exported %d queue items (%s)", viewer, rows, query or "the whole queue")
        return rows

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

    def _analyze(self) -> None:
        """Refresh PostgreSQL's statistics of the queue after a large load, rather than
        wait for autovacuum: with the table's old row count the planner reads 100,000
        new open items by bitmap scans, and the work page takes 0.35 s, not 0.1 s."""
        engine = self.database.admin().engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql(f"ANALYZE {ITEMS.name}")

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
        sa.select(
            ITEMS.c.status, ITEMS.c.closed_reason, ITEMS.c.lease_holder, ITEMS.c.lease_expires_at
        ).where(ITEMS.c.claim_id == claim_id)
    ).one_or_none()
    if item is None:
        raise UnknownItemError(f"no queue item for claim {claim_id}")
    if item.status == RESOLVED:
        raise ConflictError(f"claim {claim_id} is already resolved")
    if item.status == CLOSED:
        raise ConflictError(
            f"claim {claim_id} left the ranking and was closed ({item.closed_reason})"
        )
    if item.lease_holder == biller:
        raise LeaseError(f"{biller}'s lease on claim {claim_id} expired at {item.lease_expires_at}")
    if _lease_live(item.lease_expires_at, now):
        raise LeaseError(
            f"claim {claim_id} is leased by {item.lease_holder} until {item.lease_expires_at}"
        )
    raise LeaseError(f"{biller} holds no lease on claim {claim_id}: take it with next first")


def _item_for_update(connection: sa.Connection, claim_id: str) -> WorkItem:
    """The item, locked until the transaction ends on PostgreSQL; UnknownItemError if none."""
    query = sa.select(ITEMS).where(ITEMS.c.claim_id == claim_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).one_or_none()
    if row is None:
        raise UnknownItemError(f"no queue item for claim {claim_id}")
    return _item(row)


def _check_open_and_free(item: WorkItem, now: datetime, allowed: str | None) -> None:
    """Refuse a lead's change to an item that is not open, or that someone other than
    `allowed` is working under a live lease (their work is not changed under them)."""
    if item.status != OPEN:
        raise ConflictError(f"claim {item.claim_id} is {item.status}, not open")
    if _lease_live(item.lease_expires_at, now) and item.lease_holder != allowed:
        raise LeaseError(
            f"claim {item.claim_id} is leased by {item.lease_holder} until {item.lease_expires_at}"
        )


def _change_open(
    connection: sa.Connection,
    claim_ids: Sequence[str],
    now: datetime,
    allowed: str | None,
    values: dict[str, Any],
) -> tuple[list[WorkItem], list[sa.Row[Any]]]:
    """A lead's change: lock the items, refuse the lot unless each is open and free of
    leases but `allowed`'s (`_check_open_and_free`), then set `values` on all of them.
    Returns the items as they were and the changed rows."""
    items = [_item_for_update(connection, claim_id) for claim_id in claim_ids]
    for item in items:
        _check_open_and_free(item, now, allowed)
    changed = connection.execute(
        ITEMS.update()
        .where(ITEMS.c.claim_id.in_(_literal_list(claim_ids)))
        .values(values)
        .returning(*ITEMS.c)
    ).all()
    return items, changed


def _leaving(connection: sa.Connection, ranked: set[str]) -> list[sa.RowMapping]:
    """Open and stale items whose claims are not in the ranking, locked on PostgreSQL until
    the load commits (in claim_id order, as `_existing_items` locks), so `next` skips them."""
    query = (
        sa.select(
            ITEMS.c.id,
            ITEMS.c.claim_id,
            ITEMS.c.status,
            ITEMS.c.lease_holder,
            ITEMS.c.lease_expires_at,
            ITEMS.c.closed_reason,
        )
        .where(ITEMS.c.status.in_((OPEN, STALE)))
        .order_by(ITEMS.c.claim_id)
        .with_for_update()
    )
    return [row for row in connection.execute(query).mappings() if row["claim_id"] not in ranked]


def _closures(
    leaving: list[sa.RowMapping], now: datetime, explain: Explain | None
) -> list[tuple[sa.RowMapping, str, str]]:
    """(item, new status, reason) for each leaving item that changes: an open one goes stale
    while its lease runs, else closes; a stale one closes once its lease has lapsed."""
    moving = []
    for item in leaving:
        status = STALE if _lease_live(item["lease_expires_at"], now) else CLOSED
        if item["status"] == OPEN or status == CLOSED:  # a stale item stays so while held
            moving.append((item, status))
    reasons = _closure_reasons([item["claim_id"] for item, _ in moving], explain)
    return [(item, status, reasons[item["claim_id"]]) for item, status in moving]


def _closure_reasons(claim_ids: list[str], explain: Explain | None) -> dict[str, str]:
    """`explain`'s reason for each claim (`not_in_ranking` where it has none), checked."""
    given = dict(explain(claim_ids)) if explain is not None and claim_ids else {}
    bad = sorted(claim for claim, reason in given.items() if reason not in CLOSED_REASONS)
    if bad:
        raise InvalidValueError(
            f"closure reasons must be one of {', '.join(CLOSED_REASONS)}, not "
            f"{given[bad[0]]!r} for {_some(pd.Series(bad))}"
        )
    return {claim: given.get(claim, "not_in_ranking") for claim in claim_ids}


def _guard(ranked: int, opened: int, closures: list[tuple[sa.RowMapping, str, str]]) -> None:
    """Refuse a ranking that is empty while items are open, or that would close more than
    `UNEXPLAINED_CLOSE_SHARE` of the open items without a reason in the data."""
    if ranked == 0 and opened:
        raise ReconcileRefusedError(
            f"the ranking is empty while {opened:,} queue items are open: loading it would "
            "close them all. An empty or cut-short file must not empty the queue; force the "
            "load (denialops queue load --force) only if every open claim really is settled"
        )
    unexplained = Counter(
        reason for item, _, reason in closures if item["status"] == OPEN and reason in _UNEXPLAINED
    )
    total = sum(unexplained.values())
    if total > UNEXPLAINED_CLOSE_SHARE * opened:
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(unexplained.items()))
        raise ReconcileRefusedError(
            f"the ranking would close {total:,} of the {opened:,} open queue items with no "
            f"reason in the data ({reasons}), more than {UNEXPLAINED_CLOSE_SHARE:.0%}: is the "
            "ranking or its data directory partial? Nothing was loaded; check them, or force "
            "the load (denialops queue load --force)"
        )


def _freed_if(status: str) -> dict[str, None]:
    """A closed item's lease fields cleared (a lapsed lease is no one's); a stale one keeps its."""
    return {} if status == STALE else _FREED


def _by_reason(closures: list[tuple[sa.RowMapping, str, str]], status: str) -> dict[str, int]:
    return dict(sorted(Counter(reason for _, to, reason in closures if to == status).items()))


def _update_items(connection: sa.Connection, changes: list[dict[str, Any]]) -> None:
    """Apply per-item changes ({item_id, column: value, ...}): one executemany per set of
    columns changed, since an executemany sets the same columns on every row."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        groups.setdefault(tuple(sorted(change)), []).append(change)
    statement = ITEMS.update().where(ITEMS.c.id == sa.bindparam("item_id"))
    for group in groups.values():
        connection.execute(statement, group)


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
            .where(ITEMS.c.claim_id.in_(_literal_list(ordered[start : start + _CHUNK])))
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
        **{
            column: [None if pd.isna(value) else str(value) for value in frame[column]]
            for column in DETAILS
        },
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
    at: datetime, actor: str, claim_id: str | None, event: str, detail: dict[str, Any]
) -> dict[str, Any]:
    return {"at": at, "actor": actor, "claim_id": claim_id, "event": event, "detail": detail}


def _literal_list(values: Sequence[str]) -> sa.BindParameter:
    """An IN list written into the statement as quoted literals, not 500 bound parameters.

    PostgreSQL hashes a constant IN list, but psycopg prepares a statement it sees five
    times and the generic plan that follows compares each row with every parameter in
    turn: a re-load of 50,000 items took 70 s that way, quadratic in the queue's size.
    """
    return sa.bindparam("claim_ids", list(values), expanding=True, literal_execute=True)
