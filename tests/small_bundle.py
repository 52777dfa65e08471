"""A small denial bundle trained in process, without MLflow, for tests that need a model
to score with (serving) or to watch (monitoring)."""

from __future__ import annotations

from data_contracts.reader import ContractData
from features.catalog import CATEGORICAL, FEATURES
from features.pipeline import build_state
from model_bundle.calibration import choose_calibrator
from model_bundle.denial import DenialRiskBundle
from model_bundle.profile import FeatureProfile
from settings import Settings
from training.dataset import build_training_set
from training.fit import fit_booster, lightgbm_params


def small_bundle(data: ContractData, rounds: int = 150) -> DenialRiskBundle:
    """Trained on the train period, calibrated on validation, profiled on the test period
    (as `denialops train` does), with the state after all of `data`."""
    settings = Settings(max_boost_rounds=rounds, early_stopping_rounds=20)
    ts = build_training_set(data, 0.15, 0.15)
    train, valid, test = ts.rows("train"), ts.rows("validation"), ts.rows("test")
    fitted = fit_booster(
        ts.features.loc[train],
        ts.label.loc[train],
        ts.features.loc[valid],
        ts.label.loc[valid],
        [f.name for f in FEATURES],
        sorted(CATEGORICAL),
        lightgbm_params(settings),
        settings,
    )
    calibrator, _ = choose_calibrator(
        fitted.predict(ts.features.loc[valid]), ts.label.loc[valid].to_numpy(), 1000
    )
    tested = ts.features.loc[test, fitted.columns]
    profile = FeatureProfile.from_frame(
        tested, fitted.levels, calibrator.transform(fitted.predict(tested))
    )
    return DenialRiskBundle(
        fitted.booster,
        calibrator,
        fitted.columns,
        fitted.levels,
        build_state(data),
        profile=profile,
    )
