"""Signing in and out in the browser: the sign-in page posts to itself, and every page's
"Sign out" button ends the session on the server. The checks (same origin, throttle,
password) are the JSON sign-in's own (`serving.api.session.start_session`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from serving.api.deps import signed_in
from serving.api.guard import PAGE_SIGN_IN, SESSION_COOKIE, clear_session_cookie
from serving.api.security import Caller, Via
from serving.api.session import SignInIn, start_session
from serving.web.dashboards import LEADERSHIP
from serving.web.model_health import MODEL_HEALTH
from serving.web.render import page
from serving.web.revops import REVOPS

router = APIRouter(include_in_schema=False)
HOME = "/"
"""Where signing in leads unless the person was on their way somewhere: `home` sends each
to their own first page."""
WORK_QUEUE = "/queue"
LANDING = {"billing_lead": LEADERSHIP, "revops": REVOPS, "data_scientist": MODEL_HEALTH}
"""First pages other than the work queue, by role: each reader of the KPIs their dashboard,
a data scientist the champion's health."""


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never `//host` or a URL),
    else home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    return target


@router.get("/")
def home(caller: Annotated[Caller, Depends(signed_in)]) -> RedirectResponse:
    """Each person's first page: the leadership dashboard for billing leads, the RevOps
    dashboard for RevOps, Model health for data scientists, the work queue for everyone
    else."""
    target = LANDING.get(caller.role, WORK_QUEUE)
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get(PAGE_SIGN_IN)
def sign_in_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form; `next` is where the person goes after (this site's paths only)."""
    return page(request, "sign_in.html", None, {"next": safe_next(next)})


@router.post(PAGE_SIGN_IN)
def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    """Sign in, then on to where the person was going; a refusal shows the form again with
    the reason (the same words for a wrong username or password)."""
    target = safe_next(next)
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    try:
        if not username or not password:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "enter your username and password"
            )
        start_session(request, response, SignInIn(username=username, password=password))
    except HTTPException as refusal:
        context = {"next": target, "error": refusal.detail, "username": username}
        answer = page(request, "sign_in.html", None, context, status_code=refusal.status_code)
        if refusal.headers:
            answer.headers.update(refusal.headers)
        return answer
    return response


@router.post("/sign-out")
def sign_out(request: Request, caller: Annotated[Caller, Depends(signed_in)]) -> Response:
    """End the session on the server, clear the cookie, back to the sign-in page."""
    if caller.via is Via.SESSION:
        request.app.state.people.sessions.end(request.cookies[SESSION_COOKIE])
    response = RedirectResponse(
        f"{PAGE_SIGN_IN}?signed_out=1", status_code=status.HTTP_303_SEE_OTHER
    )
    clear_session_cookie(response, request.app.state.settings)
    return response
