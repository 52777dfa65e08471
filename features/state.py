"""The serving state: the latest value of every tally per key, and the reference tables.

Written by `features.pipeline.build_state` (with the model bundle, later) and
loaded by the scoring service, so scoring a claim is a few dictionary lookups
rather than a scan of history. Files: one Parquet per tally, the claims behind
the claim tallies, the remits behind the remit tallies, the authorizations and
eligibility tables, and `state.json` with the as-of date (`StateWriter`).
A loaded state reads its tallies, claims and remits on first use (`OnFirstUse`): a batch
over a data directory brings its own features and reads only one tally's totals, and the
claims and remits are most of a state's size.
The dictionaries (tally keys, authorizations, coverage, remit history) are built
in memory on first use or by `warm`; the files do not hold them.
A claim submitted on or after the as-of date is scored from the totals alone. One
submitted before it (a pending claim scored again days later) must not see what
came after it: its tallies are recomputed from the claims and remits known before
its submission date, as the batch path over the data directory computes them.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.denials import split_list
from features.asof import IDENTITY, key_codes, running
from features.claim_level import EPOCH
from features.reference import authorization_days, coverage_spans
from features.tallies import CLAIM_TALLIES, REMIT_TALLIES, TALLIES, Tally, column, event_values

log = logging.getLogger(__name__)
STATE_VERSION = 3
"""2: the state keeps its claims (`FeatureState.claims`). 3: their submission day, and the
remits with their received day (`FeatureState.remits`)."""
DERIVED = ("first_visit_of_day",)
"""Claim tally inputs computed from the other claims, not read off the claim."""
CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "submission_day",
    *sorted(
        (
            {name for tally in CLAIM_TALLIES for name in tally.keys}
            | {measure.value for tally in CLAIM_TALLIES for measure in tally.measures}
            | {tally.only_where for tally in CLAIM_TALLIES if tally.only_where}
        )
        - set(DERIVED)
    ),
)
"""What the state keeps of each claim: its id, its submission day (which claims came before
a claim submitted before the as-of date) and every column a claim tally reads."""
REMIT_COLUMNS: tuple[str, ...] = (
    "received_day",
    *sorted(
        {name for tally in REMIT_TALLIES for name in tally.keys}
        | {measure.value for tally in REMIT_TALLIES for measure in tally.measures}
        | {measure.where for tally in REMIT_TALLIES for measure in tally.measures if measure.where}
    ),
)
"""What the state keeps of each remit: its received day and every column a remit tally reads."""


def key_tuples(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple]:
    """Keys as hashable Python tuples, the same whether read from Parquet or built in memory."""
    columns = []
    for key in keys:
        values = frame[key]
        if pd.api.types.is_bool_dtype(values.dtype):
            columns.append([bool(v) for v in values.to_numpy()])
        elif pd.api.types.is_integer_dtype(values.dtype):
            columns.append([int(v) for v in values.to_numpy()])
        elif pd.api.types.is_float_dtype(values.dtype):
            columns.append([float(v) for v in values.to_numpy()])
        else:
            columns.append([None if pd.isna(v) else str(v) for v in values.to_numpy(object)])
    return list(zip(*columns, strict=True))


def _text(value: object) -> str | None:
    return None if pd.isna(value) else str(value)


@dataclass(frozen=True)
class Authorization:
    """One authorization on file, its window in days since `claim_level.EPOCH`."""

    payer_id: str | None
    program: str | None
    procedure_codes: frozenset[str]
    """Empty: the authorization covers any code."""
    start_day: int
    end_day: int
    units_approved: float


@dataclass(frozen=True)
class References:
    """The reference tables keyed for the row path (`features.online`): a claim's
    authorization and coverage are dictionary lookups, not merges."""

    auth_by_id: dict[str, Authorization]
    """The first row per auth_id, as the batch path's `drop_duplicates("auth_id")`."""
    auths_by_patient_payer: dict[tuple[str | None, str | None], list[Authorization]]
    coverage_by_patient_payer: dict[tuple[str | None, str | None], list[tuple[int, int]]]
    """(start_day, end_day) spans; open-ended coverage ends at `reference.OPEN_ENDED`."""
    coverage_by_patient: dict[str | None, list[tuple[str | None, int, int]]]
    """(payer_id, start_day, end_day) spans of every payer covering the patient."""

    @classmethod
    def build(cls, authorizations: pd.DataFrame, eligibility: pd.DataFrame) -> References:
        by_id: dict[str, Authorization] = {}
        by_pair: dict[tuple[str | None, str | None], list[Authorization]] = {}
        for row in authorization_days(authorizations).itertuples(index=False):
            auth = Authorization(
                _text(row.payer_id),
                _text(row.program),
                frozenset(split_list(row.procedure_codes)),
                int(row.start_day),
                int(row.end_day),
                np.nan if pd.isna(row.units_approved) else float(row.units_approved),
            )
            by_id.setdefault(str(row.auth_id), auth)
            by_pair.setdefault((_text(row.patient_id), _text(row.payer_id)), []).append(auth)
        spans: dict[tuple[str | None, str | None], list[tuple[int, int]]] = {}
        by_patient: dict[str | None, list[tuple[str | None, int, int]]] = {}
        for row in coverage_spans(eligibility).itertuples(index=False):
            patient, payer, start, end = (
                _text(row.patient_id),
                _text(row.payer_id),
                int(row.start_day),
                int(row.end_day),
            )
            spans.setdefault((patient, payer), []).append((start, end))
            by_patient.setdefault(patient, []).append((payer, start, end))
        return cls(by_id, by_pair, spans, by_patient)


