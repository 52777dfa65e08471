"""The reader loads a valid data directory unchanged and names every problem of a bad one."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_contracts import reader
from data_contracts.reader import ContractError, Problem, empty_table, read_data_dir
from data_contracts.schemas import TABLES
from data_contracts.writer import to_arrow, write_data_dir, write_partitioned
from tests.data_contracts.plausibility_cases import IMPLAUSIBLE, PLAUSIBLE_IDS, Implausible

VALID_CSV = {
    "claims": """
        claim_id,patient_id,payer_id,plan_type,network_status,rendering_provider_id,provider_credential,facility_id,program,place_of_service,service_date,submission_date,primary_dx,secondary_dx,prior_auth_id,total_charge,frequency_code,original_claim_id
        C1,P1,PAY1,commercial,in,R1,LCSW,FAC1,OP,11,2024-01-05,2024-01-08,F33.1,F41.1;Z63.0,,200.00,1,
        C2,P2,PAY2,medicaid,out,R2,MD,FAC1,IOP,02,2024-01-06,2024-01-09,F10.20,,A100,1500.50,1,
        C3,P1,PAY1,commercial,in,R1,LCSW,FAC1,OP,11,2024-01-05,2024-02-01,F33.1,F41.1,,200.00,7,C1
    """,
    "claim_lines": """
        claim_id,line_number,procedure_code,modifiers,units,minutes,line_charge,revenue_code
        C1,1,90837,95;HO,1,55,200.00,
        C2,1,S9480,,1,,1000.00,0905
        C2,2,H0015,HF,1,,500.50,0906
        C3,1,90837,95;HO,1,58,200.00,
    """,
    "remits": """
        claim_id,received_date,status,billed_amount,allowed_amount,paid_amount,patient_responsibility,carc_codes,rarc_codes
        C1,2024-01-20,denied,200.00,0.00,0.00,0.00,CO-197;PR-3,N54
        C2,2024-01-25,paid,1500.50,1200.00,1180.00,20.00,CO-45,
    """,
    "authorizations": """
        auth_id,patient_id,payer_id,procedure_codes,program,start_date,end_date,units_approved
        A100,P2,PAY2,S9480;H0015,IOP,2024-01-01,2024-03-31,30
        A200,P1,PAY1,,,2024-01-01,2024-06-30,0
    """,
    "eligibility": """
        patient_id,payer_id,coverage_start,coverage_end
        P1,PAY1,2023-01-01,
        P2,PAY2,2023-06-01,2024-12-31
    """,
    "appeals": """
        claim_id,action,action_date,effort_minutes,outcome,recovered_amount,closed_date,outcome_reason
        C1,appeal,2024-01-25,45,pending,0.00,,
        C1,corrected_claim,2024-02-01,20,upheld,0.00,2024-03-01,untimely
    """,
}


def text_tables() -> dict[str, pd.DataFrame]:
    """The valid directory's tables as text frames, for a test to spoil before writing."""
    return {
        name: pd.read_csv(
            io.StringIO(textwrap.dedent(text).strip()), dtype=str, keep_default_na=False
        )
        for name, text in VALID_CSV.items()
    }


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return text_tables()


