"""People in the database: adding, signing in, disabling, roles, sessions and their audit,
on SQLite and PostgreSQL, with a clock the test moves."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from accounts import passwords
from accounts.passwords import PasswordPolicyError, needs_rehash
from accounts.people import (
    DuplicateUserError,
    Outcome,
    PeopleError,
    SignIn,
    UnknownTenantError,
    UnknownUserError,
    UserStore,
)
from accounts.roles import ROLES, Role, UnknownRoleError
from settings import Settings
from storage import audit
from storage.database import Database
from storage.schema import AUDIT_EVENTS, SESSIONS, TENANTS
from tests.accounts.conftest import FakeClock
from tests.accounts.test_passwords import CountingHasher

PASSWORD = "correct horse battery staple"
ADDRESS = "203.0.113.7"


@pytest.fixture
def people(database: Database, clock: FakeClock) -> UserStore:
    return UserStore.from_settings(database, Settings(), clock)


@pytest.fixture
def tenants(database: Database, clock: FakeClock) -> None:
    """Tenants `a` and `b` beside `default`."""
    with database.admin().writing() as connection:
        connection.execute(
            TENANTS.insert(), [{"name": name, "created_at": clock.now} for name in ("a", "b")]
        )


def trail(database: Database, tenant: str = "default") -> list[audit.AuditEvent]:
    with database.scope(tenant).engine.connect() as connection:
        return audit.events(connection)


def signed_in(people: UserStore, username: str = "ana", tenant: str = "default") -> SignIn:
    result = people.authenticate(tenant, username, PASSWORD, ADDRESS)
    assert result.outcome is Outcome.SIGNED_IN
    return result


def test_a_person_is_added_and_signs_in(people: UserStore, database: Database) -> None:
    added = people.add("default", "  Ana.Lopez@Example.org ", "biller", PASSWORD, by="rita")
    assert (added.username, added.role, added.enabled) == (
        "ana.lopez@example.org",
        Role.BILLER,
        True,
    )
    result = people.authenticate("default", "ana.lopez@example.org", PASSWORD, ADDRESS)
    assert result.outcome is Outcome.SIGNED_IN
    assert result.user == added
    stored = people.sessions.lookup(result.token)
    assert stored == result.session
    assert stored.username == "ana.lopez@example.org"
    events = trail(database)
    assert [(e.event, e.actor) for e in events] == [
        ("user_added", "rita"),
        ("signed_in", "ana.lopez@example.org"),
    ]
    assert events[1].detail == {
        "username": "ana.lopez@example.org",
        "session": result.session.id[:12],
        "address": ADDRESS,
    }
    # Neither the password nor the token is stored anywhere readable.
    with database.admin().engine.connect() as connection:
        dump = str(connection.execute(sa.select(SESSIONS)).all()) + str(events)
        hashes = connection.exec_driver_sql("SELECT password_hash FROM users").scalars().all()
    assert result.token not in dump
    assert PASSWORD not in dump
    assert hashes[0].startswith("$argon2id$")


def test_wrong_password_and_unknown_user_get_the_same_answer_and_are_audited(
    people: UserStore, database: Database
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    wrong = people.authenticate("default", "ana", "not the password at all", ADDRESS)
    unknown = people.authenticate("default", "nobody", PASSWORD, ADDRESS)
    typo = people.authenticate("default", "what was typed? a password!", PASSWORD, ADDRESS)
    assert wrong == unknown == typo == SignIn(Outcome.REFUSED)
    failed = [e for e in trail(database) if e.event == "sign_in_failed"]
    assert [(e.actor, e.detail.get("username"), e.detail["reason"]) for e in failed] == [
        ("ana", "ana", "wrong_password"),
        ("anonymous", None, "unknown_user"),
        ("anonymous", None, "unknown_user"),
    ]
    assert all(e.detail["address"] == ADDRESS for e in failed)


def test_a_disabled_person_is_refused_and_loses_their_sessions(
    people: UserStore, database: Database
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    session = signed_in(people)
    assert people.sessions.touch(session.token) is not None
    disabled = people.disable("default", "ana", by="rita")
    assert not disabled.enabled
    assert people.sessions.touch(session.token) is None
    assert people.sessions.lookup(session.token).ended_at is not None
    assert people.authenticate("default", "ana", PASSWORD, ADDRESS) == SignIn(Outcome.REFUSED)
    assert people.disable("default", "ana", by="rita") == disabled  # nothing more to do
    assert people.enable("default", "ana", by="lee").enabled
    signed_in(people)
    events = [(e.event, e.detail) for e in trail(database) if e.event.startswith("user_")]
    assert events == [
        ("user_added", {"username": "ana", "role": "biller"}),
        ("user_disabled", {"username": "ana", "sessions_ended": 1}),
        ("user_enabled", {"username": "ana"}),
    ]
    failed = [e.detail["reason"] for e in trail(database) if e.event == "sign_in_failed"]
    assert failed == ["disabled"]


def test_a_role_change_takes_effect_on_the_next_request_and_is_audited(
    people: UserStore, database: Database
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    session = signed_in(people)
    assert people.sessions.touch(session.token).role is Role.BILLER
    assert people.change_role("default", "ana", "billing_lead", by="rita").role is Role.BILLING_LEAD
    assert people.sessions.touch(session.token).role is Role.BILLING_LEAD
    changes = [(e.actor, e.detail) for e in trail(database) if e.event == "role_changed"]
    assert changes == [("rita", {"username": "ana", "from": "biller", "to": "billing_lead"})]


NEW_PASSWORD = "a brand new passphrase, please"


def test_a_password_reset_replaces_the_password_and_ends_every_session(
    people: UserStore, database: Database, clock: FakeClock
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    first, second = signed_in(people), signed_in(people)
    clock.advance(minutes=5)
    reset = people.reset_password("default", " Ana ", NEW_PASSWORD, by="rita")
    assert (reset.username, reset.password_changed_at, reset.enabled) == ("ana", clock.now, True)
    for session in (first, second):
        assert people.sessions.touch(session.token) is None
        assert people.sessions.lookup(session.token).ended_at == clock.now
    assert people.authenticate("default", "ana", PASSWORD, ADDRESS) == SignIn(Outcome.REFUSED)
    after = people.authenticate("default", "ana", NEW_PASSWORD, ADDRESS)
    assert after.outcome is Outcome.SIGNED_IN
    assert people.sessions.touch(after.token) is not None  # signing in again is not undone
    resets = [(e.actor, e.detail) for e in trail(database) if e.event == "password_reset"]
    assert resets == [("rita", {"username": "ana", "sessions_ended": 2})]
    with database.admin().engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT password_hash FROM users").scalar_one()
        reasons = connection.execute(sa.select(SESSIONS.c.end_reason)).scalars().all()
    assert sorted(reasons, key=str) == [None, "password_reset", "password_reset"]
    dump = str(trail(database))
    assert NEW_PASSWORD not in dump
    assert stored not in dump
    assert passwords.verify_password(stored, NEW_PASSWORD)


@pytest.mark.usefixtures("tenants")
def test_a_password_reset_refuses_what_is_wrong_changing_nothing(
    people: UserStore, database: Database
) -> None:
    people.add("a", "ana", "biller", PASSWORD, by="rita")
    session = signed_in(people, tenant="a")
    with pytest.raises(PasswordPolicyError, match="at least 12 characters") as weak:
        people.reset_password("a", "ana", "Sh0rt!", by="rita")
    assert "Sh0rt!" not in str(weak.value)
    with pytest.raises(PasswordPolicyError, match="must not contain"):
        people.reset_password("a", "ana", "ana-is-my-name-1", by="rita")
    with pytest.raises(UnknownUserError, match="tenant 'b' has no user named 'ana'"):
        people.reset_password("b", "ana", NEW_PASSWORD, by="rita")  # another tenant's person
    with pytest.raises(UnknownTenantError, match="no tenant 'nowhere'"):
        people.reset_password("nowhere", "ana", NEW_PASSWORD, by="rita")
    assert people.sessions.touch(session.token) is not None
    assert signed_in(people, tenant="a").outcome is Outcome.SIGNED_IN
    assert "password_reset" not in [e.event for e in trail(database, "a")]


def test_adding_refuses_what_is_wrong_naming_it(people: UserStore) -> None:
    with pytest.raises(PasswordPolicyError, match="at least 12 characters") as weak:
        people.add("default", "ana", "biller", "Sh0rt!", by="rita")
    assert "Sh0rt!" not in str(weak.value)
    with pytest.raises(PasswordPolicyError, match="commonly used"):
        people.add("default", "ana", "biller", "password123456", by="rita")
    with pytest.raises(UnknownRoleError, match="biller, billing_lead, revops, data_scientist"):
        people.add("default", "ana", "janitor", PASSWORD, by="rita")
    with pytest.raises(UnknownTenantError, match="no tenant 'nowhere'"):
        people.add("nowhere", "ana", "biller", PASSWORD, by="rita")
    with pytest.raises(PeopleError, match="a username is 1 to 64"):
        people.add("default", "ana lopez", "biller", PASSWORD, by="rita")
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    with pytest.raises(DuplicateUserError, match="username 'ana' is taken"):
        people.add("default", "ANA", "revops", PASSWORD, by="rita")
    with pytest.raises(UnknownUserError, match="no user named 'ben'"):
        people.disable("default", "ben", by="rita")


@pytest.mark.usefixtures("tenants")
def test_a_person_of_tenant_a_is_invisible_to_tenant_b(
    people: UserStore, database: Database
) -> None:
    people.add("a", "ana", "admin", PASSWORD, by="root")
    assert people.get("b", "ana") is None
    assert people.list_users("b") == []
    assert [user.username for user in people.list_users("a")] == ["ana"]
    assert people.authenticate("b", "ana", PASSWORD, ADDRESS) == SignIn(Outcome.REFUSED)
    with pytest.raises(UnknownUserError):
        people.disable("b", "ana", by="root")
    with pytest.raises(DuplicateUserError, match="unique across the installation"):
        people.add("b", "ana", "biller", PASSWORD, by="root")  # a username names one person
    people.add("b", "bea", "biller", PASSWORD, by="root")
    assert (people.tenant_of("ANA "), people.tenant_of("bea"), people.tenant_of("cy")) == (
        "a",
        "b",
        None,
    )
    assert people.get("a", "ana").role is Role.ADMIN
    assert people.get("b", "bea").role is Role.BILLER
    session = signed_in(people, "bea", tenant="b")
    assert session.session.tenant == "b"
    with database.scope("a").engine.connect() as connection:
        assert connection.execute(sa.select(SESSIONS)).all() == []
    assert [e.event for e in trail(database, "a")] == ["user_added"]
    assert [e.event for e in trail(database, "b")] == [
        "sign_in_failed",
        "user_added",
        "signed_in",
    ]
    assert trail(database) == []


def test_repeated_failures_delay_then_lock_through_the_database(
    people: UserStore, database: Database, clock: FakeClock
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    waits = [0]
    for _ in range(10):  # each failure as soon as the throttle hears it
        clock.advance(seconds=waits[-1])
        attempt = people.authenticate("default", "ana", "a wrong guess of many", ADDRESS)
        assert attempt.outcome is Outcome.REFUSED
        waits.append(attempt.retry_after_seconds)
        if waits[-1]:  # meanwhile even the right password is refused unheard
            unheard = people.authenticate("default", "ana", PASSWORD, ADDRESS)
            assert unheard == SignIn(Outcome.THROTTLED, retry_after_seconds=waits[-1])
    assert waits[1:] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 15 * 60]  # the 10th failure locks
    locked = people.authenticate("default", "ana", PASSWORD, ADDRESS)
    assert (locked.outcome, locked.retry_after_seconds) == (Outcome.THROTTLED, 15 * 60)
    failed = [e.detail["locked"] for e in trail(database) if e.event == "sign_in_failed"]
    assert failed == [False] * 9 + [True]  # throttled attempts are not written one by one
    # A fresh store (another process) sees the same counters; what was typed is not kept.
    other = UserStore.from_settings(database, Settings(), clock)
    assert other.authenticate("default", "ana", PASSWORD, ADDRESS).outcome is Outcome.THROTTLED
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM login_throttle").all()
    assert {row.subject for row in rows} == {"account", "address"}
    assert "ana" not in str(rows)
    assert ADDRESS not in str(rows)
    clock.advance(minutes=15)
    assert signed_in(people).session is not None


def test_concurrent_guesses_are_heard_no_more_than_one_at_a_time_would_be(
    people: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guesses sent all at once (the service signs in on a thread pool) are decided and
    counted in one step each: no more are heard than sent one by one at this instant."""
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    guesses = 16
    with ThreadPoolExecutor(max_workers=guesses) as pool:
        outcomes = list(
            pool.map(
                lambda n: people.authenticate("default", "ana", f"guess number {n}", ADDRESS),
                range(guesses),
            )
        )
    heard = Settings().login_free_failures + 1  # the clock stands still: no delay runs out
    assert len(counting.verified) == heard
    assert [o.outcome for o in outcomes].count(Outcome.REFUSED) == heard
    assert [o.outcome for o in outcomes].count(Outcome.THROTTLED) == guesses - heard


