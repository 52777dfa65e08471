from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.throttle import (
    LoginThrottle,
    MemoryThrottleStore,
    ThrottlePolicy,
    Verdict,
    account_key,
    address_key,
)
from settings import Settings
from tests.accounts.conftest import FakeClock

ADDRESS = "203.0.113.7"


@pytest.fixture
def store() -> MemoryThrottleStore:
    return MemoryThrottleStore()


@pytest.fixture
def throttle(store: MemoryThrottleStore, clock: FakeClock) -> LoginThrottle:
    return LoginThrottle.from_settings(Settings(), store, clock)


def fail_when_allowed(
    throttle: LoginThrottle, clock: FakeClock, username: str, times: int
) -> list[Verdict]:
    """Fail `times` attempts, each as soon as the throttle hears it; the verdicts."""
    verdicts = []
    for _ in range(times):
        waiting = throttle.check("t1", username, ADDRESS)
        clock.advance(seconds=waiting.retry_after_seconds)
        assert throttle.check("t1", username, ADDRESS).allowed
        verdicts.append(throttle.admit("t1", username, ADDRESS))
    return verdicts


def test_the_wait_grows_after_the_free_failures_and_is_capped() -> None:
    policy = ThrottlePolicy.for_accounts(Settings())
    waits = [policy.delay_after(n).total_seconds() for n in range(1, 12)]
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.delay_after(10_000) == policy.max_delay


def test_settings_drive_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENIALOPS_LOGIN_FREE_FAILURES", "1")
    monkeypatch.setenv("DENIALOPS_LOGIN_DELAY_BASE_SECONDS", "5")
    monkeypatch.setenv("DENIALOPS_LOGIN_LOCK_MINUTES", "2")
    policy = ThrottlePolicy.for_accounts(Settings())
    assert [policy.delay_after(n).total_seconds() for n in (1, 2, 3)] == [0, 5, 10]
    assert policy.lock == timedelta(minutes=2)


def test_failures_delay_then_lock(throttle: LoginThrottle, clock: FakeClock) -> None:
    verdicts = fail_when_allowed(throttle, clock, "alice", 9)
    assert [v.retry_after_seconds for v in verdicts] == [0, 0, 0, 1, 2, 4, 8, 16, 32]
    assert not any(v.locked for v in verdicts)
    assert not throttle.check("t1", "alice", ADDRESS).allowed  # 32 s to go

    locked = fail_when_allowed(throttle, clock, "alice", 1)[0]
    assert locked.locked
    assert locked.retry_after_seconds == 15 * 60
    clock.advance(minutes=14, seconds=59)
    assert throttle.check("t1", "alice", ADDRESS) == Verdict(False, 1, True)
    clock.advance(seconds=1)
    assert throttle.check("t1", "alice", ADDRESS) == Verdict(True, 0, False)
    # After the lock the series starts again: the next failure is a free one.
    assert throttle.admit("t1", "alice", ADDRESS).retry_after_seconds == 0


def test_the_wait_counts_from_the_last_failure(throttle: LoginThrottle, clock: FakeClock) -> None:
    fail_when_allowed(throttle, clock, "alice", 5)  # the 5th failure asks for 2 s
    clock.advance(seconds=1.5)
    assert throttle.check("t1", "alice", ADDRESS) == Verdict(False, 1, False)
    clock.advance(seconds=0.5)
    assert throttle.check("t1", "alice", ADDRESS).allowed


def test_success_resets_the_person(throttle: LoginThrottle, clock: FakeClock) -> None:
    fail_when_allowed(throttle, clock, "alice", 6)
    clock.advance(seconds=4)
    throttle.record_success("t1", "alice")
    assert [v.retry_after_seconds for v in fail_when_allowed(throttle, clock, "alice", 4)] == [
        0,
        0,
        0,
        1,
    ]


