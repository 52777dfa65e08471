"""People in the service's database: users of a tenant, their sign-in, their sessions.

`UserStore` adds people (the password policy checked, the password hashed with argon2),
disables and enables them, changes their role, resets their password, and signs them in:
`authenticate` follows the sequence of the package docstring (throttle: decide and count;
verify) and answers a wrong password, an unknown username, a disabled person and an
unknown tenant alike, after the same argon2 work. `SessionStore` keeps the browser
sessions of `accounts.sessions`: start, lookup, touch (each request: refused once over its
idle or absolute limit, the idle one restarted otherwise, written only once the stored
last_seen_at is `session_touch_seconds` old, so most requests read without taking a write
lock) and end (sign-out, on the server).

Every change and every sign-in goes to the tenant's append-only audit trail in the same
transaction as the change: user_added, user_disabled, user_enabled, role_changed,
password_reset, signed_in, sign_in_failed (with the reason an admin needs:
wrong_password, unknown_user, disabled; the username only when it is a person's, since
what was typed may be a password), signed_out, session_expired (written once, by the
request that finds the session over). Attempts the throttle refuses unheard are not
written, one per attempt, or a locked-out attacker would fill the trail; the failure that
locked is marked `locked`. Passwords and tokens are never logged nor audited; sessions are
named by the first 12 characters of their id (a hash of the token) so that sign-in,
sign-out and expiry can be matched.

Each person belongs to one tenant: every read and write is scoped to it
(`Database.scope`), with two cross-tenant reads (`Database.admin`), each because what it
finds is the tenant: `SessionStore.lookup` finds a request's session by its id (a 256-bit
secret's hash), and `UserStore.tenant_of` finds the tenant of a username at sign-in
(usernames are unique across the installation).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from accounts import passwords
from accounts.clock import Clock, require_aware, utc_now
from accounts.roles import Role, parse_role
from accounts.sessions import Session, SessionPolicy, session_id_for, start_session
from accounts.throttle import LoginThrottle, Verdict
from accounts.throttle_store import DatabaseThrottleStore
from settings import Settings
from storage import audit
from storage.database import NAME_LENGTH, Database, Scope, is_name
from storage.schema import SESSIONS, USERS
from storage.tenants import get_tenant

log = logging.getLogger(__name__)

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,63}")
ANONYMOUS = "anonymous"
"""The audit actor of a failed sign-in as a username that is nobody's."""
SESSION_REFERENCE = 12
"""Characters of a session id the audit and the logs name a session by."""


class PeopleError(ValueError):
    """A change to a person the store refuses; the message names the person and why."""


class UnknownTenantError(PeopleError):
    """A tenant that does not exist (see `denialops tenants list`)."""


class UnknownUserError(PeopleError):
    """A username that is nobody's in the tenant."""


class DuplicateUserError(PeopleError):
    """A username already taken, in this tenant or another: a username names one person
    across the installation, since it alone says the person's tenant at sign-in."""


def normalize_username(username: str) -> str:
    """`username` as stored and signed in with: trimmed and case-folded, so "Alice " and
    "alice" are one person (as the throttle counts them). It must be 1 to 64 lowercase
    letters, digits or . _ @ + -, starting with a letter or digit (an e-mail address fits)."""
    name = username.strip().casefold()
    if not USERNAME.fullmatch(name):
        raise PeopleError(
            f"a username is 1 to 64 letters, digits or . _ @ + - (starting with a letter or "
            f"digit), not {username!r}"
        )
    return name


@dataclass(frozen=True, slots=True)
class User:
    """A person, as may be shown: never the password hash."""

    tenant: str
    username: str
    role: Role
    created_at: datetime
    created_by: str
    password_changed_at: datetime
    disabled_at: datetime | None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


class Outcome(StrEnum):
    """How a sign-in ended: the service answers `refused` alike whatever the reason."""

    SIGNED_IN = "signed_in"
    REFUSED = "refused"
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class SignIn:
    """The answer to a sign-in: on success the token for the cookie (shown once, never
    stored), the session and the person; otherwise the seconds until the throttle hears
    the next attempt (after a refusal too, so a form can say how long to wait)."""

    outcome: Outcome
    token: str | None = None
    session: Session | None = None
    user: User | None = None
    retry_after_seconds: int = 0


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """A live session and its person's role, read from the person's row on each request so
    a role change takes effect at once."""

    session: Session
    role: Role


