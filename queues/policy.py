"""The accept-versus-appeal policy: revenue operations' numbers, as a versioned YAML file.

The queue ranks with whatever the policy says; the policy never lives in code.
A bad file is a clear error naming the field. Every update is saved as the next
version, with the previous version kept beside it, so what the queue did on a
given day can always be traced to the policy it used.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from data_contracts.enums import APPEAL_ACTIONS, DENIAL_CATEGORIES

log = logging.getLogger(__name__)
Action = Literal.__getitem__(APPEAL_ACTIONS)


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    # NaN and Infinity (JSON bodies may carry them as literals) are refused, not ranked with.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PayerOverride(_Strict):
    appeal_window_days: int | None = Field(None, ge=1, le=3650)
    min_expected_net: float | None = None
    filing_limit_days: int | None = Field(
        None, ge=1, description="Payer's filing limit, for proof of timely submission."
    )


class CategoryOverride(_Strict):
    min_expected_net: float | None = None
    action: Action | None = None  # type: ignore[valid-type]


class Policy(_Strict):
    version: int = Field(ge=1)
    updated_by: str = "unknown"
    updated_at: str | None = None
    note: str = ""
    biller_hour_cost: float = Field(gt=0)
    min_expected_net: float
    deadline_buffer_days: int = Field(ge=0)
    appeal_window_days: int = Field(ge=1, le=3650)
    urgency_window_days: int = Field(ge=1)
    urgency_weight: float = Field(ge=0)
    default_effort_minutes: float = Field(gt=0)
    actions: dict[str, Action]  # type: ignore[valid-type]
    patient_liable: list[str] = []
    payers: dict[str, PayerOverride] = {}
    categories: dict[str, CategoryOverride] = {}

    @model_validator(mode="after")
    def known_categories(self) -> Policy:
        named = set(self.actions) | set(self.patient_liable) | set(self.categories)
        unknown = sorted(named - set(DENIAL_CATEGORIES))
        if unknown:
            raise ValueError(f"unknown denial categories {unknown}")
        missing = sorted(set(DENIAL_CATEGORIES) - set(self.actions))
        if missing:
            raise ValueError(f"actions has no entry for {missing}")
        return self

    def action_for(self, category: str) -> str:
        override = self.categories.get(category)
        return override.action if override and override.action else self.actions[category]

    def min_net(self, payer_id: str, category: str) -> float:
        """The stricter of the payer's and the category's threshold, else the default."""
        found = [
            o.min_expected_net
            for o in (self.payers.get(payer_id), self.categories.get(category))
            if o is not None and o.min_expected_net is not None
        ]
        return max(found) if found else self.min_expected_net

    def window_days(self, payer_id: str) -> int:
        override = self.payers.get(payer_id)
        return (override.appeal_window_days if override else None) or self.appeal_window_days

    def filing_limit(self, payer_id: str) -> int | None:
        override = self.payers.get(payer_id)
        return override.filing_limit_days if override else None

    @property
    def cost_per_minute(self) -> float:
        return self.biller_hour_cost / 60.0


def parse_policy(text: str, source: str) -> Policy:
    """A policy from YAML text; errors name `source` and each bad field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: expected a mapping of policy fields")
    try:
        return Policy.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}" for e in error.errors()
        )
        raise PolicyError(f"{source}: {problems}") from error


def default_policy() -> Policy:
    text = resources.files(__package__).joinpath("policy.yaml").read_text(encoding="utf-8")
    return parse_policy(text, "the shipped default policy")


def load_policy(path: Path | None) -> Policy:
    """The policy at `path`, or the shipped default when there is no file yet."""
    if path is None or not path.exists():
        return default_policy()
    return parse_policy(path.read_text(encoding="utf-8"), str(path))


def save_policy(path: Path, policy: Policy, actor: str) -> Policy:
    """Save `policy` as the next version at `path`; the version it replaces is kept as
    `NAME.vN.yaml` beside it. Written atomically: a failed save leaves the old policy."""
    current = load_policy(path)
    saved = policy.model_copy(
        update={
            "version": current.version + 1,
            "updated_by": actor,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        archive = path.with_name(f"{path.stem}.v{current.version}{path.suffix}")
        archive.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    text = yaml.safe_dump(saved.model_dump(mode="json"), sort_keys=False)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)
    log.info("policy version %d saved by %s", saved.version, actor)
    return saved
