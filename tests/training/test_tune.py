"""Tuning resumes from its storage and hands its best parameters to training."""

from __future__ import annotations

import json

import optuna
import pytest

from training.tune import study_storage, tune


@pytest.mark.usefixtures("mlflow_store")
@pytest.mark.parametrize("storage_name", ["study.db", "study.journal"])
def test_tuning_resumes_and_writes_best_params(
    train_data, settings, tmp_path, storage_name
) -> None:
    journal, params = tmp_path / storage_name, tmp_path / "best.json"
    first = tune(train_data, settings, 2, "resume-test", journal, params)
    assert first.trials == 2
    again = tune(train_data, settings, 1, "resume-test", journal, params)
    assert again.trials == 3
    study = optuna.load_study(study_name="resume-test", storage=study_storage(journal))
    assert len(study.trials) == 3
    assert json.loads(params.read_text()) == study.best_trial.params
    assert again.best_log_loss == study.best_value
