"""RevOps' policy over HTTP: read it, save a new version, simulate a draft before saving."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from data_contracts.reader import ContractError
from model_bundle.registered import ModelUnavailableError
from queues.build import RankedQueue, build_queue
from queues.policy import Policy, PolicyConflictError, PolicyError
from queues.simulate import simulate
from serving.api.deps import Stores, TenantStores, require
from serving.api.security import Caller
from serving.tenant_data import NoDataError

router = APIRouter(prefix="/v1/policy", tags=["policy"])
RevOps = Annotated[Caller, Depends(require("revops"))]


class SimulateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    budget_hours: float = Field(gt=0, le=1_000_000)
    policy: Policy | None = Field(None, description="A draft to try; default: the policy in force.")


class PolicyConflictOut(BaseModel):
    detail: str
    current_version: int = Field(description="The version in force: fetch it and edit that.")


class StrategyOut(BaseModel):
    strategy: str
    items_worked: int
    hours_used: float
    recovered: float
    vs_policy: float


class SimulationOut(BaseModel):
    policy_version: int
    model_version: str
    open_denials: int
    budget_hours: float
    strategies: list[StrategyOut]


def current_policy(stores: TenantStores) -> Policy:
    """The tenant's policy in force; 503 when the stored version cannot be read."""
    try:
        return stores.policies.current()
    except PolicyError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error


@router.get("", response_model=Policy)
def read(stores: Stores, _caller: Annotated[Caller, Depends(require("revops", "biller"))]):
    """The policy in force (the latest saved version, or the shipped default)."""
    return current_policy(stores)


@router.put(
    "",
    response_model=Policy,
    responses={
        status.HTTP_409_CONFLICT: {
            "model": PolicyConflictOut,
            "description": "`version` is not the version in force: someone saved since.",
        }
    },
)
def update(body: Policy, stores: Stores, caller: RevOps) -> Policy | JSONResponse:
    """Save `body` as the next version; the versions before it are kept.

    `version` is the version the policy was edited from (as GET returned it), not the
    new number: the save becomes `version` + 1 if `version` is still in force, else it
    is refused with 409 and the current version, so two RevOps editors never overwrite
    each other's change unseen. `updated_by` and `updated_at` are set by the service.
    """
    try:
        return stores.policies.save(body, caller.name)
    except PolicyConflictError as error:
        return JSONResponse(
            PolicyConflictOut(
                detail=str(error), current_version=error.current_version
            ).model_dump(),
            status_code=status.HTTP_409_CONFLICT,
        )


def rank_tenant_data(request: Request, tenant: str, policy: Policy) -> RankedQueue:
    """The tenant's open denials ranked under `policy`, as the simulations see them.

    Raises NoDataError or ContractError when the tenant's data cannot be had, and
    ModelUnavailableError without a recovery model."""
    settings = request.app.state.settings
    data = request.app.state.tenant_data.get(tenant, settings)
    return build_queue(data, settings, policy=policy)


@router.post("/simulate", response_model=SimulationOut)
def simulate_policy(
    body: SimulateIn, request: Request, stores: Stores, _caller: RevOps
) -> SimulationOut:
    """What the budget recovers under the policy (or a draft) and under the usual habits,
    on the tenant's data directory (`default`'s: `DENIALOPS_QUEUE_DATA_DIR`; its bad rows
    set aside up to `DENIALOPS_QUARANTINE_CEILING` as `denialops policy simulate` does),
    valued with the models' estimates."""
    try:
        queue = rank_tenant_data(request, stores.tenant, body.policy or current_policy(stores))
    except (NoDataError, ContractError) as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from error
    except ModelUnavailableError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error
    result = simulate(queue.ranked, body.budget_hours)
    return SimulationOut(
        policy_version=queue.policy.version,
        model_version=queue.model_version,
        open_denials=len(queue.ranked),
        budget_hours=body.budget_hours,
        strategies=result.summary.to_dict("records"),
    )
