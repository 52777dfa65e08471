"""The policy editor page of RevOps: the accept-versus-appeal policy as a form, a draft
simulated beside the policy in force on the tenant's data, saved as a new version with a
comment, and the past versions listed, compared and restored.

The page saves what `PUT /v1/policy` saves and simulates as `POST /v1/policy/simulate`
does (`rank_tenant_data`, then `queues.simulate.simulate`). The form is read into the
policy's own fields and checked by `Policy` itself, so a refusal names the field the
person typed in, their entries stay in the form (no work lost to a typo) and nothing is
saved. Saves go through `PolicyStore.save`, audited, and refused when someone saved since
the version edited: the page then says so and links to the version in force.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from data_contracts.enums import APPEAL_ACTIONS, DENIAL_CATEGORIES, PAYER_ACTIONS
from data_contracts.reader import ContractError
from model_bundle.registered import ModelUnavailableError
from queues.build import RankedQueue
from queues.policy import (
    Policy,
    PolicyConflictError,
    PolicyError,
    PolicyVersion,
    diff_policies,
    flatten,
)
from queues.simulate import STRATEGIES, simulate
from serving.api.deps import Stores, TenantStores
from serving.api.guard import CSRF_FIELD
from serving.api.policy import RevOps, SimulateIn, current_policy, rank_tenant_data
from serving.api.security import Caller
from serving.tenant_data import NoDataError
from serving.web.render import page

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
NUMBERS = {
    "biller_hour_cost": "Biller hour cost ($)",
    "min_expected_net": "Minimum expected net ($)",
    "deadline_buffer_days": "Deadline buffer (days)",
    "urgency_window_days": "Urgency window (days)",
    "urgency_weight": "Urgency weight",
    "default_effort_minutes": "Default effort (minutes)",
}
"""The policy's numbers, each a field of the form, with its label."""
PAYER_FIELDS = {
    "appeal_window_days": "Appeal window (days)",
    "min_expected_net": "Minimum expected net ($)",
    "filing_limit_days": "Filing limit (days)",
}
CATEGORY_FIELDS = {"min_expected_net": "Minimum expected net ($)", "action": "Action override"}
OTHER_LABELS = {
    "budget_hours": "Budget (hours)",
    "comment": "Comment",
    "patient_liable": "Patient liable",
    "version": "Version edited",
    "": "The policy",
}
STRATEGY_LABELS = {
    "policy": "The policy's order",
    "highest_balance": "Highest balance first",
    "oldest_first": "Oldest first",
    "fifo": "First in, first out",
}
assert set(STRATEGY_LABELS) == set(STRATEGIES), "a label for every strategy"
DEFAULT_BUDGET_HOURS = "40"
"""A biller's week: what a simulation is first asked about."""
COMMENT_LENGTH = 2000


def words(category: str) -> str:
    return category.replace("_", " ")


def label(name: str) -> str:
    """The label of the form field `name`, also what a refusal in the summary calls it."""
    if name in NUMBERS:
        return NUMBERS[name]
    group, _, rest = name.partition(".")
    if group == "actions":
        return f"Action for {words(rest)}"
    if group == "patient_liable" and rest:
        return f"Patient liable for {words(rest)}"
    if group in ("payers", "categories") and rest:
        key, _, field = rest.rpartition(".")
        fields = PAYER_FIELDS if group == "payers" else CATEGORY_FIELDS
        return f"{fields.get(field, field)} for {key if group == 'payers' else words(key)}"
    return OTHER_LABELS.get(name, name)


def field_id(name: str) -> str:
    """An HTML id for the field `name` (payer ids may hold any character): one per name."""
    return "f-" + "".join(
        c if c.isascii() and (c.isalnum() or c == "-") else f"_{ord(c):x}" for c in name
    )


