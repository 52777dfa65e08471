"""Liveness, readiness and reload: what an orchestrator and an operator need."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, status

from serving.api.deps import require
from serving.api.security import Caller
from serving.loading import ModelUnavailableError
from storage import audit

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, str]:
    """200 once a model is loaded; 503 saying why not otherwise."""
    scorer = request.app.state.scorer
    if scorer is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no model loaded: {request.app.state.load_error}",
        )
    return {"status": "ready", "model_version": scorer.version}


@router.post("/v1/admin/reload")
def reload(
    request: Request, caller: Annotated[Caller, Depends(require("admin"))]
) -> dict[str, str]:
    """Load the current champion and swap it in; requests in flight finish on the old one.
    The tenants' scorers are forgotten: each loads its champion (or takes the new shared
    model) on its next request; so are the challengers shadow scoring uses.

    The model serves every tenant, so only an operator of the installation (an admin key
    of the `default` tenant, `security.Caller.operator`) reloads it: a tenant's admin
    gets 403. The reload is written
    to the audit trail before the swap: a model that could not be audited is not swapped
    in (503)."""
    if not caller.operator:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="reloading the model is the installation operator's (an admin API key of "
            "the default tenant), not a tenant admin's",
        )
    try:
        scorer = request.app.state.loader(request.app.state.settings)
    except ModelUnavailableError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error
    previous = request.app.state.scorer
    row = {
        "at": datetime.now(UTC),
        "actor": caller.name,
        "claim_id": None,
        "event": "model_reloaded",
        "detail": {"from": previous.version if previous else None, "to": scorer.version},
    }
    try:
        # The service's model: recorded in the default tenant's trail until models are
        # registered per tenant.
        with request.app.state.database.scope().writing() as connection:
            audit.append(connection, [row])
    except sa.exc.SQLAlchemyError as error:
        log.error("model reload not audited, so not done: %s", error)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the audit trail cannot be written, so the model was not reloaded",
        ) from error
    request.app.state.scorer = scorer
    request.app.state.load_error = ""
    # Every tenant looks for its champion again, and the shared ones take the new model;
    # the challengers are looked up again too (a promotion moves both aliases).
    request.app.state.tenant_scorers.clear()
    request.app.state.shadow.forget_challengers()
    log.info(
        "key %s reloaded the model: %s -> %s",
        caller.name,
        previous.version if previous else "none",
        scorer.version,
    )
    return {"model_version": scorer.version}
