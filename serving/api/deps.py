"""Dependencies shared by the routers: settings, the current scorer, the caller and its role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from serving.api.guard import CALLER
from serving.api.security import Caller
from serving.scorer import Scorer

bearer = HTTPBearer(auto_error=False)


async def current_scorer(request: Request) -> Scorer:
    """The scorer at the start of the request: a reload swaps it for later requests only.

    Dependencies that only read app state are `async`: a plain `def` would cost a
    thread-pool hop each, a good part of a one-claim request's few milliseconds."""
    scorer = request.app.state.scorer
    if scorer is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no model loaded: {request.app.state.load_error}",
        )
    return scorer


def require(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting callers whose key has one of `roles` (admin always).

    The key itself is checked before the body is read, by `guard.KeyCheck`; the bearer
    scheme is declared here so that OpenAPI documents it."""

    async def dependency(
        request: Request,
        _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        caller = getattr(request.state, CALLER, None)
        if caller is None:  # a route needing a role must not be among the public paths
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="send Authorization: Bearer <API key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if caller.role != "admin" and caller.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {caller.role} may not do this (needs {' or '.join(roles)})",
            )
        return caller

    return dependency


ScorerDep = Annotated[Scorer, Depends(current_scorer)]
