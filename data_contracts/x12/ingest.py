"""837 and 835 files into a contract data directory: claim by claim, idempotently.

Real files carry a few bad records among many good ones; the good ones post and
the bad ones are set aside, each named in `exceptions.csv` (`setaside`) with its
file, transaction set, segment number and problem. What is set aside is as small
as the problem allows:

- an 837 claim (loop 2300 with its lines) or an 835 adjudication (CLP loop) with a
  malformed required element, an ICD-9-CM or missing principal diagnosis, a value
  the contract's own checks refuse (`reader.check_table`, run once over every
  file's rows), or a rule between tables it would break (a remit received before
  its claim was sent: the later file's claim or adjudication is set aside and the
  merge is done again without it); an 837 claim sent twice in one file, every copy;
- a transaction set with an envelope error (`loops.envelope`), a segment whose
  identifier is not one, or a loop that cannot be assembled;
- a file only when it cannot be read as X12 at all (`X12Error`).

Flags set nothing aside: well-formed CARC/RARC codes missing from the bundled
lists (kept as written), payments that do not balance (CLP04 against the lines'
SVC03, BPR02 against the claims less PLB), wrong envelope counts.

Merging is keyed so that ingesting a file twice changes nothing:

- claims by claim_id. A claim sent again replaces the row and all its lines,
  unless the row on file was submitted later, or is a replacement (frequency
  7/8) of the same date and the new one is an original: resending an old file
  does not undo a correction.
- every 835 adjudication (CLP loop) is kept once, by a digest of its content,
  trace number and date, in `x12_remit_events.csv` beside the contract tables
  (the contract allows extra tables). A claim's remit row is its first
  adjudication by received date and position; a reversal (CLP02 22) cancels what
  came before it, so the first adjudication after it becomes the remit (or, with
  none, the claim is pending again). An adjudication for a claim no 837 has brought yet is
  kept there too, counted in the summary, and becomes the claim's remit as soon
  as the claim arrives. A remit already in the directory (not from an 835) counts
  as the claim's earliest adjudication when an 835 for that claim arrives.
"""

from __future__ import annotations

import gc
import glob
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from data_contracts.denials import remit_denial_categories, timed_psychotherapy_claims
from data_contracts.reader import (
    ContractError,
    Problem,
    check_table,
    empty_table,
    isin,
    read_data_dir,
    reference_problems,
)
from data_contracts.schemas import TABLES
from data_contracts.writer import Format, write_data_dir
from data_contracts.x12 import loops, mapping, setaside
from data_contracts.x12.errors import FLAGGED, SET_ASIDE, X12Error, X12Problem
from data_contracts.x12.tokens import decode, tokenize

log = logging.getLogger(__name__)

EVENTS_FILE = "x12_remit_events.csv"
EVENT_COLUMNS = [
    "event_id",
    *TABLES["remits"].column_names,
    "claim_status_code",
    "payer_claim_number",
    "trace_number",
    "sequence",
    "source",
    "segment",
]
_MONEY = ["billed_amount", "allowed_amount", "paid_amount", "patient_responsibility"]
_KEYS = {
    "claims": ["claim_id"],
    "claim_lines": ["claim_id", "line_number"],
    "remits": ["claim_id"],
    "events": ["claim_id", "received_date", "trace_number", "sequence", "event_id"],
}
_ON_FILE = -1
"""The `file` of rows that were in the directory before the run."""
Progress = Callable[[int, int, Path], None]
_Key = tuple[str, int, str]
"""What a problem sets aside: ("claim", file index, claim id) for an 837 claim and its lines,
("event", file index, CLP segment number) for one 835 adjudication (CLP loop)."""


@dataclass
class FileContent:
    """What a file says, as contract text rows, before any contract check, and what in it was
    set aside or flagged (`exceptions`)."""

    path: Path
    claims: list[dict[str, str | None]]
    claim_lines: list[dict[str, str | None]]
    events: list[dict[str, str]]
    exceptions: list[X12Problem]
    interchanges: int
    transactions: int = 0
    provider_adjustments: int = 0
    provider_adjustment_total: Decimal = Decimal(0)
    transaction_at: dict[int, str] = field(default_factory=dict)
    """The transaction set (ST02) of each claim's, line's and adjudication's segment."""


