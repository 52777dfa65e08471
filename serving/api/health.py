"""Liveness, readiness and reload: what an orchestrator and an operator need."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status

from serving.api.deps import require
from serving.api.security import Caller
from serving.loading import ModelUnavailableError

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
    """Load the current champion and swap it in; requests in flight finish on the old one."""
    try:
        scorer = request.app.state.loader(request.app.state.settings)
    except ModelUnavailableError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error
    previous = request.app.state.scorer
    request.app.state.scorer = scorer
    request.app.state.load_error = ""
    log.info(
        "key %s reloaded the model: %s -> %s",
        caller.key_id,
        previous.version if previous else "none",
        scorer.version,
    )
    return {"model_version": scorer.version}
