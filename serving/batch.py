"""`denialops score`: every pending claim of a data directory, with its top fix.

Pending claims are featured with the training path over the directory's own
history, which is the contract's rule for a batch (earlier claims of the batch
count as history) and fresher than the state bundled with the model. Drivers
and model fixes are computed only for claims at review or hold.

Every decision goes into the tenant's scoring audit (key `batch`), as the API's do: the
monitor joins kept scores to how the claims ended, whichever door scored them.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from data_contracts.reader import ContractData
from features.pipeline import build_features
from serving.audit import AuditLog, Decision
from serving.scorer import Scorer

COLUMNS = ["claim_id", "p_denial", "fix_code", "fix_text"]
BATCH_KEY = "batch"
"""The scoring audit's `key_id` for decisions of `denialops score` (no API key asked)."""


def score_pending(
    data: ContractData,
    scorer: Scorer,
    progress: Callable[[str], None] | None = None,
    audit: AuditLog | None = None,
) -> pd.DataFrame:
    """Each pending claim's risk and top fix; recorded in `audit` when given."""
    progress = progress or (lambda _step: None)
    pending = data.claims.loc[~data.claims["claim_id"].isin(data.remits["claim_id"]), "claim_id"]
    if pending.empty:
        return pd.DataFrame(columns=COLUMNS)
    features = build_features(data, progress).loc[pending]
    progress("scoring and fixes")
    results = scorer.score_features(features, data.claims, data.claim_lines)
    if audit is not None:
        audit.record(BATCH_KEY, scorer.version, [Decision.of(r) for r in results])
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
