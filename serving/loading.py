"""Loading the registered champion into a `Scorer`: the only way serving gets a model."""

from __future__ import annotations

import gc
import logging

from model_bundle.registered import ModelUnavailableError, load_registered
from serving.scorer import Scorer
from settings import Settings

log = logging.getLogger(__name__)
__all__ = ["ModelUnavailableError", "load_scorer"]


def load_scorer(settings: Settings) -> Scorer:
    """The model at `settings.model_uri`, pinned to a concrete registry version."""
    model, version = load_registered(settings.model_uri, settings.resolved_tracking_uri())
    log.info("loaded %s (version %s)", settings.model_uri, version)
    scorer = Scorer(
        model.bundle,
        version,
        settings.review_threshold,
        settings.hold_threshold,
        settings.drivers_per_claim,
        settings.fix_min_push,
    )
    scorer.warm()
    # The state is millions of long-lived objects: out of the collector's reach, a full
    # collection no longer walks them in the middle of a request.
    gc.collect()
    gc.freeze()
    return scorer