def test_a_session_ends_after_its_idle_limit_audited_once(
    people: UserStore, database: Database, clock: FakeClock
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    token = signed_in(people).token
    for _ in range(3):  # each request restarts the idle limit
        clock.advance(minutes=29, seconds=59)
        assert people.sessions.touch(token) is not None
    clock.advance(minutes=30)
    assert people.sessions.touch(token) is None
    assert people.sessions.touch(token) is None
    expired = [e for e in trail(database) if e.event == "session_expired"]
    assert len(expired) == 1
    assert expired[0].detail["limit"] == "idle"
    ended = people.sessions.lookup(token)
    assert ended.ended_at == ended.last_seen_at + timedelta(minutes=30)
    assert people.sessions.end(token) == ended  # signing out of it changes nothing


def test_a_request_writes_the_session_at_most_once_a_touch_interval(
    people: UserStore, clock: FakeClock
) -> None:
    """Requests inside `session_touch_seconds` of the stored last_seen_at write nothing;
    idle expiry counts from the stored value, so a session ends up to that interval
    early, never late."""
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    token = signed_in(people).token
    started = people.sessions.lookup(token).last_seen_at
    touch = timedelta(seconds=Settings().session_touch_seconds)
    clock.advance(seconds=touch.total_seconds() - 1)
    assert people.sessions.touch(token) is not None
    assert people.sessions.lookup(token).last_seen_at == started  # no write
    clock.advance(seconds=1)
    assert people.sessions.touch(token) is not None
    written = people.sessions.lookup(token).last_seen_at
    assert written == clock.now
    clock.advance(seconds=touch.total_seconds() - 1)
    last_request = clock.now
    assert people.sessions.touch(token) is not None  # heard, not written
    idle = timedelta(minutes=Settings().session_idle_minutes)
    clock.now = written + idle  # idle after the last write: over, however recent the request
    assert last_request + idle - touch < clock.now < last_request + idle
    assert people.sessions.touch(token) is None


def test_a_session_ends_after_its_absolute_limit_however_active(
    people: UserStore, database: Database, clock: FakeClock
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    token = signed_in(people).token
    for _ in range(12 * 3 - 1):
        clock.advance(minutes=20)
        assert people.sessions.touch(token) is not None
    clock.advance(minutes=19, seconds=59)
    assert people.sessions.touch(token) is not None
    clock.advance(seconds=1)  # 12 h after sign-in
    assert people.sessions.touch(token) is None
    expired = [e.detail["limit"] for e in trail(database) if e.event == "session_expired"]
    assert expired == ["absolute"]


def test_sign_out_ends_the_session_on_the_server(
    people: UserStore, database: Database, clock: FakeClock
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    first, second = signed_in(people), signed_in(people)
    clock.advance(minutes=5)
    ended = people.sessions.end(first.token)
    assert ended.ended_at == clock.now
    assert people.sessions.touch(first.token) is None  # a copied cookie is dead too
    assert people.sessions.touch(second.token) is not None  # other browsers stay signed in
    assert people.sessions.end(first.token) == ended
    assert people.sessions.end("not a token") is None
    outs = [e.detail for e in trail(database) if e.event == "signed_out"]
    assert outs == [{"username": "ana", "session": first.session.id[:12]}]
    with database.admin().engine.connect() as connection:
        reasons = connection.execute(sa.select(SESSIONS.c.end_reason)).scalars().all()
    assert sorted(reasons, key=str) == [None, "signed_out"]


def test_signing_out_of_a_session_already_over_records_its_expiry(
    people: UserStore, database: Database, clock: FakeClock
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    token = signed_in(people).token
    clock.advance(minutes=31)
    assert people.sessions.end(token).ended_at == clock.now - timedelta(minutes=1)
    assert [e.event for e in trail(database)][-1] == "session_expired"


def test_the_database_accepts_exactly_the_person_roles(
    database: Database, clock: FakeClock
) -> None:
    insert = sa.text(
        "INSERT INTO users (tenant, username, role, password_hash, created_at, created_by, "
        "password_changed_at) VALUES ('default', :username, :role, 'x', :at, 't', :at)"
    )
    at = clock.now.replace(tzinfo=None)
    with database.admin().writing() as connection:
        for role in ROLES:
            connection.execute(insert, {"username": role, "role": role, "at": at})
    with pytest.raises(sa.exc.IntegrityError), database.admin().writing() as connection:
        connection.execute(insert, {"username": "z", "role": "scrubber", "at": at})


def test_the_trail_takes_every_event_of_the_schema(database: Database, clock: FakeClock) -> None:
    """The migrations' event CHECK and storage.schema's list agree (a CHECK is frozen in its
    migration, so a new event needs a migration too)."""
    rows = [
        {"at": clock.now, "actor": "t", "claim_id": None, "event": event, "detail": {}}
        for event in AUDIT_EVENTS
    ]
    with database.scope().writing() as connection:
        audit.append(connection, rows)
    assert [e.event for e in trail(database)] == list(AUDIT_EVENTS)


def test_users_and_sessions_have_the_row_level_security_of_every_tenant_table(
    database: Database,
) -> None:
    """The policy tests/storage/test_tenancy.py shows blocking SQL that omits the tenant is
    the one on users and sessions, enabled and forced (the owner too)."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    query = sa.text(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.qual, p.with_check "
        "FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname "
        "AND p.schemaname = current_schema() "
        "WHERE c.relnamespace = current_schema()::regnamespace "
        "AND c.relname IN ('queue_items', 'users', 'sessions')"
    )
    with database.admin().engine.connect() as connection:
        rows = {row.relname: tuple(row)[1:] for row in connection.execute(query)}
    assert set(rows) == {"queue_items", "users", "sessions"}
    assert rows["users"] == rows["sessions"] == rows["queue_items"]
    assert rows["users"][:2] == (True, True)


def test_logs_name_no_password_nor_token(
    people: UserStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    people.authenticate("default", "ana", "my other password", ADDRESS)
    people.authenticate("default", PASSWORD, PASSWORD, ADDRESS)  # typed in both fields
    token = signed_in(people).token
    people.sessions.touch(token)
    people.sessions.end(token)
    idle = signed_in(people).token
    clock.advance(hours=1)
    assert people.sessions.touch(idle) is None
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert all(what in logged for what in ("signed in", "signed out", "expired (idle)"))
    for secret in (PASSWORD, "my other password", token, idle):
        assert secret not in logged


def test_a_hash_of_older_parameters_is_replaced_at_sign_in(
    people: UserStore, database: Database
) -> None:
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    stored = "SELECT password_hash FROM users WHERE username = 'ana'"
    with database.admin().writing() as connection:
        connection.execute(sa.text("UPDATE users SET password_hash = :weak"), {"weak": weak})
    assert needs_rehash(weak)
    signed_in(people)
    with database.admin().engine.connect() as connection:
        renewed = connection.exec_driver_sql(stored).scalar()
    assert renewed != weak
    assert not needs_rehash(renewed)
    signed_in(people)


def test_every_refusal_costs_one_argon2_verification(
    people: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong password, an unknown or malformed username, a disabled person and an unknown
    tenant take the same work, so the time taken tells nothing either."""
    people.add("default", "ana", "biller", PASSWORD, by="rita")
    people.add("default", "ben", "biller", PASSWORD, by="rita")
    people.disable("default", "ben", by="rita")
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    for tenant, username, password in (
        ("default", "ana", "not the password at all"),
        ("default", "nobody", PASSWORD),
        ("default", "not a username!", PASSWORD),
        ("default", "ben", PASSWORD),
        ("nowhere", "ana", PASSWORD),
        ("Not A Tenant", "ana", PASSWORD),
    ):
        before = len(counting.verified)
        assert people.authenticate(tenant, username, password, ADDRESS).outcome is Outcome.REFUSED
        assert len(counting.verified) == before + 1, (tenant, username)
    assert all(stored.startswith("$argon2id$") for stored in counting.verified)