@dataclass
class IngestSummary:
    """What a run did, for the CLI's table and for tests."""

    files: int = 0
    ingested: list[Path] = field(default_factory=list)
    failures: list[X12Error] = field(default_factory=list)
    interchanges: int = 0
    transactions: int = 0
    claims_read: int = 0
    claims_added: int = 0
    claims_replaced: int = 0
    adjudications_read: int = 0
    adjudications_added: int = 0
    reversals: int = 0
    remits_changed: int = 0
    remits_without_claim: int = 0
    denials: Counter[str] = field(default_factory=Counter)
    provider_adjustments: int = 0
    provider_adjustment_total: Decimal = Decimal(0)
    changed: bool = False
    exceptions: list[dict[str, str]] = field(default_factory=list)
    """This run's rows of `exceptions.csv` (unreadable files included)."""
    resolved: int = 0
    """Set-aside claims that a retry posted."""

    def count(self, severity: str, claims: bool) -> int:
        """Distinct claims (or transaction sets and files, with no claim) of a severity."""
        return len(
            {
                (row["file"], row["transaction"], row["claim_id"])
                for row in self.exceptions
                if row["severity"] == severity and bool(row["claim_id"]) == claims
            }
        )

    @property
    def set_aside(self) -> bool:
        return bool(self.failures) or any(row["severity"] == SET_ASIDE for row in self.exceptions)


@dataclass
class _Tables:
    """Claims, lines and remits (typed) and adjudications (text); rows read in this run carry
    the index of their `file` and their `segment`."""

    claims: pd.DataFrame
    claim_lines: pd.DataFrame
    remits: pd.DataFrame
    events: pd.DataFrame


@dataclass
class _Merged:
    """The directory after a run, what the run changed, and the problems it caused."""

    tables: _Tables
    changed: pd.Index
    """Claims whose row or lines the run changed (or added)."""
    new_events: pd.DataFrame
    touched: pd.Index
    """Claims whose adjudications changed (or that arrived to meet theirs)."""
    current: pd.DataFrame
    """The remit (typed) of each of those that has one, with or without its claim."""
    blamed: dict[_Key, list[X12Problem]]
    """Problems between tables, by the claim (as one file brings it) they set aside."""


# ---------------------------------------------------------------- paths


def expand_paths(specs: Iterable[str | Path]) -> list[Path]:
    """Files named by each spec: a file, every file under a folder, or a glob pattern."""
    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(
                child
                for child in path.rglob("*")
                if child.is_file() and not child.name.startswith(".")
            )
        else:
            matches = sorted(Path(match) for match in glob.glob(str(spec), recursive=True))
            if not matches:
                raise FileNotFoundError(f"{spec}: no such file, folder or matching files")
            found += [match for match in matches if match.is_file()]
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------- one file