def write_csv_dir(directory: Path, tables: dict[str, pd.DataFrame]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(directory / f"{name}.csv", index=False)
    return directory


def with_required(tables: dict[str, pd.DataFrame], table: str) -> dict[str, pd.DataFrame]:
    """`table` and the required tables only: fewer files to read keeps the suite fast."""
    return {name: tables[name] for name in ("claims", "claim_lines", table)}


@pytest.fixture
def valid_dir(tmp_path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    return write_csv_dir(tmp_path / "valid", tables)


def contract_error(directory: Path) -> ContractError:
    with pytest.raises(ContractError) as info:
        read_data_dir(directory)
    return info.value


def problem_at(error: ContractError, table: str, column: str | None) -> Problem:
    found = [p for p in error.problems if p.table == table and p.column == column]
    assert len(found) == 1, str(error)
    return found[0]


def only_problem(error: ContractError) -> Problem:
    assert len(error.problems) == 1, str(error)
    return error.problems[0]


# --- a valid directory --------------------------------------------------------------------


def test_valid_directory_reads_every_row_typed(valid_dir: Path, tables) -> None:
    data = read_data_dir(valid_dir)

    assert data.present == frozenset(TABLES)
    for name, frame in data.tables().items():
        assert list(frame.columns) == TABLES[name].column_names
        assert len(frame) == len(tables[name]), name

    claims = data.claims.set_index("claim_id")
    assert claims.loc["C3", "frequency_code"] == "7"
    assert claims.loc["C3", "original_claim_id"] == "C1"
    assert pd.isna(claims.loc["C1", "original_claim_id"])
    assert claims.loc["C2", "place_of_service"] == "02"
    assert claims.loc["C1", "secondary_dx"] == "F41.1;Z63.0"
    assert pd.isna(claims.loc["C2", "secondary_dx"])
    assert claims.loc["C2", "total_charge"] == pytest.approx(1500.50)
    assert claims["service_date"].dtype == "datetime64[us]"
    assert claims.loc["C1", "service_date"] == pd.Timestamp("2024-01-05")

    lines = data.claim_lines
    assert lines["modifiers"].tolist()[0] == "95;HO"
    assert lines["minutes"].dtype == "Int64"
    assert lines["minutes"].isna().tolist() == [False, True, True, False]
    assert lines["revenue_code"].isna().tolist() == [True, False, False, True]
    assert lines["revenue_code"].tolist()[1] == "0905"

    assert data.remits["carc_codes"].tolist()[0] == "CO-197;PR-3"
    assert data.eligibility["coverage_end"].isna().tolist() == [True, False]
    assert data.authorizations["units_approved"].tolist() == [30, 0]
    assert data.appeals["outcome_reason"].tolist() == [pd.NA, "untimely"]


def test_an_older_appeals_table_without_outcome_reason_reads_and_writes_back_as_it_was(
    tmp_path: Path, tables
) -> None:
    """`outcome_reason` came later (optional in the contract): its absence is no problem, and
    the writer does not add it."""
    tables["appeals"] = tables["appeals"].drop(columns="outcome_reason")
    data = read_data_dir(write_csv_dir(tmp_path / "old", with_required(tables, "appeals")))
    assert "outcome_reason" not in data.appeals.columns
    assert len(data.appeals) == 2
    written = write_data_dir(tmp_path / "out", {"appeals": data.appeals})[0]
    assert "outcome_reason" not in written.read_text().splitlines()[0]


def test_an_unknown_outcome_reason_is_named(tmp_path: Path, tables) -> None:
    tables["appeals"].loc[1, "outcome_reason"] = "late"
    error = contract_error(write_csv_dir(tmp_path, with_required(tables, "appeals")))
    problem = only_problem(error)
    assert (problem.table, problem.column, problem.rows, problem.values) == (
        "appeals",
        "outcome_reason",
        (2,),
        ("late",),
    )
    assert "untimely" in problem.rule


def test_absent_optional_tables_are_empty_frames(tmp_path: Path, tables) -> None:
    directory = write_csv_dir(tmp_path, with_required(tables, "claims"))

    data = read_data_dir(directory)

    assert data.present == frozenset({"claims", "claim_lines"})
    for name in ("remits", "authorizations", "eligibility", "appeals"):
        frame = getattr(data, name)
        assert frame.empty
        pd.testing.assert_frame_equal(frame, empty_table(name))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_table_round_trips_through_the_writer(
    tmp_path: Path, valid_dir: Path, tables, fmt: str
) -> None:
    first = read_data_dir(valid_dir)

    written = write_data_dir(tmp_path / "out", first.tables(), fmt=fmt)
    second = read_data_dir(tmp_path / "out")

    assert sorted(path.name for path in written) == sorted(f"{name}.{fmt}" for name in TABLES)
    assert second.present == first.present
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(second, name), getattr(first, name), obj=name)
        assert len(getattr(second, name)) == len(tables[name]), name


def test_writing_one_format_replaces_the_other(tmp_path: Path, valid_dir: Path) -> None:
    data = read_data_dir(valid_dir)
    out = tmp_path / "out"
    write_data_dir(out, data.tables(), fmt="csv")

    write_data_dir(out, {"claims": data.claims}, fmt="parquet")

    assert (out / "claims.parquet").exists()
    assert not (out / "claims.csv").exists()
    pd.testing.assert_frame_equal(read_data_dir(out).claims, data.claims)


def test_parquet_list_columns_become_semicolon_text(tmp_path: Path, valid_dir: Path) -> None:
    expected = read_data_dir(valid_dir)
    write_data_dir(tmp_path, expected.tables(), fmt="parquet")
    claims = pq.read_table(tmp_path / "claims.parquet")
    as_lists = pa.array([["F41.1", "Z63.0"], [], ["F41.1"]], type=pa.list_(pa.string()))
    index = claims.schema.get_field_index("secondary_dx")
    pq.write_table(claims.set_column(index, "secondary_dx", as_lists), tmp_path / "claims.parquet")

    pd.testing.assert_frame_equal(read_data_dir(tmp_path).claims, expected.claims)


def test_lenient_normalisation_reads_like_the_canonical_directory(
    tmp_path: Path, valid_dir: Path, tables
) -> None:
    claims, lines, remits = tables["claims"], tables["claim_lines"], tables["remits"]
    claims.loc[0, "primary_dx"] = "f33.1"  # lower case
    claims.loc[1, "primary_dx"] = "F1020"  # no dot
    claims.loc[0, "secondary_dx"] = " f411 ; Z630 "  # no dots, lower case, blanks
    claims.loc[2, "primary_dx"] = " F331 "
    claims.loc[0, "plan_type"] = " commercial "
    claims.loc[0, "total_charge"] = " 200.00 "
    claims.loc[0, "service_date"] = " 2024-01-05 "
    claims.loc[1, "place_of_service"] = " 02"
    lines.loc[0, "claim_id"] = " C1 "
    lines.loc[0, "modifiers"] = "95; ho"
    lines.loc[1, "procedure_code"] = "s9480"
    lines.loc[2, "procedure_code"] = "h0015 "
    lines.loc[0, "units"] = " 1 "
    remits.loc[0, "carc_codes"] = "co-197 ;pr-3"
    remits.loc[0, "rarc_codes"] = "n54"
    tables["authorizations"].loc[0, "procedure_codes"] = "s9480; h0015"

    lenient = read_data_dir(write_csv_dir(tmp_path / "lenient", tables))
    canonical = read_data_dir(valid_dir)

    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(lenient, name), getattr(canonical, name), obj=name)


