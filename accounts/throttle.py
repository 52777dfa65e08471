"""Login throttling: a growing wait after failed sign-ins, and a lock after too many.

Two counters are kept for every attempt: one per (tenant, username) against guessing
one person's password, and one per client address against one machine trying many
usernames. After `free_failures` failures each further one doubles the wait before
the next attempt (with the defaults 0, 0, 0, 1, 2, 4, 8 ... s, capped); at
`lock_failures` failures in one series the counter is locked for `lock`, and
attempts are refused without looking at the password. A series ends after `window`
without a failure (or with a lock that has run out), so a person who mistypes now
and then is never locked, while a sustained attack, however patient, is. A successful sign-in clears
the person's counter, not the address's: otherwise one valid account would let a
machine wipe its record between guesses at other accounts.

The throttle never looks a user up. Unknown usernames are counted, delayed and
locked exactly like existing ones, so its answers cannot tell an attacker which
usernames exist (the sign-in code must also verify a password for unknown users,
see `passwords.verify_password(None, ...)`).

The counters live behind `ThrottleStore`, a small protocol, so a database table can
hold them (shared by all processes of the service, kept across restarts) in place of
`MemoryThrottleStore`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from accounts.clock import Clock, require_aware, utc_now
from settings import Settings


class Subject(StrEnum):
    """What a counter counts the failures of."""

    ACCOUNT = "account"
    ADDRESS = "address"


@dataclass(frozen=True)
class ThrottleKey:
    """One counter: an account is (tenant, username), an address is global (tenant "")
    because one machine trying usernames across tenants is one attacker."""

    subject: Subject
    tenant: str
    name: str


def account_key(tenant: str, username: str) -> ThrottleKey:
    """The counter of a username in a tenant; case and surrounding spaces do not make a
    new counter, since sign-in treats "Alice" and "alice " as the same person."""
    return ThrottleKey(Subject.ACCOUNT, tenant, username.strip().casefold())


def address_key(address: str) -> ThrottleKey:
    """The counter of a client address (as the service sees it, after proxies)."""
    return ThrottleKey(Subject.ADDRESS, "", address.strip().lower())


@dataclass(frozen=True)
class FailureRecord:
    """A counter's state: the failures of the current series, the last one, the lock."""

    failures: int
    last_failure: datetime
    locked_until: datetime | None = None


class ThrottleStore(Protocol):
    """Where the counters live. `update` must apply `change` atomically per key (a
    database store: in one transaction, the row read FOR UPDATE), because two failed
    attempts at the same moment must count as two."""

    def get(self, key: ThrottleKey) -> FailureRecord | None: ...

    def update(
        self, key: ThrottleKey, change: Callable[[FailureRecord | None], FailureRecord | None]
    ) -> FailureRecord | None: ...

    def purge(self, older_than: datetime) -> int:
        """Forget the records whose last failure and lock both ended before
        `older_than`; the number forgotten."""
        ...


class MemoryThrottleStore:
    """Counters in this process's memory: for tests and a single-process service. They
    are lost on restart, and each worker process has its own."""

    def __init__(self) -> None:
        self._records: dict[ThrottleKey, FailureRecord] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: ThrottleKey) -> FailureRecord | None:
        return self._records.get(key)

    def update(
        self, key: ThrottleKey, change: Callable[[FailureRecord | None], FailureRecord | None]
    ) -> FailureRecord | None:
        with self._lock:
            record = change(self._records.get(key))
            if record is None:
                self._records.pop(key, None)
            else:
                self._records[key] = record
            return record

    def purge(self, older_than: datetime) -> int:
        with self._lock:
            stale = [
                key
                for key, record in self._records.items()
                if record.last_failure < older_than
                and (record.locked_until is None or record.locked_until < older_than)
            ]
            for key in stale:
                del self._records[key]
            return len(stale)


@dataclass(frozen=True)
class ThrottlePolicy:
    """The numbers of one kind of counter (see the `login_*` settings)."""

    free_failures: int
    base_delay: timedelta
    max_delay: timedelta
    lock_failures: int
    window: timedelta
    lock: timedelta

    @classmethod
    def for_accounts(cls, settings: Settings) -> ThrottlePolicy:
        return cls._from(settings, settings.login_free_failures, settings.login_lock_failures)

    @classmethod
    def for_addresses(cls, settings: Settings) -> ThrottlePolicy:
        return cls._from(
            settings, settings.login_address_free_failures, settings.login_address_lock_failures
        )

    @classmethod
    def _from(cls, settings: Settings, free: int, lock: int) -> ThrottlePolicy:
        return cls(
            free_failures=free,
            base_delay=timedelta(seconds=settings.login_delay_base_seconds),
            max_delay=timedelta(seconds=settings.login_delay_max_seconds),
            lock_failures=lock,
            window=timedelta(minutes=settings.login_window_minutes),
            lock=timedelta(minutes=settings.login_lock_minutes),
        )

    def delay_after(self, failures: int) -> timedelta:
        """The wait after the `failures`-th failure before another attempt is heard."""
        beyond = failures - self.free_failures
        if beyond <= 0:
            return timedelta(0)
        # In float seconds with a bounded exponent: 2**n of a timedelta overflows.
        seconds = self.base_delay.total_seconds() * 2.0 ** min(beyond - 1, 64)
        return timedelta(seconds=min(seconds, self.max_delay.total_seconds()))

    def current(self, record: FailureRecord | None, now: datetime) -> FailureRecord | None:
        """`record` as it stands at `now`: `None` once its lock has ended, or `window`
        after its last failure (the series is over, counting starts again)."""
        if record is None:
            return None
        if record.locked_until is not None:
            return record if now < record.locked_until else None
        return record if now < record.last_failure + self.window else None

    def wait(self, record: FailureRecord | None, now: datetime) -> timedelta:
        """How long from `now` until the counter hears another attempt (0: now)."""
        record = self.current(record, now)
        if record is None:
            return timedelta(0)
        if record.locked_until is not None:
            return record.locked_until - now
        return max(record.last_failure + self.delay_after(record.failures) - now, timedelta(0))

    def after_failure(self, record: FailureRecord | None, now: datetime) -> FailureRecord:
        """The counter once one more failure at `now` is counted."""
        record = self.current(record, now)
        if record is None:
            record = FailureRecord(failures=0, last_failure=now)
        failures = record.failures + 1
        locked_until = now + self.lock if failures >= self.lock_failures else None
        return replace(record, failures=failures, last_failure=now, locked_until=locked_until)

    def forgive(self, record: FailureRecord | None, now: datetime) -> FailureRecord | None:
        """The counter with one counted failure taken back: an attempt `admit` counted
        before it was heard turned out a success, or another counter refused it. A lock
        that failure set is lifted with it."""
        record = self.current(record, now)
        if record is None or record.failures <= 1:
            return None
        failures = record.failures - 1
        locked_until = record.locked_until if failures >= self.lock_failures else None
        return replace(record, failures=failures, locked_until=locked_until)


