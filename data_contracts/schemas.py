"""The contract's tables as typed column specifications and pandera schemas.

One `Column` per contract column says how to coerce it from text (CSV) or
Arrow types (Parquet) and which rules it must satisfy; the pandera schemas,
the reader's coercion and the writer's formats are all derived from here so a
column cannot be typed one way on the way in and another on the way out.
Row-level rules that span columns (dates in order) and table keys sit beside
the columns; rules that span tables live in `reader.reference_problems`. The
limits every value must keep to be plausible (dates, amounts, identifiers) come
from `plausibility`, which the HTTP API shares.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc
from pandera.engines import pandas_engine

from data_contracts import codes, enums, plausibility

Kind = Literal["id", "enum", "code", "list", "date", "int", "money"]


IDENTIFYING = frozenset({"patient_id"})
"""Columns whose values name a person (the member id, or one derived from it): a problem
with them says which rows, not the values, since problems are printed and logged."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = False
    values: tuple[str, ...] = ()
    """Allowed values for `enum`."""
    pattern: str | None = None
    """Full-match regex for `code`, and for each element of `list`."""
    code_name: str = ""
    """How an error names the code system, e.g. 'ICD-10-CM'."""
    max_items: int | None = None
    min_value: int | float | None = None
    optional: bool = False
    """The file may lack the column (added to the contract later; older files stay valid)."""


def _not_before(first: pd.Series, second: pd.Series) -> pd.Series:
    """True unless `second` is earlier than `first`; a missing date is judged elsewhere."""
    return ~(second < first).fillna(False).astype(bool)


