"""The data set must reward history: a claim-columns-only model falls well short of the oracle.

The oracle is the generator's own P(denial) (from truth.csv, evaluation only),
which knows every mechanism including those only history reveals (visit caps,
authorization units, duplicates, coverage ended, length of stay). A LightGBM
that sees only the claim's own columns is trained on the earlier 70% of
adjudicated claims and scored on the later 30%.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from data_contracts.denials import remit_denial_categories, timed_psychotherapy_claims

CATEGORICAL = [
    "payer_id",
    "plan_type",
    "network_status",
    "provider_credential",
    "facility_id",
    "rendering_provider_id",
    "program",
    "place_of_service",
    "primary_dx",
    "code_1",
    "code_2",
    "modifiers_1",
]


def claim_only_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    claims = tables["claims"]
    lines = tables["claim_lines"]
    first = lines[lines["line_number"] == 1].set_index("claim_id")
    second = lines[lines["line_number"] == 2].set_index("claim_id")
    frame = claims.set_index("claim_id")
    out = pd.DataFrame(index=frame.index)
    for column in CATEGORICAL[:9]:
        out[column] = frame[column]
    out["code_1"] = first["procedure_code"]
    out["code_2"] = second["procedure_code"]
    out["modifiers_1"] = first["modifiers"]
    out["minutes_1"] = first["minutes"].astype("float64")
    out["units_1"] = first["units"].astype("float64")
    out["lines"] = lines.groupby("claim_id").size()
    out["has_auth"] = frame["prior_auth_id"].notna().astype(float)
    out["n_secondary"] = frame["secondary_dx"].fillna("").str.count(";") + frame[
        "secondary_dx"
    ].fillna("").ne("")
    out["charge"] = frame["total_charge"]
    out["days_to_submit"] = (frame["submission_date"] - frame["service_date"]).dt.days
    out["month"] = frame["service_date"].dt.month
    for column in CATEGORICAL:
        out[column] = out[column].astype("category")
    return out


def test_claim_columns_alone_fall_well_short_of_the_oracle(synthetic_data) -> None:
    tables = synthetic_data.tables
    remits = tables["remits"]
    timed = remits["claim_id"].isin(timed_psychotherapy_claims(tables["claim_lines"]))
    label = remit_denial_categories(remits, timed).notna().astype(int)
    label.index = remits["claim_id"]
    features = claim_only_frame(tables).loc[label.index]
    order = tables["claims"].set_index("claim_id").loc[label.index, "submission_date"]
    cut = order.quantile(0.7)
    train, test = (order <= cut).to_numpy(), (order > cut).to_numpy()
    model = lgb.LGBMClassifier(
        n_estimators=300, learning_rate=0.05, num_leaves=31, verbose=-1, n_jobs=1, random_state=0
    )
    model.fit(features[train], label[train])
    claim_only_auc = roc_auc_score(label[test], model.predict_proba(features[test])[:, 1])
    oracle = synthetic_data.truth.set_index("claim_id").loc[label.index, "p_denial"]
    oracle_auc = roc_auc_score(label[test], oracle[test])
    assert oracle_auc - claim_only_auc > 0.05, (oracle_auc, claim_only_auc)
    assert np.isfinite(claim_only_auc)
    assert claim_only_auc > 0.6