@dataclass(frozen=True)
class Verdict:
    """The throttle's answer, the same for any username: whether to hear the attempt
    now, and if not, after how many seconds (for a `Retry-After` header)."""

    allowed: bool
    retry_after_seconds: int
    locked: bool


class LoginThrottle:
    """Call `admit` before verifying a password: it refuses the attempt unheard (not a
    failure) or counts it as a failure in the same atomic step, so concurrent guesses
    cannot all pass a check made before any of them is counted. On success call
    `record_success`, which takes that failure back. `check` only reads."""

    def __init__(
        self,
        store: ThrottleStore,
        accounts: ThrottlePolicy,
        addresses: ThrottlePolicy,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.addresses = addresses
        self.clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings, store: ThrottleStore, clock: Clock = utc_now
    ) -> LoginThrottle:
        return cls(
            store,
            ThrottlePolicy.for_accounts(settings),
            ThrottlePolicy.for_addresses(settings),
            clock,
        )

    def _now(self) -> datetime:
        return require_aware(self.clock(), "the throttle's clock")

    def _counters(
        self, tenant: str, username: str, address: str
    ) -> tuple[tuple[ThrottleKey, ThrottlePolicy], ...]:
        return (
            (account_key(tenant, username), self.accounts),
            (address_key(address), self.addresses),
        )

    @staticmethod
    def _verdict(
        records: list[tuple[FailureRecord | None, ThrottlePolicy]], now: datetime
    ) -> Verdict:
        wait = max(policy.wait(record, now) for record, policy in records)
        locked = any(
            (current := policy.current(record, now)) is not None
            and current.locked_until is not None
            for record, policy in records
        )
        seconds = math.ceil(wait.total_seconds())
        return Verdict(allowed=seconds == 0, retry_after_seconds=seconds, locked=locked)

    def check(self, tenant: str, username: str, address: str) -> Verdict:
        """Whether an attempt for `username` in `tenant` from `address` may be heard now."""
        counters = self._counters(tenant, username, address)
        return self._verdict(
            [(self.store.get(key), policy) for key, policy in counters], self._now()
        )

    def admit(self, tenant: str, username: str, address: str) -> Verdict:
        """Decide whether to hear an attempt and, if so, count it as a failure before the
        password is verified, each counter in one `ThrottleStore.update` (atomic per key).
        Not allowed: refused unheard, nothing counted (a counter already counted is
        forgiven). Allowed: `retry_after_seconds` and `locked` describe the next attempt."""
        now = self._now()
        counted: list[tuple[FailureRecord | None, ThrottlePolicy]] = []
        keys: list[ThrottleKey] = []
        for key, policy in self._counters(tenant, username, address):
            refused = False

            def change(
                record: FailureRecord | None, p: ThrottlePolicy = policy
            ) -> FailureRecord | None:
                nonlocal refused
                refused = p.wait(record, now) > timedelta(0)
                return record if refused else p.after_failure(record, now)

            record = self.store.update(key, change)
            if refused:
                for done_key, (_, done_policy) in zip(keys, counted, strict=True):
                    self.store.update(done_key, lambda r, p=done_policy: p.forgive(r, now))
                return self._verdict([(record, policy)], now)
            keys.append(key)
            counted.append((record, policy))
        following = self._verdict(counted, now)
        return replace(following, allowed=True)

    def record_success(self, tenant: str, username: str, address: str | None = None) -> None:
        """Clear the person's counter after a successful sign-in (also how a tenant admin
        unlocks a person by hand, with no address) and take back the one failure `admit`
        counted on `address`'s counter for the attempt."""
        self.store.update(account_key(tenant, username), lambda _record: None)
        if address is not None:
            now = self._now()
            self.store.update(address_key(address), lambda r: self.addresses.forgive(r, now))

    def purge(self) -> int:
        """Forget counters that no longer affect any answer (a periodic task calls this,
        so unknown usernames tried once do not pile up)."""
        horizon = max(
            max(policy.window, policy.lock, policy.max_delay)
            for policy in (self.accounts, self.addresses)
        )
        return self.store.purge(self._now() - horizon)