def _replacement_names_original(frequency: pd.Series, original: pd.Series) -> pd.Series:
    return ~(frequency.isin(["7", "8"]) & original.isna())


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row; `ok(*columns)` is True where the row is fine."""

    name: str
    columns: tuple[str, ...]
    description: str
    ok: Callable[..., pd.Series] = _not_before


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    required: bool
    key: tuple[str, ...] = ()
    row_rules: tuple[RowRule, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


def _money(name: str, nullable: bool = False) -> Column:
    return Column(name, "money", nullable=nullable, min_value=0)


ICD = dict(pattern=codes.ICD10CM, code_name="ICD-10-CM")

CLAIMS = Table(
    "claims",
    required=True,
    key=("claim_id",),
    columns=(
        Column("claim_id", "id"),
        Column("patient_id", "id"),
        Column("payer_id", "id"),
        Column("plan_type", "enum", values=enums.PLAN_TYPES),
        Column("network_status", "enum", values=enums.NETWORK_STATUSES),
        Column("rendering_provider_id", "id"),
        Column("provider_credential", "enum", values=enums.CREDENTIALS),
        Column("facility_id", "id"),
        Column("program", "enum", values=enums.PROGRAMS),
        Column(
            "place_of_service",
            "code",
            pattern=codes.PLACE_OF_SERVICE,
            code_name="place of service (2 digits)",
        ),
        Column("service_date", "date"),
        Column("submission_date", "date"),
        Column("primary_dx", "code", **ICD),
        Column("secondary_dx", "list", **ICD, max_items=11),
        Column("prior_auth_id", "id", nullable=True),
        _money("total_charge"),
        Column("frequency_code", "enum", values=enums.FREQUENCY_CODES),
        Column("original_claim_id", "id", nullable=True),
    ),
    row_rules=(
        RowRule(
            "service_before_submission",
            ("service_date", "submission_date"),
            "submission_date is before service_date",
        ),
        RowRule(
            "replacement_names_original",
            ("frequency_code", "original_claim_id"),
            "frequency_code 7 or 8 needs original_claim_id",
            _replacement_names_original,
        ),
    ),
)

CLAIM_LINES = Table(
    "claim_lines",
    required=True,
    key=("claim_id", "line_number"),
    columns=(
        Column("claim_id", "id"),
        Column("line_number", "int", min_value=1),
        Column("procedure_code", "code", pattern=codes.CPT_HCPCS, code_name="CPT/HCPCS"),
        Column(
            "modifiers",
            "list",
            pattern=codes.MODIFIER,
            code_name="modifier (2 characters)",
            max_items=4,
        ),
        Column("units", "int", min_value=1),
        Column("minutes", "int", nullable=True, min_value=0),
        _money("line_charge"),
        Column(
            "revenue_code",
            "code",
            nullable=True,
            pattern=codes.REVENUE_CODE,
            code_name="revenue code (4 digits)",
        ),
    ),
)

REMITS = Table(
    "remits",
    required=False,
    key=("claim_id",),
    columns=(
        Column("claim_id", "id"),
        Column("received_date", "date"),
        Column("status", "enum", values=enums.REMIT_STATUSES),
        _money("billed_amount"),
        _money("allowed_amount"),
        _money("paid_amount"),
        _money("patient_responsibility"),
        Column(
            "carc_codes", "list", pattern=codes.CARC, code_name="CARC (group-reason, e.g. CO-197)"
        ),
        Column("rarc_codes", "list", pattern=codes.RARC, code_name="RARC (e.g. N54)"),
    ),
)

AUTHORIZATIONS = Table(
    "authorizations",
    required=False,
    key=("auth_id",),
    columns=(
        Column("auth_id", "id"),
        Column("patient_id", "id"),
        Column("payer_id", "id"),
        Column("procedure_codes", "list", pattern=codes.CPT_HCPCS, code_name="CPT/HCPCS"),
        Column("program", "enum", nullable=True, values=enums.PROGRAMS),
        Column("start_date", "date"),
        Column("end_date", "date"),
        Column("units_approved", "int", min_value=0),
    ),
    row_rules=(
        RowRule("start_before_end", ("start_date", "end_date"), "end_date is before start_date"),
    ),
)

ELIGIBILITY = Table(
    "eligibility",
    required=False,
    columns=(
        Column("patient_id", "id"),
        Column("payer_id", "id"),
        Column("coverage_start", "date"),
        Column("coverage_end", "date", nullable=True),
    ),
    row_rules=(
        RowRule(
            "coverage_start_before_end",
            ("coverage_start", "coverage_end"),
            "coverage_end is before coverage_start",
        ),
    ),
)

APPEALS = Table(
    "appeals",
    required=False,
    key=("claim_id", "action", "action_date"),
    columns=(
        Column("claim_id", "id"),
        Column("action", "enum", values=enums.APPEAL_ACTIONS),
        Column("action_date", "date"),
        Column("effort_minutes", "int", min_value=0),
        Column("outcome", "enum", values=enums.APPEAL_OUTCOMES),
        _money("recovered_amount"),
        Column("closed_date", "date", nullable=True),
        Column(
            "outcome_reason", "enum", nullable=True, values=enums.OUTCOME_REASONS, optional=True
        ),
    ),
    row_rules=(
        RowRule(
            "action_before_close",
            ("action_date", "closed_date"),
            "closed_date is before action_date",
        ),
    ),
)

TABLES: dict[str, Table] = {
    table.name: table
    for table in (CLAIMS, CLAIM_LINES, REMITS, AUTHORIZATIONS, ELIGIBILITY, APPEALS)
}


DTYPES: dict[str, object] = {
    "id": pd.StringDtype(),
    "enum": pd.StringDtype(),
    "code": pd.StringDtype(),
    "list": pd.StringDtype(),
    "date": "datetime64[us]",
    "int": pd.Int64Dtype(),
    "money": "float64",
}


def _list_items_ok(pattern: str, max_items: int | None):
    """Each `;`-separated item matches `pattern` (and there are at most `max_items`).

    Done in Arrow: splitting a million cells in Python costs seconds.
    """
    item = re.compile(f"^(?:{pattern})$").pattern

    def check(series: pd.Series) -> pd.Series:
        cells = pa.array(series.astype("string").fillna(""), type=pa.string())
        items = pc.split_pattern(cells, ";")
        flat = pc.list_flatten(items)
        bad_item = pc.invert(pc.match_substring_regex(flat, item)).to_numpy(zero_copy_only=False)
        parents = pc.list_parent_indices(items).to_numpy()
        bad = np.bincount(parents[bad_item], minlength=len(series)) > 0
        if max_items is not None:
            bad |= pc.list_value_length(items).to_numpy(zero_copy_only=False) > max_items
        empty = pc.equal(cells, "").to_numpy(zero_copy_only=False)
        return pd.Series(~bad | empty, index=series.index)

    return check


def _checks(column: Column) -> list[pandera.Check]:
    checks: list[pandera.Check] = []
    if column.kind == "enum":
        checks.append(
            pandera.Check.isin(
                list(column.values), error=f"must be one of {', '.join(column.values)}"
            )
        )
    if column.kind == "code" and column.pattern:
        checks.append(
            pandera.Check.str_matches(
                f"^(?:{column.pattern})$", error=f"not a valid {column.code_name} code"
            )
        )
    if column.kind == "list" and column.pattern:
        limit = f"; at most {column.max_items} items" if column.max_items else ""
        checks.append(
            pandera.Check(
                _list_items_ok(column.pattern, column.max_items),
                error=f"each item must be a valid {column.code_name} code, separated by ';'{limit}",
            )
        )
    if column.kind == "id":
        checks += [
            pandera.Check.str_length(min_value=1, error="must not be empty"),
            pandera.Check.str_length(
                max_value=plausibility.MAX_ID_LENGTH, error=plausibility.ID_LENGTH_RULE
            ),
            pandera.Check.str_matches(plausibility.IDENTIFIER, error=plausibility.IDENTIFIER_RULE),
        ]
    if column.kind == "date":
        checks.append(
            pandera.Check.in_range(
                pd.Timestamp(plausibility.EARLIEST_DATE),
                pd.Timestamp(plausibility.LATEST_DATE),
                error=plausibility.DATE_RULE,
            )
        )
    if column.kind == "money":
        checks.append(pandera.Check.le(plausibility.MAX_AMOUNT, error=plausibility.AMOUNT_RULE))
    if column.min_value is not None:
        checks.append(pandera.Check.ge(column.min_value, error=f"must be ≥ {column.min_value}"))
    return checks


@cache
def pandera_schema(table_name: str) -> pandera.DataFrameSchema:
    """The pandera schema of a contract table, for frames already coerced to contract types.

    Keys are checked by the reader itself, which reports each duplicated key once
    rather than once per key column.
    """
    table = TABLES[table_name]
    columns = {
        column.name: pandera.Column(
            pandas_engine.DateTime(unit="us") if column.kind == "date" else DTYPES[column.kind],
            checks=_checks(column),
            nullable=column.nullable or column.kind == "list",
        )
        for column in table.columns
    }
    return pandera.DataFrameSchema(
        columns,
        strict=False,
        coerce=False,
        name=table.name,
    )
