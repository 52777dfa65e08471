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
    pinned, version = resolve_version(uri, tracking_uri)
    return load_model(pinned), version


def resolve_version(uri: str, tracking_uri: str) -> tuple[str, str]:
    """`uri` pinned to the version its alias points at now, and that version (a URI without
    an alias is returned as is, as its own version). A registry lookup, no download."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri)
    match = ALIAS_URI.match(uri)
    if not match:
        return uri, uri
    try:
        found = mlflow.MlflowClient().get_model_version_by_alias(match["name"], match["alias"])
    except Exception as error:  # any failure means "not available", and the reason is reported
        raise ModelUnavailableError(f"cannot load {uri}: {error}") from error
    return f"models:/{match['name']}/{found.version}", str(found.version)


def load_model(uri: str) -> mlflow.pyfunc.PythonModel:
    """Download (when not local) and load the python model at a pinned `uri`."""
    try:
        return mlflow.pyfunc.load_model(uri).unwrap_python_model()
    except Exception as error:  # any failure means "not available", and the reason is reported
        raise ModelUnavailableError(f"cannot load {uri}: {error}") from error
