"""The recovery model: P(recovered) for a denial worked with a given action, from appeals history.

Trained by the same command as the denial model, tracked and registered the
same way. Only closed appeals, corrected claims and rebills teach it (a write-off
or billing the patient says nothing about whether the payer would have paid),
and the split is by action date, so it is tested on later work than it learned
from.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from data_contracts.enums import PAYER_ACTIONS
from data_contracts.reader import ContractData
from model_bundle.calibration import choose_calibrator
from model_bundle.recovery import (
    CATEGORICAL,
    COLUMNS,
    RecoveryBundle,
    RecoveryModel,
    recovery_features,
)
from settings import Settings
from training import registry, tracking
from training.dataset import TrainingDataError, time_split
from training.fit import fit_booster, lightgbm_params
from model_bundle.metrics import binary_metrics

log = logging.getLogger(__name__)
MIN_CLOSED = 300


def recovery_training_rows(data: ContractData) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Features, label (recovered or not) and action date of every closed worked appeal.

    An appeal whose claim has no remit (the contract allows it; a remit set aside in
    quarantine leaves one) has no denial to learn from: it is left out, and counted."""
    appeals = data.appeals[
        data.appeals["action"].isin(PAYER_ACTIONS) & data.appeals["outcome"].ne("pending")
    ]
    unremitted = ~appeals["claim_id"].isin(data.remits["claim_id"])
    if unremitted.any():
        log.warning(
            "%d closed appeals left out of the recovery model: their claim has no remit",
            int(unremitted.sum()),
        )
    appeals = appeals[~unremitted].reset_index(drop=True)
    if len(appeals) < MIN_CLOSED:
        raise TrainingDataError(
            f"{len(appeals)} closed appeals, corrected claims or rebills; need {MIN_CLOSED}"
        )
    remits = data.remits.set_index("claim_id").loc[appeals["claim_id"]].reset_index()
    features = recovery_features(data.claims, data.claim_lines, remits, appeals["action"])
    label = (appeals["outcome"] == "overturned").astype(int)
    return features, label, appeals["action_date"]


@dataclass
class FittedRecovery:
    bundle: RecoveryBundle
    test: pd.DataFrame
    """Features of the test period (later actions than any the model learned from)."""
    test_label: pd.Series
    rows: dict[str, pd.Index]
    cutoffs: tuple[pd.Timestamp, pd.Timestamp]


def fit_recovery(data: ContractData, settings: Settings) -> FittedRecovery:
    """Fit and calibrate the recovery model on the appeals' time split (no tracking)."""
    features, label, action_date = recovery_training_rows(data)
    part, cutoffs = time_split(action_date, settings.validation_fraction, settings.test_fraction)
    rows = {name: part.index[part.to_numpy() == name] for name in ("train", "validation", "test")}
    for name, index in rows.items():
        if label.loc[index].nunique() < 2:
            raise TrainingDataError(f"the {name} period of the appeals has only one outcome")
    params = lightgbm_params(settings, {"num_leaves": 15, "min_data_in_leaf": 20})
    fitted = fit_booster(
        features.loc[rows["train"]],
        label.loc[rows["train"]],
        features.loc[rows["validation"]],
        label.loc[rows["validation"]],
        COLUMNS,
        CATEGORICAL,
        params,
        settings,
    )
    calibrator, _ = choose_calibrator(
        fitted.predict(features.loc[rows["validation"]]),
        label.loc[rows["validation"]].to_numpy(),
        settings.calibration_min_rows_isotonic,
    )
    return FittedRecovery(
        RecoveryBundle(fitted.booster, calibrator, fitted.levels),
        features.loc[rows["test"]],
        label.loc[rows["test"]],
        rows,
        cutoffs,
    )


def train_recovery_model(data: ContractData, settings: Settings, force: bool) -> dict[str, Any]:
    """Fit, calibrate, evaluate and register the recovery model in its own MLflow run."""
    fitted = fit_recovery(data, settings)
    bundle, test = fitted.bundle, fitted.test
    with mlflow.start_run(run_name="denial-recovery", nested=mlflow.active_run() is not None):
        mlflow.log_params({"rows_" + n: len(i) for n, i in fitted.rows.items()})
        mlflow.log_params(
            {"validation_start": fitted.cutoffs[0].date(), "test_start": fitted.cutoffs[1].date()}
        )
        metrics = binary_metrics(fitted.test_label.to_numpy(), bundle.score(test))
        mlflow.log_param("calibration", bundle.calibrator.method)
        mlflow.log_metrics(tracking.prefixed("test", metrics))
        fingerprint = registry.content_fingerprint(
            bundle.booster.model_to_string(), bundle.calibrator.to_dict(), bundle.levels
        )
        mlflow.set_tag(registry.FINGERPRINT_TAG, fingerprint)
        same = registry.identical_champion(settings.recovery_model_name, fingerprint, force)
        if same is not None:
            version, alias, reason = same.version, same.alias, same.reason
        else:
            version, alias, reason = _register(fitted, metrics, fingerprint, settings, force)
        mlflow.set_tags({"promotion": alias, "promotion_reason": reason})
    return {"version": version, "alias": alias, "reason": reason, "test_metrics": metrics}


def _register(
    fitted: FittedRecovery,
    metrics: dict[str, float],
    fingerprint: str,
    settings: Settings,
    force: bool,
) -> tuple[str, str, str]:
    """Log the bundle, judge it against the champion and register it: version, alias, why."""
    test = fitted.test
    with tempfile.TemporaryDirectory() as folder:
        fitted.bundle.save(Path(folder) / "bundle")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=RecoveryModel(),
            artifacts={"bundle": str(Path(folder) / "bundle")},
            signature=infer_signature(test.head(5), pd.DataFrame({"p_recover": [0.5] * 5})),
            input_example=test.head(5),
            pip_requirements=tracking.pip_requirements(),
        )
    champion, note = registry.champion_metrics(
        settings.recovery_model_name,
        fitted.test_label,
        lambda model: model.bundle.score(test),
    )
    alias, reason = registry.decide(metrics, champion, note, force)
    version = registry.register(info.model_uri, settings.recovery_model_name, alias, fingerprint)
    return version, alias, reason
