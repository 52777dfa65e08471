"""The pre-submission check of a batch a biller uploads: the claims about to be sent, as the
contract's `claims` and `claim_lines` CSVs, each claim scored with its band, drivers and
fixes, as the scrubbing hook would have them scored.

Real exports are dirty, and one bad row must not cost the biller the rest of the batch:
rows that break the contract, and the rows that depend on them (a claim whose line is bad,
the lines of a bad claim), are set aside with every reason, by file and row, and the rest
is scored. Only what no row can be blamed for (a file that is not CSV, a required column
missing) stops the check, naming the file and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from data_contracts import quarantine
from data_contracts.reader import Problem, check_table, empty_table, reference_problems
from data_contracts.schemas import TABLES
from serving.scorer import ClaimResult, Scorer

FILES = {"claims": "Claims CSV", "claim_lines": "Claim lines CSV"}
"""The tables a check takes, and what the page calls their files."""
RESULT_COLUMNS = ("claim_id", "p_denial", "band", "drivers", "fix", "p_denial_after_fix")


class UploadError(ValueError):
    """A file the check cannot read at all; the message names the file and why."""


@dataclass(frozen=True)
class SetAside:
    """One uploaded row left out of the check, and why."""

    table: str
    row: int
    """1-based data row of the file (its line is row + 1, after the header)."""
    claim_id: str
    reasons: tuple[str, ...]


@dataclass
class CheckResult:
    results: list[ClaimResult] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Problems no row can be blamed for: nothing was scored."""
    rows: dict[str, int] = field(default_factory=dict)
    """Rows read per table."""


def read_csv_upload(table: str, content: bytes) -> pd.DataFrame:
    """An uploaded CSV as text columns (the contract types them), or UploadError."""
    label = FILES[table]
    if not content.strip():
        raise UploadError(f"{label}: the file is empty")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UploadError(
            f"{label}: not UTF-8 text (byte {error.start}); export the file as CSV (UTF-8)"
        ) from error
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, csv.Error) as error:
        raise UploadError(f"{label}: not a readable CSV ({error})") from error


def check_batch(raw: dict[str, pd.DataFrame], scorer: Scorer) -> CheckResult:
    """Score every good claim of `raw` (`claims` and `claim_lines`); set the rest aside."""
    result = CheckResult(rows={name: len(frame) for name, frame in raw.items()})
    typed: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for name in FILES:
        typed[name], found = check_table(name, raw[name])
        problems += found
    frames = {name: typed.get(name, empty_table(name)) for name in TABLES}
    problems += reference_problems(frames)
    whole = [p for p in problems if not p.rows]
    if whole:
        result.problems = [_whole_problem(p) for p in whole]
        return result
    own = quarantine.own_reasons(problems)
    follows = quarantine.follow(frames, own)
    kept = {}
    for name in FILES:
        reasons = {**follows.get(name, {}), **own.get(name, {})}
        for row, why in sorted(reasons.items()):
            claim_id = raw[name]["claim_id"].iloc[row - 1] if "claim_id" in raw[name] else ""
            result.set_aside.append(SetAside(name, row, str(claim_id), _reasons(why)))
        gone = [row - 1 for row in reasons]
        kept[name] = frames[name].drop(index=frames[name].index[gone]).reset_index(drop=True)
    if len(kept["claims"]):
        result.results = scorer.score_claims(kept["claims"], kept["claim_lines"])
    return result


def _whole_problem(problem: Problem) -> str:
    """A problem of a whole file, naming the file as the page does and the column."""
    where = FILES.get(problem.table, problem.table)
    column = f" column {problem.column}:" if problem.column else ""
    return f"{where}:{column} {problem.rule}"


def _reasons(why: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f"{column}: {rule}" if column else rule for column, rule in why))


def results_frame(results: Sequence[ClaimResult]) -> pd.DataFrame:
    """The check's answer as a table (the CSV export): the top fix and the risk after it."""
    return pd.DataFrame(
        [
            {
                "claim_id": r.claim_id,
                "p_denial": round(r.p_denial, 4),
                "band": r.band,
                "drivers": "; ".join(d["feature"] for d in r.drivers),
                "fix": r.fixes[0].text if r.fixes else "",
                "p_denial_after_fix": round(r.fixes[0].p_denial_after, 4) if r.fixes else None,
            }
            for r in results
        ],
        columns=list(RESULT_COLUMNS),
    )
