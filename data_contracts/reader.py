"""Load a contract data directory into typed frames, or say everything that is wrong with it.

The reader never drops a row silently: either every row of every table is returned,
typed, or `ContractError` lists each problem with its table, column, rule and
rows (row numbers count data rows from 1, the header excluded). With a quarantine
ceiling, rows with problems and their dependants are set aside instead, each
written down with its problem (`quarantine`), unless a table has more of them than
the ceiling allows. Coercion is strict where the contract is (ISO dates, whole
numbers, dollars and cents) and forgiving where senders differ harmlessly
(surrounding blanks, lower-case codes, ICD-10-CM codes without the dot).

A table is `NAME.csv`, `NAME.parquet`, or `NAME.parquet/` as a folder of Parquet parts
(partitioned by service month; see `data_contracts.writer.write_partitioned`), read as
the parts one after another. `table_parts` and `read_table_part` let an engine read such a
table a part at a time, each typed and checked like the whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from data_contracts import codes, plausibility, quarantine
from data_contracts.quarantine import QuarantineSummary
from data_contracts.schemas import DTYPES, IDENTIFYING, TABLES, Column, Table, pandera_schema

log = logging.getLogger(__name__)

MAX_LISTED_PROBLEMS = 50
MAX_LISTED_ROWS = 5
FORMATS = ("csv", "parquet")

_INT = r"[+-]?[0-9]+"
_MONEY = r"[+-]?(?:[0-9]+(?:\.[0-9]{1,2})?|\.[0-9]{1,2})"
_ICD_UNDOTTED = rf"(^|;){codes.ICD10CM_UNDOTTED}(?=;|$)"
_ICD_UNDOTTED_START = r"(?:^|;)[A-Z][0-9][0-9A-Z][0-9A-Z]"


@dataclass(frozen=True)
class Problem:
    """One rule broken in one column (or row rule, or table) for one or more rows."""

    table: str
    column: str | None
    rule: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()

    @property
    def identifying(self) -> bool:
        """Its values would name a person (a key or row rule counts if any column does)."""
        return not IDENTIFYING.isdisjoint((self.column or "").split(", "))

    def shown_values(self) -> tuple[str, ...]:
        """The values a message may quote, one per row ("" past those kept, and for all
        when they name a person)."""
        kept = () if self.identifying else self.values[: len(self.rows)]
        return kept + ("",) * (len(self.rows) - len(kept))

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        if not self.rows:
            return f"{where}: {self.rule}"
        shown = ", ".join(
            f"row {row} ({value!r})" if value != "" else f"row {row}"
            for row, value in zip(
                self.rows[:MAX_LISTED_ROWS],
                self.shown_values()[:MAX_LISTED_ROWS],
                strict=False,
            )
        )
        more = (
            f" and {len(self.rows) - MAX_LISTED_ROWS:,} more"
            if len(self.rows) > MAX_LISTED_ROWS
            else ""
        )
        noun = "row" if len(self.rows) == 1 else "rows"
        return f"{where}: {self.rule} — {len(self.rows):,} {noun}: {shown}{more}"


class ContractError(ValueError):
    """Everything wrong with a data directory, listed once (capped), all kept in `.problems`."""

    def __init__(self, source: str, problems: list[Problem], headline: list[str] | None = None):
        self.source = source
        self.problems = problems
        rows = len({(problem.table, row) for problem in problems for row in problem.rows})
        lines = headline or [
            f"{source} breaks the data contract: {len(problems)} problem(s) in "
            f"{rows:,} row(s); nothing was loaded"
        ]
        lines += [f"  - {problem.describe()}" for problem in problems[:MAX_LISTED_PROBLEMS]]
        if len(problems) > MAX_LISTED_PROBLEMS:
            lines.append(f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more problems")
        super().__init__("\n".join(lines))


class QuarantineCeilingError(ContractError):
    """More of a table's rows break the contract than the quarantine ceiling allows.

    A wrong file (a shifted column, another extract's dates) must not silently become
    a small one, so nothing is loaded; the rows that would have been set aside are in
    the quarantine folder and `.summary` counts them."""

    def __init__(self, source: str, problems: list[Problem], summary: QuarantineSummary):
        self.summary = summary
        over = summary.over_ceiling()
        headline = [
            f"{source}: more rows break the data contract than the quarantine ceiling of "
            f"{summary.ceiling:.2%} of a table allows ("
            + ", ".join(
                f"{table} {row.own:,} of {row.read:,} rows" for table, row in over.iterrows()
            )
            + f"); nothing was loaded. The rows it would set aside are in {summary.folder}:",
            *(f"  {line}" for line in summary.describe()),
            "Problems:",
        ]
        super().__init__(source, problems, headline)


@dataclass
class ContractData:
    """The tables of one data directory, typed; absent optional tables are empty frames.

    `quarantine` says what was set aside when the directory was read with a ceiling
    (None: nothing was)."""

    claims: pd.DataFrame
    claim_lines: pd.DataFrame
    remits: pd.DataFrame
    authorizations: pd.DataFrame
    eligibility: pd.DataFrame
    appeals: pd.DataFrame
    present: frozenset[str] = field(default_factory=frozenset)
    quarantine: QuarantineSummary | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


def empty_table(name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {column.name: pd.Series(dtype=DTYPES[column.kind]) for column in TABLES[name].columns}
    )


def _rows(mask: pd.Series) -> tuple[int, ...]:
    return tuple(int(i) + 1 for i in mask.index[mask.to_numpy()])


def _values(raw: pd.Series, mask: pd.Series) -> tuple[str, ...]:
    return tuple("" if pd.isna(v) else str(v) for v in raw[mask].head(MAX_LISTED_ROWS))


def _table_file(directory: Path, name: str) -> tuple[Path | None, list[Problem]]:
    found = [
        directory / f"{name}.{fmt}" for fmt in FORMATS if (directory / f"{name}.{fmt}").exists()
    ]
    if len(found) > 1:
        return None, [Problem(name, None, f"both {name}.csv and {name}.parquet exist: keep one")]
    return (found[0] if found else None), []


def _parts(folder: Path) -> list[Path]:
    """The Parquet parts of a partitioned table's folder, parts at its root first, then each
    partition folder's in name order (months in calendar order); hidden (`.`) and metadata
    (`_`) files are not parts."""
    parts = (path.relative_to(folder).parts for path in folder.rglob("*.parquet") if path.is_file())
    return [
        folder.joinpath(*relative)
        for relative in sorted(parts)
        if not any(piece.startswith((".", "_")) for piece in relative)
    ]


def table_parts(directory: str | Path, name: str) -> list[Path]:
    """The files table `name` of `directory` is read from, in order: a partitioned table's
    parts (see `data_contracts.writer.write_partitioned`), month by month, or the single
    file; [] when the table is absent. An engine reads them one at a time with
    `read_table_part` instead of holding the whole table."""
    directory = Path(directory)
    path, problems = _table_file(directory, name)
    if problems:
        raise ContractError(str(directory), problems)
    if path is None:
        return []
    return _parts(path) if path.is_dir() else [path]


def _read_arrow(path: Path) -> pa_arrow.Table:
    if path.is_dir():
        parts = _parts(path)
        if not parts:
            raise pa_arrow.ArrowInvalid(f"{path.name} is a folder without Parquet parts")
        # Each part alone: reading the folder as a dataset would add the partition key
        # (service_month) as a column the contract does not have.
        return pa_arrow.concat_tables([pq.read_table(part) for part in parts])
    if path.suffix == ".parquet":
        return pq.read_table(path)
    header = pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(block_size=1 << 16)).schema.names
    return pa_csv.read_csv(
        path,
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa_arrow.string() for name in header},
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
        ),
    )


def _arrow_to_pandas(table: pa_arrow.Table) -> pd.DataFrame:
    """Lists (Parquet list<string>) become the contract's `;`-joined text; dates and decimals
    become the pandas types the coercion expects, rather than Python objects per cell."""
    for index, arrow_field in enumerate(table.schema):
        kind = arrow_field.type
        if pa_arrow.types.is_list(kind) or pa_arrow.types.is_large_list(kind):
            column = pc.binary_join(table.column(index), ";")
        elif pa_arrow.types.is_date(kind):
            column = table.column(index).cast(pa_arrow.timestamp("us"))
        elif pa_arrow.types.is_decimal(kind):
            column = table.column(index).cast(pa_arrow.float64())
        else:
            continue
        table = table.set_column(index, arrow_field.name, column)
    return table.to_pandas()


def _as_text(raw: pd.Series) -> pd.Series:
    text = raw.astype("string").str.strip()
    return text.mask(text == "")


def _coerce(column: Column, raw: pd.Series) -> tuple[pd.Series, pd.Series, str]:
    """Contract-typed series, the rows whose value could not be read, and why."""
    if column.kind == "date":
        if pd.api.types.is_datetime64_any_dtype(raw.dtype):
            return raw.astype("datetime64[us]"), pd.Series(False, index=raw.index), ""
        text = _as_text(raw)
        parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")
        return parsed, text.notna() & parsed.isna(), "not a date in YYYY-MM-DD form"
    if column.kind in ("int", "money"):
        if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
            numbers = raw.astype("float64")
            bad = pd.Series(False, index=raw.index)
            if column.kind == "int":
                bad = numbers.notna() & (numbers != numbers.round())
                return numbers.where(~bad).astype("Int64"), bad, "not a whole number"
            bad = numbers.notna() & ((numbers * 100).round(6) % 1 != 0)
            return numbers, bad, "not an amount in dollars and cents"
        text = _as_text(raw)
        pattern, why = (
            (_INT, "not a whole number")
            if column.kind == "int"
            else (
                _MONEY,
                "not an amount in dollars and cents",
            )
        )
        bad = text.notna() & ~text.str.fullmatch(pattern).fillna(False).astype(bool)
        numbers = pd.to_numeric(text.where(~bad), errors="coerce")
        typed = numbers.astype("Int64") if column.kind == "int" else numbers.astype("float64")
        return typed, bad, why
    text = _as_text(raw)
    if column.kind in ("code", "list") and column.pattern is not None:
        text = _normalise_codes(text.str.upper(), icd=column.code_name == "ICD-10-CM")
    return text, pd.Series(False, index=raw.index), ""


def _normalise_codes(text: pd.Series, icd: bool) -> pd.Series:
    """Drop blanks around `;` and dot ICD-10-CM codes, touching only the rows that need it.

    The rewrites need regex features Arrow's engine lacks, so pandas would run
    them row by row in Python; an Arrow match finds the few rows that need them.
    """
    text = text.copy()
    for needs, pattern, replacement in (
        (r"\s", r"\s*;\s*", ";"),
        (_ICD_UNDOTTED_START if icd else None, _ICD_UNDOTTED, r"\1\2.\3"),
    ):
        if needs is None:
            continue
        arrow = pa_arrow.array(text, type=pa_arrow.string())
        rows = (
            pc.match_substring_regex(arrow, needs).fill_null(False).to_numpy(zero_copy_only=False)
        )
        if rows.any():
            text[rows] = text[rows].str.replace(pattern, replacement, regex=True)
    return text


def isin(values: pd.Series, allowed: pd.Series | pd.Index) -> pd.Series:
    """`Series.isin` through Arrow: pandas' Arrow-string `isin` loops in Python (seconds per 1M)."""
    found = pc.is_in(
        pa_arrow.array(values.astype("string"), type=pa_arrow.string()),
        value_set=pa_arrow.array(
            pd.Series(allowed, dtype="string").dropna().unique(), type=pa_arrow.string()
        ),
    )
    return (
        pd.Series(found.to_numpy(zero_copy_only=False), index=values.index)
        .fillna(False)
        .astype(bool)
    )


def _pandera_problems(
    table: Table, frame: pd.DataFrame, raw: pd.DataFrame, unreadable: dict[str, pd.Series]
) -> list[Problem]:
    schema = pandera_schema(table.name)
    schema = schema.remove_columns([c for c in schema.columns if c not in frame.columns])
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return []
    problems = []
    cases = cases[cases["index"].notna()]
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        index = pd.Index(group["index"].astype("int64").unique())
        if check == "not_nullable" and column in unreadable:
            index = index.difference(unreadable[column].index[unreadable[column].to_numpy()])
        if index.empty:
            continue
        mask = pd.Series(frame.index.isin(index), index=frame.index)
        rule = "is empty" if check == "not_nullable" else _check_message(check)
        problems.append(Problem(table.name, column, rule, _rows(mask), _values(raw[column], mask)))
    return problems


def _check_message(check: str) -> str:
    """pandera names a failed check by the error text we gave it; only dtype checks need words."""
    if check.startswith("dtype("):
        return f"has the wrong type {check[6:-1]}"
    return check


def _key_problems(table: Table, frame: pd.DataFrame) -> list[Problem]:
    if not table.key or not set(table.key) <= set(frame.columns):
        return []
    duplicated = frame.duplicated(list(table.key), keep=False)
    if not duplicated.any():
        return []
    key_text = (
        frame.loc[duplicated, list(table.key)].astype("string").fillna("").agg("/".join, axis=1)
    )
    return [
        Problem(
            table.name,
            ", ".join(table.key),
            f"duplicate key ({', '.join(table.key)}) must be unique",
            _rows(duplicated),
            tuple(key_text.head(MAX_LISTED_ROWS)),
        )
    ]


def key_problems(name: str, frame: pd.DataFrame) -> list[Problem]:
    """The rows of table `name` whose key repeats in `frame`: the check between parts read
    apart (`read_table_part` checks each part's own rows), once their keys are together."""
    return _key_problems(TABLES[name], frame)


def _row_rule_problems(table: Table, frame: pd.DataFrame) -> list[Problem]:
    problems = []
    for rule in table.row_rules:
        if not set(rule.columns) <= set(frame.columns):
            continue
        bad = ~rule.ok(*(frame[column] for column in rule.columns))
        if bad.any():
            shown = frame.loc[bad, list(rule.columns)].astype("string").fillna("")
            problems.append(
                Problem(
                    table.name,
                    ", ".join(rule.columns),
                    rule.description,
                    _rows(bad),
                    tuple(shown.agg(" / ".join, axis=1).head(MAX_LISTED_ROWS)),
                )
            )
    return problems


def _load_table(
    table: Table, path: Path, keep_extra: bool = False
) -> tuple[pd.DataFrame, list[Problem]]:
    """The file's rows typed and checked; `keep_extra` appends the columns the contract
    does not name, as read, for a writer that must not lose them."""
    try:
        raw = _arrow_to_pandas(_read_arrow(path))
    except (pa_arrow.ArrowInvalid, OSError) as error:
        return empty_table(table.name), [
            Problem(table.name, None, f"cannot read {path.name}: {error}")
        ]
    typed, problems = check_table(table.name, raw)
    if keep_extra:
        extra = raw.drop(columns=table.column_names, errors="ignore").reset_index(drop=True)
        typed = pd.concat([typed, extra], axis=1)
    return typed, problems


def read_table(directory: str | Path, name: str) -> tuple[pd.DataFrame, Path | None]:
    """One table of a data directory, typed and checked, and its file; or `ContractError`.

    For a command that updates a table in place: an absent table is an empty frame
    (and no path), and columns the contract does not name are kept after its own, so
    writing the frame back loses nothing the file had.
    """
    directory = Path(directory)
    path, problems = _table_file(directory, name)
    if path is None:
        if problems:
            raise ContractError(str(directory), problems)
        return empty_table(name), None
    return read_table_part(path, name, keep_extra=True), path


def read_table_part(path: str | Path, name: str, keep_extra: bool = False) -> pd.DataFrame:
    """One file of table `name` (a part from `table_parts`, or a whole table's file or
    folder), typed and checked as `read_table` does, or `ContractError` naming the file.
    `keep_extra` keeps the columns the contract does not name, as `read_table` does.

    Row numbers count the part's own rows; the rules between rows of different parts (a
    key repeated in two parts) and between tables are for a reader that sees them all.
    """
    path = Path(path)
    frame, problems = _load_table(TABLES[name], path, keep_extra)
    if problems:
        raise ContractError(str(path), problems)
    return frame


def check_table(
    name: str, raw: pd.DataFrame, keys: bool = True
) -> tuple[pd.DataFrame, list[Problem]]:
    """One table's rows typed to the contract, and every problem found in them.

    `raw` may hold text (as from CSV or JSON) or typed columns (as from Parquet).
    `keys=False` leaves the table's key unchecked, for rows from several sources that
    are checked together before they are merged by that key.
    """
    table = TABLES[name]
    missing = [c.name for c in table.columns if c.name not in raw.columns and not c.optional]
    problems = [Problem(table.name, name, "required column is missing") for name in missing]
    typed: dict[str, pd.Series] = {}
    unreadable: dict[str, pd.Series] = {}
    for column in table.columns:
        if column.name not in raw.columns:
            continue
        series, bad, why = _coerce(column, raw[column.name].reset_index(drop=True))
        typed[column.name] = series
        if bad.any():
            unreadable[column.name] = bad
            problems.append(
                Problem(table.name, column.name, why, _rows(bad), _values(raw[column.name], bad))
            )
    frame = pd.DataFrame(typed, index=pd.RangeIndex(len(raw)))
    problems += _pandera_problems(table, frame, raw.reset_index(drop=True), unreadable)
    if keys:
        problems += _key_problems(table, frame)
    problems += _row_rule_problems(table, frame)
    return frame, problems


def reference_problems(data: dict[str, pd.DataFrame]) -> list[Problem]:
    """Rules between typed tables: children name an existing claim, every claim has lines
    whose charges add up to its total, no remit arrives before its claim was sent."""
    claims = data["claims"]
    if "claim_id" not in claims.columns:
        return []
    claim_ids = pd.Index(claims["claim_id"].dropna().unique())
    problems = []
    for child in ("claim_lines", "remits", "appeals"):
        frame = data.get(child)
        if frame is None or "claim_id" not in frame.columns:
            continue
        dangling = frame["claim_id"].notna() & ~isin(frame["claim_id"], claim_ids)
        if dangling.any():
            problems.append(
                Problem(
                    child,
                    "claim_id",
                    "names a claim that is not in claims",
                    _rows(dangling),
                    _values(frame["claim_id"], dangling),
                )
            )
    lines = data.get("claim_lines")
    if lines is not None and "claim_id" in lines.columns:
        lineless = claims["claim_id"].notna() & ~isin(claims["claim_id"], lines["claim_id"])
        if lineless.any():
            problems.append(
                Problem(
                    "claims",
                    "claim_id",
                    "claim has no rows in claim_lines",
                    _rows(lineless),
                    _values(claims["claim_id"], lineless),
                )
            )
        problems += _charge_problems(claims, lines)
    remits = data.get("remits")
    if (
        remits is not None
        and {"claim_id", "received_date"} <= set(remits.columns)
        and "submission_date" in claims.columns
    ):
        first_submission = claims[["claim_id", "submission_date"]].drop_duplicates("claim_id")
        submitted = remits[["claim_id"]].merge(first_submission, on="claim_id", how="left")
        early = pd.Series(
            (remits["received_date"].to_numpy() < submitted["submission_date"].to_numpy()),
            index=remits.index,
        )
        if early.any():
            problems.append(
                Problem(
                    "remits",
                    "received_date",
                    "remit received before its claim's submission_date",
                    _rows(early),
                    _values(remits["received_date"].dt.strftime("%Y-%m-%d"), early),
                )
            )
    return problems


def _charge_problems(claims: pd.DataFrame, lines: pd.DataFrame) -> list[Problem]:
    """Claims whose total_charge is not the sum of their lines' line_charge (within a cent)."""
    if "total_charge" not in claims.columns or "line_charge" not in lines.columns:
        return []
    key = [name for name in TABLES["claim_lines"].key if name in lines.columns]
    bad, line_sum = plausibility.charge_mismatches(
        claims["claim_id"],
        claims["total_charge"],
        lines["claim_id"],
        lines["line_charge"],
        ~lines.duplicated(key, keep=False),
    )
    if not bad.any():
        return []
    shown = zip(
        claims.loc[bad, "total_charge"].head(MAX_LISTED_ROWS),
        line_sum[bad].head(MAX_LISTED_ROWS),
        strict=True,
    )
    return [
        Problem(
            "claims",
            "total_charge",
            plausibility.CHARGE_RULE,
            _rows(bad),
            tuple(f"{total:.2f} vs lines {lines:.2f}" for total, lines in shown),
        )
    ]


def check_tables(source: str, raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Typed tables from in-memory frames (e.g. a scoring request), or `ContractError`.

    The same checks as `read_data_dir`, including references between the tables given.
    """
    frames: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for name, frame in raw.items():
        frames[name], table_problems = check_table(name, frame)
        problems += table_problems
    problems += reference_problems(frames)
    if problems:
        raise ContractError(source, problems)
    return frames


def read_data_dir(directory: str | Path, quarantine_ceiling: float | None = None) -> ContractData:
    """Every table of `directory`, typed and checked, or `ContractError` listing every problem.

    With `quarantine_ceiling` (a fraction of a table's rows), rows with problems and the
    rows that depend on them are set aside in `directory/quarantine` and the rest is
    returned, unless a table's own bad rows exceed the ceiling (`QuarantineCeilingError`);
    problems no row can be blamed for (a missing column or table) still fail the load.
    Each such read rewrites the folder, and removes it when nothing was set aside.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ContractError(str(directory), [Problem("-", None, "data directory does not exist")])
    frames: dict[str, pd.DataFrame] = {}
    paths: dict[str, Path] = {}
    problems: list[Problem] = []
    for name, table in TABLES.items():
        path, found_problems = _table_file(directory, name)
        problems += found_problems
        if path is None:
            if table.required and not found_problems:
                problems.append(
                    Problem(name, None, f"required table missing: {name}.csv or {name}.parquet")
                )
            frames[name] = empty_table(name)
            continue
        log.info("reading %s", path)
        frames[name], table_problems = _load_table(table, path)
        problems += table_problems
        paths[name] = path
    problems += reference_problems(frames)
    present = frozenset(paths)
    if quarantine_ceiling is not None:
        if problems and all(problem.rows for problem in problems):
            return _set_aside(directory, frames, paths, problems, quarantine_ceiling)
        quarantine.clear(directory)
    if problems:
        raise ContractError(str(directory), problems)
    return ContractData(**frames, present=present)


def _set_aside(
    directory: Path,
    frames: dict[str, pd.DataFrame],
    paths: dict[str, Path],
    problems: list[Problem],
    ceiling: float,
) -> ContractData:
    """The directory without its bad rows and their dependants, which are written down."""
    own = quarantine.own_reasons(problems)
    follows = quarantine.follow(frames, own)
    summary = quarantine.summarise(directory / quarantine.FOLDER, ceiling, frames, own, follows)
    gone = {
        name: sorted({*own.get(name, {}), *follows.get(name, {})})
        for name in frames
        if name in own or name in follows
    }
    raw = {
        name: _arrow_to_pandas(_read_arrow(paths[name]))
        .iloc[[row - 1 for row in rows]]
        .set_axis(rows)
        for name, rows in gone.items()
    }
    try:
        quarantine.write(directory, raw, own, follows)
    except OSError as error:  # a row is never set aside without a line saying why
        headline = [
            f"{directory}: the rows that break the data contract cannot be set aside "
            f"({error}); nothing was loaded. Problems:"
        ]
        raise ContractError(str(directory), problems, headline) from error
    if not summary.over_ceiling().empty:
        raise QuarantineCeilingError(str(directory), problems, summary)
    log.warning("%s: %s", directory, "; ".join(summary.table_lines()))
    kept = {
        name: frame.drop(index=[row - 1 for row in gone.get(name, [])]).reset_index(drop=True)
        for name, frame in frames.items()
    }
    return ContractData(**kept, present=frozenset(paths), quarantine=summary)
