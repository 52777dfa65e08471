"""`denialops train`: fit, calibrate, evaluate, track and register the denial model.

One MLflow run holds everything a data scientist needs to trust or reject the
model: parameters, the data fingerprint, the feature list, validation and test
metrics of the model and of two baselines on the same split, per-group tables,
the HTML report, and the pyfunc bundle with its signature. The registry alias
follows the promotion gate in `training.registry`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from cluster import Engine
from data_contracts.reader import ContractData
from features.catalog import CATEGORICAL, CLAIM_ONLY, FEATURES
from features.sharding import Shards
from features.state import STATE_VERSION
from model_bundle.calibration import Calibrator, choose_calibrator
from model_bundle.denial import DenialRiskBundle, DenialRiskModel, load_for_features
from model_bundle.metrics import binary_metrics, category_metrics, group_metrics
from model_bundle.profile import FeatureProfile
from model_bundle.rows import to_rows
from reports import write_report
from settings import Settings
from training import registry, report, tracking
from training.dataset import TrainingDataError, TrainingSet, build_training_set
from training.distributed import (
    appealed_claims,
    claims_of,
    cluster_training_set,
    collect_claim_columns,
    collect_claims,
)
from training.fit import LOGISTIC_MAX_ROWS, fit_logistic, fit_on_periods, lightgbm_params
from training.recovery import train_recovery_model

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
ALL_FEATURES = [feature.name for feature in FEATURES]
REPORT_COLUMNS = ["payer_id", "program"]
"""The claim columns the evaluation report groups the test period by."""
MODEL_PATH = "model"
"""The run's artifact folder of the logged bundle."""
PROFILE_MAX_ROWS = 100_000
"""The bundle's reference profile is drawn from at most this many test claims: enough for
its bins' shares to two decimals, and a bounded sample for the Dask engine to collect."""


@dataclass
class TrainResult:
    run_id: str
    version: str
    alias: str
    reason: str
    test_metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    calibration: str
    test_claims: pd.Index
    """The test-period claims every test metric is computed on."""
    recovery: dict[str, Any] = field(default_factory=dict)
    recovery_note: str = ""


@dataclass
class Calibrated:
    """A model's raw scorer calibrated on the validation period, with its calibrated
    P(denial) of the validation and test periods (one pass over each)."""

    calibrator: Calibrator
    scores: dict[str, float]
    """`choose_calibrator`'s figures of the chosen calibration."""
    validation: np.ndarray
    test: np.ndarray


def _calibrated(
    raw: Callable[[pd.DataFrame], np.ndarray], ts: TrainingSet, settings: Settings
) -> Calibrated:
    """Calibrate a scorer on the validation period and score both held-out periods."""
    valid_raw = ts.predict("validation", raw)
    calibrator, scores = choose_calibrator(
        valid_raw,
        ts.label.loc[ts.rows("validation")].to_numpy(),
        settings.calibration_min_rows_isotonic,
    )
    return Calibrated(
        calibrator,
        scores,
        calibrator.transform(valid_raw),
        calibrator.transform(ts.predict("test", raw)),
    )


