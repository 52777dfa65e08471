"""What every request meets before a route reads its body: who calls (an API key or a
browser session), then the size limit, then the CSRF check of a session's unsafe request;
and validation errors that never echo what was sent.

The checks are pure ASGI middleware, so they run before FastAPI reads the body: a caller
without a valid key or live session is refused without a byte of the body being read, and
an oversized body is refused from its Content-Length up front or, when chunked, as soon as
the bytes received pass the limit. A request authenticated by the session cookie with an
unsafe method (POST, PUT, PATCH, DELETE) must carry the session's CSRF token, in the
`X-CSRF-Token` header (checked before the body is read) or as the `csrf_token` field of a
url-encoded form (read through the size limit, then handed on to the route unchanged);
else 403. Requests with a key (`Authorization: Bearer`) are exempt: a browser never adds
that header by itself. Roles stay with each route (`deps.require`), which reads the caller
found here; the tenant is applied by `deps.tenant_stores`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accounts.sessions import csrf_valid
from serving.api.security import Caller, Via
from settings import Settings

PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
"""Paths open without a key: probes, scraping and the API's own documentation."""
SIGN_IN = ("POST", "/v1/session")
"""Open without a key too: how a person gets a session."""
PAGE_SIGN_IN = "/sign-in"
"""The web sign-in page (GET shows it, POST signs in): open, as `SIGN_IN` is."""
STATIC_PREFIX = "/static/"
"""The web pages' vendored scripts and styles: open (nothing in them is a tenant's)."""
API_PREFIX = "/v1/"
SESSION_COOKIE = "denialops_session"
"""The cookie holding a browser session's token."""
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM = "application/x-www-form-urlencoded"
CALLER = "caller"
"""Key of the authenticated `Caller` in the request state (`request.state.caller`)."""
INPUT_PREFIX = 40
"""Characters of a rejected value's repr a validation error repeats: enough to spot the
mistake, not enough to echo a payload (or a patient's details) back."""
CTX_MAX = 200
"""A validation error's context (the rule's parameters) is kept only while this short."""


def install(app: FastAPI, settings: Settings) -> None:
    """Add the caller check (outermost), the body limit, the CSRF check, and the short
    validation errors."""
    app.add_middleware(CsrfCheck)
    app.add_middleware(BodyLimit, default=settings.max_body_bytes, routes=settings.max_body_routes)
    app.add_middleware(KeyCheck)
    app.add_exception_handler(RequestValidationError, short_validation_errors)