class SessionStore:
    """Browser sessions in the database, with the idle and absolute limits of `policy`."""

    def __init__(self, database: Database, policy: SessionPolicy, clock: Clock = utc_now):
        self._database = database
        self._policy = policy
        self._clock = clock

    def _now(self) -> datetime:
        return require_aware(self._clock(), "the session store's clock")

    def start(self, connection: sa.Connection, user: User, address: str) -> tuple[str, Session]:
        """A new session for `user` inside the caller's write transaction (the sign-in's),
        audited `signed_in`; the token for the cookie and the stored session."""
        now = self._now()
        token, session = start_session(user.tenant, user.username, now, self._policy)
        connection.execute(
            SESSIONS.insert().values(
                id=session.id,
                username=session.username,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                idle_timeout_seconds=session.idle_timeout.total_seconds(),
                absolute_expires_at=session.absolute_expires_at,
            )
        )
        detail = {"username": user.username, "session": _reference(session), "address": address}
        audit.append(connection, [_event(now, user.username, "signed_in", detail)])
        return token, session

    def lookup(self, token: str) -> Session | None:
        """The stored session `token` opens, live or not (None: no such session)."""
        query = sa.select(SESSIONS).where(SESSIONS.c.id == session_id_for(token))
        with self._database.admin().engine.connect() as connection:
            return _session(connection.execute(query).one_or_none())

    def touch(self, token: str) -> ActiveSession | None:
        """The live session of a request carrying `token`, its idle limit restarted; None
        when there is none: unknown, ended, over its limits (ended now as `idle` or
        `absolute` and audited `session_expired`, once) or its person disabled."""
        found = self.lookup(token)
        if found is None or found.ended_at is not None:
            return None
        now = self._now()
        scope = self._database.scope(found.tenant)
        with scope.engine.connect() as connection:  # most requests: a read, no write lock
            row = connection.execute(_with_person(found.id)).one()
        session = _session(row)
        if (
            session.is_live(now)
            and row.disabled_at is None
            and not session.due_for_touch(now, self._policy.touch)
        ):
            return ActiveSession(session, Role(row.role))
        with scope.writing() as connection:
            row = connection.execute(_with_person(found.id).with_for_update(of=SESSIONS)).one()
            session = _session(row)
            if session.ended_at is not None:
                return None
            if not session.is_live(now):
                self._expire(connection, session, now)
                return None
            if row.disabled_at is not None:
                _end(connection, session.id, "disabled", now)
                return None
            touched = session.touched(now)
            connection.execute(
                SESSIONS.update()
                .where(SESSIONS.c.id == session.id)
                .values(last_seen_at=touched.last_seen_at)
            )
        return ActiveSession(touched, Role(row.role))

    def end(self, token: str) -> Session | None:
        """Sign-out: the session ends on the server now (audited `signed_out`), so a copied
        cookie dies with it. Ending an ended session changes nothing; None: no session."""
        found = self.lookup(token)
        if found is None or found.ended_at is not None:
            return found
        now = self._now()
        with self._database.scope(found.tenant).writing() as connection:
            if not found.is_live(now):  # over before the sign-out: it expired
                self._expire(connection, found, now)
                ended_now = False
            else:
                ended_now = _end(connection, found.id, "signed_out", now)
            if ended_now:
                detail = {"username": found.username, "session": _reference(found)}
                audit.append(connection, [_event(now, found.username, "signed_out", detail)])
        if not ended_now:  # it had expired, or another request ended it first
            return self.lookup(token)
        log.info("session %s in tenant %s signed out", _reference(found), found.tenant)
        return found.ended(now)

    def _expire(self, connection: sa.Connection, session: Session, now: datetime) -> None:
        """End an expired session as of its expiry and audit it now, unless another request
        did first."""
        at = session.expires_at()
        reason = "absolute" if at == session.absolute_expires_at else "idle"
        if _end(connection, session.id, reason, at):
            detail = {
                "username": session.username,
                "session": _reference(session),
                "limit": reason,
                "expired_at": at.isoformat(),
            }
            audit.append(connection, [_event(now, session.username, "session_expired", detail)])
            log.info(
                "session %s in tenant %s expired (%s)", _reference(session), session.tenant, reason
            )


