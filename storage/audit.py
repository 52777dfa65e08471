"""The append-only audit trail (`queue_audit`), chained by hash so tampering shows.

Everything that changes what the service does is written here: the queue's
events (with the claim they concern) and, without a claim, policy saves, model
reloads and API keys created or revoked (the subject — version, key id — is in
`detail`). Database triggers refuse UPDATE and DELETE, but a trigger can be
dropped from an SQLite file, so each row also carries
`row_hash = sha256(prev_hash, canonical row)`, `prev_hash` being the row before's
`row_hash` (the first row's is `GENESIS`). `verify` walks the chain and names the
first row where it breaks.

Every insert goes through `append`, which serialises writers so the chain never
forks: on PostgreSQL it takes a transaction-scoped advisory lock before reading
the last row; on SQLite the caller's transaction already holds the database's
write lock (BEGIN IMMEDIATE, `Database.writing`), which `append` checks. Ids are
assigned here, contiguous, under that lock. A unique index on `prev_hash` makes a
fork impossible even for a writer that bypassed the lock.

Each tenant's trail is its own chain (ids from 1, its own GENESIS), so a practice's trail
can be verified and handed over without anyone else's. Rows written since revision
0006_tenants bind their tenant into the hash, so a row moved to another tenant breaks the
chain; the rows written before (all `default`'s, up to `tenants.audit_unbound_through`)
verify as they were hashed.

What the chain cannot show on its own: rows cut off the end. `verify` reports the
last row's hash; keep it somewhere else (a ticket, a log shipped off the host) to
prove later that the trail has not been truncated since.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from storage.database import is_write_transaction
from storage.schema import AUDIT, AUDIT_EVENTS, TENANTS
from storage.tenancy import tenant_of

GENESIS = "0" * 64
"""The `prev_hash` of the first row."""
# Any fixed number: PostgreSQL advisory locks are keyed by a bigint the lockers agree on.
_AUDIT_LOCK = 0x64656E69616C61  # "deniala"
_ROW_KEYS = ("at", "actor", "claim_id", "event", "detail")
_VERIFY_BATCH = 5000


class AuditError(ValueError):
    """A row the trail does not take; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One row of the trail: who did what (to which claim, if any), when, and the particulars."""

    id: int
    at: datetime
    actor: str
    claim_id: str | None
    event: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of `verify`: rows checked, the last good row, and the first break if any."""

    rows: int
    """Rows verified before the break (all of them when the chain is whole)."""
    head_id: int | None
    head_hash: str
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def canonical_time(at: datetime) -> str:
    """An instant as the chain hashes it: UTC, microseconds, whatever the database returned."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def link_hash(prev_hash: str, row: Mapping[str, Any], tenant: str | None = None) -> str:
    """The row's hash: sha256 of the previous hash and the row (id, at, actor, claim_id,
    event, detail, and `tenant` unless None) as canonical JSON (sorted keys, no spaces,
    UTF-8). Rows chained before revision 0006 were hashed without a tenant.

    This is the chain's one definition; the migration that chained existing rows uses it,
    so changing it breaks every stored chain.
    """
    fields = {
        "id": int(row["id"]),
        "at": canonical_time(row["at"]),
        "actor": row["actor"],
        "claim_id": row["claim_id"],
        "event": row["event"],
        "detail": row["detail"],
    }
    if tenant is not None:
        fields["tenant"] = tenant
    canonical = json.dumps(
        fields,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def append(connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Write `rows` (dicts of at, actor, claim_id or None, event, detail) to the end of the
    trail inside the caller's transaction, chained; returns their ids.

    Call it in the same transaction as the change it records, so the trail can neither
    miss a change nor record one that rolled back.
    """
    if not rows:
        return []
    tenant = tenant_of(connection)
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:tenant, :key))"),
            {"tenant": tenant, "key": _AUDIT_LOCK},
        )
    elif not is_write_transaction(connection):
        raise RuntimeError(
            "audit rows on SQLite are written in a Database.writing() transaction "
            "(BEGIN IMMEDIATE), or two writers could fork the chain"
        )
    last = connection.execute(
        sa.select(AUDIT.c.id, AUDIT.c.row_hash).order_by(AUDIT.c.id.desc()).limit(1)
    ).one_or_none()
    next_id, prev_hash = (1, GENESIS) if last is None else (last.id + 1, last.row_hash)
    chained = []
    for offset, row in enumerate(rows):
        record = {"id": next_id + offset, **_checked(row)}
        record["row_hash"] = link_hash(prev_hash, record, tenant)
        record["prev_hash"] = prev_hash
        prev_hash = record["row_hash"]
        chained.append(record)
    connection.execute(AUDIT.insert(), chained)
    return [record["id"] for record in chained]