def test_well_formed_icd10_codes_are_accepted(tmp_path: Path, tables) -> None:
    tables["claims"].loc[0, "primary_dx"] = "F3X.1"
    tables["claims"].loc[0, "secondary_dx"] = "F32.A;F43.10;Z63.0"

    claims = read_data_dir(write_csv_dir(tmp_path, with_required(tables, "claims"))).claims

    assert claims.loc[0, ["primary_dx", "secondary_dx"]].tolist() == [
        "F3X.1",
        "F32.A;F43.10;Z63.0",
    ]


# --- one kind of bad input at a time ------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("claims", "payer_id"),
        ("claims", "submission_date"),  # the remits are checked against it
        ("claim_lines", "units"),
        ("remits", "status"),
    ],
)
def test_missing_required_column(tmp_path: Path, tables, table: str, column: str) -> None:
    tables[table] = tables[table].drop(columns=column)

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, table)))

    problem = only_problem(error)
    assert (problem.table, problem.column, problem.rows) == (table, column, ())
    assert problem.rule == "required column is missing"
    assert f"{table}.{column}: required column is missing" in str(error)


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "rule"),
    [
        ("claims", 2, "plan_type", "ppo", "must be one of commercial, medicaid"),
        ("claims", 3, "frequency_code", "2", "must be one of 1, 7, 8"),
        ("appeals", 1, "outcome", "won", "must be one of overturned, upheld, pending"),
        ("claims", 2, "primary_dx", "3F3.1", "not a valid ICD-10-CM code"),
        ("claims", 1, "secondary_dx", "F41.1;3F3.1", "each item must be a valid ICD-10-CM code"),
        ("claim_lines", 3, "procedure_code", "9083", "not a valid CPT/HCPCS code"),
        ("claim_lines", 1, "modifiers", "95;HO;GT;59;25", "at most 4 items"),
        ("remits", 1, "carc_codes", "CO-197;3", "each item must be a valid CARC"),
        ("claims", 1, "total_charge", "-5.00", "must be ≥ 0"),
        ("claim_lines", 2, "line_charge", "-0.01", "must be ≥ 0"),
        ("remits", 2, "paid_amount", "-10.00", "must be ≥ 0"),
        ("claims", 1, "total_charge", "200.001", "not an amount in dollars and cents"),
        ("claim_lines", 1, "units", "1.5", "not a whole number"),
        ("claim_lines", 4, "line_number", "0", "must be ≥ 1"),
        ("claims", 2, "service_date", "2024-13-05", "not a date in YYYY-MM-DD form"),
        ("claims", 2, "service_date", "01/05/2024", "not a date in YYYY-MM-DD form"),
        ("appeals", 2, "closed_date", "2024-02-30", "not a date in YYYY-MM-DD form"),
    ],
)
def test_bad_value_is_named_by_table_column_and_row(
    tmp_path: Path, tables, table: str, row: int, column: str, value: str, rule: str
) -> None:
    tables[table].loc[row - 1, column] = value

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, table)))

    problem = only_problem(error)
    assert (problem.table, problem.column, problem.rows, problem.values) == (
        table,
        column,
        (row,),
        (value,),
    )
    assert rule in problem.rule
    assert f"{table}.{column}: {problem.rule} — 1 row: row {row} ({value!r})" in str(error)
    assert "1 problem(s)" in str(error)


