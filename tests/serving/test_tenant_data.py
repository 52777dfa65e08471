"""Each tenant's contract data as the pages read it: kept while its files stand, read again
when one changes, and, when it cannot be had, why."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from data_contracts.reader import read_data_dir
from data_contracts.writer import write_partitioned
from serving.tenant_data import NoDataError, TenantData
from settings import Settings
from storage.tenants import add_tenant
from synthetic import generate, write_synthetic


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("practice")
    write_synthetic(generate(300, seed=3), folder)
    return folder


def test_the_data_is_kept_until_a_table_file_changes(database, practice, tmp_path) -> None:
    folder = shutil.copytree(practice, tmp_path / "copy")
    settings = Settings(queue_data_dir=folder)
    kept = TenantData(database)
    first = kept.get("default", settings)
    assert kept.get("default", settings) is first
    claims = folder / "claims.csv"
    os.utime(claims, ns=(claims.stat().st_atime_ns, claims.stat().st_mtime_ns + 10**9))
    again = kept.get("default", settings)
    assert again is not first
    assert again.claims["claim_id"].tolist() == first.claims["claim_id"].tolist()


def test_a_new_part_of_a_partitioned_table_is_a_change(database, practice, tmp_path) -> None:
    folder = shutil.copytree(practice, tmp_path / "copy")
    tables = read_data_dir(folder).tables()
    for path in folder.glob("*.csv"):
        path.unlink()
    write_partitioned(folder, tables, chunk=0)
    kept = TenantData(database)
    first = kept.get("default", Settings(queue_data_dir=folder))
    assert kept.get("default", Settings(queue_data_dir=folder)) is first

    write_partitioned(folder, {"eligibility": tables["eligibility"].iloc[:0]}, chunk=1)

    assert kept.get("default", Settings(queue_data_dir=folder)) is not first


def test_a_tenant_reads_its_own_directory_never_the_installations(database, practice) -> None:
    add_tenant(database, "north", by="test")
    kept = TenantData(database)
    with pytest.raises(NoDataError, match="tenant 'north' has no data directory"):
        kept.get("north", Settings(queue_data_dir=practice))


def test_why_the_data_cannot_be_had_is_said(database, practice, tmp_path) -> None:
    kept = TenantData(database)
    data, why = kept.get_or_unavailable("default", Settings(queue_data_dir=None))
    assert data is None
    assert why.missing
    gone = tmp_path / "gone"
    data, why = kept.get_or_unavailable("default", Settings(queue_data_dir=gone))
    assert (data, why.missing) == (None, True)
    assert "cannot be read" in why.reason
    broken = shutil.copytree(practice, tmp_path / "broken")
    (broken / "claim_lines.csv").unlink()
    data, why = kept.get_or_unavailable("default", Settings(queue_data_dir=broken))
    assert (data, why.missing) == (None, False)
    assert why.reason == "the practice's data directory breaks the contract"