class UserStore:
    """The people of every tenant (each call names its tenant), and their sign-in."""

    def __init__(
        self,
        database: Database,
        sessions: SessionStore,
        throttle: LoginThrottle,
        clock: Clock = utc_now,
    ):
        self._database = database
        self._sessions = sessions
        self._throttle = throttle
        self._clock = clock

    @classmethod
    def from_settings(
        cls, database: Database, settings: Settings, clock: Clock = utc_now
    ) -> UserStore:
        """The store with the configured session limits and login throttle, its counters in
        `database` (shared by every process of the service)."""
        return cls(
            database,
            SessionStore(database, SessionPolicy.from_settings(settings), clock),
            LoginThrottle.from_settings(settings, DatabaseThrottleStore(database), clock),
            clock,
        )

    @property
    def sessions(self) -> SessionStore:
        return self._sessions

    def purge_throttle(self) -> int:
        """Forget failed-sign-in counters that no longer affect any answer; the service
        runs this periodically (`throttle_purge_seconds`), so usernames tried once and
        addresses seen once do not pile up in the table."""
        return self._throttle.purge()

    def _now(self) -> datetime:
        return require_aware(self._clock(), "the user store's clock")

    def _scope(self, tenant: str) -> Scope:
        """The tenant's scope; an unknown tenant is an error naming it."""
        try:
            scope = self._database.scope(tenant)
        except ValueError as error:
            raise UnknownTenantError(str(error)) from error
        if get_tenant(self._database, tenant) is None:
            raise UnknownTenantError(
                f"there is no tenant {tenant!r} (see `denialops tenants list`)"
            )
        return scope

    def add(self, tenant: str, username: str, role: str, password: str, *, by: str) -> User:
        """Add a person to `tenant` with `role`, once `password` meets the policy (a
        `PasswordPolicyError` naming every rule broken, never the password); audited
        `user_added` as done by `by`."""
        scope = self._scope(tenant)
        name = normalize_username(username)
        checked_role = parse_role(role)
        _check_actor(by)
        passwords.check_password(password, username=name)
        now = self._now()
        row = {
            "username": name,
            "role": checked_role.value,
            "password_hash": passwords.hash_password(password),
            "created_at": now,
            "created_by": by,
            "password_changed_at": now,
        }
        try:
            with scope.writing() as connection:
                connection.execute(USERS.insert().values(**row))
                detail = {"username": name, "role": checked_role.value}
                audit.append(connection, [_event(now, by, "user_added", detail)])
        except sa.exc.IntegrityError as error:
            raise DuplicateUserError(
                f"the username {name!r} is taken (in tenant {tenant!r} or another: usernames "
                "are unique across the installation); choose another"
            ) from error
        log.info("user %s (%s) added to tenant %s by %s", name, checked_role, tenant, by)
        return _user({**row, "tenant": tenant, "disabled_at": None})

    def tenant_of(self, username: str) -> str | None:
        """The tenant of the person `username` (None: nobody, or not a username): a
        username is unique across tenants, so the sign-in page asks for nothing else.
        An admin read, as the tenant is what it finds."""
        try:
            name = normalize_username(username)
        except PeopleError:
            return None
        query = sa.select(USERS.c.tenant).where(USERS.c.username == name)
        with self._database.admin().engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()

    def get(self, tenant: str, username: str) -> User | None:
        """The person `username` of `tenant`, or None."""
        query = sa.select(USERS).where(USERS.c.username == normalize_username(username))
        with self._scope(tenant).engine.connect() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else _user(row._mapping)

    def list_users(self, tenant: str) -> list[User]:
        """Every person of `tenant`, disabled ones included, by username."""
        with self._scope(tenant).engine.connect() as connection:
            rows = connection.execute(sa.select(USERS).order_by(USERS.c.username))
            return [_user(row._mapping) for row in rows]

    def disable(self, tenant: str, username: str, *, by: str) -> User:
        """Stop `username` signing in, and end their live sessions now (audited
        `user_disabled`, with the number of sessions ended). Disabling a disabled person
        changes nothing."""
        now = self._now()

        def disable(connection: sa.Connection, user: User) -> dict[str, Any] | None:
            if not user.enabled:
                return None
            connection.execute(_set(user.username, disabled_at=now))
            return {"sessions_ended": _end_sessions(connection, user.username, "disabled", now)}

        return self._change(tenant, username, by, "user_disabled", disable)

    def enable(self, tenant: str, username: str, *, by: str) -> User:
        """Let a disabled person sign in again (audited `user_enabled`)."""

        def enable(connection: sa.Connection, user: User) -> dict[str, Any] | None:
            if user.enabled:
                return None
            connection.execute(_set(user.username, disabled_at=None))
            return {}

        return self._change(tenant, username, by, "user_enabled", enable)

    def change_role(self, tenant: str, username: str, role: str, *, by: str) -> User:
        """Give `username` another role, from their next request on (audited
        `role_changed` with the old and new role)."""
        new = parse_role(role)

        def change(connection: sa.Connection, user: User) -> dict[str, Any] | None:
            if user.role == new:
                return None
            connection.execute(_set(user.username, role=new.value))
            return {"from": user.role.value, "to": new.value}

        return self._change(tenant, username, by, "role_changed", change)

    def reset_password(self, tenant: str, username: str, password: str, *, by: str) -> User:
        """Give `username` a new `password`, once it meets the policy (a
        `PasswordPolicyError` naming every rule broken, never the password), and end their
        open sessions now, so whoever signed in with the old one is out (audited
        `password_reset` with the number of sessions ended: never the password nor its
        hash). For the admin of a person who forgot theirs or whose password leaked."""
        passwords.check_password(password, username=normalize_username(username))
        # Hashed before the row is locked: argon2 is slow on purpose.
        password_hash = passwords.hash_password(password)
        now = self._now()

        def reset(connection: sa.Connection, user: User) -> dict[str, Any]:
            connection.execute(
                _set(user.username, password_hash=password_hash, password_changed_at=now)
            )
            ended = _end_sessions(connection, user.username, "password_reset", now)
            return {"sessions_ended": ended}

        return self._change(tenant, username, by, "password_reset", reset)

    def _change(
        self,
        tenant: str,
        username: str,
        by: str,
        event: str,
        apply: Callable[[sa.Connection, User], dict[str, Any] | None],
    ) -> User:
        """Apply `apply(connection, user)` to the person's locked row; what it returns is
        the audit detail of `event` (None: nothing changed, nothing audited)."""
        scope = self._scope(tenant)
        name = normalize_username(username)
        _check_actor(by)
        now = self._now()
        query = sa.select(USERS).where(USERS.c.username == name)
        with scope.writing() as connection:
            row = connection.execute(query.with_for_update()).one_or_none()
            if row is None:
                raise UnknownUserError(f"tenant {tenant!r} has no user named {name!r}")
            detail = apply(connection, _user(row._mapping))
            if detail is not None:
                detail = {"username": name, **detail}
                audit.append(connection, [_event(now, by, event, detail)])
            changed = connection.execute(query).one()
        if detail is not None:
            log.info("%s: %s in tenant %s by %s", event, name, tenant, by)
        return _user(changed._mapping)

    def authenticate(self, tenant: str, username: str, password: str, address: str) -> SignIn:
        """Sign a person in from the client `address`: a session on success; otherwise
        `refused` whatever the reason (wrong password, unknown username, disabled person,
        unknown tenant), after the same argon2 work, or `throttled` with the seconds to
        wait, unheard. Every failure is counted by the throttle and audited."""
        verdict = self._throttle.admit(tenant, username, address)  # counted a failure
        if not verdict.allowed:
            log.info("sign-in attempt refused unheard by the throttle (%s)", tenant)
            return SignIn(Outcome.THROTTLED, retry_after_seconds=verdict.retry_after_seconds)
        scope, row = self._person(tenant, username)
        stored_hash = None if row is None else row["password_hash"]
        matches = passwords.verify_password(stored_hash, password)
        if row is None or not matches or row["disabled_at"] is not None:
            reason = (
                "unknown_user" if row is None else "wrong_password" if not matches else "disabled"
            )
            self._failed(scope, tenant, address, reason, row, verdict)
            return SignIn(Outcome.REFUSED, retry_after_seconds=verdict.retry_after_seconds)
        self._throttle.record_success(tenant, username, address)
        user = _user(row)
        with scope.writing() as connection:
            if passwords.needs_rehash(stored_hash):
                connection.execute(
                    _set(user.username, password_hash=passwords.hash_password(password))
                )
            token, session = self._sessions.start(connection, user, address)
        log.info(
            "%s signed in to tenant %s (session %s)", user.username, tenant, _reference(session)
        )
        return SignIn(Outcome.SIGNED_IN, token=token, session=session, user=user)

    def _person(self, tenant: str, username: str) -> tuple[Scope | None, dict | None]:
        """The tenant's scope (None: no such tenant) and the person's row (None: nobody)."""
        try:
            scope = self._scope(tenant)
        except UnknownTenantError:
            return None, None
        try:
            query = sa.select(USERS).where(USERS.c.username == normalize_username(username))
        except PeopleError:
            return scope, None
        with scope.engine.connect() as connection:
            row = connection.execute(query).one_or_none()
        return scope, None if row is None else dict(row._mapping)

    def _failed(
        self,
        scope: Scope | None,
        tenant: str,
        address: str,
        reason: str,
        row: dict | None,
        verdict: Verdict,
    ) -> None:
        """Audit a failed sign-in, already counted by `admit` (whose `verdict` says whether
        it locked), in the tenant's trail (an unknown tenant has none: logged only)."""
        if scope is None:
            log.warning("sign-in to an unknown tenant refused")
            return
        actor = ANONYMOUS if row is None else row["username"]
        detail = {"reason": reason, "address": address, "locked": verdict.locked}
        if row is not None:
            detail["username"] = row["username"]
        with scope.writing() as connection:
            audit.append(connection, [_event(self._now(), actor, "sign_in_failed", detail)])
        log.info("sign-in refused in tenant %s (%s)", tenant, reason)


