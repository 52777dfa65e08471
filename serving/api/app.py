"""The FastAPI application: model loaded in the lifespan, one router per domain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from accounts.clock import Clock, utc_now
from accounts.people import UserStore
from accounts.sessions import SessionSecretError, csrf_secret
from queues.policy import PolicyStore
from queues.store import (
    QueueError,
    WorkQueue,
)
from serving import web
from serving.api import claims, guard, health, kpis, metrics, policy, queue, session
from serving.api.deps import TenantScorerCache, TenantStoreCache
from serving.keys import KeyRing, KeyStore
from serving.kpis import KpiService
from serving.loading import (
    ModelUnavailableError,
    TenantScorer,
    load_scorer,
    load_tenant_scorer,
    step,
)
from serving.model_health import MonitorService
from serving.scorer import Scorer
from serving.shadow import (
    ChallengerProcess,
    ChallengerRunner,
    Challengers,
    InProcess,
    ShadowScorer,
)
from serving.tenant_data import TenantData
from settings import Settings, get_settings
from storage.database import Database
from storage.tenants import get_tenant, list_tenants

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    loader: Callable[[Settings], Scorer] = load_scorer,
    clock: Clock = utc_now,
) -> FastAPI:
    """The service; `loader` is replaceable so tests can serve a bundle without a registry,
    and `clock` (the people's: sign-in, sessions, throttle) so they can move time."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.loader = loader
        with step("audit trail, queue, policy and key stores open"):
            app.state.queue = WorkQueue.from_settings(settings)
            app.state.database = database = app.state.queue.database
            app.state.tenant_stores = TenantStoreCache(app.state.queue)
            app.state.tenant_scorers = TenantScorerCache(_tenant_loader(app))
            app.state.tenant_data = TenantData(database)
            app.state.kpis = KpiService(app.state.tenant_data)
            app.state.monitor = MonitorService(app.state.tenant_data)
            # Opened once for the default tenant: imports a policy file of earlier versions.
            PolicyStore(database, legacy_file=settings.policy_path)
            app.state.people = UserStore.from_settings(database, settings, clock)
            app.state.csrf_secret = _csrf_secret(settings)
            app.state.keys = KeyRing(
                settings.api_keys,
                KeyStore(database, legacy_file=settings.key_store),
                cache_seconds=settings.key_cache_seconds,
                last_used_seconds=settings.key_last_used_seconds,
            )
            _check_bootstrap_tenants(app.state.keys, database)
        app.state.shadow = ShadowScorer(
            _challenger_runner(settings, loader),
            settings.shadow_sample,
            settings.shadow_queue_size,
        )
        app.state.shadow.start()
        app.state.scorer, app.state.load_error = None, ""
        try:
            app.state.scorer = loader(settings)
        except ModelUnavailableError as error:
            app.state.load_error = str(error)
            log.warning("starting without a model: %s", error)
        purging = asyncio.create_task(_purge_throttle(app.state.people, settings))
        yield
        purging.cancel()
        app.state.shadow.stop()
        app.state.keys.close()
        app.state.queue.close()

    app = FastAPI(
        title="DenialOps",
        summary="Denial risk and fixes for behavioral-health claims before they are sent.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(claims.router)
    app.include_router(queue.router)
    app.include_router(policy.router)
    app.include_router(kpis.router)
    app.include_router(session.router)
    web.install(app)
    app.add_exception_handler(QueueError, _queue_refusal)
    claims.document_request(app)
    guard.install(app, settings)
    metrics.install(app)  # refusals by the guard are counted too
    app.add_middleware(claims.AnswersInFlight)  # outermost: all of an answer's time counts
    return app


def _challenger_runner(
    settings: Settings, loader: Callable[[Settings], Scorer]
) -> ChallengerRunner:
    """Where shadow scoring's challengers score: a child process of their own, loading them
    as the service loads its champion (`load_scorer`), so their work takes neither the
    interpreter lock nor a core from the answers; with a test's own `loader` (a function of
    the test, which cannot be sent to another process), in the service's process."""
    if loader is load_scorer:
        return ChallengerProcess(settings)
    return InProcess(Challengers(settings, loader))


def _tenant_loader(app: FastAPI) -> Callable[[str], TenantScorer]:
    """How the service loads a tenant's scorer: its own registered model with the service's
    loader, else the shared model the service holds already (`app.state.scorer`)."""
    state = app.state

    def shared() -> Scorer:
        if state.scorer is None:
            raise ModelUnavailableError(f"the shared model is not loaded: {state.load_error}")
        return state.scorer

    def load(name: str) -> TenantScorer:
        tenant = get_tenant(state.database, name)
        if tenant is None:
            raise ModelUnavailableError(f"there is no tenant {name!r}")
        return load_tenant_scorer(state.settings, tenant, loader=state.loader, shared=shared)

    return load


async def _purge_throttle(people: UserStore, settings: Settings) -> None:
    """Every `throttle_purge_seconds`, forget the sign-in counters that no longer matter
    (in the thread pool: a database write). A failure is logged and tried again next time."""
    while True:
        await asyncio.sleep(settings.throttle_purge_seconds)
        try:
            forgotten = await run_in_threadpool(people.purge_throttle)
        except Exception:
            log.exception("purging the sign-in throttle failed")
            continue
        if forgotten:
            log.info("forgot %d sign-in throttle counter(s)", forgotten)


def _check_bootstrap_tenants(keys: KeyRing, database: Database) -> None:
    """A bootstrap key of a tenant that does not exist stops the start, naming the tenant:
    its every write would fail."""
    missing = keys.bootstrap_tenants() - {tenant.name for tenant in list_tenants(database)}
    if missing:
        raise ValueError(
            f"DENIALOPS_API_KEYS names tenant(s) {', '.join(sorted(missing))} that do not exist: "
            "add them (`denialops tenants add NAME`) or fix the keys"
        )


def _csrf_secret(settings: Settings) -> bytes | None:
    """The CSRF signing secret; None (sign-in refused, keys still work) when not set."""
    try:
        return csrf_secret(settings)
    except SessionSecretError as error:
        log.warning("browser sign-in is off: %s", error)
        return None


async def _queue_refusal(_request: Request, error: Exception) -> JSONResponse:
    """The queue's refusals as HTTP (`queue.refusal_status`); the message names the claim
    and the reason."""
    assert isinstance(error, QueueError)
    return JSONResponse({"detail": str(error)}, status_code=queue.refusal_status(error))
