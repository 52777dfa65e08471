"""POST /v1/claims/score: the scrubbing hook's call, just before a claim goes out."""

from __future__ import annotations

import logging
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request, status

from data_contracts.reader import ContractError, check_tables
from serving.api.deps import ScorerDep, require
from serving.api.schemas import ClaimIn, ScoreRequest, ScoreResponse
from serving.api.security import Caller

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/claims", tags=["claims"])


def contract_frames(claims: list[ClaimIn]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Request claims as typed contract tables, with the contract's own checks (422 if broken)."""
    claim_rows, line_rows = [], []
    for claim in claims:
        row = claim.model_dump(exclude={"lines"})
        row["secondary_dx"] = ";".join(row["secondary_dx"])
        row["service_date"] = row["service_date"].isoformat()
        row["submission_date"] = row["submission_date"].isoformat()
        claim_rows.append(row)
        for line in claim.lines:
            line_row = line.model_dump()
            line_row["modifiers"] = ";".join(line_row["modifiers"])
            line_rows.append({"claim_id": claim.claim_id, **line_row})
    try:
        tables = check_tables(
            "request", {"claims": pd.DataFrame(claim_rows), "claim_lines": pd.DataFrame(line_rows)}
        )
    except ContractError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[
                {"loc": ["body", p.table, p.column or ""], "msg": p.rule, "rows": list(p.rows)}
                for p in error.problems
            ],
        ) from error
    return tables["claims"], tables["claim_lines"]


@router.post("/score", response_model=ScoreResponse)
def score(
    body: ScoreRequest,
    request: Request,
    scorer: ScorerDep,
    caller: Annotated[Caller, Depends(require("scrubber"))],
) -> ScoreResponse:
    """Denial risk, drivers and fixes for each claim, in request order."""
    claims, lines = contract_frames(body.claims)
    results = scorer.score_claims(claims, lines)
    request.app.state.audit.record(
        caller.key_id, scorer.version, [(r.claim_id, r.p_denial, r.band) for r in results]
    )
    log.info(
        "scored %d claims with model %s for key %s: %s",
        len(results),
        scorer.version,
        caller.key_id,
        ",".join(r.claim_id for r in results[:20]),
    )
    return ScoreResponse(
        model_version=scorer.version,
        results=[
            {
                "claim_id": r.claim_id,
                "p_denial": r.p_denial,
                "band": r.band,
                "drivers": r.drivers,
                "fixes": [
                    {
                        "fix_code": f.fix_code,
                        "text": f.text,
                        "p_denial_after": f.p_denial_after,
                        "rule_hit": f.rule_hit,
                    }
                    for f in r.fixes
                ],
            }
            for r in results
        ],
    )
