"""Write contract tables to a data directory as CSV or Parquet, atomically per file.

Each file is written beside its target and renamed over it, so a reader never
sees half a table and a failed write leaves what was there. Money is written
with cents, dates as YYYY-MM-DD, lists `;`-joined: the same text the reader
expects, so a directory round-trips.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from data_contracts.schemas import TABLES

Format = Literal["csv", "parquet"]
_MONEY = pa.decimal128(14, 2)


def _arrow_column(kind: str, series: pd.Series) -> pa.Array:
    if kind == "date":
        return pa.array(series.astype("datetime64[us]"), type=pa.timestamp("us")).cast(pa.date32())
    if kind == "money":
        rounded = pc.round(pa.array(series, type=pa.float64()), 2)
        return rounded.cast(_MONEY, safe=False)
    if kind == "int":
        return pa.array(series.astype("Int64"), type=pa.int64())
    return pa.array(series.astype("string"), type=pa.string())


def to_arrow(name: str, frame: pd.DataFrame) -> pa.Table:
    """A contract table as Arrow with the contract's column order and types; extra columns kept,
    an optional column the frame lacks left out (the file stays as the sender had it)."""
    table = TABLES[name]
    arrays = {
        column.name: _arrow_column(column.kind, frame[column.name])
        for column in table.columns
        if column.name in frame.columns or not column.optional
    }
    for extra in frame.columns.difference(table.column_names, sort=False):
        arrays[extra] = pa.array(frame[extra])
    return pa.table(arrays)


def write_table(directory: Path, name: str, frame: pd.DataFrame, fmt: Format = "csv") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}.{fmt}"
    partial = directory / f".{name}.{fmt}.partial"
    arrow = to_arrow(name, frame)
    if fmt == "csv":
        pa_csv.write_csv(arrow, partial)
    else:
        pq.write_table(arrow, partial)
    os.replace(partial, target)
    other = directory / f"{name}.{'parquet' if fmt == 'csv' else 'csv'}"
    other.unlink(missing_ok=True)
    return target


def write_data_dir(
    directory: str | Path, tables: dict[str, pd.DataFrame], fmt: Format = "csv"
) -> list[Path]:
    """Write each given table (contract names only) and return the paths written."""
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"not contract tables: {sorted(unknown)}")
    return [write_table(Path(directory), name, frame, fmt) for name, frame in tables.items()]
