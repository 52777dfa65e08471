"""A tenant's own registered models: `default` keeps the installation's names (today's
scripts and MLproject), another tenant gets its own, or the name it was given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from settings import Settings
from storage.database import Database
from storage.tenants import SEEDED, Tenant, add_tenant, get_tenant

SETTINGS = Settings(denial_model_name="risk", recovery_model_name="recover")


def tenant(name: str, model_name: str | None = None) -> Tenant:
    return Tenant(name, datetime(2026, 1, 1, tzinfo=UTC), None, model_name)


@pytest.mark.parametrize(
    ("name", "model_name", "expected"),
    [
        ("default", None, ("risk", "recover")),
        ("acme", None, ("risk-acme", "recover-acme")),
        ("acme", "acme-bh", ("acme-bh", "acme-bh-recovery")),
        ("default", "house", ("house", "house-recovery")),
    ],
)
def test_each_tenant_has_its_own_model_names(name, model_name, expected) -> None:
    assert tenant(name, model_name).model_names(SETTINGS) == expected


def test_a_tenants_settings_load_its_own_champions() -> None:
    own = tenant("acme").models(SETTINGS)
    assert (own.denial_model_name, own.recovery_model_name) == ("risk-acme", "recover-acme")
    assert (own.model_uri, own.recovery_model_uri) == (
        "models:/risk-acme@champion",
        "models:/recover-acme@champion",
    )
    assert SEEDED.models(SETTINGS) is SETTINGS  # default: the configured URIs, as before


def test_a_tenant_is_read_back_with_its_directory_and_model(database: Database, tmp_path) -> None:
    add_tenant(database, "acme", by="ops", data_dir=tmp_path, model_name="acme-bh")
    found = get_tenant(database, "acme")
    assert found is not None
    assert (found.data_dir, found.model_name) == (tmp_path, "acme-bh")
    assert get_tenant(database, "nobody") is None
    assert get_tenant(database, "default").data_dir is None
