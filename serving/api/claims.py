"""POST /v1/claims/score: the scrubbing hook's call, just before a claim goes out."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from data_contracts.reader import ContractError
from serving.api.deps import ScorerDep, Stores, require
from serving.api.metrics import ServiceMetrics
from serving.api.schemas import MAX_CLAIMS, ClaimIn, ScoreRequest, ScoreResponse
from serving.api.security import Caller
from serving.audit import AuditLog, Decision
from serving.loading import TenantScorer
from serving.scorer import ROW_PATH_MAX_CLAIMS
from serving.shadow import ShadowScorer

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/claims", tags=["claims"])
PARSE_ON_LOOP_MAX_BYTES = 32 * 1024
"""Bodies up to this size (about 50 claims, ~5 ms to validate) are parsed on the event loop."""
VALIDATION_STEP = 25
"""Claims validated in one call on the large-body path: pydantic holds the interpreter lock
for a whole call, so the event loop waits at most one step (a few milliseconds)."""
_CLAIMS = TypeAdapter(list[ClaimIn])
SCORE_REQUEST_REF = "#/components/schemas/ScoreRequest"
"""The request body's schema in OpenAPI, added to the components by `document_request`."""
VALIDATION_ERROR_REF = "#/components/schemas/HTTPValidationError"
"""FastAPI's own 422 schema, in the components since the other routes declare parameters."""
SCORE_PATH = f"{router.prefix}/score"
"""The score route's path (`AnswersInFlight` counts the requests to it)."""


@router.post(
    "/score",
    response_model=ScoreResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": SCORE_REQUEST_REF}}},
        },
        "responses": {
            "422": {
                "description": "Validation Error",
                "content": {"application/json": {"schema": {"$ref": VALIDATION_ERROR_REF}}},
            }
        },
    },
)
async def score(
    request: Request,
    scorer: ScorerDep,
    stores: Stores,
    caller: Annotated[Caller, Depends(require("scrubber"))],
) -> Response:
    """Denial risk, drivers and fixes for each claim, in request order."""
    raw = await request.body()
    state = request.app.state
    if len(raw) <= PARSE_ON_LOOP_MAX_BYTES:
        body = _score_request(raw)
        if len(body.claims) <= ROW_PATH_MAX_CLAIMS:
            # A few milliseconds of work: cheaper on the event loop than thread-pool hops.
            answer = _answer(scorer, body, stores.audit, state, caller)
        else:
            answer = await run_in_threadpool(_answer, scorer, body, stores.audit, state, caller)
        return Response(answer, media_type="application/json")
    with _collector_paused():  # everything, down to the answer's JSON, off the loop
        body = await run_in_threadpool(_validate_in_steps, raw)
        answer = await run_in_threadpool(_answer, scorer, body, stores.audit, state, caller)
    return Response(answer, media_type="application/json")


_large_requests = 0
_large_requests_lock = threading.Lock()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while large requests are worked.

    Its full passes walk every live object with the interpreter lock held: with a
    1,000-claim request in memory one took 40-90 ms (150 ms on a loaded machine), and
    the event loop, /healthz included, waited that long. Reference counting still frees
    what a request drops; the collector is back when the last large request ends, and
    by then the request's objects are gone, so its next pass is short."""
    global _large_requests
    with _large_requests_lock:
        _large_requests += 1
        gc.disable()
    try:
        yield
    finally:
        with _large_requests_lock:
            _large_requests -= 1
            if _large_requests == 0:
                gc.enable()


def _score_request(raw: bytes) -> ScoreRequest:
    """The body parsed and validated in one pass (pydantic's JSON parser): how small bodies
    are read, on the event loop, cheaper than a hop to the thread pool. The route reads
    the body itself rather than declaring it, because FastAPI would parse and validate it
    on the event loop whatever its size: a 1,000-claim request takes about 0.1 s, during
    which no other request (not even /healthz) is answered. Large bodies go to the
    thread pool, a few claims at a time (`_validate_in_steps`)."""
    try:
        return ScoreRequest.model_validate_json(raw)
    except ValidationError as error:
        raise _refusal(error.errors(include_url=False)) from error


