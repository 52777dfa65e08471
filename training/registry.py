"""Registration and the promotion gate: a new model is champion only if it beats the champion.

"Beats" means on the same test period, scored from the same point-in-time
features: ROC-AUC no lower and Brier no higher, and better in at least one.
Otherwise the new version is registered as `challenger` and the reason says how
each metric compares and what a challenger must do. `--force` overrides.

A model identical to the champion (same content fingerprint: booster, calibrator,
data and parameters, kept as a model-version tag) is not registered again:
retraining on unchanged data must not pile up versions that differ in nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from model_bundle.metrics import binary_metrics

log = logging.getLogger(__name__)
CHAMPION = "champion"
CHALLENGER = "challenger"
FINGERPRINT_TAG = "content_fingerprint"
"""Model-version tag: `content_fingerprint` of what the version scores with."""
GATE = (
    "a challenger must raise ROC-AUC or lower Brier, without worsening the other; "
    "use --force to promote"
)


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


def content_fingerprint(*parts: Any) -> str:
    """A digest of everything that decides a model's scores (e.g. the booster's model text,
    which holds its parameters, the calibrator, the data fingerprint); parts must be JSON."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


NETWORK_PARAMETERS = ("machines", "local_listen_port", "time_out", "machine_list_filename")
"""Parameters in a booster's model text that say where it was trained, not what it is: a
Dask fit's worker addresses and ports change from run to run."""


def booster_text(booster: lgb.Booster) -> str:
    """The booster's model text for `content_fingerprint`, without `NETWORK_PARAMETERS`."""
    where = tuple(f"[{name}:" for name in NETWORK_PARAMETERS)
    return "\n".join(
        line for line in booster.model_to_string().splitlines() if not line.startswith(where)
    )


def identical_champion(name: str, fingerprint: str, force: bool) -> Decision | None:
    """The champion, when its fingerprint is `fingerprint`: then there is nothing to register,
    unless `force` (--force registers and promotes whatever was trained, as the user said)."""
    version = None if force else current_champion(name)
    if version is None or (version.tags or {}).get(FINGERPRINT_TAG) != fingerprint:
        return None
    reason = (
        f"identical to champion version {version.version} (same booster, calibrator, data "
        "and parameters); nothing registered"
    )
    return Decision(CHAMPION, str(version.version), reason)


def _python_model(uri: str) -> object:
    return mlflow.pyfunc.load_model(uri).unwrap_python_model()


def champion_metrics(
    name: str,
    label: pd.Series,
    score: Callable[[Any], np.ndarray],
    load: Callable[[str], Any] = _python_model,
) -> tuple[dict[str, float] | None, str]:
    """Metrics of the current champion on the candidate's test period, or None and why not.

    `load` loads the champion from its URI (by default its unwrapped python model) and
    `score` takes that and returns its P(denial) on the test claims, so both models are
    judged on identical rows and features.
    """
    version = current_champion(name)
    if version is None:
        return None, "no champion yet"
    try:
        model = load(f"models:/{name}@{CHAMPION}")
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
    auc = _versus("ROC-AUC", candidate["roc_auc"], champion["roc_auc"], better="higher")
    brier = _versus("Brier", candidate["brier"], champion["brier"], better="lower")
    return CHALLENGER, (
        f"does not beat the champion on the same test period: {auc}, and {brier}; {GATE}"
    )


def _versus(metric: str, ours: float, theirs: float, better: str) -> str:
    """How one metric compares, e.g. "Brier 0.0850 is higher than the champion's 0.0812
    (worse)"; with enough decimals that two different values never print alike."""
    if ours == theirs:
        return f"{metric} {ours:.4f} equals the champion's"
    digits = next((d for d in range(4, 17) if f"{ours:.{d}f}" != f"{theirs:.{d}f}"), 17)
    direction = "higher" if ours > theirs else "lower"
    verdict = "better" if direction == better else "worse"
    return (
        f"{metric} {ours:.{digits}f} is {direction} than the champion's {theirs:.{digits}f} "
        f"({verdict})"
    )


def register(model_uri: str, name: str, alias: str, fingerprint: str) -> str:
    """Register the logged model with its content fingerprint and give it `alias`; returns the
    new version."""
    version = mlflow.register_model(model_uri, name, tags={FINGERPRINT_TAG: fingerprint}).version
    mlflow.MlflowClient().set_registered_model_alias(name, alias, version)
    log.info("registered %s version %s as %s", name, version, alias)
    return str(version)
