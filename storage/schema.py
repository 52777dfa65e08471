"""The service's tables as the code queries them; `migrations/` creates and evolves them.

The work queue (items and the audit trail), RevOps' policy versions and the API keys
share the one database (`settings.database_url`).

The migrations declare the same tables frozen in time (a migration must not change
when this module does); `tests/storage/test_migrations.py` checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from data_contracts.enums import APPEAL_ACTIONS, APPEAL_OUTCOMES

OPEN = "open"
RESOLVED = "resolved"
STALE = "stale"
"""Gone from the ranking while a biller holds it: the lease and the work stay theirs."""
CLOSED = "closed"
"""Gone from the ranking, nobody working it: closed with its `closed_reason`."""
STATUSES = (OPEN, RESOLVED, STALE, CLOSED)
CLOSED_REASONS = ("appeal_closed", "not_denied", "not_in_data", "not_in_ranking")
"""Why a claim left the ranking (`queues/reconcile.py`): its appeal closed elsewhere, a later
remit paid it, it is gone from the data, or none of those (the ranking just lacks it)."""
QUEUE_EVENTS = (
    "loaded",
    "refreshed",
    "leased",
    "renewed",
    "released",
    "resolved",
    "outcome",
    "outcome_corrected",
    "reconciled",
    "reopened",
    "note_added",
    "assigned",
    "action_changed",
    "letter_saved",
)
"""Audit events about one queue item (`claim_id` set)."""
SERVICE_EVENTS = ("policy_saved", "model_reloaded", "key_created", "key_revoked", "tenant_created")
"""Audit events about the service itself (no `claim_id`; the subject is in `detail`)."""
PEOPLE_EVENTS = (
    "user_added",
    "user_disabled",
    "user_enabled",
    "role_changed",
    "password_reset",
    "signed_in",
    "sign_in_failed",
    "signed_out",
    "session_expired",
)
"""Audit events about people and their sign-ins (`accounts/people.py`; no `claim_id`)."""
DATA_EVENTS = ("exported",)
"""Billing data leaving the service (no `claim_id`: who, the view's query string and the
number of rows are in the event)."""
AUDIT_EVENTS = (*QUEUE_EVENTS, *SERVICE_EVENTS, *PEOPLE_EVENTS, *DATA_EVENTS)
CHAMPION = "champion"
SHADOW = "shadow"
SCORING_ROLES = (CHAMPION, SHADOW)
"""Whose score a scoring decision is: the answer's (`champion`) or a challenger's, scored
beside it and never answered (`shadow`)."""
VERSION_TABLE = "queue_alembic_version"
"""Alembic's version table for the queue, named so it shares a database with serving's tables."""


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An instant in UTC, aware in Python on every database.

    SQLite has no time zones: it stores the UTC wall time as text, which sorts and
    compares correctly because every value is UTC. PostgreSQL stores timestamptz.
    Naive datetimes are refused, so no local time ever slips in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: queue times are aware (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 (TypeDecorator signature)
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


CLOSED_REASON_CHECK = (
    f"({_one_of('status', (STALE, CLOSED))} AND closed_reason IS NOT NULL "
    f"AND {_one_of('closed_reason', CLOSED_REASONS)}) "
    f"OR ({_one_of('status', (OPEN, RESOLVED))} AND closed_reason IS NULL)"
)
"""A stale or closed item says why; no other item has a reason. (IS NOT NULL: `NULL IN (...)`
is unknown, which a CHECK lets through.)"""

METADATA = sa.MetaData()


def _tenant() -> sa.Column[str]:
    """The tenant a row belongs to (`storage/tenancy.py` scopes every statement by it)."""
    return sa.Column("tenant", sa.String(64), sa.ForeignKey("tenants.name"), nullable=False)


TENANTS = sa.Table(
    "tenants",
    METADATA,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Where the tenant's data lives and which registered model scores it; NULL: the
    # installation's (settings.data_dir, settings.model_name).
    sa.Column("data_dir", sa.Text, nullable=True),
    sa.Column("model_name", sa.String(128), nullable=True),
    # The trail's rows up to this id were chained before the chain bound the tenant
    # (revision 0006): they verify as they were written. NULL: every row binds it.
    sa.Column("audit_unbound_through", sa.BigInteger, nullable=True),
)
"""The tenants (billing practices); a fresh installation has one, `default`."""

DETAILS = ("patient_id", "program", "clinician_id", "carc_codes", "rarc_codes")
"""What a biller sees of each denial beside its ranking (`queues.items.work_items`): the
claim's patient, program and rendering clinician, and the remit's codes."""

ITEMS = sa.Table(
    "queue_items",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("claim_id", sa.String(64), nullable=False),
    # The ranking, refreshed while the item is open.
    sa.Column("payer_id", sa.String(64), nullable=False),
    sa.Column("denial_category", sa.String(32), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("p_recover", sa.Float, nullable=False),
    sa.Column("recoverable_amount", sa.Float, nullable=False),
    sa.Column("expected_recovery", sa.Float, nullable=False),
    sa.Column("effort_minutes", sa.Float, nullable=False),
    sa.Column("deadline", sa.Date, nullable=True),
    # True: lateness is no reason to write it off (payer's deadline unknown, or learned only
    # from what it accepted); NULL on items loaded before revision 0005_deadlines.
    sa.Column("deadline_unverified", sa.Boolean, nullable=True),
    sa.Column("priority", sa.Float, nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("policy_version", sa.String(64), nullable=False),
    # The denied claim's billed amount (the remit's), which bounds a recorded recovery;
    # NULL on items loaded before revision 0002.
    sa.Column("billed_amount", sa.Float, nullable=True),
    # What the biller sees and filters by: the claim's patient, program and rendering
    # clinician, the remit's CARC and RARC codes (`;`-separated); NULL on items loaded
    # before revision 0009 until the next load.
    sa.Column("patient_id", sa.String(64), nullable=True),
    sa.Column("program", sa.String(16), nullable=True),
    sa.Column("clinician_id", sa.String(64), nullable=True),
    # Text since revision 0013: a remit with many adjustments lists more than 256 characters.
    sa.Column("carc_codes", sa.Text, nullable=True),
    sa.Column("rarc_codes", sa.Text, nullable=True),
    sa.Column("loaded_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # The work: status, lease, what the biller did and how the payer answered.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("lease_holder", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    # The biller a billing lead assigned the item to: `next` hands it to no one else.
    sa.Column("assigned_to", sa.String(64), nullable=True),
    sa.Column("resolved_by", sa.String(64), nullable=True),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
    sa.Column("resolved_action", sa.String(16), nullable=True),
    sa.Column("action_date", sa.Date, nullable=True),
    sa.Column("resolved_effort_minutes", sa.Integer, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("recovered_amount", sa.Float, nullable=True),
    sa.Column("closed_date", sa.Date, nullable=True),
    # Why a stale or closed item left the ranking; NULL on every other status.
    sa.Column("closed_reason", sa.String(16), nullable=True),
    sa.CheckConstraint(_one_of("status", STATUSES), name="queue_items_status"),
    sa.CheckConstraint(CLOSED_REASON_CHECK, name="queue_items_closed_reason"),
    sa.CheckConstraint(_one_of("action", APPEAL_ACTIONS), name="queue_items_action"),
    sa.CheckConstraint(
        f"resolved_action IS NULL OR {_one_of('resolved_action', APPEAL_ACTIONS)}",
        name="queue_items_resolved_action",
    ),
    sa.CheckConstraint(
        f"outcome IS NULL OR {_one_of('outcome', APPEAL_OUTCOMES)}", name="queue_items_outcome"
    ),
    # One item per claim in each tenant's queue.
    sa.UniqueConstraint("tenant", "claim_id", name="queue_items_tenant_claim"),
)
# `next` walks open items by priority; resolved items, the bulk over time, stay out of it.
sa.Index(
    "queue_items_open_by_priority",
    ITEMS.c.tenant,
    ITEMS.c.priority.desc(),
    ITEMS.c.id,
    postgresql_where=ITEMS.c.status == OPEN,
    sqlite_where=ITEMS.c.status == OPEN,
)
# The work page's counts and filters (revision 0011): open items by deadline, payer, clinician.
for _name, _column in (
    ("deadline", ITEMS.c.deadline),
    ("payer", ITEMS.c.payer_id),
    ("clinician", ITEMS.c.clinician_id),
):
    sa.Index(
        f"queue_items_open_by_{_name}",
        ITEMS.c.tenant,
        _column,
        postgresql_where=ITEMS.c.status == OPEN,
        sqlite_where=ITEMS.c.status == OPEN,
    )
# `next` counts a biller's live leases against the cap; leased items are few.
sa.Index(
    "queue_items_leased",
    ITEMS.c.tenant,
    ITEMS.c.lease_holder,
    postgresql_where=ITEMS.c.lease_holder.is_not(None),
    sqlite_where=ITEMS.c.lease_holder.is_not(None),
)

AUDIT = sa.Table(
    "queue_audit",
    METADATA,
    # Each tenant's trail is its own chain, numbered from 1 (storage/audit.py assigns ids).
    sa.Column("tenant", sa.String(64), sa.ForeignKey("tenants.name"), primary_key=True),
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("claim_id", sa.String(64), nullable=True, index=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    # The hash chain (storage/audit.py): the row before's hash, and this row's.
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("row_hash", sa.String(64), nullable=False),
    sa.CheckConstraint(_one_of("event", AUDIT_EVENTS), name="queue_audit_event"),
)
# One successor per row: a second writer that skipped the lock cannot fork the chain.
sa.Index("queue_audit_one_successor", AUDIT.c.tenant, AUDIT.c.prev_hash, unique=True)

POLICY_VERSIONS = sa.Table(
    "policy_versions",
    METADATA,
    # The primary key decides races: two saves from the same base insert the same version.
    # Versions are numbered per tenant.
    sa.Column("tenant", sa.String(64), sa.ForeignKey("tenants.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("policy", sa.Text, nullable=False),
    sa.Column("saved_by", sa.String(64), nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)
"""RevOps' policy, one row per saved version (YAML text); the latest is in force."""

