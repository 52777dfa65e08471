"""The claim detail service: what the detail page and `GET /v1/queue/items/{id}/detail`
show, assembled once here so the page and its JSON twin cannot drift apart.

It adds to `queues.detail.claim_detail` what only the service has: the tenant's contract
data (`app.state.tenant_data`, cached) and its scorer, whose fix suggestions for a
corrected claim are those `POST /v1/claims/score` gives. Neither is required: without a
data directory or a model the detail still shows the queue item, and says what is missing
and why, because the biller can still work the item.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from data_contracts.reader import ContractData
from queues.detail import ClaimDetail, claim_detail
from serving.api.deps import TenantStores
from serving.loading import TenantScorer
from serving.scorer import Fix


@dataclass(frozen=True)
class Suggestions:
    """The scorer's view of the claim as submitted, and the fixes for a corrected claim,
    each with the risk of denial once it is made."""

    p_denial: float | None = None
    band: str | None = None
    fixes: list[Fix] = field(default_factory=list)
    model: str | None = None
    """The registered model and version that answered."""
    unavailable: str | None = None
    """Why there are no suggestions (no model loaded, no claim data)."""


@dataclass(frozen=True)
class Detail:
    detail: ClaimDetail
    suggestions: Suggestions


def load_detail(
    request: Request, stores: TenantStores, scorer: TenantScorer | str, claim_id: str
) -> Detail:
    """The claim's detail for the caller's tenant (`stores`); `scorer` is the tenant's, or
    why there is none. UnknownItemError when the claim is not in the tenant's queue."""
    queue = stores.queue
    item = queue.item(claim_id)  # first: another tenant's claim goes no further
    data, unavailable = _tenant_data(request, stores.tenant)
    detail = claim_detail(
        item,
        queue.audit(claim_id),
        data,
        queue.now().date(),
        stores.policies.current().cost_per_minute,
        unavailable,
    )
    return Detail(detail, _suggestions(data, claim_id, detail, scorer))


def _tenant_data(request: Request, tenant: str) -> tuple[ContractData | None, str | None]:
    """The tenant's contract data, or None and why the claim's history is unavailable."""
    state = request.app.state
    data, unavailable = state.tenant_data.get_or_unavailable(tenant, state.settings)
    if unavailable is not None:
        return None, f"the claim's history is unavailable: {unavailable.reason}"
    return data, None


def _suggestions(
    data: ContractData | None, claim_id: str, detail: ClaimDetail, scorer: TenantScorer | str
) -> Suggestions:
    if isinstance(scorer, str):
        return Suggestions(unavailable=f"No fix suggestions: {scorer}.")
    if data is None or detail.history is None:
        return Suggestions(unavailable="No fix suggestions: the claim's data is unavailable.")
    claims = data.claims[data.claims["claim_id"] == claim_id]
    lines = data.claim_lines[data.claim_lines["claim_id"] == claim_id]
    (result,) = scorer.scorer.score_claims(claims, lines)
    return Suggestions(
        p_denial=result.p_denial,
        band=result.band,
        fixes=result.fixes,
        model=f"{scorer.model_name} v{scorer.scorer.version}"
        + (" (shared)" if scorer.shared else ""),
    )