def _validate_in_steps(raw: bytes) -> ScoreRequest:
    """A large body validated `VALIDATION_STEP` claims per call: a thread holding the
    interpreter lock through one 0.1 s validation would stall the event loop as surely as
    validating on it. Errors name the claim's place in the whole request, as one pass would."""
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = None  # not JSON: pydantic's own parser says where
    claims = payload.get("claims") if isinstance(payload, dict) else None
    if not isinstance(claims, list) or len(claims) > MAX_CLAIMS:
        return _score_request(raw)  # one pass, stopping at the claim limit, names the fault
    validated: list[ClaimIn] = []
    errors: list[dict[str, Any]] = []
    for start in range(0, len(claims), VALIDATION_STEP):
        try:
            validated += _CLAIMS.validate_python(claims[start : start + VALIDATION_STEP])
        except ValidationError as error:
            errors += [
                {**e, "loc": ("claims", start + e["loc"][0], *e["loc"][1:])}
                for e in error.errors(include_url=False)
            ]
    try:  # the request's own rules; claims already validated pass through unchanged
        request = ScoreRequest.model_validate({**payload, "claims": validated})
    except ValidationError as error:
        found = error.errors(include_url=False)
        if errors:
            # As one pass answers: with a claim refused, the list's length and the
            # request's own rules are not judged yet; other fields' errors still show.
            found = [e for e in found if e["loc"] and e["loc"][0] != "claims"]
        raise _refusal(errors + found) from error
    if errors:
        raise _refusal(errors)
    return request


def _refusal(errors: list[Any]) -> RequestValidationError:
    """Pydantic's errors as FastAPI's 422, located in the body."""
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors])


def _answer(
    answering: TenantScorer,
    body: ScoreRequest,
    audit: AuditLog,
    state: State,
    caller: Caller,
) -> str:
    """The answer's JSON: built and checked by ScoreResponse, so sent as is; it says which
    model answered (the tenant's own, or the shared one). Once the answer is kept, the
    claims may go to the challenger (`state.shadow`), which never changes it."""
    scorer = answering.scorer
    claims = [claim.model_dump() for claim in body.claims]
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
    audit.record(caller.name, scorer.version, [Decision.of(r) for r in results])
    log.info(
        "scored %d claims with model %s for key %s: %s",
        len(results),
        scorer.version,
        caller.name,
        ",".join(r.claim_id for r in results[:20]),
    )
    metrics: ServiceMetrics = state.metrics
    metrics.count_bands(r.band for r in results)
    shadow: ShadowScorer = state.shadow
    shadow.offer(audit, caller.name, answering.model_name, claims)
    return ScoreResponse(
        model_version=scorer.version,
        model_name=answering.model_name,
        shared_model=answering.shared,
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
    ).model_dump_json()


class AnswersInFlight:
    """Middleware: the score requests being answered (`ShadowScorer.answering`), from their
    arrival in the app to the last byte of their answer, so shadow scores are written when
    none is. Here rather than in the route: the checks before it (key, body limit,
    dependencies) and the sending of the answer are part of what a caller waits for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != SCORE_PATH:
            await self.app(scope, receive, send)
            return
        shadow: ShadowScorer = scope["app"].state.shadow
        with shadow.answering():
            await self.app(scope, receive, send)


def document_request(app: FastAPI) -> None:
    """Put the score request's schema in the app's OpenAPI components, where the route's
    `openapi_extra` points (the route reads its body itself, so FastAPI cannot see it)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = generate().setdefault("components", {}).setdefault("schemas", {})
            request = ScoreRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(request.pop("$defs"), ScoreRequest=request)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
