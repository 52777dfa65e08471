"""The accept-versus-appeal policy: revenue operations' numbers, versioned in the database.

The queue ranks with whatever the policy says; the policy never lives in code.
A bad policy is a clear error naming the field. Each save is a new row of
`policy_versions` (and an audit row), the versions before it kept, so what the
queue did on a given day can always be traced to the policy it used. The policy
in force is the latest version, else the shipped default (version 1).

Saves are optimistic: the policy sent carries the version it was edited from,
and a save from anything but the version in force is refused (`PolicyConflictError`)
rather than silently overwriting a colleague's change. The version is assigned as
base + 1 by an INSERT, so the table's primary key decides two saves that race.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from data_contracts.enums import APPEAL_ACTIONS, DENIAL_CATEGORIES
from settings import Settings
from storage import audit
from storage.database import NAME_LENGTH, Database, is_name, utc_now
from storage.schema import POLICY_VERSIONS
from storage.tenancy import DEFAULT_TENANT

log = logging.getLogger(__name__)
Action = Literal.__getitem__(APPEAL_ACTIONS)
RETIRED_WINDOW = "appeal_window_days"
"""The blanket appeal window of policies before deadlines were learned; dropped on load."""
BOOKKEEPING = ("version", "updated_by", "updated_at", "note")
"""Fields that say which version a policy is, not how it ranks: left out of a diff."""


class PolicyError(ValueError):
    """The policy cannot be used; the message names its source and the field."""


class PolicyConflictError(Exception):
    """A save from a version that is no longer in force (HTTP 409)."""

    def __init__(self, base_version: int, current_version: int):
        super().__init__(
            f"the policy was edited from version {base_version}, but version {current_version} "
            f"is in force now: start again from version {current_version}"
        )
        self.base_version = base_version
        self.current_version = current_version


class _Strict(BaseModel):
    # NaN and Infinity (JSON bodies may carry them as literals) are refused, not ranked with.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PayerOverride(_Strict):
    appeal_window_days: int | None = Field(
        None, ge=1, le=3650, description="Payer's appeal window from the remit; overrides history."
    )
    min_expected_net: float | None = None
    filing_limit_days: int | None = Field(
        None, ge=1, le=3650, description="Payer's timely-filing limit; overrides history."
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

    def window_days(self, payer_id: str) -> int | None:
        """The payer's configured appeal window; None: learn it from history."""
        override = self.payers.get(payer_id)
        return override.appeal_window_days if override else None

    def filing_limit(self, payer_id: str) -> int | None:
        """The payer's configured timely-filing limit; None: learn it from history."""
        override = self.payers.get(payer_id)
        return override.filing_limit_days if override else None

    @property
    def cost_per_minute(self) -> float:
        return self.biller_hour_cost / 60.0


@dataclass(frozen=True)
class PolicyVersion:
    """One saved version as the list of versions shows it (`saved_at` None: the shipped
    default, never saved)."""

    version: int
    saved_by: str
    saved_at: datetime | None
    note: str


@dataclass(frozen=True)
class Change:
    """A field that differs between two policies (None: not set in that one)."""

    field: str
    old: Any
    new: Any


