"""The pre-submission check page: a biller uploads the claims about to be sent (the
contract's claims and claim lines CSVs) and sees each claim's band, drivers and fixes,
what was set aside and why, 50 rows a page, and can download the whole answer as CSV.

The scoring is the scrubbing hook's (the tenant's model, `ScorerDep`), and each decision is
recorded in the tenant's scoring audit as the API's are. The upload goes by htmx, which
sends the session's CSRF token as a header (a multipart form's field is not read before
the route). The last answer of each person is kept in memory for its other pages
(`GET /check/results?page=N`) and its CSV download, for `RESULT_TTL_SECONDS` at most (the
uploads themselves pass through Starlette's temporary files above 1 MB, which it deletes
when the request ends).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import Response

from serving.api.deps import ScorerDep, Stores, Worker
from serving.api.security import Caller
from serving.audit import Decision
from serving.presubmit import (
    FILES,
    CheckResult,
    UploadError,
    check_batch,
    read_csv_upload,
    results_frame,
)
from serving.web.render import HEADERS, page, spreadsheet_safe

router = APIRouter(include_in_schema=False)
RESULT_TTL_SECONDS = 30 * 60
MAX_KEPT = 200
PAGE_SIZE = 50
"""Rows of each table (claims checked, rows set aside) a page of the answer shows."""
NOT_KEPT = "no check in the last 30 minutes"


@dataclass(frozen=True)
class KeptCheck:
    """A check's answer as its pages show it, and its CSV download."""

    result: CheckResult
    model: str
    shared: bool
    version: str
    csv: bytes


class LastResults:
    """Each person's last check, for a while: `app.state.check_results`."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[float, KeptCheck]] = {}
        self._lock = threading.Lock()

    def put(self, caller: Caller, check: KeptCheck) -> None:
        with self._lock:
            self._forget_old()
            if len(self._kept) >= MAX_KEPT:
                del self._kept[min(self._kept, key=lambda key: self._kept[key][0])]
            self._kept[caller.tenant, caller.name] = (time.monotonic(), check)

    def get(self, caller: Caller) -> KeptCheck | None:
        with self._lock:
            self._forget_old()
            kept = self._kept.get((caller.tenant, caller.name))
        return None if kept is None else kept[1]

    def _forget_old(self) -> None:
        now = time.monotonic()
        for key in [k for k, (at, _) in self._kept.items() if now - at > RESULT_TTL_SECONDS]:
            del self._kept[key]


def _results(request: Request) -> LastResults:
    return request.app.state.check_results


@router.get("/check")
def check_page(request: Request, caller: Worker) -> Response:
    return page(request, "check/page.html", caller, {"files": FILES})


@router.post("/check")
def check(
    request: Request,
    caller: Worker,
    scorer: ScorerDep,
    stores: Stores,
    claims: UploadFile,
    claim_lines: UploadFile,
) -> Response:
    """Score the uploaded batch; the results (htmx swaps them under the form). A plain
    `def`: reading the CSVs, scoring and the audit write run in the thread pool, never on
    the event loop."""
    try:
        raw = {
            "claims": read_csv_upload("claims", claims.file.read()),
            "claim_lines": read_csv_upload("claim_lines", claim_lines.file.read()),
        }
    except UploadError as error:
        context = {"problems": [str(error)], "result": None, "files": FILES}
        return page(request, "check/results.html", caller, context, status.HTTP_400_BAD_REQUEST)
    result = check_batch(raw, scorer.scorer)
    if result.problems:
        context = {"files": FILES, "result": result, "problems": result.problems}
        return page(request, "check/results.html", caller, context, status.HTTP_400_BAD_REQUEST)
    if result.results:
        stores.audit.record(
            caller.name,
            scorer.scorer.version,
            [Decision.of(r) for r in result.results],
        )
    kept = KeptCheck(
        result,
        scorer.model_name,
        scorer.shared,
        scorer.scorer.version,
        spreadsheet_safe(results_frame(result.results)) if result.results else b"",
    )
    _results(request).put(caller, kept)
    return page(request, "check/results.html", caller, _page_of(kept, 1))


@router.get("/check/results")
def check_results_page(
    request: Request, caller: Worker, page_number: Annotated[int, Query(alias="page", ge=1)] = 1
) -> Response:
    """A page of the person's last check (the upload's answer, past its first page)."""
    kept = _results(request).get(caller)
    if kept is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_KEPT)
    return page(request, "check/page.html", caller, _page_of(kept, page_number))


def _page_of(kept: KeptCheck, number: int) -> dict[str, Any]:
    """The results template's values for page `number` of `kept` (the last page when past
    it): `PAGE_SIZE` rows of each table, the totals of the whole upload."""
    result = kept.result
    pages = max(1, math.ceil(max(len(result.results), len(result.set_aside)) / PAGE_SIZE))
    number = min(number, pages)
    shown = slice((number - 1) * PAGE_SIZE, number * PAGE_SIZE)
    return {
        "files": FILES,
        "result": result,
        "problems": [],
        "checked": result.results[shown],
        "set_aside": result.set_aside[shown],
        "first_row": shown.start + 1,
        "page": number,
        "pages": pages,
        "model": kept.model,
        "shared": kept.shared,
        "version": kept.version,
    }


@router.get("/check/results.csv")
def check_results_csv(request: Request, caller: Worker) -> Response:
    """The person's last check, as CSV."""
    kept = _results(request).get(caller)
    if kept is None or not kept.result.results:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_KEPT)
    headers = {
        **HEADERS,
        "Content-Disposition": 'attachment; filename="presubmission-check.csv"',
    }
    return Response(kept.csv, media_type="text/csv", headers=headers)