@dataclass(frozen=True)
class StateClaims:
    """The state's claims for the row path: one record per claim (Python values, as
    `key_tuples` gives keys) in submission order, and their positions by id, patient and
    authorization number (the keys every claim tally starts with)."""

    records: list[dict[str, object]]
    ids: frozenset[str]
    by_patient: dict[object, list[int]]
    by_auth: dict[object, list[int]]

    @classmethod
    def build(cls, claims: pd.DataFrame) -> StateClaims:
        names = list(claims.columns)
        records = [dict(zip(names, values, strict=True)) for values in key_tuples(claims, names)]
        by_patient: dict[object, list[int]] = {}
        by_auth: dict[object, list[int]] = {}
        for position, record in enumerate(records):
            by_patient.setdefault(record["patient_id"], []).append(position)
            if record["has_prior_auth"]:
                by_auth.setdefault(record["prior_auth_id"], []).append(position)
        return cls(records, frozenset(str(c) for c in claims["claim_id"]), by_patient, by_auth)


@dataclass(frozen=True)
class RemitHistory:
    """Per remit tally and key, the received days of its remits in (day, file) order and the
    running aggregate after each: a claim's tally as of its submission day is the value after
    the last remit received before that day, one binary search. The running values come from
    `asof.running`, the loop and order of `asof.accumulate`, so they are the batch path's bits."""

    by_tally: dict[str, dict[tuple, tuple[np.ndarray, np.ndarray]]]

    @classmethod
    def build(cls, remits: pd.DataFrame) -> RemitHistory:
        times = remits["received_day"].to_numpy(np.float64)
        by_tally = {}
        for tally in REMIT_TALLIES:
            codes = key_codes(remits, tally.keys)
            order, accumulated = running(
                codes, times, event_values(tally, remits, times), [m.how for m in tally.measures]
            )
            sorted_codes = codes[order]
            starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
            ends = np.r_[starts[1:], len(order)].astype(np.int64)
            keys = key_tuples(remits.iloc[order[starts]], tally.keys)
            days = times[order]
            by_tally[tally.name] = {
                key: (days[start:end], accumulated[start:end])
                for key, start, end in zip(keys, starts.tolist(), ends.tolist(), strict=True)
            }
        return cls(by_tally)

    def before(self, tally: Tally, keys: Sequence[tuple], days: Sequence[float]) -> np.ndarray:
        """(n, m): per key, the tally over its remits received strictly before the day (the
        measures' identities when there are none), before `pipeline._finish`."""
        index = self.by_tally[tally.name]
        out = np.tile([IDENTITY[m.how] for m in tally.measures], (len(keys), 1))
        for row, (key, day) in enumerate(zip(keys, days, strict=True)):
            hit = index.get(key)
            if hit is not None:
                received, accumulated = hit
                seen = int(np.searchsorted(received, day, "left"))
                if seen:
                    out[row] = accumulated[seen - 1]
        return out