class KeyCheck:
    """401 unless the request carries a known API key (`Authorization: Bearer <key>`) or the
    cookie of a live session, except on `PUBLIC_PATHS` and the sign-in; the caller goes in
    the request state for the route's role check and its tenant's stores."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _public(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, key = get_authorization_scheme_param(headers.get("authorization"))
        token = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        session_refused = False
        if not scheme and token:
            caller = await _session_caller(scope, token)
            refusal = "the session has ended: sign in again"
            session_refused = caller is None
        elif scheme.lower() == "bearer" and key:
            caller = await _key_caller(scope, key)
            refusal = "unknown API key"
        else:
            caller, refusal = None, "send Authorization: Bearer <API key>, or sign in"
        if caller is None:
            # An ended session's cookie is cleared, so the browser stops sending it; a
            # refused key says nothing about the session beside it, whose cookie stays.
            if not scope["path"].startswith(API_PREFIX):
                await _to_sign_in(scope, receive, send, clear_session=session_refused)
                return
            await _refuse(scope, receive, send, 401, refusal, clear_session=session_refused)
            return
        scope.setdefault("state", {})[CALLER] = caller
        await self.app(scope, receive, send)


def _public(method: str, path: str) -> bool:
    """Paths open without a key or session: probes, docs, the sign-ins, static files."""
    return (
        path in PUBLIC_PATHS
        or (method, path) == SIGN_IN
        or path == PAGE_SIGN_IN
        or path.startswith(STATIC_PREFIX)
    )


async def _to_sign_in(scope: Scope, receive: Receive, send: Send, *, clear_session: bool) -> None:
    """A web page asked for without a live session: to the sign-in page, which brings the
    person back here after. A page's partial update (htmx) is told to load the sign-in
    page whole (`HX-Redirect`), since a redirect would swap it into the page's middle."""
    back = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
    if scope["method"] not in SAFE_METHODS:  # a form posted after the session ended: the
        back = "/"  # page it came from is not known, and its path answers GET with a 405
    target = f"{PAGE_SIGN_IN}?{urlencode({'next': back})}"
    headers = Headers(scope=scope)
    if headers.get("hx-request") == "true":
        response: Response = Response(status_code=401, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    if clear_session:
        clear_session_cookie(response, scope["app"].state.settings)
    await response(scope, receive, send)


async def _key_caller(scope: Scope, key: str) -> Caller | None:
    keys = scope["app"].state.keys
    if keys.stale():
        await run_in_threadpool(keys.refresh)
    return keys.caller(key)


async def _session_caller(scope: Scope, token: str) -> Caller | None:
    """The person of a live session, their role read now; the idle limit restarts (a
    database write, so in the thread pool)."""
    active = await run_in_threadpool(scope["app"].state.people.sessions.touch, token)
    if active is None:
        return None
    session = active.session
    return Caller(
        session.username,
        active.role.value,
        session.tenant,
        Via.SESSION,
        session_id=session.id,
        session_expires_at=session.absolute_expires_at,
    )


class CsrfCheck:
    """403 for an unsafe request of a browser session without its session's CSRF token.

    Inside the body limit, so reading a form's body for its `csrf_token` field is limited
    as the route's reading would be; the body read is handed on to the route whole."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = scope.get("state", {}).get(CALLER)
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or caller is None
            or caller.via != Via.SESSION
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token = headers.get(CSRF_HEADER)
        if token is None and headers.get("content-type", "").split(";")[0].strip() == FORM:
            try:
                messages = await _read_body(receive)
            except HTTPException as error:  # the body limit, passed while reading here
                await _refuse(scope, receive, send, error.status_code, error.detail)
                return
            body = b"".join(m.get("body", b"") for m in messages)
            token = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [None])[0]
            receive = _replay(messages, receive)
        secret = scope["app"].state.csrf_secret
        if token is None or secret is None or not csrf_valid(caller.session_id, token, secret):
            detail = (
                f"send this session's CSRF token (header X-CSRF-Token or form field {CSRF_FIELD}"
                ", as GET /v1/session gives it)"
            )
            await _refuse(scope, receive, send, status.HTTP_403_FORBIDDEN, detail)
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


class BodyLimit:
    """413 for a body over the limit of its route (`"METHOD /path"` in `routes`, else
    `default`): from Content-Length before the route runs, or when the bytes of a chunked
    body pass the limit (reading stops there)."""

    def __init__(self, app: ASGIApp, default: int, routes: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get(f"{scope['method']} {scope['path']}", self.default)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, 413, _too_large(limit))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's body read: FastAPI re-raises HTTPExceptions
                    # there, and the app's exception middleware answers 413.
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, _too_large(limit))
            return message

        await self.app(scope, counted, send)


def _too_large(limit: int) -> str:
    return f"request body larger than {limit:,} bytes; send fewer claims per request"


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    code: int,
    detail: str,
    *,
    clear_session: bool = False,
) -> None:
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    response = JSONResponse({"detail": detail}, status_code=code, headers=headers)
    if clear_session:
        clear_session_cookie(response, scope["app"].state.settings)
    await response(scope, receive, send)


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to drop the session cookie, with the attributes it was set with
    (a browser may keep a Secure cookie that a clearing without Secure does not match)."""
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="strict",
    )


async def short_validation_errors(_request: Request, error: Exception) -> JSONResponse:
    """422 naming each field (loc, msg, type) with at most a short prefix of the value sent.

    FastAPI's own handler echoes every input whole (a 57 MB body came back as 57 MB),
    and an input of NaN or Infinity made the answer itself fail to render (a 500)."""
    assert isinstance(error, RequestValidationError)
    return JSONResponse(
        {"detail": [_short(problem) for problem in error.errors()]},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def _short(problem: dict[str, Any]) -> dict[str, Any]:
    short = {
        "loc": [part if isinstance(part, int) else str(part) for part in problem["loc"]],
        "msg": problem["msg"],
        "type": problem["type"],
    }
    if "input" in problem:
        short["input"] = repr(problem["input"])[:INPUT_PREFIX]
    ctx = problem.get("ctx")
    if ctx and len(repr(ctx)) <= CTX_MAX:
        short["ctx"] = {k: v if isinstance(v, str | int) else repr(v) for k, v in ctx.items()}
    return short
