"""Rendering pages: the templates, their filters, and the headers every page carries.

Every page is rendered with the caller (name, role, tenant) and, for a browser session,
its CSRF token, which the layout puts on every form and in htmx's request headers. Pages
hold claims and patient ids, so browsers must not keep them (`Cache-Control: no-store`);
the Content-Security-Policy allows this origin's own scripts and styles only.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from accounts.sessions import csrf_token
from data_contracts.denials import split_list
from serving.api.deps import ASSIGNABLE, QUEUE_READERS, admits
from serving.api.guard import API_PREFIX
from serving.api.kpis import reads_kpis
from serving.api.security import Caller, Via

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def money(value: float | None) -> str:
    """$1,234.56, or an em dash when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def codes(value: str | None) -> str:
    """A `;`-separated code list as the page shows it."""
    return ", ".join(split_list(value)) or "—"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet takes a cell starting with for a formula."""


def spreadsheet_cell(value: str | None) -> str:
    """A text cell a spreadsheet will not run as a formula (a leading apostrophe)."""
    value = value or ""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def spreadsheet_safe(frame: pd.DataFrame) -> bytes:
    """`frame` as CSV bytes, its text cells made `spreadsheet_cell`s: a download people
    open in a spreadsheet, some cells of which came from an upload."""
    text = frame.select_dtypes(include=["object", "string"]).columns
    return (
        frame.assign(**{c: frame[c].map(spreadsheet_cell) for c in text})
        .to_csv(index=False)
        .encode()
    )


TEMPLATES.env.filters.update(money=money, percent=percent, codes=codes)
TEMPLATES.env.globals.update(
    reads_kpis=reads_kpis,
    # The navigation's links, to the pages the caller may open only.
    reads_queue=lambda caller: admits(caller.role, QUEUE_READERS),
    works_claims=lambda caller: admits(caller.role, ASSIGNABLE),
)


def page(
    request: Request,
    template: str,
    caller: Caller | None,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """`template` rendered for `caller` with `context`, with the pages' headers."""
    # Today in UTC, as the queue counts days and checks dates (a closing date's default).
    values = {"caller": caller, "csrf": _csrf(request, caller), "today": datetime.now(UTC).date()}
    response = TEMPLATES.TemplateResponse(
        request, template, {**values, **(context or {})}, status_code=status_code
    )
    response.headers.update(HEADERS)
    return response


def _csrf(request: Request, caller: Caller | None) -> str | None:
    secret = request.app.state.csrf_secret
    if caller is None or caller.via is not Via.SESSION or secret is None:
        return None
    return csrf_token(caller.session_id, secret)


def wants_page(request: Request) -> bool:
    """A person's browser asking for a page (not the JSON API)."""
    return not request.url.path.startswith(API_PREFIX) and "text/html" in request.headers.get(
        "accept", ""
    )


def install_error_pages(app: FastAPI) -> None:
    """Refusals of page requests as pages (the API keeps its JSON answers)."""

    async def handler(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if not wants_page(request):
            return await http_exception_handler(request, error)
        caller = getattr(request.state, "caller", None)
        context = {"status": error.status_code, "detail": error.detail}
        return page(request, "error.html", caller, context, status_code=error.status_code)

    app.add_exception_handler(StarletteHTTPException, handler)
