"""Loading the registered champion into a `Scorer`: the only way serving gets a model.

A tenant scores with its own registered model (`Tenant.models`) once it has one; until
then, a tenant with too little history is served by the shared model (the `default`
tenant's), and `load_tenant_scorer` says which one answered.

Each start-up step is logged with its duration (the `serve` command shows these lines):
loading takes long enough (tens of seconds on a large state) that silence looks like a hang.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from features.online import warm_code_lists
from model_bundle.registered import ModelUnavailableError, load_model, resolve_version
from serving.scorer import Scorer
from settings import Settings
from storage.tenancy import DEFAULT_TENANT
from storage.tenants import Tenant

log = logging.getLogger(__name__)
__all__ = [
    "ModelUnavailableError",
    "TenantScorer",
    "answering",
    "load_batch_scorer",
    "load_scorer",
    "load_tenant_scorer",
    "step",
]


@dataclass(frozen=True, slots=True)
class TenantScorer:
    """A tenant's scorer and whose model it is: every answer says which model answered."""

    scorer: Scorer
    model_name: str
    """The registered model scoring (its version is `scorer.version`)."""
    model_tenant: str
    """The tenant whose model it is: the tenant's own, or `default` (the shared model)."""
    shared: bool
    """Whether the shared model answers for a tenant that has none of its own."""


@contextmanager
def step(name: str) -> Iterator[None]:
    """Log `name` and how long the block took, once it is done."""
    started = time.perf_counter()
    yield
    log.info("%s: %.2f s", name, time.perf_counter() - started)


def answering(
    settings: Settings, tenant: Tenant, *, recovery: bool = False
) -> tuple[Settings, bool]:
    """The settings whose denial (or `recovery`) model answers for `tenant`: its own
    (`Tenant.models`) when registered, else the shared `settings`; and whether shared.

    Only a tenant model that is not registered falls back: one registered but failing to
    load is an error when loaded, not a silent switch to the shared model."""
    own = tenant.models(settings)
    if own is settings:
        return settings, False
    uri = own.recovery_model_uri if recovery else own.model_uri
    try:
        with step(f"registry lookup of {uri}"):
            resolve_version(uri, own.resolved_tracking_uri())
    except ModelUnavailableError as error:
        log.info(
            "tenant %s has no model of its own (%s): the shared one answers", tenant.name, error
        )
        return settings, True
    return own, False


def load_scorer(settings: Settings) -> Scorer:
    """The model at `settings.model_uri`, pinned to a concrete registry version, ready to
    answer requests: its state's lookups built, out of the garbage collector's walk."""
    scorer = load_batch_scorer(settings)
    # What the first request would otherwise pay for (about a second).
    with step("feature state lookups"):
        scorer.bundle.state.warm()
    with step("code lists warm-up"):
        warm_code_lists()
    # The state is millions of long-lived objects: out of the collector's reach, a full
    # collection no longer walks them in the middle of a request.
    with step("garbage collector freeze"):
        gc.collect()
        gc.freeze()
    return scorer


def load_batch_scorer(settings: Settings) -> Scorer:
    """`load_scorer` for a batch command: the state's lookups are not built. They are
    Python dictionaries over every key of the history (gigabytes at millions of claims),
    which a batch over a data directory, bringing its own features, never reads; a
    lookup that is read is built on first use."""
    with step(f"registry lookup of {settings.model_uri}"):
        uri, version = resolve_version(settings.model_uri, settings.resolved_tracking_uri())
    with step(f"bundle download and load of {uri}"):
        model = load_model(uri)
    scorer = Scorer(
        model.bundle,
        version,
        settings.review_threshold,
        settings.hold_threshold,
        settings.drivers_per_claim,
        settings.fix_min_push,
    )
    return scorer


def load_tenant_scorer(
    settings: Settings,
    tenant: Tenant,
    *,
    loader: Callable[[Settings], Scorer] = load_scorer,
    shared: Callable[[], Scorer] | None = None,
) -> TenantScorer:
    """`tenant`'s champion when it has one registered, else the shared one (`settings`'
    `model_uri`, the `default` tenant's); `ModelUnavailableError` when neither is.

    `loader` loads a model; `shared` gives the shared model when one is loaded already
    (the service's, loaded at start-up), so tenants without a model of their own do not
    each hold a copy of it."""
    chosen, is_shared = answering(settings, tenant)
    owner = DEFAULT_TENANT if is_shared else tenant.name
    scorer = shared() if chosen is settings and shared is not None else loader(chosen)
    return TenantScorer(scorer, chosen.denial_model_name, owner, is_shared)
