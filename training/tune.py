"""`denialops tune`: an Optuna search over LightGBM parameters, resumable and tracked.

Each trial trains on the training period and is scored (and pruned) on the
validation period's log loss; the test period is never looked at, so the
figures `train` reports stay honest. The study lives in a storage file, so an
interrupted search resumes where it stopped (SQLite, or a journal file for parallel
workers); every trial is a nested MLflow
run; the best parameters are written as JSON for `denialops train --params`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna_integration import LightGBMPruningCallback

from data_contracts.reader import ContractData
from features.catalog import FEATURES
from settings import Settings
from training import tracking
from training.dataset import build_training_set
from training.fit import fit_on_periods, lightgbm_params

log = logging.getLogger(__name__)


@dataclass
class TuneResult:
    best_params: dict[str, Any]
    best_log_loss: float
    trials: int
    params_file: Path


def study_storage(path: Path) -> str | JournalStorage:
    """SQLite for the usual single search; a `.journal` file for several parallel workers
    (SQLite locks under concurrent writers). Either way the search resumes from it."""
    if path.suffix == ".journal":
        return JournalStorage(JournalFileBackend(str(path)))
    return f"sqlite:///{path}"


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    """The search space: tree size, learning rate, sampling and regularisation."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 15, 127, log=True),
        "max_depth": trial.suggest_int("max_depth", 4, 12),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 20, 400, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
    }


def tune(
    data: ContractData,
    settings: Settings,
    trials: int,
    study_name: str,
    storage_path: Path,
    params_file: Path,
    on_trial: Callable[[int, float], None] | None = None,
) -> TuneResult:
    tracking.configure(settings)
    ts = build_training_set(data, settings.validation_fraction, settings.test_fraction)
    columns = [feature.name for feature in FEATURES]
    storage_path.parent.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=study_name,
        storage=study_storage(storage_path),
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=settings.seed),
        pruner=optuna.pruners.MedianPruner(n_warmup_steps=20),
        load_if_exists=True,
    )
    done_before = len(study.trials)

    def objective(trial: optuna.Trial) -> float:
        params = lightgbm_params(settings, suggest(trial))
        params["metric"] = ["binary_logloss"]
        with mlflow.start_run(run_name=f"trial {trial.number}", nested=True):
            mlflow.log_params(trial.params)
            fitted = fit_on_periods(
                ts,
                columns,
                params,
                settings,
                callbacks=[LightGBMPruningCallback(trial, "binary_logloss", valid_name="valid")],
            )
            loss = float(fitted.booster.best_score["valid"]["binary_logloss"])
            mlflow.log_metrics(
                {"validation_log_loss": loss, "best_iteration": fitted.best_iteration}
            )
        if on_trial:
            on_trial(trial.number, loss)
        return loss

    with mlflow.start_run(run_name=f"tune {study_name}"):
        mlflow.log_params(
            {"study": study_name, "trials_before": done_before, "trials_asked": trials}
        )
        study.optimize(objective, n_trials=trials, catch=())
        best = study.best_trial
        mlflow.log_params({f"best_{k}": v for k, v in best.params.items()})
        mlflow.log_metric("best_validation_log_loss", best.value)
        params_file.parent.mkdir(parents=True, exist_ok=True)
        params_file.write_text(json.dumps(best.params, indent=2) + "\n")
        mlflow.log_artifact(str(params_file))
    return TuneResult(best.params, float(best.value), len(study.trials), params_file)