def flatten(policy: Policy) -> dict[str, Any]:
    """The policy's ranking fields by dotted name (`payers.PY-1.filing_limit_days`); the
    bookkeeping fields are left out, and so is an override left unset."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif value is not None:
            flat[prefix] = value

    walk("", policy.model_dump(mode="json", exclude=set(BOOKKEEPING)))
    return flat


def diff_policies(old: Policy, new: Policy) -> list[Change]:
    """What changed from `old` to `new`, field by dotted field, in the policy's field order:
    what RevOps reads to see what a version did to the ranking."""
    before, after = flatten(old), flatten(new)
    names = list(before) + [name for name in after if name not in before]
    return [
        Change(name, before.get(name), after.get(name))
        for name in names
        if before.get(name) != after.get(name)
    ]


def parse_policy(text: str, source: str) -> Policy:
    """A policy from YAML text; errors name `source` and each bad field."""
    try:
        # libyaml's loader where PyYAML has it: a tenfold faster parse, paid on every page
        # that shows the policy in force.
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise PolicyError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: expected a mapping of policy fields")
    if RETIRED_WINDOW in raw:
        # Policies saved before deadlines were learned carry a blanket window for every payer:
        # an invented deadline, so it is dropped rather than refused (the policy still loads).
        log.warning(
            "%s: %s (%s) is no longer used and was dropped: appeal windows are learned per "
            "payer from the appeals history, or set per payer under payers.<id>.%s",
            source,
            RETIRED_WINDOW,
            raw.pop(RETIRED_WINDOW),
            RETIRED_WINDOW,
        )
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


class PolicyStore:
    """`tenant`'s saved policy versions in the service's database (`policy_versions`).

    `legacy_file` is the YAML file policies were saved to before they moved into the
    database (`settings.policy_path`): while no version is stored, opening the store
    imports it as the starting version, once. It is the single-tenant installation's
    file, so only the `default` tenant imports it; another tenant starts from the shipped
    default.
    """

    def __init__(
        self,
        database: Database,
        *,
        tenant: str = DEFAULT_TENANT,
        legacy_file: Path | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._database = database.scope(tenant)
        self._clock = clock
        if tenant == DEFAULT_TENANT and legacy_file is not None and legacy_file.exists():
            self._import(legacy_file)

    def current(self) -> Policy:
        """The policy in force: the latest saved version, else the shipped default."""
        with self._database.engine.connect() as connection:
            row = connection.execute(
                sa.select(POLICY_VERSIONS.c.version, POLICY_VERSIONS.c.policy)
                .order_by(POLICY_VERSIONS.c.version.desc())
                .limit(1)
            ).one_or_none()
        return default_policy() if row is None else _stored(row.version, row.policy)

    def version(self, version: int) -> Policy:
        """A saved version (1 is the shipped default until a version 1 is stored)."""
        with self._database.engine.connect() as connection:
            text = connection.execute(
                sa.select(POLICY_VERSIONS.c.policy).where(POLICY_VERSIONS.c.version == version)
            ).scalar_one_or_none()
        if text is not None:
            return _stored(version, text)
        if version == default_policy().version:
            return default_policy()
        raise PolicyError(f"there is no policy version {version}")

    def versions(self) -> list[PolicyVersion]:
        """Every version, oldest first: the saved ones, after the shipped default while no
        version 1 is saved (it is the version the first save was edited from)."""
        columns = [POLICY_VERSIONS.c[name] for name in ("version", "saved_by", "saved_at", "note")]
        with self._database.engine.connect() as connection:
            rows = connection.execute(sa.select(*columns).order_by(POLICY_VERSIONS.c.version))
            saved = [PolicyVersion(**row._mapping) for row in rows]
        shipped = default_policy()
        if any(row.version == shipped.version for row in saved):
            return saved
        return [PolicyVersion(shipped.version, shipped.updated_by, None, shipped.note), *saved]

    def save(self, policy: Policy, actor: str) -> Policy:
        """Save `policy`, edited from version `policy.version`, as the next version, stamped
        with `actor` and the time; audited in the same transaction.

        Raises PolicyConflictError when `policy.version` is not the version in force, be it
        found before writing or decided by the primary key when two saves race.
        """
        if not is_name(actor):
            raise PolicyError(f"who saves the policy must be a name of 1 to {NAME_LENGTH} chars")
        base, now = policy.version, self._clock()
        saved = policy.model_copy(
            update={
                "version": base + 1,
                "updated_by": actor,
                "updated_at": now.isoformat(timespec="seconds"),
            }
        )
        try:
            with self._database.writing() as connection:
                current = _latest_version(connection)
                if current != base:
                    raise PolicyConflictError(base, current)
                _insert(connection, saved, now, {"base_version": base})
        except sa.exc.IntegrityError as error:
            # Another save from the same base committed first (PostgreSQL; on SQLite the
            # write lock makes the later save see the new version above).
            with self._database.engine.connect() as connection:
                raise PolicyConflictError(base, _latest_version(connection)) from error
        log.info("policy version %d saved by %s", saved.version, actor)
        return saved

    def _import(self, path: Path) -> None:
        """Import the legacy file while no version is stored; once one is, the file is
        not read again (and may be deleted)."""
        stored = sa.select(sa.func.count()).select_from(POLICY_VERSIONS)
        with self._database.engine.connect() as connection:
            if connection.execute(stored).scalar():
                return
        legacy = parse_policy(
            path.read_text(encoding="utf-8"),
            f"{path} (the policy file from before policies were kept in the database: "
            "fix it, or remove it to start from the shipped default)",
        )
        # Names were not limited in files; the database keeps the first 64 characters.
        legacy = legacy.model_copy(update={"updated_by": legacy.updated_by[:NAME_LENGTH]})
        try:
            with self._database.writing() as connection:
                if connection.execute(stored).scalar():
                    return
                _insert(connection, legacy, self._clock(), {"imported_from": str(path)})
        except sa.exc.IntegrityError:
            return  # another process imported it at the same moment
        log.info("policy version %d imported from %s", legacy.version, path)


def policy_in_force(settings: Settings, tenant: str = DEFAULT_TENANT) -> Policy:
    """`tenant`'s policy in force in `settings.database_url` (for commands that do not keep
    a database open)."""
    with Database.from_settings(settings) as database:
        return PolicyStore(database, tenant=tenant, legacy_file=settings.policy_path).current()


def _latest_version(connection: sa.Connection) -> int:
    latest = connection.execute(sa.select(sa.func.max(POLICY_VERSIONS.c.version))).scalar()
    return default_policy().version if latest is None else int(latest)


def _insert(
    connection: sa.Connection, policy: Policy, at: datetime, detail: dict[str, object]
) -> None:
    """Store `policy` as its version, with its audit row (detail: the version, the note and
    `detail`)."""
    connection.execute(
        POLICY_VERSIONS.insert().values(
            version=policy.version,
            policy=yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False),
            saved_by=policy.updated_by,
            saved_at=at,
            note=policy.note,
        )
    )
    row = {"version": policy.version, "note": policy.note, **detail}
    event = {"at": at, "actor": policy.updated_by, "claim_id": None, "event": "policy_saved"}
    audit.append(connection, [{**event, "detail": row}])


def _stored(version: int, text: str) -> Policy:
    return parse_policy(text, f"policy version {version} in the database")
