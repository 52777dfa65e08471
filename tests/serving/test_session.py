"""Browser sessions over HTTP: sign-in, the cookie, expiry, sign-out, CSRF, throttling, audit.

The app runs on a clock the test moves (the people's: sessions and throttle), over
https, as a browser only sends a Secure cookie back over https.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from accounts.people import ActiveSession
from serving.api.app import create_app
from serving.keys import KeyStore
from settings import Settings
from storage import audit
from storage.schema import LOGIN_THROTTLE, SESSIONS
from storage.tenants import add_tenant
from tests.accounts.conftest import FakeClock
from tests.serving.conftest import auth, scorer_for

PASSWORD = "correct horse battery staple"
SECRET = "s" * 40
SESSION = "/v1/session"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def web(settings: Settings, bundle, clock: FakeClock, database_url: str) -> Iterator[TestClient]:
    """The service with sign-in on; `ana` (biller) and `abe` (admin) in `default`, `bo`
    (biller) in tenant `north`. SQLite and, with DENIALOPS_TEST_POSTGRES_URL, PostgreSQL."""
    settings = settings.model_copy(
        update={"session_secret": SecretStr(SECRET), "database_url": database_url}
    )
    app = create_app(settings, loader=lambda _s: scorer_for(bundle), clock=clock)
    with TestClient(app, base_url="https://testserver") as client:
        people = client.app.state.people
        add_tenant(client.app.state.database, "north", by="test")
        people.add("default", "ana", "biller", PASSWORD, by="test")
        people.add("default", "abe", "admin", PASSWORD, by="test")
        people.add("north", "bo", "biller", PASSWORD, by="test")
        yield client


def sign_in(client: TestClient, username: str = "ana") -> tuple[dict[str, str], str]:
    """The Cookie header of a new session and its CSRF token (the client's jar is left
    empty, so each request says which session it is)."""
    answer = client.post(SESSION, data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.cookies.clear()
    return {"Cookie": f"denialops_session={answer.cookies['denialops_session']}"}, answer.json()[
        "csrf_token"
    ]


def events(client: TestClient, tenant: str = "default") -> list[audit.AuditEvent]:
    with client.app.state.database.scope(tenant).engine.connect() as connection:
        return audit.events(connection)


def test_sign_in_sets_a_secure_http_only_strict_cookie(web: TestClient) -> None:
    answer = web.post(SESSION, json={"username": " ANA", "password": PASSWORD})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite", "path"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "path=/" in cookie.lower()
    assert "max-age=43200" in cookie.lower()  # the absolute limit, 12 h
    assert answer.json()["name"] == "ana"
    assert answer.json()["tenant"] == "default"
    web.cookies.clear()
    cookie_header = {"Cookie": f"denialops_session={answer.cookies['denialops_session']}"}
    who = web.get(SESSION, headers=cookie_header).json()
    assert (who["name"], who["tenant"], who["role"], who["via"]) == (
        "ana",
        "default",
        "biller",
        "session",
    )
    assert who["csrf_token"] == answer.json()["csrf_token"]
    assert web.get("/v1/queue/items", headers=cookie_header).status_code == 200
    assert web.get(SESSION, headers=auth("biller")).json()["via"] == "key"


def test_the_cookie_may_drop_secure_only_by_the_setting(
    settings: Settings, bundle, clock: FakeClock
) -> None:
    settings = settings.model_copy(
        update={"session_secret": SecretStr(SECRET), "session_cookie_secure": False}
    )
    app = create_app(settings, loader=lambda _s: scorer_for(bundle), clock=clock)
    with TestClient(app) as client:
        client.app.state.people.add("default", "ana", "biller", PASSWORD, by="test")
        answer = client.post(SESSION, data={"username": "ana", "password": PASSWORD})
    assert answer.status_code == 200
    assert "secure" not in answer.headers["set-cookie"].lower()
    assert "httponly" in answer.headers["set-cookie"].lower()


def test_every_refusal_is_the_same_401_and_audited(web: TestClient) -> None:
    web.app.state.people.disable("default", "abe", by="test")
    tries = {
        "wrong_password": ("ana", "not the password at all"),
        "unknown_user": ("nobody", PASSWORD),
        "disabled": ("abe", PASSWORD),
    }
    answers = {
        reason: web.post(SESSION, data={"username": name, "password": password})
        for reason, (name, password) in tries.items()
    }
    assert {a.status_code for a in answers.values()} == {401}
    assert len({a.json()["detail"] for a in answers.values()}) == 1
    assert all("set-cookie" not in a.headers for a in answers.values())
    failed = [e.detail["reason"] for e in events(web) if e.event == "sign_in_failed"]
    assert failed == list(tries)
    assert web.post(SESSION, json={"username": "ana"}).status_code == 422


def test_a_sign_in_from_another_origin_is_refused(web: TestClient) -> None:
    """Login CSRF: a cross-site form must not sign the victim's browser in."""
    form = {"username": "ana", "password": PASSWORD}
    for origin in ("https://evil.example", "https://testserver:8443", "null"):
        refused = web.post(SESSION, data=form, headers={"Origin": origin})
        assert refused.status_code == 403, origin
        assert "origin" in refused.json()["detail"]
        assert "set-cookie" not in refused.headers
    # The same origin, with or without the scheme's port, signs in.
    for origin in ("https://testserver", "https://TestServer:443"):
        assert web.post(SESSION, data=form, headers={"Origin": origin}).status_code == 200