def read_file(path: Path) -> FileContent:
    """A file's claims, lines and adjudications as contract text rows, less the claims and
    transaction sets set aside, with everything set aside or flagged; `X12Error` when the
    file cannot be read at all."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise X12Error.at(source, None, f"cannot read the file: {error}", "unreadable") from error
    document = tokenize(decode(raw), source)
    found = loops.envelope(document.segments, document.unreadable)
    content = FileContent(path, [], [], [], list(found.problems), document.interchanges)
    for transaction in found.transactions:
        content.transactions += 1
        content.exceptions += transaction.problems
        if transaction.set_aside:
            continue
        try:
            if transaction.kind == "835":
                _read_remittance(loops.remittance(transaction, source), content)
            else:
                _read_claims(loops.claims(transaction, source), transaction.control, content)
        except X12Error as error:
            content.exceptions += [
                problem.about("", transaction.control) for problem in error.problems
            ]
    _set_aside_repeated_claims(content)
    return content


def _read_claims(claims: list[loops.Claim], control: str, content: FileContent) -> None:
    for claim in claims:
        try:
            rows = mapping.claim_rows(claim)
        except mapping.UnmappableError as error:
            content.exceptions.append(error.problem.about(claim.clm[1], control))
            continue
        if rows.problems:
            content.exceptions += [
                problem.about(claim.clm[1], control) for problem in rows.problems
            ]
            continue
        content.claims.append(rows.claim)
        content.claim_lines += rows.lines
        for row in (rows.claim, *rows.lines):
            content.transaction_at[int(row["segment"] or 0)] = control


def _set_aside_repeated_claims(content: FileContent) -> None:
    """A claim sent twice in one file is set aside, every copy: which one is meant cannot be
    told, and posting either could be the wrong one."""
    counts = Counter(row["claim_id"] for row in content.claims)
    repeated = {claim_id for claim_id, count in counts.items() if count > 1}
    if not repeated:
        return
    for row in content.claims:
        if row["claim_id"] in repeated:
            segment = int(row["segment"] or 0)
            content.exceptions.append(
                X12Problem(
                    segment,
                    f"claim {row['claim_id']} is in the file {counts[row['claim_id']]} times: "
                    "which one is meant cannot be told",
                    str(row["claim_id"]),
                    content.transaction_at.get(segment, ""),
                    category="repeated",
                )
            )
    content.claims = [row for row in content.claims if row["claim_id"] not in repeated]
    content.claim_lines = [row for row in content.claim_lines if row["claim_id"] not in repeated]


def _read_remittance(remit: loops.Remittance, content: FileContent) -> None:
    control = remit.transaction.control
    content.provider_adjustments += len(remit.provider_adjustments)
    adjustments = Decimal(0)
    try:
        adjustments = mapping.provider_adjustment_total(remit)
    except mapping.UnmappableError as error:  # PLBs post nowhere: the claims still can
        content.exceptions.append(
            X12Problem(
                error.problem.segment, str(error), "", control, FLAGGED, error.problem.category
            )
        )
    content.provider_adjustment_total += adjustments
    received = mapping.received_date(remit)
    if received is None:
        where = remit.bpr or remit.transaction.st
        content.exceptions.append(
            X12Problem(
                where.number,
                "no received date: BPR16, DTM*405 and GS04 are not dates",
                transaction=control,
            )
        )
        return
    trace = remit.trn[2] if remit.trn else control
    for claim in remit.claims:
        try:
            event = mapping.remit_event(claim, received, trace)
            balance = mapping.claim_balance(claim)
        except mapping.UnmappableError as error:
            content.exceptions.append(error.problem.about(claim.clp[1], control))
            continue
        if balance is not None:
            content.exceptions.append(balance.about(claim.clp[1], control))
        content.events.append(event | {"source": content.path.name})
        content.transaction_at[claim.clp.number] = control
    payment = mapping.payment_balance(remit, adjustments)
    if payment is not None:
        content.exceptions.append(payment.about("", control))


# ---------------------------------------------------------------- the run


def ingest(
    paths: Sequence[Path],
    out: Path,
    progress: Progress | None = None,
    retry_exceptions: bool = False,
) -> IngestSummary:
    """Merge every file into the data directory `out`, set aside what cannot post (claim by
    claim, or transaction set by transaction set) into `exceptions.csv`, write what changed,
    say what happened. With `retry_exceptions`, the files with set-aside rows are read again
    before `paths` (corrected copies), and set-aside claims that now post are resolved."""
    out = Path(out)
    initial = _load(out)
    earlier = setaside.load(out)
    copies = list(paths)
    if retry_exceptions:
        paths = list(dict.fromkeys([*setaside.files_to_retry(earlier), *copies]))
        missing = [path for path in paths if not path.is_file()]
        for path in missing:
            log.warning("%s: listed in %s but no longer there", path, setaside.EXCEPTIONS_FILE)
        paths = [path for path in paths if path.is_file()]
    contents: dict[int, FileContent] = {}
    failures: dict[int, X12Error] = {}
    was_gc_enabled = gc.isenabled()
    gc.disable()  # a run allocates millions of small objects and frees few: see bench_x12.py
    try:
        for index, path in enumerate(paths):
            if progress:
                progress(index, len(paths), path)
            try:
                contents[index] = read_file(path)
            except X12Error as error:
                failures[index] = error
        incoming, removed = _checked(contents)
        merged = _merge(initial, _without(incoming, removed))
        while merged.blamed:
            if set(merged.blamed) <= removed:  # setting them aside did not remove the rows
                raise RuntimeError(
                    f"X12 ingest bug: rows set aside stay in the merge: {merged.blamed}"
                )
            for key, problems in merged.blamed.items():
                content = contents[key[1]]
                content.exceptions += [
                    problem.about("", content.transaction_at.get(problem.segment or 0, ""))
                    for problem in problems
                ]
                removed.add(key)
            merged = _merge(initial, _without(incoming, removed))
    finally:
        if was_gc_enabled:
            gc.enable()
    for error in failures.values():
        log.warning("%s", error)
    summary = _summarise(paths, contents, failures, initial, merged)
    if summary.changed:
        _write(merged.tables, out)
    resolved = setaside.resolve(
        earlier,
        _posted(contents, _without(incoming, removed)) if retry_exceptions else {},
        (setaside.file_key(path) for path in copies),
    )
    new_rows = [
        row
        for index, path in enumerate(paths)
        for row in setaside.rows(
            path,
            failures[index].problems if index in failures else contents[index].exceptions,
        )
    ]
    kept = setaside.write(out, [setaside.file_key(path) for path in paths], new_rows, resolved)
    summary.exceptions = kept.to_dict("records")
    summary.resolved = len(resolved)
    return summary


def _posted(contents: dict[int, FileContent], kept: _Tables) -> dict[str, set[str]]:
    """Claim ids that posted in this run (claims or adjudications), by file key."""
    posted: dict[str, set[str]] = {}
    for frame in (kept.claims, kept.events):
        for index, ids in frame.groupby("file")["claim_id"]:
            if index in contents:
                name = setaside.file_key(contents[int(index)].path)
                posted.setdefault(name, set()).update(ids)
    return posted


def _load(out: Path) -> _Tables:
    """The directory's claims, lines, remits and adjudications; empty when there are none yet.

    A directory without claims (e.g. one `synth --format x12` wrote) is not read as
    a whole: its other tables name claims the 837s are about to bring.
    """
    if any((out / f"claims.{fmt}").exists() for fmt in ("csv", "parquet")):
        data = read_data_dir(out)
        tables = [data.claims, data.claim_lines, data.remits]
    else:
        tables = [empty_table(name) for name in ("claims", "claim_lines", "remits")]
    events_path = out / EVENTS_FILE
    events = (
        pd.read_csv(events_path, dtype=str, keep_default_na=False)
        if events_path.exists()
        else pd.DataFrame(columns=EVENT_COLUMNS, dtype=str)
    )
    return _Tables(
        *(table.assign(file=_ON_FILE, segment=0) for table in tables),
        events[EVENT_COLUMNS].assign(file=_ON_FILE),
    )


def _checked(contents: dict[int, FileContent]) -> tuple[_Tables, set[_Key]]:
    """All files' rows typed by the contract's checks, run once over every file, and the
    claims a problem sets aside (filed with their file's exceptions), with well-formed but
    unknown codes flagged. Keys are not checked here: rows from different files merge by
    them."""
    found: dict[_Key, list[X12Problem]] = {}
    tables = {}
    for name in ("claims", "claim_lines"):
        raw = pd.DataFrame(
            [
                row | {"file": index}
                for index, content in contents.items()
                for row in getattr(content, name)
            ]
        )
        tables[name] = _typed(name, raw, found, contents)
    events = pd.DataFrame(
        [row | {"file": index} for index, content in contents.items() for row in content.events],
        columns=[*EVENT_COLUMNS, "file"],
    )
    as_remits = events.assign(
        claim_id=events["event_id"],
        **{column: events[column].str.lstrip("-") for column in _MONEY},
    )
    _typed(
        "remits", as_remits.reset_index(drop=True), found, contents, events.reset_index(drop=True)
    )
    for (_, index, _), problems in found.items():
        contents[index].exceptions += problems
    _flag_unknown_codes(events, set(found), contents)
    return _Tables(tables["claims"], tables["claim_lines"], _empty("remits"), events), set(found)


def _flag_unknown_codes(
    events: pd.DataFrame, removed: set[_Key], contents: dict[int, FileContent]
) -> None:
    for file, claim_id, segment, carcs, rarcs in zip(
        events["file"],
        events["claim_id"],
        events["segment"],
        events["carc_codes"],
        events["rarc_codes"],
        strict=True,
    ):
        unknown = mapping.unknown_codes(carcs, rarcs)
        if not unknown or ("event", file, segment) in removed:
            continue
        content = contents[file]
        number = int(segment)
        content.exceptions.append(
            X12Problem(
                number,
                f"code(s) {', '.join(unknown)} not in the bundled code lists: kept as written",
                claim_id,
                content.transaction_at.get(number, ""),
                FLAGGED,
                "unknown_code",
            )
        )


def _empty(name: str) -> pd.DataFrame:
    return empty_table(name).assign(file=pd.Series(dtype="int64"), segment=pd.Series(dtype="int64"))


def _typed(
    name: str,
    raw: pd.DataFrame,
    found: dict[_Key, list[X12Problem]],
    contents: dict[int, FileContent],
    origin: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """`raw` typed by `check_table`; each problem sets aside the claim its row belongs to, as
    the file it came from brings it (`origin` names the rows when `raw` was disguised for
    the check)."""
    if raw.empty:
        return _empty(name)
    typed, problems = check_table(name, raw[TABLES[name].column_names], keys=False)
    origin = raw if origin is None else origin
    for problem in problems:
        for row, value in zip(problem.rows, problem.shown_values(), strict=True):
            record = origin.iloc[row - 1]
            file, claim_id, segment = (
                int(record["file"]),
                str(record["claim_id"]),
                int(record["segment"]),
            )
            key = ("event", file, str(segment)) if name == "remits" else ("claim", file, claim_id)
            found.setdefault(key, []).append(
                _problem(segment, claim_id, problem, value, contents[file])
            )
    return typed.assign(
        file=raw["file"].astype("int64").to_numpy(),
        segment=raw["segment"].astype("int64").to_numpy(),
    )


def _problem(
    segment: int | None, claim_id: str, problem: Problem, value: str, content: FileContent
) -> X12Problem:
    shown = f" ({value!r})" if value else ""
    return X12Problem(
        segment,
        f"{problem.table}.{problem.column}: {problem.rule}{shown}",
        claim_id,
        content.transaction_at.get(segment or 0, ""),
        category="contract",
    )


def _without(tables: _Tables, removed: set[_Key]) -> _Tables:
    """The rows of the claims and adjudications not set aside."""
    claims = {(file, name) for kind, file, name in removed if kind == "claim"}
    events = {(file, name) for kind, file, name in removed if kind == "event"}

    def kept(frame: pd.DataFrame, keys: set[tuple[int, str]], column: str) -> pd.DataFrame:
        if not keys or frame.empty:
            return frame
        pairs = pd.MultiIndex.from_arrays(
            [frame["file"].astype("int64"), frame[column].astype(str)]
        )
        return frame[~pairs.isin(list(keys))]

    return _Tables(
        kept(tables.claims, claims, "claim_id"),
        kept(tables.claim_lines, claims, "claim_id"),
        tables.remits,
        kept(tables.events, events, "segment"),
    )


# ---------------------------------------------------------------- merging


def _merge(initial: _Tables, incoming: _Tables) -> _Merged:
    """The directory after the incoming rows, and the problems between tables by file."""
    all_events = pd.concat([initial.events, incoming.events], ignore_index=True)
    claims = _merge_claims(initial.claims, _resolve_originals(incoming.claims, all_events))
    supplied = claims[claims["file"] != _ON_FILE][["claim_id", "file"]]
    lines = pd.concat(
        [
            initial.claim_lines[~isin(initial.claim_lines["claim_id"], supplied["claim_id"])],
            incoming.claim_lines.merge(supplied, on=["claim_id", "file"]),
        ],
        ignore_index=True,
    )
    new_events = incoming.events[
        ~isin(incoming.events["event_id"], initial.events["event_id"])
    ].drop_duplicates("event_id")
    prior = _prior_events(initial, new_events["claim_id"])
    events = pd.concat([initial.events, prior, new_events], ignore_index=True)
    changed = _differing_ids(initial.claims, claims, supplied["claim_id"]).union(
        _differing_ids(initial.claim_lines, lines, supplied["claim_id"])
    )
    touched = pd.Index(new_events["claim_id"].unique()).union(
        changed.intersection(pd.Index(events["claim_id"]))
    )
    current = _current(events[isin(events["claim_id"], touched)])
    remits = pd.concat(
        [
            initial.remits[~isin(initial.remits["claim_id"], touched)],
            current[isin(current["claim_id"], claims["claim_id"])],
        ],
        ignore_index=True,
    )
    tables = _Tables(claims, lines, remits, events)
    blamed = _blame(tables, changed.union(touched))
    return _Merged(tables, changed, new_events, touched, current, blamed)


def _resolve_originals(claims: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """A replacement names the payer's number for the original (REF*F8): our claim id for it
    is the CLP01 of the adjudication that carried that number (CLP07)."""
    numbered = events[events["payer_claim_number"] != ""]
    by_payer_number = dict(zip(numbered["payer_claim_number"], numbered["claim_id"], strict=True))
    if not by_payer_number or claims.empty:
        return claims
    originals = claims["original_claim_id"]
    resolved = originals.map(by_payer_number)
    return claims.assign(original_claim_id=resolved.fillna(originals).astype(originals.dtype))


def _merge_claims(existing: pd.DataFrame, incoming: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: the latest submission wins, a replacement beats an original of the
    same date, and a later file beats an earlier one (rows on file count as earliest)."""
    rows = pd.concat([existing, incoming], ignore_index=True)
    rows["_replacement"] = rows["frequency_code"] != "1"
    rows = rows.sort_values(["claim_id", "submission_date", "_replacement", "file"], kind="stable")
    kept = rows.drop_duplicates("claim_id", keep="last").drop(columns="_replacement")
    return kept.reset_index(drop=True)


def _differing_ids(before: pd.DataFrame, after: pd.DataFrame, ids: Iterable[str]) -> pd.Index:
    """Claim ids among `ids` whose rows differ between the two frames (or exist in one only)."""
    ids = pd.Index(ids)
    columns = [column for column in before.columns if column not in ("file", "segment")]
    both = pd.concat(
        [
            before.loc[isin(before["claim_id"], ids), columns],
            after.loc[isin(after["claim_id"], ids), columns],
        ],
        ignore_index=True,
    )
    return pd.Index(both.loc[~both.duplicated(keep=False), "claim_id"].unique())


def _prior_events(initial: _Tables, claim_ids: pd.Series) -> pd.DataFrame:
    """Remit rows already on file (not from an 835) for claims an 835 now speaks about, as
    adjudications, so that folding keeps them as the first one."""
    remits = initial.remits[
        isin(initial.remits["claim_id"], claim_ids)
        & ~isin(initial.remits["claim_id"], initial.events["claim_id"])
    ]
    columns = TABLES["remits"].column_names
    text = remits[columns].assign(
        received_date=remits["received_date"].dt.strftime("%Y-%m-%d"),
        **{column: remits[column].map("{:.2f}".format) for column in _MONEY},
    )
    return (
        text.astype(str)
        .fillna("")
        .assign(
            event_id="remits:" + text["claim_id"],
            claim_status_code="",
            payer_claim_number="",
            trace_number="",
            sequence="-1",
            source="remits table",
            segment="0",
            file=_ON_FILE,
        )
    )


def _current(events: pd.DataFrame) -> pd.DataFrame:
    """Each claim's remit: its first adjudication after its last reversal (a reversal cancels
    what came before it); typed, with the `file` and `segment` it came from."""
    ordered = events.assign(_sequence=events["sequence"].astype(int)).sort_values(
        ["claim_id", "received_date", "trace_number", "_sequence"], kind="stable"
    )
    position = pd.Series(range(len(ordered)), index=ordered.index)
    reversal = ordered["claim_status_code"] == mapping.REVERSAL
    last_reversal = position.where(reversal).groupby(ordered["claim_id"]).transform("max")
    after = ~reversal & ~(position <= last_reversal)
    chosen = ordered[after].drop_duplicates("claim_id").reset_index(drop=True)
    typed, problems = check_table("remits", chosen[TABLES["remits"].column_names])
    if problems:  # every adjudication was checked on its way in: this would be our bug
        raise ContractError("remits folded from adjudications", problems)
    return typed.assign(
        file=chosen["file"].astype("int64").to_numpy(),
        segment=pd.to_numeric(chosen["segment"]).astype("int64").to_numpy(),
    )


def _blame(merged: _Tables, ids: pd.Index) -> dict[_Key, list[X12Problem]]:
    """Problems between the tables, on the rows the run touched, each setting aside the claim
    or adjudication of the latest file that supplied one of the rows involved."""
    subset = {
        name: getattr(merged, name)[isin(getattr(merged, name)["claim_id"], ids)].reset_index(
            drop=True
        )
        for name in ("claims", "claim_lines", "remits")
    }
    found: dict[_Key, list[X12Problem]] = {}
    claims = subset["claims"].set_index("claim_id")
    remits = subset["remits"].set_index("claim_id")
    for problem in reference_problems(subset):
        for row, value in zip(problem.rows, problem.shown_values(), strict=True):
            record = subset[problem.table].iloc[row - 1]
            claim_id = record["claim_id"]
            kind = "event" if problem.table == "remits" else "claim"
            sources = [(int(record["file"]), int(record["segment"]), kind)]
            for frame, kind in ((claims, "claim"), (remits, "event")):
                if claim_id in frame.index:
                    sources.append(
                        (int(frame.at[claim_id, "file"]), int(frame.at[claim_id, "segment"]), kind)
                    )
            file, segment, kind = max(sources)
            if file == _ON_FILE:  # the directory was valid before the run: this is our bug
                raise ContractError("the data directory after merging", [problem])
            shown = f" ({value!r})" if value else ""
            key = (kind, file, str(segment) if kind == "event" else claim_id)
            found.setdefault(key, []).append(
                X12Problem(
                    segment or None,
                    f"{problem.table}.{problem.column}: {problem.rule}{shown}",
                    claim_id,
                    category="between_tables",
                )
            )
    return found


# ---------------------------------------------------------------- summary and writing


def _summarise(
    paths: Sequence[Path],
    contents: dict[int, FileContent],
    failures: dict[int, X12Error],
    initial: _Tables,
    merged: _Merged,
) -> IngestSummary:
    ingested = [content for index, content in contents.items() if index not in failures]
    tables, new_events = merged.tables, merged.new_events
    before, after = pd.Index(initial.claims["claim_id"]), pd.Index(tables.claims["claim_id"])
    return IngestSummary(
        files=len(paths),
        ingested=[content.path for content in ingested],
        failures=[failures[index] for index in sorted(failures)],
        interchanges=sum(content.interchanges for content in ingested),
        transactions=sum(content.transactions for content in ingested),
        claims_read=sum(len(content.claims) for content in ingested),
        claims_added=len(after.difference(before)),
        claims_replaced=len(merged.changed.intersection(before)),
        adjudications_read=sum(len(content.events) for content in ingested),
        adjudications_added=len(new_events),
        reversals=int((new_events["claim_status_code"] == mapping.REVERSAL).sum()),
        remits_changed=len(_differing_ids(initial.remits, tables.remits, merged.touched)),
        remits_without_claim=len(pd.Index(tables.events["claim_id"].unique()).difference(after)),
        denials=_denials(merged.current, tables.claim_lines),
        provider_adjustments=sum(content.provider_adjustments for content in ingested),
        provider_adjustment_total=sum(
            (content.provider_adjustment_total for content in ingested), Decimal(0)
        ),
        changed=not all(
            _sorted(name, getattr(initial, name)).equals(_sorted(name, getattr(tables, name)))
            for name in ("claims", "claim_lines", "remits", "events")
        ),
    )


def _denials(current: pd.DataFrame, claim_lines: pd.DataFrame) -> Counter[str]:
    """Denial categories of the current adjudications the run changed, with or without their
    claims: what the work queue will see."""
    timed = isin(current["claim_id"], timed_psychotherapy_claims(claim_lines))
    return Counter(remit_denial_categories(current, timed).dropna().tolist())


def _sorted(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A table in its stored form and order, so two states compare (and write) alike."""
    if name == "events":
        frame = frame[EVENT_COLUMNS].astype(str)
    else:
        frame = frame[TABLES[name].column_names]
    return frame.sort_values(_KEYS[name], kind="stable").reset_index(drop=True)


def _write(merged: _Tables, out: Path) -> None:
    """Contract tables (atomically per file, by the contract's writer, in the directory's
    format) and the adjudications beside them."""
    fmt: Format = "parquet" if (out / "claims.parquet").exists() else "csv"
    write_data_dir(
        out,
        {
            name: _sorted(name, getattr(merged, name))
            for name in ("claims", "claim_lines", "remits")
        },
        fmt,
    )
    events = _sorted("events", merged.events)
    partial = out / f".{EVENTS_FILE}.partial"
    pa_csv.write_csv(pa.Table.from_pandas(events, preserve_index=False), partial)
    partial.replace(out / EVENTS_FILE)
