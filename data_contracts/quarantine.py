"""Rows set aside from a data directory: the ones that break the contract, and their dependants.

Real payer and EHR extracts always carry a few broken records; refusing the whole
directory for them loses every good claim. `reader.read_data_dir` with a ceiling
sets them aside instead, here: each bad row, and every row whose meaning depends
on it, goes to `DIR/quarantine/<table>.csv` as it was read, with `row`, `column`
and `problem` added (one line per problem), and the rest loads. Nothing is
repaired, and nothing is set aside without a line saying why.

The unit that follows is the claim: a claim's lines, remit and appeals follow it
("parent quarantined"), and a claim follows any of its own rows that is bad,
because a claim with a line, a remit or an appeal missing would be read as a
different claim (a smaller charge, still pending, never appealed). A claim also
follows the authorization it names and the eligibility of its own patient and
payer, because its `auth_*` and `eligibility` features read those rows and would
say "not on file" without them. A patient's other claims stay: only the
second-order signals `active_auth_on_file` and `other_payer_covered` read those
rows for them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from data_contracts.schemas import TABLES

if TYPE_CHECKING:
    from data_contracts.reader import Problem

FOLDER = "quarantine"
ADDED_COLUMNS = ("row", "column", "problem")
PARENT_QUARANTINED = "parent quarantined"
CLAIM_CHILDREN = ("claim_lines", "remits", "appeals")

Reasons = dict[str, dict[int, list[tuple[str, str]]]]
"""table -> data row number (from 1) -> [(column, problem)], one entry per problem."""


@dataclass(frozen=True)
class QuarantineSummary:
    """What one load set aside: rows per table and problem, and where they were written."""

    folder: Path
    ceiling: float
    counts: pd.DataFrame
    """One row per table, column and problem: `rows` set aside for it (own problems first)."""
    tables: pd.DataFrame
    """Indexed by table: rows `read`, rows with a problem of their `own`, rows `set_aside`."""
    claim_ids: frozenset[str] = frozenset()
    """The claims set aside: not gone from the data, only unreadable this time, so a queue
    keeps their items as they are rather than closing them."""

    @property
    def rows(self) -> int:
        return int(self.tables["set_aside"].sum())

    def over_ceiling(self) -> pd.DataFrame:
        """Tables whose own bad rows are more than `ceiling` of their rows."""
        share = self.tables["own"] / self.tables["read"].where(self.tables["read"] > 0)
        return self.tables[share.fillna(0) > self.ceiling]

    def table_lines(self) -> list[str]:
        """One line per table with rows set aside: counts only, fit for logs."""
        return [
            f"{table}: {row.set_aside:,} of {row.read:,} rows set aside "
            f"({row.own:,} with problems of their own, {row.own / row.read:.2%})"
            for table, row in self.tables[self.tables["set_aside"] > 0].iterrows()
        ]

    def describe(self) -> list[str]:
        """`table_lines`, then one line per table, column and problem, for messages."""
        return self.table_lines() + [
            f"  {row.table}.{row.column}: {row.problem} — {row.rows:,}"
            for row in self.counts.itertuples(index=False)
        ]


def own_reasons(problems: Iterable[Problem]) -> Reasons:
    """The rows the problems blame, by table and row, with each (column, rule) broken."""
    own: Reasons = {}
    for problem in problems:
        for row in problem.rows:
            own.setdefault(problem.table, {}).setdefault(row, []).append(
                (problem.column or "", problem.rule)
            )
    return own


def follow(frames: dict[str, pd.DataFrame], own: Reasons) -> Reasons:
    """The rows that depend on rows with problems of their own, and why (see the module)."""
    claims = frames["claims"]
    follows: Reasons = defaultdict(dict)
    claim_follows: list[tuple[pd.Series, str, str]] = []
    for child in CLAIM_CHILDREN:
        ids = _values_at(frames[child], own.get(child, {}), "claim_id")
        claim_follows.append((claims["claim_id"].isin(ids), "claim_id", f"{child} row quarantined"))
    auth_ids = _values_at(frames["authorizations"], own.get("authorizations", {}), "auth_id")
    claim_follows.append(
        (claims["prior_auth_id"].isin(auth_ids), "prior_auth_id", "authorization quarantined")
    )
    coverage = frames["eligibility"].iloc[_index(own.get("eligibility", {}))]
    pairs = pd.MultiIndex.from_frame(coverage[["patient_id", "payer_id"]].dropna())
    claim_follows.append(
        (
            pd.Series(
                pd.MultiIndex.from_frame(claims[["patient_id", "payer_id"]]).isin(pairs),
                index=claims.index,
            ),
            "patient_id, payer_id",
            "eligibility quarantined",
        )
    )
    bad_claims = claims.index.isin(_index(own.get("claims", {})))
    for mask, column, problem in claim_follows:
        _add(follows["claims"], own.get("claims", {}), mask, column, problem)
        bad_claims |= mask.to_numpy()
    gone = claims.loc[bad_claims, "claim_id"].dropna()
    for child in CLAIM_CHILDREN:
        frame = frames[child]
        _add(
            follows[child],
            own.get(child, {}),
            frame["claim_id"].isin(gone),
            "claim_id",
            PARENT_QUARANTINED,
        )
    return {table: rows for table, rows in follows.items() if rows}


def _index(rows: dict[int, list[tuple[str, str]]]) -> list[int]:
    return [row - 1 for row in rows]


def _values_at(frame: pd.DataFrame, rows: dict[int, list], column: str) -> pd.Series:
    return frame[column].iloc[_index(rows)].dropna()


def _add(
    into: dict[int, list[tuple[str, str]]],
    own: dict[int, list],
    mask: pd.Series,
    column: str,
    problem: str,
) -> None:
    """Record `problem` for the rows in `mask` that have no problem of their own."""
    for index in mask.index[mask.to_numpy(dtype=bool)]:
        row = int(index) + 1
        if row not in own and (column, problem) not in into.get(row, []):
            into.setdefault(row, []).append((column, problem))


def summarise(
    folder: Path, ceiling: float, frames: dict[str, pd.DataFrame], own: Reasons, follows: Reasons
) -> QuarantineSummary:
    """Counts per table and per problem; a row is counted once per problem it has."""
    tables = pd.DataFrame(
        {
            "read": [len(frame) for frame in frames.values()],
            "own": [len(own.get(name, {})) for name in frames],
            "set_aside": [len(own.get(name, {})) + len(follows.get(name, {})) for name in frames],
        },
        index=pd.Index(list(frames), name="table"),
    )
    counts = pd.concat(
        [
            _lines(reasons)
            .groupby(["table", "column", "problem"], sort=False)
            .size()
            .rename("rows")
            .reset_index()
            for reasons in (own, follows)
        ],
        ignore_index=True,
    )
    claims = frames.get("claims")
    gone = sorted({*own.get("claims", {}), *follows.get("claims", {})})
    claim_ids = (
        frozenset(claims["claim_id"].iloc[[row - 1 for row in gone]].astype(str))
        if claims is not None
        else frozenset()
    )
    return QuarantineSummary(folder, ceiling, counts, tables, claim_ids)


def _lines(*reasons: Reasons) -> pd.DataFrame:
    """One line per table, row and problem, in the order of `reasons`."""
    records = [
        (table, row, column, problem)
        for each in reasons
        for table, rows in each.items()
        for row, why in rows.items()
        for column, problem in why
    ]
    return pd.DataFrame(records, columns=["table", "row", "column", "problem"]).astype(
        {"row": "int64"}
    )


def write(directory: Path, raw: dict[str, pd.DataFrame], own: Reasons, follows: Reasons) -> None:
    """Rewrite `directory/quarantine`: `<table>.csv` for each table in `raw` (its set-aside
    rows as read, indexed by row number); the folder is removed when `raw` is empty."""
    folder = directory / FOLDER
    clear(directory, keep=set(raw))
    if not raw:
        return
    folder.mkdir(exist_ok=True)
    lines = _lines(own, follows)
    for table, rows in raw.items():
        mine = lines[lines["table"] == table].drop(columns="table")
        out = mine.merge(rows, left_on="row", right_index=True, how="left", sort=False)
        out = out[[*rows.columns, *ADDED_COLUMNS]].sort_values("row", kind="stable")
        path = folder / f"{table}.csv"
        temporary = path.with_name(f".{path.name}.tmp")
        out.to_csv(temporary, index=False)
        temporary.replace(path)


def clear(directory: Path, keep: Collection[str] = ()) -> None:
    """Remove the quarantine files of tables not in `keep`, and the folder once it is empty
    (a file someone else put there stays, and so does the folder)."""
    folder = directory / FOLDER
    if not folder.is_dir():
        return
    for name in TABLES:
        if name not in keep:
            (folder / f"{name}.csv").unlink(missing_ok=True)
    if not keep and not any(folder.iterdir()):
        folder.rmdir()