def _check_actor(by: str) -> None:
    if not is_name(by):
        raise PeopleError(f"who changes a person must be a name of 1 to {NAME_LENGTH} chars")


def _set(username: str, **values: Any) -> sa.Update:
    return USERS.update().where(USERS.c.username == username).values(**values)


def _with_person(session_id: str) -> sa.Select:
    """The session's row with its person's role and disabled_at."""
    return (
        sa.select(SESSIONS, USERS.c.role, USERS.c.disabled_at)
        .join(
            USERS,
            sa.and_(USERS.c.tenant == SESSIONS.c.tenant, USERS.c.username == SESSIONS.c.username),
        )
        .where(SESSIONS.c.id == session_id)
    )


def _end_sessions(connection: sa.Connection, username: str, reason: str, at: datetime) -> int:
    """End every open session of the person `username` (the caller's scope: their tenant)
    for `reason`; how many were open."""
    return connection.execute(
        SESSIONS.update()
        .where(SESSIONS.c.username == username, SESSIONS.c.ended_at.is_(None))
        .values(ended_at=at, end_reason=reason)
    ).rowcount


def _end(connection: sa.Connection, session_id: str, reason: str, at: datetime) -> bool:
    """End the session unless something ended it first; whether this call ended it."""
    ended = connection.execute(
        SESSIONS.update()
        .where(SESSIONS.c.id == session_id, SESSIONS.c.ended_at.is_(None))
        .values(ended_at=at, end_reason=reason)
    )
    return ended.rowcount == 1


def _event(at: datetime, actor: str, event: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"at": at, "actor": actor, "claim_id": None, "event": event, "detail": detail}


def _reference(session: Session) -> str:
    return session.id[:SESSION_REFERENCE]


def _user(row: Any) -> User:
    return User(
        tenant=row["tenant"],
        username=row["username"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        password_changed_at=row["password_changed_at"],
        disabled_at=row["disabled_at"],
    )


def _session(row: sa.Row | None) -> Session | None:
    if row is None:
        return None
    return Session(
        id=row.id,
        tenant=row.tenant,
        username=row.username,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        idle_timeout=timedelta(seconds=row.idle_timeout_seconds),
        absolute_expires_at=row.absolute_expires_at,
        ended_at=row.ended_at,
    )
