"""Loading a registered model by URI, pinned to the concrete version an alias points at.

Serving and the queue both load what training registered, and both must say
which version they hold (an alias can move under them between two calls).
"""

from __future__ import annotations

import os
import re

import mlflow

ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)$")


class ModelUnavailableError(RuntimeError):
    """No model could be loaded; callers stay up and say why."""


def load_registered(uri: str, tracking_uri: str) -> tuple[mlflow.pyfunc.PythonModel, str]:
    """The python model behind `uri` and its registry version (or the URI itself)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri)
    version = uri
    match = ALIAS_URI.match(uri)
    try:
        if match:
            found = mlflow.MlflowClient().get_model_version_by_alias(match["name"], match["alias"])
            version = str(found.version)
            uri = f"models:/{match['name']}/{version}"
        model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    except Exception as error:  # any failure means "not available", and the reason is reported
        raise ModelUnavailableError(f"cannot load {uri}: {error}") from error
    return model, version
