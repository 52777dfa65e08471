"""The pre-submission check page: a biller uploads the claims about to be sent (the
contract's claims and claim lines CSVs) and sees each claim's band, drivers and fixes,
what was set aside and why, and can download the answer as CSV.

The scoring is the scrubbing hook's (the tenant's model, `ScorerDep`), and each decision is
recorded in the tenant's scoring audit as the API's are. The upload goes by htmx, which
sends the session's CSRF token as a header (a multipart form's field is not read before
the route). The last answer of each person is kept in memory for its CSV download, for
`RESULT_TTL_SECONDS` at most (the uploads themselves pass through Starlette's temporary
files above 1 MB, which it deletes when the request ends).
"""

from __future__ import annotations

import threading
import time

from fastapi import APIRouter, HTTPException, Request, UploadFile, status
from fastapi.responses import Response

from serving.api.deps import ScorerDep, Stores, Worker
from serving.api.security import Caller
from serving.presubmit import FILES, UploadError, check_batch, read_csv_upload, results_frame
from serving.web.render import HEADERS, page, spreadsheet_safe

router = APIRouter(include_in_schema=False)
RESULT_TTL_SECONDS = 30 * 60
MAX_KEPT = 200


class LastResults:
    """Each person's last check as CSV bytes, for a while: `app.state.check_results`."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def put(self, caller: Caller, csv: bytes) -> None:
        with self._lock:
            self._forget_old()
            if len(self._kept) >= MAX_KEPT:
                del self._kept[min(self._kept, key=lambda key: self._kept[key][0])]
            self._kept[caller.tenant, caller.name] = (time.monotonic(), csv)

    def get(self, caller: Caller) -> bytes | None:
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
    if result.results:
        stores.audit.record(
            caller.name,
            scorer.scorer.version,
            [(r.claim_id, r.p_denial, r.band) for r in result.results],
        )
        _results(request).put(caller, spreadsheet_safe(results_frame(result.results)))
    context = {
        "files": FILES,
        "result": result,
        "problems": result.problems,
        "model": scorer.model_name,
        "shared": scorer.shared,
        "version": scorer.scorer.version,
    }
    code = status.HTTP_400_BAD_REQUEST if result.problems else status.HTTP_200_OK
    return page(request, "check/results.html", caller, context, code)


@router.get("/check/results.csv")
def check_results_csv(request: Request, caller: Worker) -> Response:
    """The person's last check, as CSV."""
    csv = _results(request).get(caller)
    if csv is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no check in the last 30 minutes")
    headers = {
        **HEADERS,
        "Content-Disposition": 'attachment; filename="presubmission-check.csv"',
    }
    return Response(csv, media_type="text/csv", headers=headers)
