"""The web pages people work in (billers, billing leads), served by the same app as the
JSON API and calling the same services: never a second copy of queue logic.

`install(app)` adds the pages' routers, the static files and the error pages. Templates
are in `templates/`, vendored scripts and styles in `static/` (no CDN, no build step).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from serving.web import (
    auth,
    bulk,
    check,
    claim,
    dashboards,
    letters,
    model_health,
    policy,
    queue,
    revops,
)
from serving.web.alerts import AuthAlertCache
from serving.web.render import install_error_pages

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the pages on `app`."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    app.include_router(queue.router)
    app.include_router(bulk.router)
    app.state.auth_alerts = AuthAlertCache()
    app.include_router(check.router)
    app.state.check_results = check.LastResults()
    app.include_router(claim.router)
    app.include_router(letters.router)
    app.include_router(dashboards.router)
    app.include_router(revops.router)
    app.include_router(policy.router)
    app.include_router(model_health.router)
    install_error_pages(app)
