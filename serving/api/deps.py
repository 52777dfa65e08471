"""Dependencies shared by the routers: the current scorer, the caller and its role, and the
stores of the caller's tenant.

The tenant is applied here and only here: `tenant_stores` hands a route the queue, policy
store and scoring audit of `caller.tenant` (scoped by `storage/tenancy.py`, and by row-level
security on PostgreSQL), so no route takes, reads or filters a tenant itself, and another
tenant's object is simply not found (404).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from queues.policy import PolicyStore
from queues.store import WorkQueue
from serving.api.guard import CALLER
from serving.api.security import Caller
from serving.audit import AuditLog
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
    """A dependency admitting callers (a key or a person) with one of `roles`; a tenant's
    admin always (within its tenant: the stores are its tenant's).

    The key or session itself is checked before the body is read, by `guard.KeyCheck`;
    the bearer scheme is declared here so that OpenAPI documents it."""

    async def dependency(
        request: Request,
        _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        caller = signed_in(request)
        if caller.role != "admin" and caller.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {caller.role} may not do this (needs {' or '.join(roles)})",
            )
        return caller

    return dependency


def signed_in(request: Request) -> Caller:
    """The caller the guard found; 401 if none (a route needing one must not be public)."""
    caller = getattr(request.state, CALLER, None)
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="send Authorization: Bearer <API key>, or sign in",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


@dataclass(frozen=True)
class TenantStores:
    """One tenant's stores, as a request of that tenant sees them."""

    tenant: str
    queue: WorkQueue
    policies: PolicyStore
    audit: AuditLog


class TenantStoreCache:
    """`TenantStores` per tenant, made once each (they hold no connection, only the shared
    database's scope): `app.state.tenant_stores`."""

    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue
        self._made: dict[str, TenantStores] = {}
        self._lock = threading.Lock()

    def __call__(self, tenant: str) -> TenantStores:
        with self._lock:
            found = self._made.get(tenant)
            if found is None:
                database = self._queue.database
                found = self._made[tenant] = TenantStores(
                    tenant,
                    self._queue.for_tenant(tenant),
                    PolicyStore(database, tenant=tenant),
                    AuditLog(database, tenant=tenant),
                )
            return found


async def tenant_stores(request: Request) -> TenantStores:
    """The stores of the caller's tenant: the one place a request's tenant is applied."""
    return request.app.state.tenant_stores(signed_in(request).tenant)


Stores = Annotated[TenantStores, Depends(tenant_stores)]
ScorerDep = Annotated[Scorer, Depends(current_scorer)]