def test_a_bad_patient_id_is_named_by_its_row_not_its_value(tmp_path: Path, tables) -> None:
    """The error is printed and logged; the value (a member id) stays in the data."""
    member = tables["claims"].loc[1, "patient_id"]
    tables["claims"].loc[1, "patient_id"] = f"{member}\x1fPY-A"

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, "claims")))

    problem = only_problem(error)
    assert (problem.column, problem.rows, problem.values) == (
        "patient_id",
        (2,),
        (f"{member}\x1fPY-A",),
    )
    assert "claims.patient_id: must be printable text" in str(error)
    assert str(error).endswith("— 1 row: row 2")
    assert member not in str(error)


def test_empty_required_value(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "payer_id"] = ""

    problem = only_problem(contract_error(write_csv_dir(tmp_path, with_required(tables, "claims"))))

    assert (problem.table, problem.column, problem.rows) == ("claims", "payer_id", (2,))
    assert problem.rule == "is empty"


def test_duplicate_claim_id(tmp_path: Path, tables) -> None:
    claims = tables["claims"]
    tables["claims"] = pd.concat([claims, claims.iloc[[0]]], ignore_index=True)

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, "claims")))

    problem = only_problem(error)
    assert (problem.table, problem.column, problem.rows) == ("claims", "claim_id", (1, 4))
    assert problem.values == ("C1", "C1")
    assert "claims.claim_id: duplicate key (claim_id) must be unique" in str(error)


def test_duplicate_claim_line_number(tmp_path: Path, tables) -> None:
    lines = tables["claim_lines"]
    tables["claim_lines"] = pd.concat([lines, lines.iloc[[2]]], ignore_index=True)

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, "claims")))

    problem = only_problem(error)
    assert (problem.table, problem.column, problem.rows) == (
        "claim_lines",
        "claim_id, line_number",
        (3, 5),
    )
    assert problem.values == ("C2/2", "C2/2")
    assert "duplicate key (claim_id, line_number)" in str(error)


def test_second_remit_for_a_claim_is_a_duplicate(tmp_path: Path, tables) -> None:
    remits = tables["remits"]
    tables["remits"] = pd.concat([remits, remits.iloc[[0]]], ignore_index=True)

    problem = only_problem(contract_error(write_csv_dir(tmp_path, with_required(tables, "remits"))))

    assert (problem.table, problem.column, problem.rows) == ("remits", "claim_id", (1, 3))


@pytest.mark.parametrize("child", ["claim_lines", "remits", "appeals"])
def test_dangling_claim_reference(tmp_path: Path, tables, child: str) -> None:
    orphan = tables[child].iloc[[0]].assign(claim_id="C9")
    tables[child] = pd.concat([tables[child], orphan], ignore_index=True)
    row = len(tables[child])

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, child)))

    problem = only_problem(error)
    assert (problem.table, problem.column, problem.rows, problem.values) == (
        child,
        "claim_id",
        (row,),
        ("C9",),
    )
    assert f"{child}.claim_id: names a claim that is not in claims" in str(error)


def test_claim_without_lines(tmp_path: Path, tables) -> None:
    tables["claim_lines"] = tables["claim_lines"].query("claim_id != 'C3'")

    problem = only_problem(contract_error(write_csv_dir(tmp_path, with_required(tables, "claims"))))

    assert (problem.table, problem.column, problem.rows) == ("claims", "claim_id", (3,))
    assert "no rows in claim_lines" in problem.rule