def test_a_window_without_a_lock_forgets_the_failures(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    fail_when_allowed(throttle, clock, "alice", 4)
    clock.advance(minutes=15)
    assert throttle.admit("t1", "alice", ADDRESS).retry_after_seconds == 0


def test_a_patient_guesser_is_locked_all_the_same(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    for _ in range(9):
        assert not throttle.admit("t1", "alice", ADDRESS).locked
        clock.advance(minutes=14, seconds=59)  # never 15 minutes quiet
    assert throttle.admit("t1", "alice", ADDRESS).locked


def test_unknown_usernames_get_the_same_answers(
    store: MemoryThrottleStore, clock: FakeClock
) -> None:
    """The throttle never asks whether a user exists: a known and an unknown name from
    separate addresses follow the same sequence, lock included."""

    def run(username: str, address: str) -> list[Verdict]:
        throttle = LoginThrottle.from_settings(Settings(), store, clock)
        out = []
        for _ in range(10):
            out.append(throttle.admit("t1", username, address))
            out.append(throttle.check("t1", username, address))
        return out

    assert run("alice", "198.51.100.1") == run("no-such-person", "198.51.100.2")


def test_case_and_spaces_do_not_make_a_new_counter(
    throttle: LoginThrottle, clock: FakeClock
) -> None:
    fail_when_allowed(throttle, clock, "alice", 4)
    assert not throttle.check("t1", " ALICE ", "198.51.100.9").allowed
    assert throttle.check("t2", "alice", "198.51.100.9").allowed  # another tenant's alice


def test_one_address_trying_many_usernames_is_locked(
    store: MemoryThrottleStore, clock: FakeClock
) -> None:
    throttle = LoginThrottle.from_settings(Settings(), store, clock)
    for number in range(100):  # each username fails once: never its own delay
        clock.advance(seconds=throttle.check("t1", f"user{number}", ADDRESS).retry_after_seconds)
        last = throttle.admit("t1", f"user{number}", ADDRESS)
        assert last.locked == (number == 99), number
    assert not throttle.check("t1", "someone-else", ADDRESS).allowed
    assert throttle.check("t1", "someone-else", "198.51.100.9").allowed


def test_purge_forgets_only_what_no_longer_matters(
    store: MemoryThrottleStore, throttle: LoginThrottle, clock: FakeClock
) -> None:
    throttle.admit("t1", "once", ADDRESS)
    clock.advance(minutes=16)
    throttle.admit("t1", "recent", "198.51.100.9")
    assert len(store) == 4
    assert throttle.purge() == 2
    assert store.get(account_key("t1", "once")) is None
    assert store.get(account_key("t1", "recent")) is not None


def test_a_naive_clock_is_refused(store: MemoryThrottleStore) -> None:
    naive = LoginThrottle.from_settings(Settings(), store, lambda: datetime(2026, 12, 2, 8, 0))
    with pytest.raises(ValueError, match="time-zone-aware"):
        naive.check("t1", "alice", ADDRESS)
    aware = LoginThrottle.from_settings(
        Settings(), store, lambda: datetime(2026, 12, 2, tzinfo=UTC)
    )
    assert aware.check("t1", "alice", ADDRESS).allowed


def test_admit_counts_before_hearing_and_takes_back_what_was_not_a_failure(
    store: MemoryThrottleStore, clock: FakeClock
) -> None:
    throttle = LoginThrottle.from_settings(Settings(login_free_failures=0), store, clock)
    assert throttle.admit("t1", "alice", ADDRESS) == Verdict(True, 1, False)  # counted
    assert store.get(address_key(ADDRESS)).failures == 1
    # alice must wait: refused unheard, and the address failure it counted first is forgiven.
    assert throttle.admit("t1", "alice", ADDRESS) == Verdict(False, 1, False)
    assert store.get(address_key(ADDRESS)).failures == 1
    clock.advance(seconds=1)
    assert throttle.admit("t1", "alice", ADDRESS).allowed
    throttle.record_success("t1", "alice", ADDRESS)  # it was the password after all
    assert store.get(account_key("t1", "alice")) is None
    assert store.get(address_key(ADDRESS)).failures == 1