def test_a_sign_in_the_browser_calls_cross_site_is_refused(web: TestClient) -> None:
    form = {"username": "ana", "password": PASSWORD}
    for site in ("cross-site", "same-site"):
        refused = web.post(SESSION, data=form, headers={"Sec-Fetch-Site": site})
        assert refused.status_code == 403, site
        assert "Sec-Fetch-Site" in refused.json()["detail"]
    for site in ("same-origin", "none"):
        assert web.post(SESSION, data=form, headers={"Sec-Fetch-Site": site}).status_code == 200
    # Same Origin does not excuse a browser that says the request is cross-site.
    both = {"Sec-Fetch-Site": "cross-site", "Origin": "https://testserver"}
    assert web.post(SESSION, data=form, headers=both).status_code == 403


def test_a_script_without_browser_headers_signs_in(web: TestClient) -> None:
    """curl sends neither Origin nor Sec-Fetch-Site: nothing to check, not refused."""
    answer = web.post(SESSION, json={"username": "ana", "password": PASSWORD})
    assert answer.status_code == 200
    assert "origin" not in {name.lower() for name in answer.request.headers}


def test_sign_in_without_the_secret_is_refused(settings: Settings, bundle) -> None:
    with TestClient(create_app(settings, loader=lambda _s: scorer_for(bundle))) as client:
        answer = client.post(SESSION, data={"username": "ana", "password": PASSWORD})
    assert answer.status_code == 503
    assert "DENIALOPS_SESSION_SECRET" in answer.json()["detail"]


def test_repeated_failures_are_throttled_with_retry_after(web: TestClient) -> None:
    codes = []
    for _ in range(6):
        answer = web.post(SESSION, data={"username": "ana", "password": "wrong guess again"})
        codes.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert codes[-1] == 429
    assert set(codes[:-1]) == {401}
    assert int(answer.headers["retry-after"]) >= 1
    # Even the right password waits its turn.
    right = web.post(SESSION, data={"username": "ana", "password": PASSWORD})
    assert right.status_code == 429


def test_an_idle_session_ends(web: TestClient, clock: FakeClock) -> None:
    cookie, _ = sign_in(web)
    clock.advance(minutes=29)
    assert web.get(SESSION, headers=cookie).status_code == 200  # restarts the idle limit
    clock.advance(minutes=29)
    assert web.get(SESSION, headers=cookie).status_code == 200
    clock.advance(minutes=30)
    assert web.get(SESSION, headers=cookie).status_code == 401
    assert [e.detail["limit"] for e in events(web) if e.event == "session_expired"] == ["idle"]


def test_an_active_session_ends_at_its_absolute_limit(web: TestClient, clock: FakeClock) -> None:
    cookie, _ = sign_in(web)
    for _ in range(24):  # a request every 29 minutes: never idle, 11 h 36 min in all
        clock.advance(minutes=29)
        assert web.get(SESSION, headers=cookie).status_code == 200
    clock.advance(minutes=24)  # 12 h after sign-in
    assert web.get(SESSION, headers=cookie).status_code == 401
    assert [e.detail["limit"] for e in events(web) if e.event == "session_expired"] == ["absolute"]


def test_sign_out_ends_the_session_on_the_server(web: TestClient) -> None:
    cookie, csrf = sign_in(web)
    out = web.post(f"{SESSION}/end", headers={**cookie, "X-CSRF-Token": csrf})
    assert out.status_code == 204
    cleared = out.headers["set-cookie"].lower()
    assert "denialops_session=" in cleared
    assert "max-age=0" in cleared
    dead = web.get(SESSION, headers=cookie)
    assert dead.status_code == 401  # the old cookie is refused, and cleared
    assert "max-age=0" in dead.headers["set-cookie"].lower()
    # Both clearings are one: the same attributes as the cookie that was set.
    assert dead.headers["set-cookie"] == out.headers["set-cookie"]
    assert "secure" in cleared
    assert [e.event for e in events(web) if e.event.startswith("sign")] == [
        "signed_in",
        "signed_out",
    ]
    assert web.post(f"{SESSION}/end", headers=auth("biller")).status_code == 400


