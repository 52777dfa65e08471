"""The tenants (billing practices) themselves: adding and listing them, an admin's work.

A tenant's rows are reached only through `Database.scope(name)`; the registry of
tenants is cross-tenant, so these functions run as an admin (`Database.admin()`).
A tenant's audit trail starts with its `tenant_created` row, written in the same
transaction as the tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from settings import Settings
from storage import audit
from storage.database import NAME_LENGTH, Database, is_name, utc_now
from storage.schema import TENANTS
from storage.tenancy import DEFAULT_TENANT, TENANT, check_tenant

log = logging.getLogger(__name__)


class TenantError(ValueError):
    """A tenant that cannot be added; the message names it and the reason."""


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant and its own settings (None: the installation's)."""

    name: str
    created_at: datetime | None
    """None: not read from the database (`SEEDED`)."""
    data_dir: Path | None
    model_name: str | None

    def model_names(self, settings: Settings) -> tuple[str, str]:
        """The tenant's registered denial and recovery models.

        `model_name` when set (its recovery model `<model_name>-recovery`); otherwise
        `default` keeps the installation's names, so today's scripts and MLproject work,
        and any other tenant gets `<name>-<tenant>` of each, so no tenant's training
        replaces another's champion."""
        if self.model_name:
            return self.model_name, f"{self.model_name}-recovery"
        if self.name == DEFAULT_TENANT:
            return settings.denial_model_name, settings.recovery_model_name
        return (
            f"{settings.denial_model_name}-{self.name}",
            f"{settings.recovery_model_name}-{self.name}",
        )

    def models(self, settings: Settings) -> Settings:
        """`settings` with the tenant's models in place of the installation's: what `train`
        registers under and what scoring and ranking load (their champions)."""
        denial, recovery = self.model_names(settings)
        if (denial, recovery) == (settings.denial_model_name, settings.recovery_model_name):
            return settings
        return settings.model_copy(
            update={
                "denial_model_name": denial,
                "recovery_model_name": recovery,
                "model_uri": f"models:/{denial}@champion",
                "recovery_model_uri": f"models:/{recovery}@champion",
            }
        )


def add_tenant(
    database: Database,
    name: str,
    *,
    by: str,
    data_dir: Path | None = None,
    model_name: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Tenant:
    """Add the tenant `name` (its data directory and registered model, if its own), audited
    in its trail as created by `by`."""
    try:
        check_tenant(name)
    except ValueError as error:
        raise TenantError(str(error)) from error
    if not is_name(by):
        raise TenantError(f"who adds a tenant must be a name of 1 to {NAME_LENGTH} chars")
    now = clock()
    row = {
        "name": name,
        "created_at": now,
        "data_dir": None if data_dir is None else str(data_dir),
        "model_name": model_name,
    }
    try:
        with database.admin().writing() as connection:
            connection.execute(TENANTS.insert(), row)
            connection.execution_options(**{TENANT: name})  # the rest is the new tenant's
            detail = {"tenant": name, "data_dir": row["data_dir"], "model_name": model_name}
            event = {"at": now, "actor": by, "claim_id": None, "event": "tenant_created"}
            audit.append(connection, [{**event, "detail": detail}])
    except sa.exc.IntegrityError as error:
        raise TenantError(f"there is already a tenant named {name!r}") from error
    log.info("tenant %s added by %s", name, by)
    return _tenant(row)


def list_tenants(database: Database) -> list[Tenant]:
    """Every tenant, by name."""
    with database.admin().engine.connect() as connection:
        rows = connection.execute(sa.select(TENANTS).order_by(TENANTS.c.name)).mappings()
        return [_tenant(row) for row in rows]


SEEDED = Tenant(DEFAULT_TENANT, None, None, None)
"""The `default` tenant as every installation seeds it (migration 0006): the commands run
on a data directory use it without opening the database, as they did before tenants."""


def get_tenant(database: Database, name: str) -> Tenant | None:
    """The tenant `name`, or None when there is none."""
    query = sa.select(TENANTS).where(TENANTS.c.name == name)
    with database.admin().engine.connect() as connection:
        row = connection.execute(query).mappings().one_or_none()
    return None if row is None else _tenant(row)


def _tenant(row: sa.RowMapping | dict) -> Tenant:
    data_dir = row["data_dir"]
    return Tenant(
        row["name"],
        row["created_at"],
        None if data_dir is None else Path(data_dir),
        row["model_name"],
    )
