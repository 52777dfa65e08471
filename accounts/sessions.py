"""Browser sessions as rules: tokens, expiry and CSRF, without a web framework.

A session token is 256 random bits handed to the browser once (in the cookie) and
never stored: the server keeps only its SHA-256, the session's `id`, so a copy of
the sessions table signs nobody in. A session ends at the first of: `idle` without
a request (30 min by default), `absolute` after sign-in (12 h), or sign-out (which
ends it on the server, so a copied cookie dies with it).

The session holds who signed in (tenant and username), not their role: the role is
read from the person's row on each request, so a role change or a disabled account
takes effect at once.

CSRF tokens are an HMAC of the session id under a server secret: each form carries
the token of its own session, checked in constant time. A page of another session
(or a forged form) cannot produce it, and the server stores nothing extra.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from accounts.clock import require_aware
from settings import Settings

TOKEN_BYTES = 32  # 256 bits
MIN_SECRET_LENGTH = 32


class SessionExpiredError(Exception):
    """A request on a session that has ended (idle, absolute or signed out)."""


class SessionSecretError(ValueError):
    """The CSRF secret is missing or too short to sign with."""


def new_token() -> str:
    """A fresh session token for the cookie: 256 bits from `secrets`, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def session_id_for(token: str) -> str:
    """The stored id of the session a cookie's token opens: its SHA-256 (hex). A fast
    hash is enough because the token is random, unlike a password."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last (`session_idle_minutes`, `session_absolute_hours`), and how
    stale a stored last_seen_at may grow before a request writes it (`touch`,
    `session_touch_seconds`)."""

    idle: timedelta
    absolute: timedelta
    touch: timedelta = timedelta(0)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
            touch=timedelta(seconds=settings.session_touch_seconds),
        )


@dataclass(frozen=True)
class Session:
    """One signed-in browser, as stored. Both limits are fixed in the row when the
    session starts, so a settings change never revives or cuts short a live session
    unexpectedly, and the row alone says when it ends."""

    id: str
    tenant: str
    username: str
    created_at: datetime
    last_seen_at: datetime
    idle_timeout: timedelta
    absolute_expires_at: datetime
    ended_at: datetime | None = None

    def expires_at(self) -> datetime:
        """When the session ends if no request comes first."""
        return min(self.last_seen_at + self.idle_timeout, self.absolute_expires_at)

    def is_live(self, now: datetime) -> bool:
        """Whether a request at `now` is still inside the session. At the exact moment
        of expiry the session is over."""
        require_aware(now)
        return self.ended_at is None and now < self.expires_at()

    def touched(self, now: datetime) -> Session:
        """The session after a request at `now`: the idle limit restarts, the absolute
        one never moves. A session that is over stays over (`SessionExpiredError`):
        the person signs in again."""
        if not self.is_live(now):
            raise SessionExpiredError(f"session of {self.username!r} in {self.tenant!r} has ended")
        return replace(self, last_seen_at=max(now, self.last_seen_at))

    def due_for_touch(self, now: datetime, every: timedelta) -> bool:
        """Whether a request at `now` should write its last_seen_at: only once it is
        `every` old, so requests do not each take a write. Expiry counts from the stored
        value, so the session ends at most `every` before the idle limit, never after."""
        return now - self.last_seen_at >= every

    def ended(self, now: datetime) -> Session:
        """The session after sign-out at `now` (kept, for the audit, but never live)."""
        require_aware(now)
        return self if self.ended_at is not None else replace(self, ended_at=now)


def start_session(
    tenant: str, username: str, now: datetime, policy: SessionPolicy
) -> tuple[str, Session]:
    """A new session for a person who has just signed in: the token for the cookie
    (shown once, never stored) and the `Session` to store."""
    require_aware(now)
    token = new_token()
    return token, Session(
        id=session_id_for(token),
        tenant=tenant,
        username=username,
        created_at=now,
        last_seen_at=now,
        idle_timeout=policy.idle,
        absolute_expires_at=now + policy.absolute,
    )


def csrf_secret(settings: Settings) -> bytes:
    """The CSRF signing secret from the settings; missing or short is an error naming
    the setting, because a guessable secret makes every CSRF token forgeable."""
    secret = settings.session_secret.get_secret_value()
    if len(secret) < MIN_SECRET_LENGTH:
        raise SessionSecretError(
            f"DENIALOPS_SESSION_SECRET must be set to at least {MIN_SECRET_LENGTH} random "
            f"characters (it has {len(secret)}), the same for every process of the service"
        )
    return secret.encode()


def csrf_token(session_id: str, secret: bytes) -> str:
    """The CSRF token forms of session `session_id` carry."""
    return hmac.new(secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def csrf_valid(session_id: str, token: str, secret: bytes) -> bool:
    """Whether `token` (from a form) belongs to session `session_id`, compared in
    constant time so the comparison leaks nothing of the right token."""
    # As bytes: compare_digest refuses non-ASCII text, and a form may send anything.
    expected = csrf_token(session_id, secret).encode()
    return hmac.compare_digest(expected, token.encode("utf-8", "replace"))
