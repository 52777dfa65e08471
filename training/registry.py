"""Registration and the promotion gate: a new model is champion only if it beats the champion.

"Beats" means on the same test period, scored from the same point-in-time
features: ROC-AUC no lower and Brier no higher, and better in at least one.
Otherwise the new version is registered as `challenger` and the reason says by
how much it fell short. `--force` overrides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from training.metrics import binary_metrics

log = logging.getLogger(__name__)
CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass
class Decision:
    alias: str
    version: str
    reason: str
    champion_metrics: dict[str, float] | None = None


def current_champion(name: str):
    """The champion's model version, or None when the model or its alias does not exist yet."""
    try:
        return mlflow.MlflowClient().get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def champion_metrics(
    name: str,
    label: pd.Series,
    score: Callable[[object], np.ndarray],
) -> tuple[dict[str, float] | None, str]:
    """Metrics of the current champion on the candidate's test period, or None and why not.

    `score` takes the champion's unwrapped python model and returns its P(denial) on the
    test claims, so both models are judged on identical rows and features.
    """
    version = current_champion(name)
    if version is None:
        return None, "no champion yet"
    try:
        model = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}").unwrap_python_model()
        p = score(model)
    except (KeyError, ValueError, MlflowException, OSError) as error:
        return None, f"champion version {version.version} cannot score this test period: {error}"
    return binary_metrics(label.to_numpy(), p), f"champion is version {version.version}"


def decide(
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    champion_note: str,
    force: bool,
) -> tuple[str, str]:
    """The alias the candidate earns, and a sentence saying why."""
    ours = f"ROC-AUC {candidate['roc_auc']:.4f}, Brier {candidate['brier']:.4f}"
    if force:
        return CHAMPION, f"--force: promoted regardless ({ours}; {champion_note})"
    if champion is None:
        if champion_note == "no champion yet":
            return CHAMPION, f"first model: {ours}"
        return CHALLENGER, f"{champion_note}; use --force to promote ({ours})"
    theirs = f"ROC-AUC {champion['roc_auc']:.4f}, Brier {champion['brier']:.4f}"
    no_worse = (
        candidate["roc_auc"] >= champion["roc_auc"] and candidate["brier"] <= champion["brier"]
    )
    better = candidate["roc_auc"] > champion["roc_auc"] or candidate["brier"] < champion["brier"]
    if no_worse and better:
        return CHAMPION, f"beats the champion on the same test period: {ours} vs {theirs}"
    return CHALLENGER, (
        f"does not beat the champion on the same test period: {ours} vs {theirs} "
        "(needs ROC-AUC no lower and Brier no higher); use --force to promote"
    )


def register(model_uri: str, name: str, alias: str) -> str:
    """Register the logged model and give it `alias`; returns the new version."""
    version = mlflow.register_model(model_uri, name).version
    mlflow.MlflowClient().set_registered_model_alias(name, alias, version)
    log.info("registered %s version %s as %s", name, version, alias)
    return str(version)