@pytest.mark.parametrize(
    ("table", "row", "changes", "columns"),
    [
        ("claims", 3, {"original_claim_id": ""}, "frequency_code, original_claim_id"),
        ("claims", 1, {"submission_date": "2024-01-04"}, "service_date, submission_date"),
        ("authorizations", 2, {"end_date": "2023-12-31"}, "start_date, end_date"),
        ("eligibility", 2, {"coverage_end": "2023-05-31"}, "coverage_start, coverage_end"),
        ("appeals", 2, {"closed_date": "2024-01-31"}, "action_date, closed_date"),
    ],
)
def test_row_rules(tmp_path: Path, tables, table: str, row: int, changes, columns) -> None:
    for column, value in changes.items():
        tables[table].loc[row - 1, column] = value

    problem = only_problem(contract_error(write_csv_dir(tmp_path, with_required(tables, table))))

    assert (problem.table, problem.column, problem.rows) == (table, columns, (row,))


def test_remit_before_submission(tmp_path: Path, tables) -> None:
    tables["remits"].loc[1, "received_date"] = "2024-01-08"

    problem = only_problem(contract_error(write_csv_dir(tmp_path, with_required(tables, "remits"))))

    assert (problem.table, problem.column, problem.rows) == ("remits", "received_date", (2,))
    assert problem.values == ("2024-01-08",)


@pytest.mark.parametrize("table", ["claims", "claim_lines"])
def test_missing_required_table(valid_dir: Path, table: str) -> None:
    (valid_dir / f"{table}.csv").unlink()

    error = contract_error(valid_dir)

    problem = problem_at(error, table, None)
    assert problem.rule == f"required table missing: {table}.csv or {table}.parquet"
    assert f"  - {table}: required table missing" in str(error)


def test_missing_directory(tmp_path: Path) -> None:
    error = contract_error(tmp_path / "nowhere")

    assert "does not exist" in str(error)


def test_unreadable_file(valid_dir: Path) -> None:
    (valid_dir / "remits.parquet").write_bytes(b"not parquet")
    (valid_dir / "remits.csv").unlink()

    problem = only_problem(contract_error(valid_dir))

    assert (problem.table, problem.column) == ("remits", None)
    assert problem.rule.startswith("cannot read remits.parquet")


@pytest.mark.parametrize("table", ["claims", "claim_lines"])
def test_csv_and_parquet_of_one_table_is_an_error(valid_dir: Path, tables, table: str) -> None:
    tables[table].to_parquet(valid_dir / f"{table}.parquet", index=False)

    error = contract_error(valid_dir)

    problem = problem_at(error, table, None)
    assert problem.rule == f"both {table}.csv and {table}.parquet exist: keep one"
    assert f"  - {table}: both {table}.csv and {table}.parquet exist" in str(error)
    assert not any("required table missing" in p.rule for p in error.problems)


# --- a partitioned table, a part at a time -----------------------------------------------


