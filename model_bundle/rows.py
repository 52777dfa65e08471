"""Raw contract rows as the registered model takes them: one flat row per claim line.

MLflow signatures describe flat columns of strings and numbers, so the pyfunc
input is `claim_lines` joined to its `claims` row; the model splits it back and
checks both against the contract before scoring.
"""

from __future__ import annotations

import pandas as pd

from data_contracts.reader import check_tables
from data_contracts.schemas import TABLES

CLAIM_COLUMNS: list[str] = TABLES["claims"].column_names
LINE_COLUMNS: list[str] = [c for c in TABLES["claim_lines"].column_names if c != "claim_id"]
NUMERIC_KINDS = ("int", "money")


def _flat(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Contract-typed columns as MLflow-friendly strings (dates ISO) and doubles."""
    out = {}
    for column in TABLES[table].columns:
        if column.name not in frame.columns:
            continue
        values = frame[column.name]
        if column.kind in NUMERIC_KINDS:
            out[column.name] = values.astype("float64")
        elif column.kind == "date":
            out[column.name] = values.dt.strftime("%Y-%m-%d").astype(object)
        else:
            out[column.name] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def to_rows(claims: pd.DataFrame, claim_lines: pd.DataFrame) -> pd.DataFrame:
    """Typed contract frames to flat rows, one per line, claim columns repeated."""
    lines = _flat(claim_lines, "claim_lines")
    head = _flat(claims, "claims")
    return lines.merge(head, on="claim_id", how="inner")[CLAIM_COLUMNS + LINE_COLUMNS]


def from_rows(rows: pd.DataFrame, source: str = "model input") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flat rows back to typed `claims` and `claim_lines`, or the contract's complete error."""
    claims = rows[[c for c in CLAIM_COLUMNS if c in rows.columns]].drop_duplicates("claim_id")
    lines = rows[["claim_id", *[c for c in LINE_COLUMNS if c in rows.columns]]]
    tables = check_tables(
        source,
        {"claims": claims.reset_index(drop=True), "claim_lines": lines.reset_index(drop=True)},
    )
    return tables["claims"], tables["claim_lines"]
