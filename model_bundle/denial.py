"""The denial-risk bundle: booster, calibrator, category levels, feature state and the reference
profile monitoring compares the champion's inputs with, in one folder.

`DenialRiskBundle` is what serving holds in memory; `DenialRiskModel` wraps it
as an MLflow pyfunc so `mlflow.pyfunc.load_model("models:/denial-risk@champion")`
scores raw contract rows in a fresh process.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd

from features.pipeline import features_for_claims
from features.state import FeatureState
from model_bundle.calibration import Calibrator
from model_bundle.matrix import level_codes, records_to_array, to_array
from model_bundle.profile import FeatureProfile
from model_bundle.rows import from_rows

BUNDLE_FORMAT = 1
BOOSTER_FILE = "booster.txt"
META_FILE = "bundle.json"
STATE_DIR = "feature_state"
PYFUNC_BUNDLE = "artifacts/bundle"
"""Where a pyfunc model logged with `artifacts={"bundle": …}` keeps the bundle's files."""
PROFILE_FILE = "profile.json"
"""Optional: bundles saved before it existed load with `profile` None, so the format stands."""


@dataclass
class DenialRiskBundle:
    booster: lgb.Booster
    calibrator: Calibrator
    columns: list[str]
    levels: dict[str, list[str]]
    state: FeatureState
    meta: dict[str, Any] = field(default_factory=dict)
    profile: FeatureProfile | None = None
    """The test period's inputs and predictions (`model_bundle.profile`), for drift."""

    codes: dict[str, dict[str, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.codes = level_codes(self.levels)

    def without_state(self) -> DenialRiskBundle:
        """This bundle for `score_features` and `contributions` alone, without the feature
        state that only the claim paths read: the state is most of a bundle's size and grows
        with the history, so this is what goes to a cluster's workers."""
        return dataclasses.replace(self, state=None)

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        return to_array(features, self.columns, self.levels)

    def records_matrix(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The same matrix from feature dicts (the per-claim serving path)."""
        return records_to_array(records, self.columns, self.codes)

    def score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Calibrated P(denial); one thread, as a scoring request must not wait on the pool."""
        if not len(matrix):
            return np.empty(0)
        return self.calibrator.transform(self.booster.predict(matrix, num_threads=1))

    def contribution_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions in log-odds (LightGBM `pred_contrib`); last column is
        the bias."""
        return self.booster.predict(matrix, pred_contrib=True, num_threads=1)

    def score_features(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated P(denial) for feature rows."""
        return self.score_matrix(self.matrix(features))

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """`contribution_matrix` as a frame with the feature names and `bias`."""
        values = self.contribution_matrix(self.matrix(features))
        return pd.DataFrame(values, index=features.index, columns=[*self.columns, "bias"])

    def score_claims(self, claims: pd.DataFrame, claim_lines: pd.DataFrame) -> pd.DataFrame:
        """Typed contract claims to claim_id and P(denial), against the bundled state."""
        features = features_for_claims(claims, claim_lines, self.state)
        return pd.DataFrame(
            {"claim_id": features.index, "p_denial": self.score_features(features)}
        ).reset_index(drop=True)

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(directory / BOOSTER_FILE)
        self.state.save(directory / STATE_DIR)
        meta = {
            "format": BUNDLE_FORMAT,
            "columns": self.columns,
            "levels": self.levels,
            "calibrator": self.calibrator.to_dict(),
            "meta": self.meta,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=1) + "\n")
        profile = directory / PROFILE_FILE
        if self.profile is None:
            profile.unlink(missing_ok=True)  # a folder saved over must not keep another's
        else:
            profile.write_text(json.dumps(self.profile.to_dict(), indent=1, allow_nan=False) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path, with_state: bool = True) -> DenialRiskBundle:
        """The bundle saved in `directory`; `with_state=False`: as `without_state`, without
        reading the state's files."""
        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text())
        if meta.get("format") != BUNDLE_FORMAT:
            raise ValueError(
                f"{directory} is bundle format {meta.get('format')}; this code reads "
                f"{BUNDLE_FORMAT}: retrain or upgrade"
            )
        return cls(
            booster=lgb.Booster(model_file=str(directory / BOOSTER_FILE)),
            calibrator=Calibrator.from_dict(meta["calibrator"]),
            columns=meta["columns"],
            levels=meta["levels"],
            state=FeatureState.load(directory / STATE_DIR) if with_state else None,
            meta=meta["meta"],
            profile=(
                FeatureProfile.from_dict(json.loads((directory / PROFILE_FILE).read_text()))
                if (directory / PROFILE_FILE).exists()
                else None
            ),
        )


def load_for_features(uri: str) -> DenialRiskBundle:
    """The bundle of the logged or registered model at `uri`, `without_state`, read from its
    files: what scoring feature rows needs, without the state a pyfunc load reads."""
    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    return DenialRiskBundle.load(folder / PYFUNC_BUNDLE, with_state=False)


class DenialRiskModel(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc over a `DenialRiskBundle`: raw contract rows in, P(denial) per claim out."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.bundle = DenialRiskBundle.load(context.artifacts["bundle"])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,  # noqa: ARG002 (pyfunc signature)
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,  # noqa: ARG002
    ) -> pd.DataFrame:
        claims, lines = from_rows(model_input)
        return self.bundle.score_claims(claims, lines)
