"""Reading with a quarantine ceiling: bad rows and their dependants are set aside, written
down as read with their problem, and the rest loads; above the ceiling nothing loads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.quarantine import FOLDER, PARENT_QUARANTINED
from data_contracts.reader import (
    ContractData,
    ContractError,
    QuarantineCeilingError,
    read_data_dir,
)
from data_contracts.schemas import TABLES
from data_contracts.writer import write_data_dir
from tests.data_contracts.test_reader import text_tables, write_csv_dir

EVERYTHING = 1.0
"""A ceiling no table can exceed: the valid directory has 2 to 4 rows a table."""


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return text_tables()


def quarantined(directory: Path) -> dict[str, pd.DataFrame]:
    folder = directory / FOLDER
    if not folder.exists():
        return {}
    return {
        path.stem: pd.read_csv(path, dtype=str, keep_default_na=False)
        for path in sorted(folder.glob("*.csv"))
    }


def set_aside_rows(directory: Path) -> dict[str, set[int]]:
    return {name: set(frame["row"].astype(int)) for name, frame in quarantined(directory).items()}


def assert_rest_is_a_valid_directory(data: ContractData, tmp_path: Path) -> None:
    """What was kept reads strictly on its own: no dangling reference, no partial claim."""
    write_data_dir(tmp_path / "kept", data.tables(), fmt="csv")
    strict = read_data_dir(tmp_path / "kept")
    for name in TABLES:
        assert len(getattr(strict, name)) == len(getattr(data, name)), name


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "rule", "expected"),
    [
        pytest.param(
            "claims",
            2,
            "service_date",
            "2024-02-30",
            "not a date in YYYY-MM-DD form",
            {"claims": {2}, "claim_lines": {2, 3}, "remits": {2}},
            id="unparseable-date",
        ),
        pytest.param(
            "claim_lines",
            1,
            "line_charge",
            "-5.00",
            "must be ≥ 0",
            {"claim_lines": {1}, "claims": {1}, "remits": {1}, "appeals": {1, 2}},
            id="negative-amount",
        ),
        pytest.param(
            "remits",
            2,
            "status",
            "rejected",
            "must be one of",
            {"remits": {2}, "claims": {2}, "claim_lines": {2, 3}},
            id="unknown-enum",
        ),
        pytest.param(
            "eligibility",
            1,
            "coverage_end",
            "2022-12-31",
            "coverage_end is before coverage_start",
            {
                "eligibility": {1},
                "claims": {1, 3},
                "claim_lines": {1, 4},
                "remits": {1},
                "appeals": {1, 2},
            },
            id="coverage-ends-before-it-starts",
        ),
        pytest.param(
            "authorizations",
            1,
            "end_date",
            "2023-12-31",
            "end_date is before start_date",
            {"authorizations": {1}, "claims": {2}, "claim_lines": {2, 3}, "remits": {2}},
            id="authorization-ends-before-it-starts",
        ),
        pytest.param(
            "appeals",
            2,
            "claim_id",
            "C9",
            "names a claim that is not in claims",
            {"appeals": {2}},
            id="orphan-foreign-key",
        ),
        pytest.param(
            "remits",
            2,
            "claim_id",
            "C1",
            "duplicate key (claim_id) must be unique",
            {"remits": {1, 2}, "claims": {1}, "claim_lines": {1}, "appeals": {1, 2}},
            id="duplicate-key",
        ),
        pytest.param(
            "claim_lines",
            4,
            "procedure_code",
            "9083",
            "not a valid CPT/HCPCS code",
            {"claim_lines": {4}, "claims": {3}},
            id="bad-code",
        ),
    ],
)
def test_each_kind_of_bad_row_is_set_aside_with_its_dependants(
    tmp_path: Path, tables, table: str, row: int, column: str, value: str, rule: str, expected
) -> None:
    tables[table].loc[row - 1, column] = value
    directory = write_csv_dir(tmp_path / "data", tables)

    data = read_data_dir(directory, quarantine_ceiling=EVERYTHING)

    assert set_aside_rows(directory) == expected
    files = quarantined(directory)
    own = files[table][files[table]["row"] == str(row)]
    assert own[column].tolist() == [value]
    assert column in own["column"].iloc[0]
    assert rule in own["problem"].iloc[0]
    for name, frame in files.items():
        assert list(frame.columns) == [*tables[name].columns, "row", "column", "problem"]
        if name != table:
            assert set(frame["problem"]) <= {
                PARENT_QUARANTINED,
                f"{table} row quarantined",
                "authorization quarantined",
                "eligibility quarantined",
            }, name
    for name in TABLES:
        kept = len(tables[name]) - len(expected.get(name, ()))
        assert len(getattr(data, name)) == kept, name
    assert data.quarantine is not None
    assert data.quarantine.rows == sum(len(rows) for rows in expected.values())
    assert_rest_is_a_valid_directory(data, tmp_path)


def test_a_claims_children_follow_it_and_only_its_own(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "plan_type"] = "ppo"  # C2
    directory = write_csv_dir(tmp_path / "data", tables)

    data = read_data_dir(directory, quarantine_ceiling=EVERYTHING)

    files = quarantined(directory)
    assert files["claim_lines"]["claim_id"].tolist() == ["C2", "C2"]
    assert set(files["claim_lines"]["problem"]) == {PARENT_QUARANTINED}
    assert set(files["claim_lines"]["column"]) == {"claim_id"}
    assert files["remits"]["claim_id"].tolist() == ["C2"]
    assert "appeals" not in files  # C2 has none; C1's stay
    assert data.claims["claim_id"].tolist() == ["C1", "C3"]
    assert sorted(data.claim_lines["claim_id"]) == ["C1", "C3"]
    assert len(data.appeals) == 2
    assert data.quarantine.claim_ids == {"C2"}, "a queue keeps C2's item as it is"


def test_rows_are_written_as_read_with_one_line_per_problem(tmp_path: Path, tables) -> None:
    claims = tables["claims"]
    claims["note"] = ["a", "b", "c"]  # a column the contract does not name
    claims.loc[0, "plan_type"] = " PPO "
    claims.loc[0, "primary_dx"] = " f331 "  # fine, but lenient: kept as written
    claims.loc[0, "total_charge"] = "2OO.00"
    directory = write_csv_dir(tmp_path / "data", tables)

    read_data_dir(directory, quarantine_ceiling=EVERYTHING)

    lines = quarantined(directory)["claims"]
    own = lines[lines["row"] == "1"]
    assert sorted(own["column"]) == ["plan_type", "total_charge"]
    assert set(own["primary_dx"]) == {" f331 "}
    assert set(own["plan_type"]) == {" PPO "}
    assert set(own["note"]) == {"a"}


def test_above_the_ceiling_nothing_loads_and_the_rows_are_still_listed(
    tmp_path: Path, tables
) -> None:
    tables["claims"].loc[1, "plan_type"] = "ppo"  # 1 of 3 claims; 2 of 4 lines follow
    directory = write_csv_dir(tmp_path / "data", tables)

    with pytest.raises(QuarantineCeilingError) as info:
        read_data_dir(directory, quarantine_ceiling=0.3)

    error = info.value
    assert isinstance(error, ContractError)
    assert error.summary.tables.loc["claims", ["read", "own", "set_aside"]].tolist() == [3, 1, 1]
    assert error.summary.tables.loc["claim_lines", ["own", "set_aside"]].tolist() == [0, 2]
    message = str(error)
    assert "quarantine ceiling of 30.00%" in message
    assert "(claims 1 of 3 rows)" in message
    assert "claims.plan_type: must be one of" in message
    assert set_aside_rows(directory) == {"claims": {2}, "claim_lines": {2, 3}, "remits": {2}}


def test_followers_do_not_count_towards_the_ceiling(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "plan_type"] = "ppo"  # claims 33%; claim_lines 50%, all followers
    directory = write_csv_dir(tmp_path / "data", tables)

    data = read_data_dir(directory, quarantine_ceiling=0.34)

    assert len(data.claim_lines) == 2
    counts = data.quarantine.counts.set_index(["table", "column"])
    assert counts.loc[("claims", "plan_type"), "rows"] == 1
    assert counts.loc[("claim_lines", "claim_id")].tolist() == [PARENT_QUARANTINED, 2]


def test_each_load_rewrites_the_folder_and_removes_it_when_nothing_is_set_aside(
    tmp_path: Path, tables
) -> None:
    good = {name: frame.copy() for name, frame in tables.items()}
    tables["claims"].loc[1, "plan_type"] = "ppo"
    tables["appeals"].loc[1, "claim_id"] = "C9"
    directory = write_csv_dir(tmp_path / "data", tables)
    read_data_dir(directory, quarantine_ceiling=EVERYTHING)
    assert set(quarantined(directory)) == {"claims", "claim_lines", "remits", "appeals"}

    write_csv_dir(directory, {"appeals": good["appeals"]})
    read_data_dir(directory, quarantine_ceiling=EVERYTHING)
    assert set(quarantined(directory)) == {"claims", "claim_lines", "remits"}

    write_csv_dir(directory, {"claims": good["claims"]})
    data = read_data_dir(directory, quarantine_ceiling=EVERYTHING)
    assert not (directory / FOLDER).exists()
    assert data.quarantine is None


def test_a_file_of_someone_elses_in_the_folder_stays(tmp_path: Path, tables) -> None:
    directory = write_csv_dir(tmp_path / "data", tables)
    (directory / FOLDER).mkdir()
    (directory / FOLDER / "claims.csv").write_text("stale\n")
    (directory / FOLDER / "README.txt").write_text("ours\n")

    read_data_dir(directory, quarantine_ceiling=EVERYTHING)

    assert sorted(path.name for path in (directory / FOLDER).iterdir()) == ["README.txt"]


def test_strict_is_the_default_and_writes_nothing(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "plan_type"] = "ppo"
    directory = write_csv_dir(tmp_path / "data", tables)

    with pytest.raises(ContractError) as info:
        read_data_dir(directory)

    assert not isinstance(info.value, QuarantineCeilingError)
    assert "nothing was loaded" in str(info.value)
    assert not (directory / FOLDER).exists()


def test_a_problem_no_row_can_be_blamed_for_still_fails_the_load(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "plan_type"] = "ppo"
    directory = write_csv_dir(tmp_path / "data", tables)
    read_data_dir(directory, quarantine_ceiling=EVERYTHING)
    write_csv_dir(directory, {"remits": tables["remits"].drop(columns="status")})

    with pytest.raises(ContractError) as info:
        read_data_dir(directory, quarantine_ceiling=EVERYTHING)

    assert {(p.table, p.column) for p in info.value.problems} == {
        ("remits", "status"),
        ("claims", "plan_type"),
    }
    assert not (directory / FOLDER).exists()


def test_rows_that_cannot_be_written_down_are_not_set_aside(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "plan_type"] = "ppo"
    directory = write_csv_dir(tmp_path / "data", tables)
    (directory / FOLDER).write_text("a file where the folder goes\n")

    with pytest.raises(ContractError) as info:
        read_data_dir(directory, quarantine_ceiling=EVERYTHING)

    assert "cannot be set aside" in str(info.value)
    assert "claims.plan_type: must be one of" in str(info.value)


def test_parquet_rows_are_set_aside_as_their_text(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "plan_type"] = "ppo"
    directory = tmp_path / "data"
    directory.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)

    data = read_data_dir(directory, quarantine_ceiling=EVERYTHING)

    set_aside = quarantined(directory)["claims"]
    assert set_aside[["claim_id", "plan_type", "row"]].values.tolist() == [["C2", "ppo", "2"]]
    assert data.claims["claim_id"].tolist() == ["C1", "C3"]
