"""The recovery bundle: P(recovered) for a denied claim if it is worked with a given action.

Features describe the denial as the remit reported it (category, codes, amounts,
timing) and the claim it denied; the queue (`queues/`) scores every open denial
for each action it considers. Stored like the denial bundle: a native booster,
JSON metadata, no pickles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd

from data_contracts.denials import (
    NO_APPEAL_RIGHTS,
    denial_codes,
    remit_denial_categories,
    split_list,
    timed_psychotherapy_claims,
)
from features.claim_level import claim_features, days
from model_bundle.calibration import Calibrator
from model_bundle.matrix import to_matrix

BUNDLE_FORMAT = 1
CATEGORICAL = (
    "denial_category",
    "action",
    "payer_id",
    "plan_type",
    "program",
    "code_family_1",
    "first_denial_group",
    "status",
)
NUMERIC = (
    "billed_amount",
    "denied_amount",
    "paid_amount",
    "denial_codes",
    "no_appeal_rights",
    "days_service_to_remit",
    "days_submit_to_remit",
    "timed_psychotherapy",
)
COLUMNS = [*CATEGORICAL, *NUMERIC]


def recovery_features(
    claims: pd.DataFrame,
    claim_lines: pd.DataFrame,
    remits: pd.DataFrame,
    action: pd.Series,
) -> pd.DataFrame:
    """One row per remit in `remits` (indexed like it): the denial and the action considered."""
    claim_ids = remits["claim_id"]
    # Claim-level features read one claim at a time: only the remits' claims are needed.
    claims = claims[claims["claim_id"].isin(claim_ids)]
    claim_lines = claim_lines[claim_lines["claim_id"].isin(claim_ids)]
    level = claim_features(claims, claim_lines).reindex(claim_ids)
    claim = claims.set_index("claim_id").reindex(claim_ids)
    timed = claim_ids.isin(timed_psychotherapy_claims(claim_lines))
    category = remit_denial_categories(remits, pd.Series(timed.to_numpy(), index=remits.index))
    codes = remits["carc_codes"].map(lambda cell: denial_codes(split_list(cell)))
    remarks = remits["rarc_codes"].map(split_list)
    received = days(remits["received_date"])
    out = pd.DataFrame(index=remits.index)
    out["denial_category"] = category.to_numpy()
    out["action"] = action.to_numpy()
    out["payer_id"] = claim["payer_id"].to_numpy()
    out["plan_type"] = claim["plan_type"].to_numpy()
    out["program"] = claim["program"].to_numpy()
    out["code_family_1"] = level["code_family_1"].to_numpy()
    out["first_denial_group"] = codes.map(lambda c: c[0].split("-")[0] if c else "none").to_numpy()
    out["status"] = remits["status"].to_numpy()
    out["billed_amount"] = remits["billed_amount"].to_numpy(float)
    out["paid_amount"] = remits["paid_amount"].to_numpy(float)
    out["denied_amount"] = out["billed_amount"] - out["paid_amount"]
    out["denial_codes"] = codes.map(len).to_numpy(float)
    out["no_appeal_rights"] = remarks.map(lambda r: bool(NO_APPEAL_RIGHTS & set(r))).to_numpy(float)
    out["days_service_to_remit"] = (received - days(claim["service_date"])).astype(float)
    out["days_submit_to_remit"] = (received - days(claim["submission_date"])).astype(float)
    out["timed_psychotherapy"] = timed.to_numpy(float)
    return out


@dataclass
class RecoveryBundle:
    booster: lgb.Booster
    calibrator: Calibrator
    levels: dict[str, list[str]]
    meta: dict[str, Any] = field(default_factory=dict)

    def score(self, features: pd.DataFrame) -> np.ndarray:
        if features.empty:
            return np.empty(0)
        raw = self.booster.predict(to_matrix(features, COLUMNS, self.levels), num_threads=1)
        return self.calibrator.transform(raw)

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(directory / "booster.txt")
        meta = {
            "format": BUNDLE_FORMAT,
            "columns": COLUMNS,
            "levels": self.levels,
            "calibrator": self.calibrator.to_dict(),
            "meta": self.meta,
        }
        (directory / "bundle.json").write_text(json.dumps(meta, indent=1) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> RecoveryBundle:
        directory = Path(directory)
        meta = json.loads((directory / "bundle.json").read_text())
        if meta.get("format") != BUNDLE_FORMAT or meta.get("columns") != COLUMNS:
            raise ValueError(f"{directory} is a recovery bundle this code cannot read: retrain")
        return cls(
            lgb.Booster(model_file=str(directory / "booster.txt")),
            Calibrator.from_dict(meta["calibrator"]),
            meta["levels"],
            meta["meta"],
        )


class RecoveryModel(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc over a `RecoveryBundle`: recovery feature rows in, P(recovered) out."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.bundle = RecoveryBundle.load(context.artifacts["bundle"])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,  # noqa: ARG002 (pyfunc signature)
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,  # noqa: ARG002
    ) -> pd.DataFrame:
        return pd.DataFrame({"p_recover": self.bundle.score(model_input)}, index=model_input.index)