def test_who_answers_from_the_request_even_if_the_session_goes_meanwhile(
    web: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's row may be gone by the time the route runs (purged, or a race):
    the answer comes from what the guard found, not a second read."""
    cookie, _ = sign_in(web)
    sessions = web.app.state.people.sessions
    touch = sessions.touch

    def touch_then_vanish(token: str) -> ActiveSession | None:
        active = touch(token)
        with web.app.state.database.admin().writing() as connection:
            connection.execute(SESSIONS.delete())
        return active

    monkeypatch.setattr(sessions, "touch", touch_then_vanish)
    answer = web.get(SESSION, headers=cookie)
    assert answer.status_code == 200
    assert answer.json()["expires_at"].startswith("2026-12-02T20:00")  # 12 h after sign-in


def test_an_unknown_key_beside_a_live_session_keeps_the_sessions_cookie(web: TestClient) -> None:
    cookie, _ = sign_in(web)
    refused = web.get(SESSION, headers={**cookie, "Authorization": "Bearer not-a-key"})
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers  # the session was not refused: keep it
    assert web.get(SESSION, headers=cookie).status_code == 200


def test_unsafe_requests_of_a_session_need_its_csrf_token(web: TestClient) -> None:
    cookie, csrf = sign_in(web)
    _, other = sign_in(web, "abe")
    nowhere = web.post("/v1/queue/next", headers=cookie)
    assert nowhere.status_code == 403
    assert "CSRF" in nowhere.json()["detail"]
    assert web.post("/v1/queue/next", headers={**cookie, "X-CSRF-Token": other}).status_code == 403
    assert web.post("/v1/queue/next", headers={**cookie, "X-CSRF-Token": csrf}).status_code == 204
    # A form carries the token as a field; the route still reads the whole body.
    form = {**cookie, "Content-Type": "application/x-www-form-urlencoded"}
    wrong = web.post(f"{SESSION}/end", headers=form, content=f"csrf_token={other}")
    assert wrong.status_code == 403
    assert web.get(SESSION, headers=cookie).status_code == 200
    right = web.post(f"{SESSION}/end", headers=form, content=f"x=1&csrf_token={csrf}")
    assert right.status_code == 204
    # Keys are exempt: a browser never sends Authorization by itself.
    assert web.post("/v1/queue/next", headers=auth("biller")).status_code == 204


def test_a_form_too_large_for_the_limit_is_refused_before_the_check(web: TestClient) -> None:
    cookie, csrf = sign_in(web)
    limit = web.app.state.settings.max_body_bytes
    form = {**cookie, "Content-Type": "application/x-www-form-urlencoded"}
    body = f"csrf_token={csrf}&pad=" + "x" * limit

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts the bytes read
        yield body.encode()

    assert web.post(f"{SESSION}/end", headers=form, content=chunks()).status_code == 413
    assert web.get(SESSION, headers=cookie).status_code == 200


def test_the_role_is_read_on_each_request(web: TestClient) -> None:
    cookie, _ = sign_in(web)
    assert web.get("/v1/policy", headers=cookie).status_code == 200
    web.app.state.people.change_role("default", "ana", "data_scientist", by="test")
    assert web.get("/v1/policy", headers=cookie).status_code == 403
    web.app.state.people.disable("default", "ana", by="test")
    assert web.get(SESSION, headers=cookie).status_code == 401


def test_a_person_acts_in_their_own_tenant(web: TestClient) -> None:
    cookie, _ = sign_in(web, "bo")
    assert web.get(SESSION, headers=cookie).json()["tenant"] == "north"
    assert [e.event for e in events(web, "north")] == ["tenant_created", "user_added", "signed_in"]
    assert "signed_in" not in [e.event for e in events(web)]


def test_a_tenant_admin_may_not_reload_the_installations_model(web: TestClient) -> None:
    cookie, csrf = sign_in(web, "abe")  # a person, admin of `default`: still a tenant admin
    refused = web.post("/v1/admin/reload", headers={**cookie, "X-CSRF-Token": csrf})
    assert refused.status_code == 403
    assert "operator" in refused.json()["detail"]
    database = web.app.state.database
    north, _ = KeyStore(database, tenant="north").add("admin", by="test")
    operator, _ = KeyStore(database).add("admin", by="test")  # `keys add --role admin`
    as_north = web.post("/v1/admin/reload", headers={"Authorization": f"Bearer {north}"})
    assert as_north.status_code == 403
    as_operator = web.post("/v1/admin/reload", headers={"Authorization": f"Bearer {operator}"})
    assert as_operator.status_code == 200
    assert web.post("/v1/admin/reload", headers=auth("admin")).status_code == 200


def test_the_service_forgets_throttle_counters_that_no_longer_matter(
    settings: Settings, bundle, clock: FakeClock
) -> None:
    settings = settings.model_copy(
        update={"session_secret": SecretStr(SECRET), "throttle_purge_seconds": 0.05}
    )
    app = create_app(settings, loader=lambda _s: scorer_for(bundle), clock=clock)
    with TestClient(app, base_url="https://testserver") as client:
        client.post(SESSION, data={"username": "nobody.here", "password": "wrong guess again"})
        assert _throttle_counters(client) == 2  # the username's and the address's
        clock.advance(days=2)
        deadline = time.monotonic() + 10
        while _throttle_counters(client) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _throttle_counters(client) == 0


def _throttle_counters(client: TestClient) -> int:
    with client.app.state.database.admin().engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(LOGIN_THROTTLE)).scalar()
