"""Dependencies shared by the routers: the scorer of the caller's tenant, the caller and
its role, and the stores of the caller's tenant.

The tenant is applied here and only here: `tenant_stores` hands a route the queue, policy
store and scoring audit of `caller.tenant` (scoped by `storage/tenancy.py`, and by row-level
security on PostgreSQL), so no route takes, reads or filters a tenant itself, and another
tenant's object is simply not found (404).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from queues.policy import PolicyStore
from queues.store import WorkQueue
from serving.api.guard import CALLER
from serving.api.security import Caller
from serving.audit import AuditLog
from serving.loading import ModelUnavailableError, TenantScorer
from serving.scorer import Scorer
from storage.tenancy import DEFAULT_TENANT

bearer = HTTPBearer(auto_error=False)


async def current_scorer(request: Request) -> TenantScorer:
    """The scorer of the caller's tenant at the start of the request: a reload swaps it for
    later requests only.

    `default` answers with the scorer loaded at start-up (`app.state.scorer`); another
    tenant with its own registered model, else with that shared one, looked up on its
    first request (in the thread pool: a registry lookup, maybe a model load) and kept in
    `app.state.tenant_scorers` until a reload. Dependencies that only read app state are
    `async`: a plain `def` would cost a thread-pool hop each, a good part of a one-claim
    request's few milliseconds."""
    state = request.app.state
    tenant = signed_in(request).tenant
    if tenant == DEFAULT_TENANT:
        return TenantScorer(
            _shared_scorer(state), state.settings.denial_model_name, DEFAULT_TENANT, False
        )
    cache: TenantScorerCache = state.tenant_scorers
    found = cache.get(tenant)
    if found is not None:
        return found
    try:
        return await run_in_threadpool(cache, tenant)
    except ModelUnavailableError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no model for tenant {tenant}: {error}",
        ) from error


def _shared_scorer(state: State) -> Scorer:
    """The scorer loaded at start-up (or by the last reload); 503 saying why when none is."""
    if state.scorer is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no model loaded: {state.load_error}",
        )
    return state.scorer


class TenantScorerCache:
    """Each tenant's `TenantScorer`, loaded on its first request: `app.state.tenant_scorers`.

    `load` gives a tenant's (`load_tenant_scorer` with the service's loader and shared
    scorer). A tenant's first requests wait for one load, not one each, and never for
    another tenant's; `clear` (a reload) makes every tenant look again, and a load that
    was running meanwhile is answered but not kept, as it may hold the model replaced."""

    def __init__(self, load: Callable[[str], TenantScorer]) -> None:
        self._load = load
        self._made: dict[str, TenantScorer] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._generation = 0

    def get(self, tenant: str) -> TenantScorer | None:
        """The tenant's scorer if loaded already (a dictionary read: safe on the event loop)."""
        return self._made.get(tenant)

    def __call__(self, tenant: str) -> TenantScorer:
        with self._lock:
            loading = self._loading.setdefault(tenant, threading.Lock())
        with loading:
            found = self._made.get(tenant)
            if found is not None:
                return found
            generation = self._generation
            found = self._load(tenant)
            with self._lock:
                if generation == self._generation:
                    self._made[tenant] = found
            return found

    def clear(self) -> None:
        """Forget every tenant's scorer (after a reload)."""
        with self._lock:
            self._generation += 1
            self._made.clear()


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
        if not admits(caller.role, roles):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {caller.role} may not do this (needs {' or '.join(roles)})",
            )
        return caller

    return dependency


def admits(role: str, roles: Collection[str]) -> bool:
    """Whether `require(*roles)` lets a caller of `role` in: so a page shows only the links
    its reader may follow."""
    return role == "admin" or role in roles


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

CLAIM_ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
"""A claim id the queue could hold: no control characters (PostgreSQL refuses NUL in text,
which would be a 500 rather than the 4xx a bad id deserves)."""
ClaimId = Annotated[str, Field(min_length=1, max_length=64, pattern=CLAIM_ID_PATTERN)]
"""A claim id in a path or body: at most the queue's 64 characters (a 422 naming it)."""
LEADS = ("billing_lead", "admin")
"""Roles that may record or correct any outcome, override the amount bound and act on many
items at once (a tenant's admin passes every role check)."""
ASSIGNABLE = ("biller", "billing_lead")
"""Roles of the people work items may be assigned, reassigned or handed to."""
Worker = Annotated[Caller, Depends(require(*ASSIGNABLE))]
"""Who works queue items (and drafts letters, checks batches): a biller or billing lead."""
Lead = Annotated[Caller, Depends(require("billing_lead"))]
"""A billing lead: changes many items at once, corrects outcomes."""
QUEUE_READERS = (*ASSIGNABLE, "revops")
QueueReader = Annotated[Caller, Depends(require(*QUEUE_READERS))]
"""Who reads the queue: its workers and RevOps."""


def assignees(request: Request, caller: Caller) -> list[str]:
    """The usernames items of the caller's tenant may be assigned to: its enabled billers
    and leads (never another tenant's people, nor a disabled person's name)."""
    people = request.app.state.people.list_users(caller.tenant)
    return [user.username for user in people if user.enabled and user.role in ASSIGNABLE]


ScorerDep = Annotated[TenantScorer, Depends(current_scorer)]


async def scorer_or_reason(request: Request) -> TenantScorer | str:
    """The tenant's scorer, or why there is none: for pages that show scores beside other
    things, which must not fail whole because no model is loaded."""
    try:
        return await current_scorer(request)
    except HTTPException as error:
        if error.status_code != status.HTTP_503_SERVICE_UNAVAILABLE:
            raise
        return str(error.detail)


ScorerOrReason = Annotated[TenantScorer | str, Depends(scorer_or_reason)]