API_KEYS = sa.Table(
    "api_keys",
    METADATA,
    sa.Column("key_id", sa.String(64), primary_key=True),
    _tenant(),
    # Unique across tenants: a key names its tenant.
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    # Roles are checked by serving's key store: the schema does not freeze the list.
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
)
"""The service's API keys, kept as hashes; a revoked key stays listed."""

SCORING_AUDIT = sa.Table(
    "scoring_audit",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("claim_id", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("p_denial", sa.Float, nullable=False),
    sa.Column("band", sa.String(8), nullable=False),
    # The decision's first fix (its fix code); NULL when it had none, or before revision 0014.
    sa.Column("top_fix", sa.String(64), nullable=True),
    # `champion`: the answer given; `shadow`: a challenger's score of the same claims, kept
    # for comparison and never answered (revision 0014; earlier rows are answers).
    sa.Column("role", sa.String(16), nullable=False, server_default=sa.text("'champion'")),
    sa.CheckConstraint(_one_of("role", SCORING_ROLES), name="scoring_audit_role"),
    sa.Index("scoring_audit_tenant_claim", "tenant", "claim_id"),
)
"""The scoring decisions (serving/audit.py): who asked, which model, what it said."""

APPEAL_LETTERS = sa.Table(
    "appeal_letters",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("claim_id", sa.String(64), nullable=False),
    # Versions of one claim's letter, numbered from 1; the latest is the one sent.
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("saved_by", sa.String(64), nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("tenant", "claim_id", "version", name="appeal_letters_version"),
)
"""Each saved version of a queue item's appeal letter (the trail records each save)."""

USERS = sa.Table(
    "users",
    METADATA,
    # A person belongs to one tenant; a username is unique across tenants (users_username,
    # revision 0008), so it alone names the person's tenant at sign-in.
    sa.Column("tenant", sa.String(64), sa.ForeignKey("tenants.name"), primary_key=True),
    # Stored as signed in with: trimmed and case-folded (accounts/people.py).
    sa.Column("username", sa.String(64), primary_key=True),
    # One of accounts.roles.ROLES: the migration's CHECK (users_role) holds the list,
    # frozen as migrations are; this module sits below accounts and cannot import it.
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("password_changed_at", UTCDateTime, nullable=False),
    # Set: the person cannot sign in, and their sessions were ended.
    sa.Column("disabled_at", UTCDateTime, nullable=True),
)
"""People who sign in to the service (machines use `api_keys`)."""
sa.Index("users_username", USERS.c.username, unique=True)

SESSION_END_REASONS = ("signed_out", "idle", "absolute", "disabled", "password_reset")
"""Why a session ended: sign-out, its idle or absolute limit, its person disabled, or their
password reset."""

SESSIONS = sa.Table(
    "sessions",
    METADATA,
    # The SHA-256 of the cookie's token (accounts/sessions.py): the token is never stored.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    # Both limits fixed when the session starts (accounts.sessions.Session).
    sa.Column("idle_timeout_seconds", sa.Float, nullable=False),
    sa.Column("absolute_expires_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("end_reason", sa.String(16), nullable=True),
    sa.ForeignKeyConstraint(
        ["tenant", "username"],
        ["users.tenant", "users.username"],
        name="sessions_user_fkey",
    ),
    sa.CheckConstraint(
        f"(ended_at IS NULL AND end_reason IS NULL) OR (ended_at IS NOT NULL AND "
        f"end_reason IS NOT NULL AND {_one_of('end_reason', SESSION_END_REASONS)})",
        name="sessions_end_reason",
    ),
)
"""Signed-in browsers; an ended session stays, with when and why it ended."""
sa.Index("sessions_by_user", SESSIONS.c.tenant, SESSIONS.c.username)

LOGIN_THROTTLE = sa.Table(
    "login_throttle",
    METADATA,
    # SHA-256 of the counter's key (accounts/throttle_store.py): what was typed as a
    # username, sometimes a password, is never stored.
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(16), nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure", UTCDateTime, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
)
"""Failed sign-in counters (accounts/throttle.py). Not a tenant table: an address's counter
spans tenants (one machine trying usernames across tenants is one attacker)."""

TENANT_COLUMNS = {
    "tenants": "name",
    **{
        table.name: "tenant"
        for table in (
            ITEMS,
            AUDIT,
            POLICY_VERSIONS,
            API_KEYS,
            SCORING_AUDIT,
            USERS,
            SESSIONS,
            APPEAL_LETTERS,
        )
    },
}
"""Every table whose rows belong to a tenant, and the column that says which."""
