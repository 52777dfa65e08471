from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr

from accounts.sessions import (
    Session,
    SessionExpiredError,
    SessionPolicy,
    SessionSecretError,
    csrf_secret,
    csrf_token,
    csrf_valid,
    new_token,
    session_id_for,
    start_session,
)
from settings import Settings
from tests.accounts.conftest import FakeClock

POLICY = SessionPolicy.from_settings(Settings())
SECRET = b"s" * 32
TICK = timedelta(microseconds=1)


@pytest.fixture
def started(clock: FakeClock) -> tuple[str, Session]:
    return start_session("t1", "alice", clock(), POLICY)


def test_the_defaults_are_30_minutes_idle_and_12_hours_absolute_written_once_a_minute() -> None:
    expected = SessionPolicy(
        idle=timedelta(minutes=30), absolute=timedelta(hours=12), touch=timedelta(seconds=60)
    )
    assert expected == POLICY


def test_tokens_carry_256_bits_and_only_their_sha256_is_stored(
    started: tuple[str, Session],
) -> None:
    token, session = started
    assert len(token) >= 43  # 32 bytes in URL-safe base64
    assert session.id == hashlib.sha256(token.encode()).hexdigest() == session_id_for(token)
    assert token not in repr(session)
    assert len({new_token() for _ in range(100)}) == 100


def test_idle_expiry_at_the_exact_boundary(started: tuple[str, Session], clock: FakeClock) -> None:
    _, session = started
    end = clock() + timedelta(minutes=30)
    assert session.is_live(end - TICK)
    assert not session.is_live(end)


def test_a_request_restarts_the_idle_limit(started: tuple[str, Session], clock: FakeClock) -> None:
    _, session = started
    session = session.touched(clock.advance(minutes=29))
    assert session.is_live(clock() + timedelta(minutes=30) - TICK)
    assert not session.is_live(clock() + timedelta(minutes=30))


def test_absolute_expiry_holds_however_active(
    started: tuple[str, Session], clock: FakeClock
) -> None:
    _, session = started
    end = clock() + timedelta(hours=12)
    while clock() < end - timedelta(minutes=20):
        session = session.touched(clock.advance(minutes=20))
    assert session.expires_at() == end
    assert session.is_live(end - TICK)
    assert not session.is_live(end)
    with pytest.raises(SessionExpiredError):
        session.touched(end)


def test_an_idle_session_cannot_be_revived(started: tuple[str, Session], clock: FakeClock) -> None:
    _, session = started
    with pytest.raises(SessionExpiredError, match="has ended"):
        session.touched(clock.advance(minutes=30))


def test_sign_out_ends_the_session_for_good(started: tuple[str, Session], clock: FakeClock) -> None:
    _, session = started
    ended = session.ended(clock.advance(minutes=1))
    assert not ended.is_live(clock())
    assert ended.ended(clock.advance(minutes=1)).ended_at == ended.ended_at  # first sign-out kept
    with pytest.raises(SessionExpiredError):
        ended.touched(clock())


def test_limits_are_fixed_when_the_session_starts(clock: FakeClock) -> None:
    _, short = start_session(
        "t1", "bob", clock(), SessionPolicy(timedelta(minutes=5), timedelta(hours=1))
    )
    assert short.expires_at() == clock() + timedelta(minutes=5)
    assert short.absolute_expires_at == clock() + timedelta(hours=1)


def test_a_naive_time_is_refused(started: tuple[str, Session]) -> None:
    _, session = started
    with pytest.raises(ValueError, match="time-zone-aware"):
        session.is_live(datetime(2026, 12, 2, 8, 1))


def test_csrf_token_of_the_session_passes_and_of_another_fails(
    started: tuple[str, Session], clock: FakeClock
) -> None:
    _, session = started
    _, other = start_session("t1", "alice", clock(), POLICY)
    token = csrf_token(session.id, SECRET)
    assert csrf_valid(session.id, token, SECRET)
    assert not csrf_valid(other.id, token, SECRET)
    assert not csrf_valid(session.id, token, b"t" * 32)  # another server's secret
    assert not csrf_valid(session.id, token[:-1], SECRET)
    assert not csrf_valid(session.id, "", SECRET)
    assert not csrf_valid(session.id, "ü" * 64, SECRET)  # odd form input is a no, not a crash


@pytest.mark.parametrize("value", ["", "too-short"])
def test_a_missing_or_short_secret_is_an_error_naming_the_setting(value: str) -> None:
    with pytest.raises(SessionSecretError, match="DENIALOPS_SESSION_SECRET"):
        csrf_secret(Settings(session_secret=SecretStr(value)))


def test_the_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENIALOPS_SESSION_SECRET", "k" * 40)
    settings = Settings()
    assert csrf_secret(settings) == b"k" * 40
    assert "k" * 40 not in repr(settings)
