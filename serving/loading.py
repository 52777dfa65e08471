"""Loading the registered champion into a `Scorer`: the only way serving gets a model."""

from __future__ import annotations

import logging
import os
import re

import mlflow

from denialops.config import Settings
from serving.scorer import Scorer

log = logging.getLogger(__name__)
ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)$")


class ModelUnavailableError(RuntimeError):
    """No model could be loaded; the service stays up and says why."""


def load_scorer(settings: Settings) -> Scorer:
    """The model at `settings.model_uri`, pinned to a concrete registry version."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(settings.resolved_tracking_uri())
    uri, version = settings.model_uri, settings.model_uri
    match = ALIAS_URI.match(uri)
    try:
        if match:
            found = mlflow.MlflowClient().get_model_version_by_alias(match["name"], match["alias"])
            version = str(found.version)
            uri = f"models:/{match['name']}/{version}"
        model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    except Exception as error:  # any failure means "not ready", and the reason is reported
        raise ModelUnavailableError(f"cannot load {settings.model_uri}: {error}") from error
    log.info("loaded %s (version %s)", settings.model_uri, version)
    scorer = Scorer(
        model.bundle,
        version,
        settings.review_threshold,
        settings.hold_threshold,
        settings.drivers_per_claim,
    )
    scorer.bundle.state.warm()
    return scorer