def _baselines(ts: TrainingSet, params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Test-period P(denial) of the claim-columns-only LightGBM and the logistic regression,
    each calibrated the same way as the model."""
    train = ts.held("train")
    claim_only = fit_on_periods(ts, list(CLAIM_ONLY), params, settings).predict
    logistic = fit_logistic(
        ts.features.loc[train], ts.label.loc[train], ALL_FEATURES, sorted(CATEGORICAL)
    )
    return {
        name: _calibrated(raw, ts, settings).test
        for name, raw in (("claim_only_lightgbm", claim_only), ("logistic_regression", logistic))
    }


def _log_bundle(bundle: DenialRiskBundle, examples: ContractData, features: pd.DataFrame) -> str:
    """Log the bundle as the run's pyfunc model, with its signature and input example from
    `examples` (a few test-period claims with their lines; `features` theirs); returns the
    URI to register.

    Saved here and logged as artifacts, not with `mlflow.pyfunc.log_model`: that checks the
    input example by loading a second copy of the bundle and scoring the claims against its
    state, which builds the state's lookups over every key of the history (gigabytes at
    millions of claims). The signature's output is taken from the examples' features: the
    claim_id and p_denial the claim path returns, without the lookups."""
    rows = to_rows(examples.claims, examples.claim_lines)
    output = pd.DataFrame(
        {"claim_id": features.index, "p_denial": bundle.score_features(features)}
    ).reset_index(drop=True)
    with tempfile.TemporaryDirectory() as folder:
        bundle.save(Path(folder) / "bundle")
        mlflow.pyfunc.save_model(
            Path(folder) / MODEL_PATH,
            python_model=DenialRiskModel(),
            artifacts={"bundle": str(Path(folder) / "bundle")},
            signature=infer_signature(rows, output),
            input_example=rows,
            pip_requirements=tracking.pip_requirements(),
        )
        mlflow.log_artifacts(str(Path(folder) / MODEL_PATH), MODEL_PATH)
    return f"runs:/{mlflow.active_run().info.run_id}/{MODEL_PATH}"


def _report(
    ts: TrainingSet,
    test_p: pd.Series,
    scores: dict[str, np.ndarray],
    headline: pd.DataFrame,
    contributions: pd.DataFrame,
    claims: pd.DataFrame,
    folder: Path,
) -> Path:
    """The HTML evaluation report; `claims` holds the test claims' `REPORT_COLUMNS`."""
    test = ts.rows("test")
    label = ts.label.loc[test]
    threshold = float(np.quantile(test_p, 0.9))
    sections = {
        "By payer": group_metrics(label, test_p, claims["payer_id"]),
        "By program": group_metrics(label, test_p, claims["program"]),
        f"By denial category (flagged = risk ≥ {threshold:.3f}, the riskiest decile)": (
            category_metrics(test_p, ts.category.loc[test], threshold)
        ),
    }
    plots = [*report.curve_plots(label.to_numpy(), scores), report.shap_plot(contributions)]
    start, end = ts.cutoffs
    summary = (
        f"Trained on {len(ts.rows('train')):,} claims submitted before {start.date()}, "
        f"calibrated on {len(ts.rows('validation')):,} claims to {end.date()}, tested on "
        f"{len(test):,} claims submitted from {end.date()}. Data fingerprint {ts.fingerprint}."
    )
    return write_report(
        folder / "evaluation_report.html",
        "Denial model evaluation",
        summary,
        headline,
        plots,
        sections,
    )


def train_denial_model(
    source: ContractData | Shards,
    settings: Settings,
    params: dict[str, Any] | None = None,
    force: bool = False,
    progress: Progress | None = None,
    trigger: str = "train",
) -> TrainResult:
    """Train, evaluate, track and register the denial model; see the module docstring.
    `trigger` (`train`, `retrain`) is tagged on the run, so the runs a schedule started can
    be told from a person's. Given `Shards` (the Dask engine) the features and the LightGBM
    fits run on the cluster (`training.distributed`) and the data never comes whole to this
    process; the rest is the same code on the same rows."""
    progress = progress or (lambda step: log.info("train: %s", step))
    tracking.configure(settings)
    progress("features and labels")
    if isinstance(source, Shards):
        with tempfile.TemporaryDirectory(prefix="denialops-state-") as folder:
            ts = cluster_training_set(source, settings, Path(folder), progress)
            return _train_on(ts, source, settings, params, force, progress, trigger)
    ts = build_training_set(source, settings.validation_fraction, settings.test_fraction)
    return _train_on(ts, source, settings, params, force, progress, trigger)