def events(connection: sa.Connection, claim_id: str | None = None) -> list[AuditEvent]:
    """The connection's tenant's trail in the order it was written, for one claim or all."""
    query = sa.select(AUDIT.c.id, *(AUDIT.c[key] for key in _ROW_KEYS)).order_by(AUDIT.c.id)
    if claim_id is not None:
        query = query.where(AUDIT.c.claim_id == claim_id)
    return [AuditEvent(**row._mapping) for row in connection.execute(query)]


def verify(connection: sa.Connection) -> Verification:
    """Walk the connection's tenant's chain from the first row and stop at the first broken
    link, saying what is wrong there: an edited row, a row missing before it, or a row out
    of place."""
    tenant = tenant_of(connection)
    unbound_through = connection.execute(sa.select(TENANTS.c.audit_unbound_through)).scalar()
    expected_prev, previous_id, count = GENESIS, None, 0
    query = sa.select(AUDIT).order_by(AUDIT.c.id).execution_options(yield_per=_VERIFY_BATCH)
    for row in connection.execute(query).mappings():
        bound = None if unbound_through is not None and row["id"] <= unbound_through else tenant
        problem = _broken_link(connection, row, expected_prev, previous_id, bound)
        if problem:
            return Verification(count, previous_id, expected_prev, row["id"], problem)
        expected_prev, previous_id, count = row["row_hash"], row["id"], count + 1
    return Verification(count, previous_id, expected_prev)


def _broken_link(
    connection: sa.Connection,
    row: sa.RowMapping,
    expected_prev: str,
    previous_id: int | None,
    tenant: str | None,
) -> str:
    """What is wrong with `row` given the row before it, or "" when the link holds."""
    after = "the start of the trail" if previous_id is None else f"row {previous_id}"
    if row["prev_hash"] != expected_prev:
        owner = connection.execute(
            sa.select(AUDIT.c.id).where(AUDIT.c.row_hash == row["prev_hash"]).limit(1)
        ).scalar_one_or_none()
        if owner is not None:
            return (
                f"re-ordered: it was written after row {owner} but now follows {after} "
                "(ids changed)"
            )
        gap = (
            f"; ids jump from {previous_id} to {row['id']}"
            if previous_id is not None and row["id"] != previous_id + 1
            else ""
        )
        return (
            f"the row written before it is missing (deleted, or {after} rewritten with a new "
            f"hash): its prev_hash matches no row{gap}"
        )
    if row["row_hash"] != link_hash(row["prev_hash"], row, tenant):
        return "edited: its content no longer matches its row_hash"
    return ""


def _checked(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's fields, with `detail` as the JSON the database will give back (so the hash
    computed now is the one `verify` recomputes), or an AuditError naming the field."""
    missing = [key for key in _ROW_KEYS if key not in row]
    if missing or set(row) - set(_ROW_KEYS):
        raise AuditError(f"an audit row has exactly {', '.join(_ROW_KEYS)}; got {sorted(row)}")
    if row["event"] not in AUDIT_EVENTS:
        raise AuditError(f"audit event {row['event']!r} is not one of {', '.join(AUDIT_EVENTS)}")
    if not isinstance(row["at"], datetime) or row["at"].tzinfo is None:
        raise AuditError(f"audit time {row['at']!r} is not an aware datetime")
    try:
        detail = json.loads(json.dumps(row["detail"], allow_nan=False))
    except (TypeError, ValueError) as error:
        raise AuditError(f"audit detail of a {row['event']} event is not JSON: {error}") from error
    if not isinstance(detail, dict):
        raise AuditError(f"audit detail of a {row['event']} event is not a mapping")
    return {**row, "at": row["at"].astimezone(UTC), "detail": detail}
