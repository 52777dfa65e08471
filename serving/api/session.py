"""Browser sign-in over HTTP: start a session, say who is signed in, sign out.

`POST /v1/session` takes a username and a password (a form, as the sign-in page posts
it, or JSON). A username is unique across the installation, so it alone says the
person's tenant; an unknown username is tried against `default`, so it costs the same
argon2 work and throttle count as a known one and is refused alike (401 for every
refusal; 429 with Retry-After while the throttle holds the person or address back). On
success the session's token goes in the `denialops_session` cookie (HttpOnly, Secure
unless `DENIALOPS_SESSION_COOKIE_SECURE=false` for a local http demo, SameSite=Strict,
Path=/), and the answer carries the session's CSRF token for the page's forms. The
sign-in is not behind the key check, nor the CSRF check (there is no session yet).
Sign-in, every failure and sign-out are audited by `accounts.people`.

Login CSRF: with no session there is no CSRF token to check, so a cross-site form could
sign a victim into the attacker's account. A browser's sign-in must therefore be
same-origin: refused (403) when `Sec-Fetch-Site` says anything but `same-origin` or `none`,
or when `Origin` names another host:port than the request's `Host`. A request with
neither header (a script, curl) is no browser's and passes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accounts.people import Outcome
from accounts.sessions import csrf_token
from serving.api.deps import signed_in
from serving.api.guard import FORM, SESSION_COOKIE, clear_session_cookie
from serving.api.security import Caller, Via
from storage.tenancy import DEFAULT_TENANT

router = APIRouter(prefix="/v1/session", tags=["session"])
REFUSED = "username or password not accepted"
"""The one answer to every refused sign-in: it must not tell which part was wrong."""
SAME_SITE_FETCH = frozenset({"same-origin", "none"})
"""`Sec-Fetch-Site` values of a sign-in the service's own page (or the user, typing) made."""
DEFAULT_PORTS = {"http": 80, "https": 443}


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    name: str = Field(description="The person's username, or the API key's id.")
    tenant: str
    role: str
    via: Via
    csrf_token: str | None = Field(
        None,
        description="A session's token for unsafe requests (header X-CSRF-Token or form "
        "field csrf_token); null for a key.",
    )
    expires_at: datetime | None = Field(None, description="When the session ends at the latest.")


async def _sign_in_body(request: Request) -> SignInIn:
    """The form or JSON body of a sign-in (the page posts a form; scripts send JSON)."""
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    try:
        if kind == FORM:
            fields = parse_qs(raw.decode("utf-8", "replace"))
            return SignInIn.model_validate({k: v[0] for k, v in fields.items()})
        return SignInIn.model_validate(json.loads(raw) if raw else {})
    except (ValidationError, ValueError) as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="send username and password, as a form or as JSON",
        ) from error


def _same_origin(request: Request) -> None:
    """403 for a sign-in a browser sent from another site (login CSRF); see the module."""
    headers = request.headers
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in SAME_SITE_FETCH:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"sign-in from another site refused (Sec-Fetch-Site: {fetch_site[:40]}); "
            "sign in from this service's own page",
        )
    origin = headers.get("origin")
    if origin is None:
        return
    claimed = _host_port(origin)
    if claimed is None or claimed != _host_port(
        f"{urlsplit(origin).scheme}://{headers.get('host', '')}"
    ):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"sign-in from another origin refused (Origin: {origin[:80]}); "
            "sign in from this service's own page",
        )


def _host_port(url: str) -> tuple[str, int] | None:
    """The host and port a URL names (the scheme's port when none is given); None when
    it names none (`Origin: null`, a malformed header)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.hostname.lower(), port


@router.post(
    "",
    response_model=SessionOut,
    responses={
        401: {"description": "Refused (the same for every reason)."},
        403: {"description": "A browser's sign-in from another site or origin."},
        429: {"description": "Too many failures: wait Retry-After seconds."},
    },
)
def sign_in(
    request: Request, response: Response, body: Annotated[SignInIn, Depends(_sign_in_body)]
) -> SessionOut:
    """Sign a person in: the session cookie and the session's CSRF token."""
    return start_session(request, response, body)


def start_session(request: Request, response: Response, body: SignInIn) -> SessionOut:
    """Check a sign-in (same origin, throttle, password) and set the session cookie on
    `response`; the refusals are HTTPExceptions (the web sign-in page shows their detail).
    """
    _same_origin(request)
    state = request.app.state
    if state.csrf_secret is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="sign-in is off: set DENIALOPS_SESSION_SECRET (32+ random characters)",
        )
    people = state.people
    tenant = people.tenant_of(body.username) or DEFAULT_TENANT
    address = request.client.host if request.client else "unknown"
    result = people.authenticate(tenant, body.username, body.password, address)
    if result.outcome is not Outcome.SIGNED_IN:
        throttled = result.outcome is Outcome.THROTTLED
        wait = {"Retry-After": str(result.retry_after_seconds)}
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS if throttled else status.HTTP_401_UNAUTHORIZED,
            detail="too many failed sign-ins: wait and try again" if throttled else REFUSED,
            headers=wait if throttled or result.retry_after_seconds else None,
        )
    session, user = result.session, result.user
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=int((session.absolute_expires_at - session.created_at).total_seconds()),
        path="/",
        secure=state.settings.session_cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return SessionOut(
        name=user.username,
        tenant=user.tenant,
        role=user.role.value,
        via=Via.SESSION,
        csrf_token=csrf_token(session.id, state.csrf_secret),
        expires_at=session.absolute_expires_at,
    )


@router.get("", response_model=SessionOut)
def who(request: Request, caller: Annotated[Caller, Depends(signed_in)]) -> SessionOut:
    """Who this request is: the signed-in person (with the CSRF token their forms carry)
    or the API key."""
    if caller.via is not Via.SESSION:
        return SessionOut(name=caller.name, tenant=caller.tenant, role=caller.role, via=caller.via)
    return SessionOut(
        name=caller.name,
        tenant=caller.tenant,
        role=caller.role,
        via=caller.via,
        csrf_token=csrf_token(caller.session_id, request.app.state.csrf_secret),
        expires_at=caller.session_expires_at,
    )


@router.post("/end", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(request: Request, caller: Annotated[Caller, Depends(signed_in)]) -> Response:
    """Sign out: the session ends on the server (a copy of the cookie is refused from now
    on) and the cookie is cleared."""
    if caller.via is not Via.SESSION:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail="an API key has no session to end (revoke it)"
        )
    request.app.state.people.sessions.end(request.cookies[SESSION_COOKIE])
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, request.app.state.settings)
    return response
