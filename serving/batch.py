"""`denialops score`: every pending claim of a data directory, with its top fix.

Pending claims are featured with the training path over the directory's own
history, which is the contract's rule for a batch (earlier claims of the batch
count as history) and fresher than the state bundled with the model. Drivers
and model fixes are computed only for claims at review or hold.

Every decision goes into the tenant's scoring audit (key `batch`), as the API's do: the
monitor joins kept scores to how the claims ended, whichever door scored them.

Both engines share the steps here: `score_frame` scores one set of feature rows (the
whole directory's pending claims on the pandas engine, one shard's on the Dask engine,
`serving.distributed`), and `finish` keeps the decisions and writes the table.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from data_contracts.reader import ContractData
from features.pipeline import build_features
from serving.audit import AuditLog, Decision
from serving.scorer import Scorer

COLUMNS = ["claim_id", "p_denial", "fix_code", "fix_text"]
RESULT_COLUMNS = ["claim_id", "p_denial", "band", "fix_code", "fix_text"]
"""What `score_frame` gives: the table's columns, with the band the audit keeps and the
risk unrounded."""
BATCH_KEY = "batch"
"""The scoring audit's `key_id` for decisions of `denialops score` (no API key asked)."""


def pending_claims(data: ContractData) -> pd.Series:
    """The claim ids of `data` with no remit yet, in the data's order."""
    return data.claims.loc[~data.claims["claim_id"].isin(data.remits["claim_id"]), "claim_id"]


def score_frame(
    features: pd.DataFrame, claims: pd.DataFrame, claim_lines: pd.DataFrame, scorer: Scorer
) -> pd.DataFrame:
    """`RESULT_COLUMNS` for each feature row, in its order; `claims` and `claim_lines` hold
    (at least) the rows' claims, for the words of the fixes."""
    results = scorer.score_features(features, claims, claim_lines)
    return pd.DataFrame(
        {
            "claim_id": [r.claim_id for r in results],
            "p_denial": pd.Series([r.p_denial for r in results], dtype=float),
            "band": [r.band for r in results],
            "fix_code": [r.fixes[0].fix_code if r.fixes else "" for r in results],
            "fix_text": [r.fixes[0].text if r.fixes else "" for r in results],
        },
        columns=RESULT_COLUMNS,
    )


def finish(scored: pd.DataFrame, scorer: Scorer, audit: AuditLog | None) -> pd.DataFrame:
    """The table of `score_frame`'s rows (`COLUMNS`, the risk to six places), its decisions
    recorded in `audit` when given."""
    if audit is not None:
        audit.record(
            BATCH_KEY,
            scorer.version,
            [
                Decision(claim_id, float(p), band, fix_code or None)
                for claim_id, p, band, fix_code in zip(
                    scored["claim_id"],
                    scored["p_denial"],
                    scored["band"],
                    scored["fix_code"],
                    strict=True,
                )
            ],
        )
    return scored.assign(p_denial=[round(float(p), 6) for p in scored["p_denial"]])[COLUMNS]


def score_pending(
    data: ContractData,
    scorer: Scorer,
    progress: Callable[[str], None] | None = None,
    audit: AuditLog | None = None,
) -> pd.DataFrame:
    """Each pending claim's risk and top fix; recorded in `audit` when given."""
    progress = progress or (lambda _step: None)
    pending = pending_claims(data)
    if pending.empty:
        return pd.DataFrame(columns=COLUMNS)
    features = build_features(data, progress).loc[pending]
    progress("scoring and fixes")
    return finish(score_frame(features, data.claims, data.claim_lines, scorer), scorer, audit)