@dataclass
class Draft:
    """The form as the person left it: each field's text as typed and the patient-liable
    categories ticked."""

    values: dict[str, str]
    liable: list[str]

    @classmethod
    def of(cls, policy: Policy) -> Draft:
        """A saved policy as the form shows it (the version edited in `version`)."""
        values = {
            name: _text(value)
            for name, value in flatten(policy).items()
            if name != "patient_liable"
        }
        return cls({**values, "version": str(policy.version)}, list(policy.patient_liable))

    @classmethod
    def read(cls, form: FormData) -> Draft:
        values = {
            name: value.strip()
            for name, value in form.multi_items()
            if isinstance(value, str) and name not in ("patient_liable", CSRF_FIELD)
        }
        liable = [value for value in form.getlist("patient_liable") if isinstance(value, str)]
        return cls(values, liable)

    def payers(self) -> set[str]:
        """The payers the form has a row for."""
        return {
            name.removeprefix("payers.").rpartition(".")[0]
            for name in self.values
            if name.startswith("payers.")
        }

    def policy(self) -> tuple[Policy | None, dict[str, str]]:
        """The policy the form says, or None and each refusal by the field's name (""
        for the policy as a whole). A blank number is not given: an override left blank is
        no override, a policy number left blank is refused as required."""
        raw: dict[str, Any] = {
            "actions": {},
            "payers": {},
            "categories": {},
            "patient_liable": self.liable,
            "note": self.values.get("comment", ""),
        }
        for name, value in self.values.items():
            group, _, rest = name.partition(".")
            if not rest and group in ("version", *NUMBERS):
                if value:
                    raw[group] = value
            elif group == "actions" and rest:
                raw["actions"][rest] = value
            elif group in ("payers", "categories") and rest:
                key, _, field = rest.rpartition(".")
                if key and value:
                    raw[group].setdefault(key, {})[field] = value
        try:
            return Policy.model_validate(raw), {}
        except ValidationError as error:
            return None, _refusals(error, {*self.values, "patient_liable"})


def _refusals(error: ValidationError, fields: set[str]) -> dict[str, str]:
    """Each refusal under the longest field name its location starts with."""
    found: dict[str, str] = {}
    for problem in error.errors():
        parts = [str(part) for part in problem["loc"]]
        names = (".".join(parts[:n]) for n in range(len(parts), 0, -1))
        name = next((n for n in names if n in fields), "")
        found.setdefault(name, problem["msg"])
    return found


def _text(value: Any) -> str:
    """A number as a person would type it (42, not 42.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def shown(value: Any) -> str:
    """A policy value in a diff: a list as words, a missing override as "not set"."""
    if value is None:
        return "not set"
    if isinstance(value, list):
        return ", ".join(words(item) for item in value) or "none"
    return _text(value)


@dataclass(frozen=True)
class Comparison:
    """The draft simulated beside the policy in force, on the same open denials."""

    budget_hours: float
    model_version: str
    open_denials: int
    current_version: int
    strategies: list[dict[str, Any]]
    """Per strategy: its label, then recovered and hours used now and under the draft."""
    payers: list[dict[str, Any]]
    """Per payer (then all payers): open denials appealed and accepted now and in the draft."""


def compare(now: RankedQueue, draft: RankedQueue, budget_hours: float) -> Comparison:
    """What the budget recovers under each policy, and which denials each would appeal."""
    before = simulate(now.ranked, budget_hours).summary
    after = simulate(draft.ranked, budget_hours).summary
    strategies = [
        {
            "label": STRATEGY_LABELS[strategy],
            "recovered_now": before.loc[strategy, "recovered"],
            "hours_now": before.loc[strategy, "hours_used"],
            "recovered_draft": after.loc[strategy, "recovered"],
            "hours_draft": after.loc[strategy, "hours_used"],
        }
        for strategy in STRATEGIES
    ]
    split = (
        _split(now.ranked)
        .add_suffix("_now")
        .join(_split(draft.ranked).add_suffix("_draft"), how="outer")
        .fillna(0)
        .astype(int)
    )
    payers = [{"payer": payer, **row} for payer, row in split.to_dict("index").items()]
    payers.append({"payer": "All payers", **split.sum().to_dict()})
    return Comparison(
        budget_hours, now.model_version, len(now.ranked), now.policy.version, strategies, payers
    )


def _split(ranked: pd.DataFrame) -> pd.DataFrame:
    """Open denials per payer the policy appeals (asks the payer again) and accepts
    (writes off or bills the patient)."""
    appeal = ranked["action"].isin(PAYER_ACTIONS).to_numpy()
    counts = pd.DataFrame({"appeal": appeal.astype(int), "accept": (~appeal).astype(int)})
    return counts.groupby(ranked["payer_id"].astype(str).to_numpy()).sum().sort_index()


async def posted_form(request: Request) -> FormData:
    """The posted form, read once (the fields' names are the policy's, not the route's)."""
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]


