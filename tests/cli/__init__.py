"""Helpers the CLI tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple]:
    """Every command of the CLI (`typer.main.get_command(app)`) by its words, e.g.
    ('queue', 'rank'), and the command."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def training_env(folder: Path) -> dict[str, str]:
    """The environment of commands that train and rank: MLflow, the database and the policy
    file in `folder` (an earlier in-process command may have pointed MLflow elsewhere), and
    training kept small, for behaviour, not accuracy."""
    return {
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "DENIALOPS_DATABASE_URL": f"sqlite:///{folder / 'queue.db'}",
        "DENIALOPS_POLICY_PATH": str(folder / "policy.yaml"),
        "DENIALOPS_MAX_BOOST_ROUNDS": "100",
        "DENIALOPS_SHAP_SAMPLE_ROWS": "200",
    }
