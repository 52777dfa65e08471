"""`denialops score`: every pending claim of a data directory, with its top fix.

Pending claims are featured with the training path over the directory's own
history, which is the contract's rule for a batch (earlier claims of the batch
count as history) and fresher than the state bundled with the model. Drivers
and model fixes are computed only for claims at review or hold.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from data_contracts.reader import ContractData
from features.pipeline import build_features
from serving.scorer import Scorer

COLUMNS = ["claim_id", "p_denial", "fix_code", "fix_text"]


def score_pending(
    data: ContractData, scorer: Scorer, progress: Callable[[str], None] | None = None
) -> pd.DataFrame:
    progress = progress or (lambda _step: None)
    pending = data.claims.loc[~data.claims["claim_id"].isin(data.remits["claim_id"]), "claim_id"]
    if pending.empty:
        return pd.DataFrame(columns=COLUMNS)
    features = build_features(data, progress).loc[pending]
    progress("scoring and fixes")
    results = scorer.score_features(features, data.claims, data.claim_lines)
    return pd.DataFrame(
        [
            {
                "claim_id": r.claim_id,
                "p_denial": round(r.p_denial, 6),
                "fix_code": r.fixes[0].fix_code if r.fixes else "",
                "fix_text": r.fixes[0].text if r.fixes else "",
            }
            for r in results
        ],
        columns=COLUMNS,
    )
