"""POST /v1/claims/score: the scrubbing hook's call, just before a claim goes out."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool

from data_contracts.reader import ContractError
from serving.api.deps import ScorerDep, require
from serving.api.schemas import ScoreRequest, ScoreResponse
from serving.api.security import Caller
from serving.audit import AuditLog
from serving.scorer import ROW_PATH_MAX_CLAIMS, Scorer

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/claims", tags=["claims"])


@router.post("/score", response_model=ScoreResponse)
async def score(
    body: ScoreRequest,
    request: Request,
    scorer: ScorerDep,
    caller: Annotated[Caller, Depends(require("scrubber"))],
) -> Response:
    """Denial risk, drivers and fixes for each claim, in request order."""
    claims = [claim.model_dump() for claim in body.claims]
    audit = request.app.state.audit
    if len(claims) <= ROW_PATH_MAX_CLAIMS:
        # A few milliseconds of work: cheaper on the event loop than two thread-pool hops.
        answer = _answer(scorer, claims, audit, caller)
    else:
        answer = await run_in_threadpool(_answer, scorer, claims, audit, caller)
    # Built and checked by ScoreResponse already: sent as is, not validated a second time.
    return Response(answer.model_dump_json(), media_type="application/json")


def _answer(scorer: Scorer, claims: list[dict], audit: AuditLog, caller: Caller) -> ScoreResponse:
    try:
        results = scorer.score_records(claims)
    except ContractError as error:  # the request model checks first; this is the backstop
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[
                {"loc": ["body", p.table, p.column or ""], "msg": p.rule, "rows": list(p.rows)}
                for p in error.problems
            ],
        ) from error
    audit.record(caller.key_id, scorer.version, [(r.claim_id, r.p_denial, r.band) for r in results])
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