@router.get("/policy")
def policy_page(
    request: Request, stores: Stores, caller: RevOps, saved: int | None = None
) -> Response:
    """The policy in force as a form; after a save, which version it made."""
    notice = f"Saved version {saved}." if saved is not None else None
    return _render(request, stores, caller, Draft.of(current_policy(stores)), notice=notice)


@router.post("/policy")
def save_policy(request: Request, stores: Stores, caller: RevOps, form: Posted) -> Response:
    """Save the form as the next version, with its comment (303 to the page); the form
    again with the refusals, or with the conflict when someone saved since."""
    draft = Draft.read(form)
    policy, refusals = draft.policy()
    comment = draft.values.get("comment", "")
    if not comment:
        refusals["comment"] = "Say what this version changes, and why."
    elif len(comment) > COMMENT_LENGTH:
        refusals["comment"] = f"At most {COMMENT_LENGTH} characters."
    if policy is None or refusals:
        return _refused(request, stores, caller, draft, refusals, "saved")
    try:
        saved = stores.policies.save(policy, caller.name)
    except PolicyConflictError as error:
        return _render(
            request, stores, caller, draft, conflict=error, status_code=status.HTTP_409_CONFLICT
        )
    return RedirectResponse(f"/policy?saved={saved.version}", status.HTTP_303_SEE_OTHER)


@router.post("/policy/simulate")
def simulate_draft(request: Request, stores: Stores, caller: RevOps, form: Posted) -> Response:
    """The form's policy and the policy in force, each ranking the tenant's open denials,
    walked with the budget: shown side by side above the form, nothing saved."""
    draft = Draft.read(form)
    policy, refusals = draft.policy()
    try:
        budget = SimulateIn.model_validate({"budget_hours": draft.values.get("budget_hours")})
    except ValidationError as error:
        refusals.update(_refusals(error, {"budget_hours"}))
    if policy is None or refusals:
        return _refused(request, stores, caller, draft, refusals, "simulated")
    try:
        now = rank_tenant_data(request, caller.tenant, current_policy(stores))
        proposed = rank_tenant_data(request, caller.tenant, policy)
    except NoDataError as error:
        return _cannot_simulate(
            request, stores, caller, draft, str(error), status.HTTP_409_CONFLICT
        )
    except ContractError as error:
        log.warning("tenant %s: its data cannot be simulated on: %s", caller.tenant, error)
        reason = "the practice's data directory breaks the contract"
        return _cannot_simulate(request, stores, caller, draft, reason, status.HTTP_409_CONFLICT)
    except ModelUnavailableError as error:
        reason = f"no recovery model to value the denials with ({error})"
        code = status.HTTP_503_SERVICE_UNAVAILABLE
        return _cannot_simulate(request, stores, caller, draft, reason, code)
    comparison = compare(now, proposed, budget.budget_hours)
    return _render(request, stores, caller, draft, comparison=comparison)