class OnFirstUse:
    """A `FeatureState` field given either as its value or as a function that reads it,
    called on first use and then kept (`FeatureState.load` gives readers)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_given_{name}"

    def __get__(self, state: Any, owner: type | None = None) -> Any:
        if state is None:  # the dataclass asks for a default: there is none
            raise AttributeError(self.slot)
        value = state.__dict__[self.slot]
        if callable(value):
            value = state.__dict__[self.slot] = value()
        return value

    def __set__(self, state: Any, value: Any) -> None:
        state.__dict__[self.slot] = value


def in_submission_order(claims: pd.DataFrame) -> pd.DataFrame:
    """The state's claims by submission day, then claim id, as `FeatureState.claims` keeps
    them; returned as given when they are so already (a pandas-built state's file)."""
    day, ids = claims["submission_day"].to_numpy(), claims["claim_id"]
    later = day[1:] > day[:-1]
    same_day = day[1:] == day[:-1]
    if (later | (same_day & (ids.to_numpy()[1:] > ids.to_numpy()[:-1]))).all():
        return claims
    return claims.sort_values(["submission_day", "claim_id"], kind="stable", ignore_index=True)


TALLY_FILE = "tally_{}.parquet"
HISTORY_TABLES = ("claims", "remits")
"""The state's tables a writer may take in parts (`StateWriter.append`)."""


class StateWriter:
    """Writes a state's files a piece at a time: each tally on its own, the claims and the
    remits in parts, so that the Dask engine writes its shards' in turn and never holds
    the whole state (`features.distributed`). The parts of the claims go in any order:
    the reader puts them in submission order (`in_submission_order`)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._tallies: dict[str, int] = {}
        self._parts: dict[str, pq.ParquetWriter] = {}

    def tally(self, name: str, frame: pd.DataFrame) -> None:
        frame.to_parquet(self.directory / TALLY_FILE.format(name), index=False)
        self._tallies[name] = len(frame)

    def append(self, table: str, frame: pd.DataFrame) -> None:
        """One part of `claims` or `remits`; every part with the columns and dtypes of the first."""
        if table not in HISTORY_TABLES:
            raise ValueError(f"{table} is not one of the state's tables in parts {HISTORY_TABLES}")
        writer = self._parts.get(table)
        schema = writer.schema if writer is not None else None
        part = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        if writer is None:
            writer = self._parts[table] = pq.ParquetWriter(
                self.directory / f"{table}.parquet", part.schema
            )
        writer.write_table(part)

    def close(self, as_of: date, authorizations: pd.DataFrame, eligibility: pd.DataFrame) -> Path:
        missing = [table for table in HISTORY_TABLES if table not in self._parts]
        if missing:
            raise ValueError(f"a state needs its {' and '.join(missing)}, even with no rows")
        for writer in self._parts.values():
            writer.close()
        authorizations.to_parquet(self.directory / "authorizations.parquet", index=False)
        eligibility.to_parquet(self.directory / "eligibility.parquet", index=False)
        meta = {"version": STATE_VERSION, "as_of": as_of.isoformat(), "tallies": self._tallies}
        (self.directory / "state.json").write_text(json.dumps(meta, indent=2) + "\n")
        return self.directory


def _read_tallies(directory: Path) -> dict[str, pd.DataFrame]:
    return {
        tally.name: pd.read_parquet(directory / TALLY_FILE.format(tally.name)) for tally in TALLIES
    }


def _read_claims(path: Path) -> pd.DataFrame:
    return in_submission_order(pd.read_parquet(path))


@dataclass
class FeatureState:
    as_of: date
    tallies: dict[str, pd.DataFrame] = OnFirstUse()
    """Per tally: its key columns and its raw measure columns."""
    claims: pd.DataFrame = OnFirstUse()
    """The claims behind the claim tallies, `CLAIM_COLUMNS`, in submission order. A claim
    scored again (or a replacement of one) must not count itself (or its original): its
    history is then recomputed from these, without them (`pipeline._claim_tallies`), and so
    is the history of a claim submitted before `as_of`, from those submitted before it."""
    remits: pd.DataFrame = OnFirstUse()
    """The remit events behind the remit tallies, `REMIT_COLUMNS`, in file order: a claim
    submitted before `as_of` counts those received before it (`remit_history`)."""
    authorizations: pd.DataFrame
    eligibility: pd.DataFrame
    _index: dict[str, dict[tuple, np.ndarray]] = field(default_factory=dict, repr=False)
    _references: References | None = field(default=None, repr=False)
    _claims: StateClaims | None = field(default=None, repr=False)
    _remits: RemitHistory | None = field(default=None, repr=False)
    source: Path | None = field(default=None, repr=False, compare=False)
    """The directory a loaded state reads its files from, and a save copies."""

    @property
    def as_of_day(self) -> int:
        """`as_of` in days since `claim_level.EPOCH`: a claim submitted before it needs its
        history cut at its submission day; one submitted on or after it sees everything."""
        return (self.as_of - EPOCH.date()).days

    def index(self, tally: Tally) -> dict[tuple, np.ndarray]:
        """Key tuple -> measure values, built once per tally on first use."""
        if tally.name not in self._index:
            frame = self.tallies[tally.name]
            values = frame[[column(tally, m) for m in tally.measures]].to_numpy(np.float64)
            self._index[tally.name] = dict(zip(key_tuples(frame, tally.keys), values, strict=True))
        return self._index[tally.name]

    def references(self) -> References:
        """Authorizations and eligibility as dictionaries, built once on first use."""
        if self._references is None:
            self._references = References.build(self.authorizations, self.eligibility)
        return self._references

    def claim_lookup(self) -> StateClaims:
        """The state's claims as the row path reads them, built once on first use."""
        if self._claims is None:
            self._claims = StateClaims.build(self.claims)
        return self._claims

    def remit_history(self) -> RemitHistory:
        """The remits as running tallies by key, built once on first use: only claims
        submitted before `as_of` read it."""
        if self._remits is None:
            self._remits = RemitHistory.build(self.remits)
        return self._remits

    def warm(self) -> None:
        """Build every lookup now (service start-up) rather than on the first request."""
        for tally in TALLIES:
            self.index(tally)
        self.references()
        self.claim_lookup()
        self.remit_history()

    def lookup(self, tally: Tally, keys: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
        """For each key tuple: whether the state knows it, and its measure values."""
        index = self.index(tally)
        found = np.zeros(len(keys), dtype=bool)
        values = np.zeros((len(keys), len(tally.measures)))
        for row, key in enumerate(keys):
            hit = index.get(key)
            if hit is not None:
                found[row] = True
                values[row] = hit
        return found, values

    def save(self, directory: str | Path) -> Path:
        """Write the state's files; a loaded state's are copied, not read and written again."""
        directory = Path(directory)
        if self.source is not None:
            if directory.resolve() != self.source.resolve():
                shutil.copytree(self.source, directory, dirs_exist_ok=True)
            return directory
        writer = StateWriter(directory)
        for name, frame in self.tallies.items():
            writer.tally(name, frame)
        writer.append("claims", self.claims)
        writer.append("remits", self.remits)
        return writer.close(self.as_of, self.authorizations, self.eligibility)

    @classmethod
    def load(cls, directory: str | Path) -> FeatureState:
        """The state saved in `directory`: the reference tables read now, the tallies, claims
        and remits on first use, so the files must stay while the state is in use (a
        service reads them all at start, `warm`)."""
        directory = Path(directory)
        meta = json.loads((directory / "state.json").read_text())
        if meta.get("version") != STATE_VERSION:
            raise ValueError(
                f"{directory} holds feature state version {meta.get('version')}, "
                f"this code reads version {STATE_VERSION}: rebuild it"
            )
        return cls(
            as_of=date.fromisoformat(meta["as_of"]),
            tallies=partial(_read_tallies, directory),
            claims=partial(_read_claims, directory / "claims.parquet"),
            remits=partial(pd.read_parquet, directory / "remits.parquet"),
            authorizations=pd.read_parquet(directory / "authorizations.parquet"),
            eligibility=pd.read_parquet(directory / "eligibility.parquet"),
            source=directory,
        )