def _train_on(
    ts: TrainingSet,
    source: ContractData | Shards,
    settings: Settings,
    params: dict[str, Any] | None,
    force: bool,
    progress: Progress,
    trigger: str,
) -> TrainResult:
    lgb_params = lightgbm_params(settings, params)
    test = ts.rows("test")
    label = ts.label.loc[test]
    with mlflow.start_run(run_name="denial-risk", tags={"trigger": trigger}) as run:
        mlflow.log_params({f"lgb_{k}": v for k, v in lgb_params.items() if k != "metric"})
        mlflow.log_params(
            {
                "data_fingerprint": ts.fingerprint,
                "validation_start": ts.cutoffs[0].date(),
                "test_start": ts.cutoffs[1].date(),
                **{f"rows_{part}": len(ts.rows(part)) for part in ("train", "validation", "test")},
                "features": len(ALL_FEATURES),
                "engine": Engine.pandas if ts.cluster is None else Engine.dask,
                # the one model fitted in this process on either engine, on the latest claims
                "logistic_train_rows": min(len(ts.held("train")), LOGISTIC_MAX_ROWS),
            }
        )
        tracking.log_json(
            "features.json", [f.__dict__ | {"rule": f.point_in_time} for f in FEATURES]
        )
        progress("LightGBM with early stopping")
        fitted = fit_on_periods(ts, ALL_FEATURES, lgb_params, settings)
        mlflow.log_metric("best_iteration", fitted.best_iteration)
        progress("calibration")
        calibrated = _calibrated(fitted.predict, ts, settings)
        calibrator = calibrated.calibrator
        mlflow.log_param("calibration", calibrator.method)
        mlflow.log_metrics(tracking.prefixed("calibration", calibrated.scores))
        valid = ts.rows("validation")
        mlflow.log_metrics(
            tracking.prefixed(
                "validation", binary_metrics(ts.label.loc[valid].to_numpy(), calibrated.validation)
            )
        )
        test_p = pd.Series(calibrated.test, index=test)
        test_metrics = binary_metrics(label.to_numpy(), test_p.to_numpy())
        mlflow.log_metrics(tracking.prefixed("test", test_metrics))
        progress("baselines")
        baseline_p = _baselines(ts, lgb_params, settings)
        baselines = {name: binary_metrics(label.to_numpy(), p) for name, p in baseline_p.items()}
        for name, metrics in baselines.items():
            mlflow.log_metrics(tracking.prefixed(f"baseline_{name}_test", metrics))

        progress("bundle and registry")
        profiled = ts.sample("test", PROFILE_MAX_ROWS, settings.seed)
        bundle = DenialRiskBundle(
            fitted.booster,
            calibrator,
            fitted.columns,
            fitted.levels,
            ts.state,
            meta={"run_id": run.info.run_id, "data_fingerprint": ts.fingerprint},
            # what the model looked like at promotion: its latest out-of-sample rows
            profile=FeatureProfile.from_frame(
                ts.features_of(profiled)[fitted.columns],
                fitted.levels,
                test_p.loc[profiled].to_numpy(),
            ),
        )
        fingerprint = registry.content_fingerprint(
            registry.booster_text(fitted.booster),
            calibrator.to_dict(),
            fitted.columns,
            fitted.levels,
            ts.fingerprint,
            STATE_VERSION,  # the same model with a state an older release wrote is not the same
        )
        mlflow.set_tag(registry.FINGERPRINT_TAG, fingerprint)
        champion: dict[str, float] | None = None
        same = registry.identical_champion(settings.denial_model_name, fingerprint, force)
        if same is not None:
            version, alias, reason = same.version, same.alias, same.reason
        else:
            examples = test[:5]
            model_uri = _log_bundle(
                bundle, collect_claims(source, claims_of, examples), ts.features_of(examples)
            )
            champion, note = registry.champion_metrics(
                settings.denial_model_name,
                label,
                lambda champion_bundle: ts.predict("test", champion_bundle.score_features),
                load=load_for_features,
            )
            alias, reason = registry.decide(test_metrics, champion, note, force)
            version = registry.register(model_uri, settings.denial_model_name, alias, fingerprint)
            if champion is not None:
                mlflow.log_metrics(tracking.prefixed("champion_test", champion))
        mlflow.set_tags({"promotion": alias, "promotion_reason": reason})
        tracking.log_json(
            "promotion.json",
            {
                "trigger": trigger,
                "alias": alias,
                "version": version,
                "reason": reason,
                "test_start": ts.cutoffs[1].date(),
                "candidate_test": test_metrics,
                "champion_test": champion,
            },
        )

        progress("evaluation report")
        sample = ts.features_of(ts.sample("test", settings.shap_sample_rows, settings.seed))
        headline = pd.DataFrame(
            [{"model": "LightGBM (calibrated)", **test_metrics}]
            + [{"model": name, **metrics} for name, metrics in baselines.items()]
        )
        with tempfile.TemporaryDirectory() as folder:
            path = _report(
                ts,
                test_p,
                {"LightGBM": test_p.to_numpy(), **baseline_p},
                headline,
                bundle.contributions(sample),
                collect_claim_columns(source, test, REPORT_COLUMNS),
                Path(folder),
            )
            mlflow.log_artifact(str(path))
        return TrainResult(
            run.info.run_id,
            version,
            alias,
            reason,
            test_metrics,
            baselines,
            calibrator.method,
            test,
        )


def train_all(
    source: ContractData | Shards,
    settings: Settings,
    params: dict[str, Any] | None = None,
    force: bool = False,
    progress: Progress | None = None,
    trigger: str = "train",
) -> TrainResult:
    """The denial model (on the cluster when given `Shards`), then the recovery model where
    the appeals history allows one, in this process from the appealed claims alone (their
    claims, lines, remits and appeals: a small part of the data)."""
    progress = progress or (lambda step: log.info("train: %s", step))
    result = train_denial_model(source, settings, params, force, progress, trigger)
    if "appeals" not in source.present:
        result.recovery_note = "no appeals table in the data"
        return result
    progress("recovery model")
    try:
        result.recovery = train_recovery_model(
            collect_claims(source, appealed_claims), settings, force
        )
    except TrainingDataError as error:
        result.recovery_note = str(error)
    return result
