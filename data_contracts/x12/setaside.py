"""`exceptions.csv`: what X12 ingestion set aside or flagged, file by file, and what was resolved.

The table is the user's work list, so it says exactly where each problem is:
the file, the transaction set (ST02), the segment number in the file (ISA is
1), the claim, whether the claim (or transaction set) was set aside or only
flagged, a category to sort by and the problem in words. Ingesting a file again
replaces that file's rows, so the table always describes the files as last read
and a rerun adds nothing.

`denialops ingest x12 --retry-exceptions` reads the files with set-aside rows
again, with any corrected copies; a set-aside claim that then posts is moved to
`x12_exceptions_resolved.csv` with the file that resolved it, and is not listed
again when its original file is read later (the original still holds the bad
claim, and the correction has been posted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from data_contracts.x12.errors import SET_ASIDE, X12Problem

EXCEPTIONS_FILE = "exceptions.csv"
RESOLVED_FILE = "x12_exceptions_resolved.csv"
COLUMNS = ["file", "transaction", "segment", "claim_id", "severity", "category", "problem"]
RESOLVED_COLUMNS = [*COLUMNS, "resolved_by"]


def file_key(path: Path) -> str:
    """How a file is named in the table: absolute, so a retry finds it from anywhere."""
    return str(Path(path).resolve())


def load(out: Path, name: str = EXCEPTIONS_FILE) -> pd.DataFrame:
    """The table as text (empty when there is none yet)."""
    columns = COLUMNS if name == EXCEPTIONS_FILE else RESOLVED_COLUMNS
    path = Path(out) / name
    if not path.exists():
        return pd.DataFrame(columns=columns, dtype=object)
    return pd.read_csv(path, dtype=str, keep_default_na=False)[columns].astype(object)


def rows(path: Path, problems: Iterable[X12Problem]) -> list[dict[str, str]]:
    """Table rows of one file's problems, in file order."""
    key = file_key(path)
    return [
        {
            "file": key,
            "transaction": problem.transaction,
            "segment": str(problem.segment or ""),
            "claim_id": problem.claim_id,
            "severity": problem.severity,
            "category": problem.category,
            "problem": problem.reason,
        }
        for problem in sorted(problems, key=lambda problem: problem.segment or 0)
    ]


def files_to_retry(table: pd.DataFrame) -> list[Path]:
    """Files with something set aside, in table order."""
    set_aside = table[table["severity"] == SET_ASIDE]
    return [Path(name) for name in dict.fromkeys(set_aside["file"])]


def resolve(
    table: pd.DataFrame, posted: Mapping[str, set[str]], copies: Iterable[str]
) -> pd.DataFrame:
    """Set-aside claims (rows of `table`) that posted in this run from a corrected copy or from
    their own file, with the file that posted them; `posted` is claim ids by file key."""
    copies = list(copies)
    found = []
    for row in table[(table["severity"] == SET_ASIDE) & (table["claim_id"] != "")].to_dict(
        "records"
    ):
        by = next(
            (name for name in [row["file"], *copies] if row["claim_id"] in posted.get(name, ())),
            None,
        )
        if by is not None:
            found.append(row | {"resolved_by": by})
    return pd.DataFrame(found, columns=RESOLVED_COLUMNS, dtype=object)


def write(
    out: Path, read: Iterable[str], new_rows: list[dict[str, str]], resolved: pd.DataFrame
) -> pd.DataFrame:
    """Replace the rows of the files `read` by `new_rows`, leave out resolved claims, record the
    newly resolved ones; returns the rows kept for this run's files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    earlier = load(out, RESOLVED_FILE)
    all_resolved = pd.concat([earlier, resolved], ignore_index=True).drop_duplicates(
        ["file", "claim_id", "transaction", "segment", "problem"]
    )
    done = set(zip(all_resolved["file"], all_resolved["claim_id"], strict=True))
    fresh = pd.DataFrame(new_rows, columns=COLUMNS, dtype=object)
    fresh = fresh[
        [
            not (severity == SET_ASIDE and (name, claim) in done)
            for name, claim, severity in zip(
                fresh["file"], fresh["claim_id"], fresh["severity"], strict=True
            )
        ]
    ]
    table = load(out)
    table = pd.concat([table[~table["file"].isin(list(read))], fresh], ignore_index=True)
    order = pd.to_numeric(table["segment"], errors="coerce").fillna(0)
    table = table.assign(_order=order).sort_values(["file", "_order"], kind="stable")
    _replace(out / EXCEPTIONS_FILE, table)
    if len(all_resolved) != len(earlier):
        _replace(out / RESOLVED_FILE, all_resolved)
    return fresh


def _replace(path: Path, table: pd.DataFrame) -> None:
    partial = path.with_name(f".{path.name}.partial")
    table.drop(columns="_order", errors="ignore").to_csv(partial, index=False)
    partial.replace(path)
