"""The queue's resolved work merged into a data directory's appeals table, losing no history.

A data directory's `appeals` table is the clinic's whole appeal history, of which
the queue knows only what was worked through it. So an export is a merge, never
a replacement: the queue owns the rows with its keys (claim_id, action,
action_date — the contract's key) and its newer outcome replaces theirs; every
other row stays as it was, in its place, with any column the contract does not
name (and the `outcome_reason` it gives, which the queue does not know). Exporting
twice writes the same file. The file keeps its format (CSV or Parquet; CSV when
there is none yet) and is replaced atomically, so a reader never meets half a
table and a failed export leaves the old one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data_contracts.reader import read_table
from data_contracts.schemas import TABLES
from data_contracts.writer import write_table

log = logging.getLogger(__name__)

KEY = list(TABLES["appeals"].key)
"""The contract's key of an appeal: one row per claim, action and action date."""
_VALUES = [column for column in TABLES["appeals"].column_names if column not in KEY]


@dataclass(frozen=True)
class ExportCounts:
    """What an export did to the appeals table at `path`."""

    path: Path
    kept: int
    """Rows of the table left as they were (including the queue's rows it already had)."""
    added: int
    """The queue's rows the table did not have."""
    updated: int
    """Rows whose outcome (or effort) the queue's newer answer replaced."""


def merge_appeals(existing: pd.DataFrame, queue_rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """`existing` with the queue's rows merged in by the contract's key, and how many
    existing rows changed.

    Both frames are typed contract tables (`existing` may carry extra columns, kept;
    the queue's new rows leave them empty). Existing rows keep their order; new rows
    follow in the queue's order.
    """
    merged = existing.reset_index(drop=True).copy()
    # The queue does not know why a payer decided (`outcome_reason`): the table's reason stays.
    values = [column for column in _VALUES if column in queue_rows.columns]
    position = pd.MultiIndex.from_frame(merged[KEY]).get_indexer(
        pd.MultiIndex.from_frame(queue_rows[KEY])
    )
    found = position >= 0
    ours = queue_rows.loc[found, values].set_axis(position[found])
    theirs = merged.loc[position[found], values]
    same = (ours == theirs).fillna(False) | (ours.isna() & theirs.isna())
    differs = ~same.all(axis=1)
    changed = differs.index[differs.to_numpy()]
    merged.loc[changed, values] = ours.loc[changed]
    added = queue_rows.loc[~found].reset_index(drop=True)
    if len(added):
        merged = pd.concat([merged, added], ignore_index=True)
    return merged, len(changed)


def export_appeals_into(directory: Path, queue_rows: pd.DataFrame) -> ExportCounts:
    """Merge the queue's appeals (`WorkQueue.export_appeals()`) into `directory`'s table.

    The existing table is read with the contract's checks first: a file that breaks
    the contract raises `ContractError` and is left untouched, never overwritten.
    """
    directory = Path(directory)
    existing, path = read_table(directory, "appeals")
    merged, updated = merge_appeals(existing, queue_rows)
    fmt = "parquet" if path is not None and path.suffix == ".parquet" else "csv"
    written = write_table(directory, "appeals", merged, fmt)
    added = len(merged) - len(existing)
    counts = ExportCounts(written, len(existing) - updated, added, updated)
    log.info(
        "appeals exported to %s: %d kept, %d added, %d updated",
        written,
        counts.kept,
        counts.added,
        counts.updated,
    )
    return counts
