"""What every request meets before a route reads its body: the API key, then the size limit;
and validation errors that never echo what was sent.

Both checks are pure ASGI middleware, so they run before FastAPI reads the body:
a caller without a valid key is refused without a byte of the body being read,
and an oversized body is refused from its Content-Length up front or, when
chunked, as soon as the bytes received pass the limit. Roles stay with each
route (`deps.require`), which reads the caller found here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from settings import Settings

PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
"""Paths open without a key: probes, scraping and the API's own documentation."""
CALLER = "caller"
"""Key of the authenticated `Caller` in the request state (`request.state.caller`)."""
INPUT_PREFIX = 40
"""Characters of a rejected value's repr a validation error repeats: enough to spot the
mistake, not enough to echo a payload (or a patient's details) back."""
CTX_MAX = 200
"""A validation error's context (the rule's parameters) is kept only while this short."""


def install(app: FastAPI, settings: Settings) -> None:
    """Add the key check (outermost) and the body limit, and the short validation errors."""
    app.add_middleware(BodyLimit, default=settings.max_body_bytes, routes=settings.max_body_routes)
    app.add_middleware(KeyCheck)
    app.add_exception_handler(RequestValidationError, short_validation_errors)


class KeyCheck:
    """401 unless the request carries a known API key (`Authorization: Bearer <key>`), except
    on `PUBLIC_PATHS`; the caller goes in the request state for the route's role check."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        scheme, key = get_authorization_scheme_param(Headers(scope=scope).get("authorization"))
        if scheme.lower() != "bearer" or not key:
            await _refuse(scope, receive, send, 401, "send Authorization: Bearer <API key>")
            return
        keys = scope["app"].state.keys
        if keys.stale():
            await run_in_threadpool(keys.refresh)
        caller = keys.caller(key)
        if caller is None:
            await _refuse(scope, receive, send, 401, "unknown API key")
            return
        scope.setdefault("state", {})[CALLER] = caller
        await self.app(scope, receive, send)


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


async def _refuse(scope: Scope, receive: Receive, send: Send, code: int, detail: str) -> None:
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    await JSONResponse({"detail": detail}, status_code=code, headers=headers)(scope, receive, send)


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