def write_in_two_chunks(directory: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """The valid directory partitioned, C3 served in February: chunk 0 holds C1 and C3,
    chunk 1 holds C2 (January again)."""
    tables["claims"].loc[2, "service_date"] = "2024-02-01"
    typed = read_data_dir(write_csv_dir(directory / "csv", tables)).tables()
    about_claims = ("claims", "claim_lines", "remits", "appeals")
    for chunk, claims in enumerate((["C1", "C3"], ["C2"])):
        part = {name: typed[name][typed[name]["claim_id"].isin(claims)] for name in about_claims}
        write_partitioned(directory / "parts", part, chunk)
    return directory / "parts"


def test_table_parts_are_in_month_then_chunk_order(tmp_path: Path, tables) -> None:
    parts = write_in_two_chunks(tmp_path, tables)

    found = reader.table_parts(parts, "claims")

    assert [path.relative_to(parts / "claims.parquet").as_posix() for path in found] == [
        "service_month=2024-01/part-00000.parquet",
        "service_month=2024-01/part-00001.parquet",
        "service_month=2024-02/part-00000.parquet",
    ]
    assert reader.table_parts(tmp_path / "csv", "claims") == [tmp_path / "csv/claims.csv"]
    assert reader.table_parts(parts, "eligibility") == []


def test_parts_read_one_at_a_time_add_up_to_the_whole_table(tmp_path: Path, tables) -> None:
    parts = write_in_two_chunks(tmp_path, tables)
    whole = read_data_dir(parts)
    found = reader.table_parts(parts, "claims")

    pieces = [reader.read_table_part(path, "claims") for path in found]

    assert [len(piece) for piece in pieces] == [1, 1, 1]
    pd.testing.assert_frame_equal(pd.concat(pieces, ignore_index=True), whole.claims)
    assert "service_month" not in whole.claims.columns


def test_a_bad_part_is_named_with_its_own_row(tmp_path: Path, tables) -> None:
    parts = write_in_two_chunks(tmp_path, tables)
    february = reader.table_parts(parts, "claims")[-1]
    bad = reader.read_table_part(february, "claims").assign(original_claim_id=None)
    pq.write_table(to_arrow("claims", bad), february)

    with pytest.raises(ContractError) as info:
        reader.read_table_part(february, "claims")

    problem = only_problem(info.value)
    assert (problem.table, problem.column, problem.rows) == (
        "claims",
        "frequency_code, original_claim_id",
        (1,),
    )
    assert str(info.value).startswith(f"{february} breaks the data contract")
    # The whole directory counts the row among all the table's rows, parts in order.
    assert problem_at(contract_error(parts), "claims", problem.column).rows == (3,)


def test_a_table_folder_without_parts_cannot_be_read(valid_dir: Path) -> None:
    (valid_dir / "remits.csv").unlink()
    (valid_dir / "remits.parquet").mkdir()

    problem = only_problem(contract_error(valid_dir))

    assert problem.rule == (
        "cannot read remits.parquet: remits.parquet is a folder without Parquet parts"
    )


# --- many problems ------------------------------------------------------------------------


def test_every_problem_is_reported_at_once(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "plan_type"] = "ppo"
    tables["claims"].loc[0, "primary_dx"] = "3F3.1"
    tables["claim_lines"].loc[2, "procedure_code"] = "9083"
    tables["claim_lines"] = tables["claim_lines"].drop(columns="minutes")
    tables["remits"].loc[1, "paid_amount"] = "-1.00"
    tables["appeals"].loc[0, "action_date"] = "01/25/2024"
    tables["appeals"].loc[1, "claim_id"] = "C9"
    del tables["eligibility"]
    (tmp_path / "eligibility.parquet").write_bytes(b"")

    error = contract_error(write_csv_dir(tmp_path, tables))

    assert {(p.table, p.column, p.rows) for p in error.problems} == {
        ("claims", "plan_type", (2,)),
        ("claims", "primary_dx", (1,)),
        ("claim_lines", "procedure_code", (3,)),
        ("claim_lines", "minutes", ()),
        ("remits", "paid_amount", (2,)),
        ("appeals", "action_date", (1,)),
        ("appeals", "claim_id", (2,)),
        ("eligibility", None, ()),
    }
    assert "8 problem(s)" in str(error)
    assert str(error).count("\n  - ") == 8


def test_one_problem_lists_its_rows_capped(tmp_path: Path, tables) -> None:
    claims = tables["claims"]
    many = pd.concat([claims.iloc[[1]]] * 8, ignore_index=True)
    many["claim_id"] = [f"X{i}" for i in range(8)]
    many["plan_type"] = "ppo"
    tables["claims"] = pd.concat([claims, many], ignore_index=True)
    lines = tables["claim_lines"].iloc[[1, 2]]  # both of C2's lines: they add up to its total
    tables["claim_lines"] = pd.concat(
        [tables["claim_lines"], *(lines.assign(claim_id=f"X{i}") for i in range(8))],
        ignore_index=True,
    )

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, "claims")))

    problem = only_problem(error)
    assert problem.rows == tuple(range(4, 12))
    assert "8 rows: row 4 ('ppo')" in str(error)
    assert "row 8 ('ppo') and 3 more" in str(error)


