"""The appeal letter page of a queue item: the latest saved letter (or a fresh draft from
the templates) to edit, save as a new version, and download as PDF (`queues/letters.py`).

The claim must be an item of the caller's tenant's queue (404 otherwise, as every object
route). The draft is filled from the tenant's contract data; a tenant without data (or
whose data cannot be read) gets a draft from the queue item alone, and the page says which
facts are left as [placeholders].
"""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from data_contracts.reader import ContractData
from queues.letters import (
    Draft,
    LetterStore,
    LetterTemplateError,
    SavedLetter,
    draft_letter,
    letter_pdf,
)
from queues.store import InvalidValueError, UnknownItemError, WorkItem
from serving.api.deps import ClaimId, Stores, TenantStores, Worker
from serving.api.security import Caller
from serving.web.render import HEADERS, page

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_.-]")


@router.get("/claims/{claim_id}/letter")
def letter_page(
    request: Request,
    claim_id: ClaimId,
    stores: Stores,
    caller: Worker,
    draft: bool = False,
    saved: int | None = None,
) -> Response:
    """The latest saved letter, or a draft from the templates when none is saved or the
    biller asks for one again (`?draft=1`)."""
    item = _item(stores, claim_id)
    letters = _store(stores)
    versions = letters.versions(claim_id)
    latest = versions[-1] if versions else None
    fresh = _draft(request, caller, item, stores) if draft or latest is None else None
    notice = f"Version {saved} saved." if saved is not None and latest is not None else None
    return _page(request, caller, item, versions, draft=fresh, notice=notice)


@router.post("/claims/{claim_id}/letter")
def save_letter(
    request: Request,
    claim_id: ClaimId,
    stores: Stores,
    caller: Worker,
    body: Annotated[str, Form()] = "",
) -> Response:
    """Save the text as the claim's next version, then show it (303)."""
    item = _item(stores, claim_id)
    letters = _store(stores)
    try:
        letter = letters.save(claim_id, body, item.denial_category, caller.name)
    except InvalidValueError as error:
        return _page(
            request,
            caller,
            item,
            letters.versions(claim_id),
            text=body,
            error=f"Not saved: {error}.",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    except UnknownItemError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    return RedirectResponse(
        f"/claims/{claim_id}/letter?saved={letter.version}", status_code=status.HTTP_303_SEE_OTHER
    )


@router.get("/claims/{claim_id}/letter.pdf")
def letter_download(claim_id: ClaimId, stores: Stores, caller: Worker) -> Response:
    """The latest saved letter as PDF (404 when none is saved: a draft is not sent)."""
    _item(stores, claim_id)
    latest = _store(stores).latest(claim_id)
    if latest is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no letter saved for claim {claim_id}: save one before downloading it",
        )
    name = _UNSAFE_IN_FILENAME.sub("_", f"appeal-{claim_id}-v{latest.version}.pdf")
    content = letter_pdf(latest.body, f"Appeal, claim {claim_id}, version {latest.version}")
    log.info("%s downloaded version %d of the letter of a claim", caller.name, latest.version)
    return Response(
        content,
        media_type="application/pdf",
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


def _item(stores: TenantStores, claim_id: str) -> WorkItem:
    """The caller's tenant's item of the claim, or 404."""
    try:
        return stores.queue.item(claim_id)
    except UnknownItemError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error


def _store(stores: TenantStores) -> LetterStore:
    queue = stores.queue
    return LetterStore(queue.database, queue.tenant, clock=queue.now)


def _draft(request: Request, caller: Caller, item: WorkItem, stores: TenantStores) -> Draft:
    """A draft from the templates with the tenant's data, or the item alone without it,
    dated by the queue's clock."""
    settings = request.app.state.settings
    data, problem = _data(request, caller.tenant)
    today = stores.queue.now().date()
    try:
        draft = draft_letter(
            item, data, caller.tenant, today, settings.letter_templates_dir, tenant=caller.tenant
        )
    except LetterTemplateError as error:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail=str(error)) from error
    if problem:
        return Draft(draft.text, draft.category, draft.parity, (problem, *draft.missing))
    return draft


def _data(request: Request, tenant: str) -> tuple[ContractData | None, str]:
    """The tenant's contract data, or None and why there is none."""
    state = request.app.state
    data, unavailable = state.tenant_data.get_or_unavailable(tenant, state.settings)
    if unavailable is None:
        return data, ""
    if unavailable.missing:
        return None, "the practice has no data directory, so only the queue item's facts are known"
    return None, "the practice's data cannot be read, so only the queue item's facts are known"


def _page(
    request: Request,
    caller: Caller,
    item: WorkItem,
    versions: list[SavedLetter],
    *,
    draft: Draft | None = None,
    text: str | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    """The page with `text` (a biller's unsaved text), else `draft`'s, else the latest saved."""
    latest = versions[-1] if versions else None
    if text is None:
        text = draft.text if draft is not None else latest.body if latest else ""
    context = {
        "item": item,
        "versions": versions,
        "latest": latest,
        "draft": draft,
        "unsaved": error is not None,
        "text": text,
        "error": error,
        "notice": notice,
    }
    return page(request, "letter.html", caller, context, status_code=status_code)
