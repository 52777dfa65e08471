"""Write contract tables to a data directory as CSV or Parquet, atomically per file.

Each file is written beside its target and renamed over it, so a reader never
sees half a table and a failed write leaves what was there. Money is written
with cents, dates as YYYY-MM-DD, lists `;`-joined: the same text the reader
expects, so a directory round-trips.

A table too big for one file is written partitioned (`write_partitioned`):
`NAME.parquet/` is then a directory of Parquet parts, one per chunk of rows
written, under a Hive folder per service month (`service_month=YYYY-MM/`) for
claims and the tables about claims, so a month's folder holds everything about
its claims and an engine can work a month at a time. Each chunk adds its own
part files (`part-CHUNK.parquet`) and leaves the earlier ones alone, so a big
table is written a chunk at a time without ever being whole in memory.
"""

from __future__ import annotations

import os
import shutil
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
    if target.is_dir():  # the table was partitioned: the single file replaces its parts
        shutil.rmtree(target)
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


PARTITION = "service_month"
"""The Hive partition key of a partitioned table: folder `service_month=YYYY-MM`. It is a
folder name only, never a column of the parts, so the table reads back with the contract's
columns alone."""
CLAIM_TABLES = ("claims", "claim_lines", "remits", "appeals")
"""Tables partitioned by their claim's service month; the others (authorizations,
eligibility: per patient, small) are parts directly in `NAME.parquet/`, one per chunk."""


def part_name(chunk: int) -> str:
    """The file name of chunk `chunk`'s part: zero-padded so names sort in chunk order."""
    return f"part-{chunk:05d}.parquet"


def _write_part(folder: Path, chunk: int, arrow: pa.Table) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / part_name(chunk)
    partial = folder / f".{target.name}.partial"
    pq.write_table(arrow, partial)
    os.replace(partial, target)
    return target


def _clear_table(directory: Path, name: str) -> None:
    """Remove every earlier form of table `name`: NAME.csv, and NAME.parquet file or folder."""
    (directory / f"{name}.csv").unlink(missing_ok=True)
    single = directory / f"{name}.parquet"
    if single.is_dir():
        shutil.rmtree(single)
    else:
        single.unlink(missing_ok=True)


def write_partitioned(
    directory: str | Path, tables: dict[str, pd.DataFrame], chunk: int
) -> list[Path]:
    """Add chunk `chunk` of each given table to its partitioned form and return the parts written.

    Claims go to the folder of their `service_date`'s month; claim_lines, remits and appeals
    to their claim's, so `tables` must hold the claims the chunk's other rows name (a row
    naming a claim it lacks is a ValueError). Chunk 0 starts each table afresh (any earlier
    NAME.csv or NAME.parquet is removed); a later chunk only adds parts named by its index,
    so earlier chunks' parts are never rewritten. Every part has `to_arrow`'s schema, as the
    single file has; tables without a service month, and a chunk with no rows of a table, are
    one part at the table's root.
    """
    directory = Path(directory)
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"not contract tables: {sorted(unknown)}")
    months = None
    if "claims" in tables:
        claims = tables["claims"]
        months = pd.Series(
            pd.to_datetime(claims["service_date"]).dt.strftime("%Y-%m").to_numpy(),
            index=claims["claim_id"].to_numpy(),
        )
        if months.isna().any():
            raise ValueError("claims without a service_date cannot be partitioned by month")
    paths = []
    for name, frame in tables.items():
        if chunk == 0:
            _clear_table(directory, name)
        root = directory / f"{name}.parquet"
        if name not in CLAIM_TABLES or frame.empty:
            # No month to file an empty chunk under: a part at the root keeps the table
            # present, with its schema.
            paths.append(_write_part(root, chunk, to_arrow(name, frame)))
            continue
        if months is None:
            raise ValueError(f"{name} is partitioned by its claims' month: pass claims too")
        month = months.reindex(frame["claim_id"].to_numpy())
        if month.isna().any():
            raise ValueError(f"{name} names claims that are not in this chunk's claims")
        for value, rows in frame.groupby(month.to_numpy(), sort=True).indices.items():
            arrow = to_arrow(name, frame.iloc[rows])
            paths.append(_write_part(root / f"{PARTITION}={value}", chunk, arrow))
    return paths
