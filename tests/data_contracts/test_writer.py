"""The partitioned Parquet form of a data directory: month folders, chunks that only add parts,
and a read that gives exactly what the single file gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from data_contracts.reader import read_data_dir
from data_contracts.schemas import TABLES
from data_contracts.writer import to_arrow, write_data_dir, write_partitioned, write_table
from tests.data_contracts.test_reader import text_tables, write_csv_dir


@pytest.fixture
def typed(tmp_path: Path) -> dict[str, pd.DataFrame]:
    """The reader's valid directory, typed, with claim C3 served in February: two months."""
    tables = text_tables()
    tables["claims"].loc[2, "service_date"] = "2024-02-01"
    return read_data_dir(write_csv_dir(tmp_path / "csv", tables)).tables()


def relative(paths: list[Path], root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in paths]


def test_partitioned_reads_back_exactly_as_the_single_file(tmp_path: Path, typed) -> None:
    write_data_dir(tmp_path / "single", typed, fmt="parquet")
    write_partitioned(tmp_path / "parts", typed, chunk=0)

    single, parts = read_data_dir(tmp_path / "single"), read_data_dir(tmp_path / "parts")

    assert parts.present == single.present == frozenset(TABLES)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(parts, name), getattr(single, name), obj=name)


def test_claims_and_their_rows_go_to_the_claims_service_month(tmp_path: Path, typed) -> None:
    written = write_partitioned(tmp_path, typed, chunk=0)

    assert sorted(relative(written, tmp_path)) == [
        "appeals.parquet/service_month=2024-01/part-00000.parquet",
        "authorizations.parquet/part-00000.parquet",
        "claim_lines.parquet/service_month=2024-01/part-00000.parquet",
        "claim_lines.parquet/service_month=2024-02/part-00000.parquet",
        "claims.parquet/service_month=2024-01/part-00000.parquet",
        "claims.parquet/service_month=2024-02/part-00000.parquet",
        "eligibility.parquet/part-00000.parquet",
        "remits.parquet/service_month=2024-01/part-00000.parquet",
    ]
    february = pq.read_table(
        tmp_path / "claim_lines.parquet/service_month=2024-02/part-00000.parquet"
    )
    assert february.column("claim_id").to_pylist() == ["C3"]
    assert february.schema == to_arrow("claim_lines", typed["claim_lines"]).schema


def test_a_later_chunk_adds_parts_and_leaves_earlier_ones_alone(tmp_path: Path, typed) -> None:
    about_claims = ("claims", "claim_lines", "remits", "appeals")
    first = {name: typed[name][typed[name]["claim_id"] != "C3"] for name in about_claims}
    first["authorizations"], first["eligibility"] = typed["authorizations"], typed["eligibility"]
    later = {name: typed[name][typed[name]["claim_id"] == "C3"] for name in about_claims}
    earlier = write_partitioned(tmp_path, first, chunk=0)
    before = {path: path.stat().st_mtime_ns for path in earlier}

    added = write_partitioned(tmp_path, later, chunk=1)

    assert {path: path.stat().st_mtime_ns for path in earlier} == before
    assert all(path.name == "part-00001.parquet" for path in added)
    # C3 has no remit and no appeal: an empty part at the root keeps the schema, no month.
    assert "remits.parquet/part-00001.parquet" in relative(added, tmp_path)
    data = read_data_dir(tmp_path)
    assert sorted(data.claims["claim_id"]) == ["C1", "C2", "C3"]
    assert len(data.claim_lines) == len(typed["claim_lines"])


def test_chunk_zero_replaces_every_earlier_form_of_the_table(tmp_path: Path, typed) -> None:
    write_data_dir(tmp_path, typed, fmt="csv")
    write_partitioned(tmp_path, typed, chunk=0)
    write_partitioned(tmp_path, {"eligibility": typed["eligibility"]}, chunk=3)

    write_partitioned(tmp_path, typed, chunk=0)

    assert not any(tmp_path.glob("*.csv"))
    assert not (tmp_path / "eligibility.parquet/part-00003.parquet").exists()
    assert len(read_data_dir(tmp_path).eligibility) == len(typed["eligibility"])


def test_a_row_about_a_claim_outside_the_chunk_is_refused(tmp_path: Path, typed) -> None:
    with pytest.raises(ValueError, match="claim_lines names claims"):
        write_partitioned(
            tmp_path, {"claims": typed["claims"].iloc[:1], "claim_lines": typed["claim_lines"]}, 0
        )
    with pytest.raises(ValueError, match="pass claims too"):
        write_partitioned(tmp_path, {"remits": typed["remits"]}, 0)


def test_writing_a_single_file_replaces_the_partitioned_table(tmp_path: Path, typed) -> None:
    write_partitioned(tmp_path, typed, chunk=0)

    write_table(tmp_path, "appeals", typed["appeals"], "parquet")

    assert (tmp_path / "appeals.parquet").is_file()
    pd.testing.assert_frame_equal(read_data_dir(tmp_path).appeals, typed["appeals"])
