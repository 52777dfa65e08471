"""MLflow wiring: the store, the experiment, and what a logged pyfunc needs offline."""

from __future__ import annotations

import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow

from settings import Settings

RUNTIME_PACKAGES = ("lightgbm", "numpy", "pandas", "pyarrow", "scikit-learn", "numba", "pandera")


def configure(settings: Settings) -> str:
    """Point MLflow at the configured store (SQLite in the working directory by default)."""
    # Logging a model otherwise runs a pip dry-run against the network.
    os.environ.setdefault("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = settings.resolved_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(settings.experiment)
    return uri


def pip_requirements() -> list[str]:
    """Pinned runtime packages of the bundle; the denialops code itself comes from the install."""
    return [f"{name}=={metadata.version(name)}" for name in RUNTIME_PACKAGES]


def log_json(name: str, payload: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
        mlflow.log_artifact(str(path))


def log_frame(name: str, frame) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        frame.to_csv(path, index=False)
        mlflow.log_artifact(str(path))


def prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}_{key}": value for key, value in metrics.items()}
