"""Loading the registered champion into a `Scorer`: the only way serving gets a model.

Each start-up step is logged with its duration (the `serve` command shows these lines):
loading takes long enough (tens of seconds on a large state) that silence looks like a hang.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from features.online import warm_code_lists
from model_bundle.registered import ModelUnavailableError, load_model, resolve_version
from serving.scorer import Scorer
from settings import Settings

log = logging.getLogger(__name__)
__all__ = ["ModelUnavailableError", "load_scorer", "step"]


@contextmanager
def step(name: str) -> Iterator[None]:
    """Log `name` and how long the block took, once it is done."""
    started = time.perf_counter()
    yield
    log.info("%s: %.2f s", name, time.perf_counter() - started)


def load_scorer(settings: Settings) -> Scorer:
    """The model at `settings.model_uri`, pinned to a concrete registry version."""
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
    # What the first request would otherwise pay for (about a second).
    with step("feature state lookups"):
        model.bundle.state.warm()
    with step("code lists warm-up"):
        warm_code_lists()
    # The state is millions of long-lived objects: out of the collector's reach, a full
    # collection no longer walks them in the middle of a request.
    with step("garbage collector freeze"):
        gc.collect()
        gc.freeze()
    return scorer