@router.post("/policy/restore")
def restore(
    request: Request,
    stores: Stores,
    caller: RevOps,
    version: Annotated[int, Form()],
    base_version: Annotated[int, Form()],
) -> Response:
    """Save version `version`'s content as the next version ("restored from version N"),
    if `base_version` (the version in force when the page was shown) still is."""
    restored = _version(stores, version).model_copy(
        update={"version": base_version, "note": f"restored from version {version}"}
    )
    try:
        saved = stores.policies.save(restored, caller.name)
    except PolicyConflictError as error:
        code = status.HTTP_409_CONFLICT
        draft = Draft.of(current_policy(stores))
        return _render(
            request, stores, caller, draft, conflict=error, restoring=version, status_code=code
        )
    return RedirectResponse(f"/policy?saved={saved.version}", status.HTTP_303_SEE_OTHER)


@router.get("/policy/diff")
def diff_page(
    request: Request,
    stores: Stores,
    caller: RevOps,
    a: int | None = None,
    b: int | None = None,
) -> Response:
    """The fields that differ from version `a` to version `b` (by default the version in
    force and the one before it)."""
    versions = stores.policies.versions()
    numbers = [v.version for v in versions]
    b = numbers[-1] if b is None else b
    if a is None:
        a = numbers[numbers.index(b) - 1] if b in numbers[1:] else b
    old, new = _version(stores, a), _version(stores, b)
    context = {
        "a": _listed(versions, a),
        "b": _listed(versions, b),
        "changes": diff_policies(old, new),
        "versions": versions,
        "shown": shown,
    }
    return page(request, "policy/diff.html", caller, context)


def _listed(versions: list[PolicyVersion], number: int) -> PolicyVersion:
    return next(v for v in versions if v.version == number)


def _version(stores: TenantStores, number: int) -> Policy:
    """A version of the tenant's policy; 404 when there is none, 503 when it cannot be read."""
    if number not in {v.version for v in stores.policies.versions()}:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"there is no policy version {number}"
        )
    try:
        return stores.policies.version(number)
    except PolicyError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error


def _refused(
    request: Request,
    stores: TenantStores,
    caller: Caller,
    draft: Draft,
    refusals: dict[str, str],
    what: str,
) -> Response:
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    context = {"refusals": refusals, "refused": what}
    return _render(request, stores, caller, draft, status_code=code, **context)


def _cannot_simulate(
    request: Request,
    stores: TenantStores,
    caller: Caller,
    draft: Draft,
    reason: str,
    status_code: int,
) -> Response:
    return _render(
        request, stores, caller, draft, simulation_problem=reason, status_code=status_code
    )


def _render(
    request: Request,
    stores: TenantStores,
    caller: Caller,
    draft: Draft,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """The editor with `draft` in the form, a row for each payer it or the tenant's data
    names, and the past versions."""
    state = request.app.state
    data, unavailable = state.tenant_data.get_or_unavailable(caller.tenant, state.settings)
    payers = draft.payers()
    if data is not None:
        payers |= set(data.claims["payer_id"].dropna().astype(str))
    versions = stores.policies.versions()
    refusals = context.pop("refusals", {})
    values = {
        "draft": draft,
        "values": draft.values,
        "liable": set(draft.liable),
        "budget": draft.values.get("budget_hours", DEFAULT_BUDGET_HOURS),
        "payers": sorted(payers),
        "payers_unavailable": unavailable.reason if unavailable else None,
        "categories": DENIAL_CATEGORIES,
        "actions": APPEAL_ACTIONS,
        "numbers": NUMBERS,
        "payer_fields": PAYER_FIELDS,
        "versions": versions,
        "in_force": versions[-1].version,
        "refusals": refusals,
        "summary": [
            (field_id(name), label(name), message, name in draft.values and name != "version")
            for name, message in refusals.items()
        ],
        "label": label,
        "fid": field_id,
        "words": words,
        **context,
    }
    return page(request, "policy/page.html", caller, values, status_code=status_code)