def test_problem_list_is_capped_but_every_problem_is_kept(tmp_path: Path) -> None:
    for name in TABLES:
        (tmp_path / f"{name}.csv").write_text("unexpected\n1\n")
    required = {
        (table.name, column.name)
        for table in TABLES.values()
        for column in table.columns
        if not column.optional
    }
    n_columns = len(required)
    assert n_columns > reader.MAX_LISTED_PROBLEMS

    error = contract_error(tmp_path)

    assert len(error.problems) == n_columns
    assert {(p.table, p.column) for p in error.problems} == required
    message = str(error)
    assert message.count("\n  - ") == reader.MAX_LISTED_PROBLEMS
    assert message.endswith(f"\n  ... and {n_columns - reader.MAX_LISTED_PROBLEMS} more problems")


def test_problem_cap_follows_max_listed_problems(
    tmp_path: Path, tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "MAX_LISTED_PROBLEMS", 2)
    tables["claims"] = tables["claims"].drop(columns=["payer_id", "program", "facility_id"])
    tables["claim_lines"].loc[0, "units"] = "x"

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, "claims")))

    assert len(error.problems) == 4
    assert str(error).count("\n  - ") == 2
    assert str(error).endswith("\n  ... and 2 more problems")


# --- regressions: each of these once crashed or rejected valid input -------------------


def test_duplicate_key_with_missing_value_is_a_contract_error(tmp_path: Path, tables) -> None:
    appeals = tables["appeals"]
    appeals.loc[0, "action_date"] = ""
    tables["appeals"] = pd.concat([appeals, appeals.iloc[[0]]], ignore_index=True)

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, "appeals")))

    assert ("appeals", "action_date") in {(p.table, p.column) for p in error.problems}


def test_icd10cm_u_codes_are_accepted(tmp_path: Path, tables) -> None:
    tables["claims"].loc[0, "secondary_dx"] = "U09.9"

    data = read_data_dir(write_csv_dir(tmp_path, with_required(tables, "claims")))

    assert data.claims.loc[0, "secondary_dx"] == "U09.9"


def test_header_only_directory_reads_as_empty_tables(tmp_path: Path, tables) -> None:
    directory = write_csv_dir(tmp_path, {name: frame.iloc[:0] for name, frame in tables.items()})

    data = read_data_dir(directory)

    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(data, name), empty_table(name), obj=name)


# --- plausibility: the same rules as the API (tests/serving/test_api.py) ---------------------


@pytest.mark.parametrize("case", IMPLAUSIBLE, ids=lambda case: f"{case.column}={case.value!r}")
def test_implausible_values_are_named_by_table_column_row_and_rule(
    tmp_path: Path, tables, case: Implausible
) -> None:
    row = 4 if case.table == "claim_lines" else 3
    tables[case.table].loc[row - 1, case.column] = case.value

    problem = only_problem(contract_error(write_csv_dir(tmp_path, with_required(tables, "claims"))))

    assert (problem.table, problem.column, problem.rows, problem.rule) == (
        case.table,
        case.column,
        (row,),
        case.rule,
    )


def test_a_total_that_disagrees_with_its_lines_shows_both(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "total_charge"] = "1500.52"  # lines 1000.00 + 500.50

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, "claims")))

    assert "claims.total_charge" in str(error)
    assert only_problem(error).values == ("1500.52 vs lines 1500.50",)


def test_a_total_within_a_cent_of_its_lines_is_accepted(tmp_path: Path, tables) -> None:
    tables["claims"].loc[1, "total_charge"] = "1500.51"

    claims = read_data_dir(write_csv_dir(tmp_path, with_required(tables, "claims"))).claims

    assert claims.loc[1, "total_charge"] == pytest.approx(1500.51)


@pytest.mark.parametrize("identifier", PLAUSIBLE_IDS)
def test_printable_identifiers_with_inner_blanks_are_accepted(
    tmp_path: Path, tables, identifier: str
) -> None:
    tables["claims"].loc[0, "patient_id"] = identifier

    claims = read_data_dir(write_csv_dir(tmp_path, with_required(tables, "claims"))).claims

    assert claims.loc[0, "patient_id"] == identifier


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("authorizations", "end_date", "9999-12-31"),
        ("eligibility", "coverage_start", "1900-01-01"),
        ("appeals", "recovered_amount", "10000000.01"),
        ("authorizations", "auth_id", "A\n100"),
    ],
)
def test_plausibility_holds_in_every_table(
    tmp_path: Path, tables, table: str, column: str, value: str
) -> None:
    tables[table].loc[0, column] = value

    error = contract_error(write_csv_dir(tmp_path, with_required(tables, table)))

    assert {(p.table, p.column) for p in error.problems} == {(table, column)}
