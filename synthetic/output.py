"""Write a synthetic data set: the contract tables, truth.csv, and a manifest to reproduce it.

As X12, claims, lines and remits become 837P/837I/835 files under `x12/` (what a
clinic's systems would send), and the tables X12 does not carry
(authorizations, eligibility, appeals) are written as CSV beside them; the
directory becomes a complete data directory once `denialops ingest x12` has
brought the claims in.

As partitioned Parquet, a big data set is made and written a chunk of claims at a
time (`generate_chunks`, `write_synthetic_chunks`), so memory holds one chunk.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pa_csv

from data_contracts.writer import write_data_dir, write_partitioned
from data_contracts.x12.write import write_x12
from synthetic.generator import SyntheticData

TRUTH_FILE = "truth.csv"
MANIFEST_FILE = "synth_manifest.json"
X12_FOLDER = "x12"
X12_TABLES = ("claims", "claim_lines", "remits")
PARTITIONED = "parquet-partitioned"
"""Parquet partitioned by service month, written a chunk at a time (`write_synthetic_chunks`)."""
OutputFormat = Literal["csv", "parquet", "x12"]


def write_synthetic(data: SyntheticData, out: str | Path, fmt: OutputFormat = "csv") -> list[Path]:
    out = Path(out)
    if fmt == "x12":
        others = {name: frame for name, frame in data.tables.items() if name not in X12_TABLES}
        paths = write_x12(out / X12_FOLDER, data.tables) + write_data_dir(out, others, "csv")
    else:
        paths = write_data_dir(out, data.tables, fmt)
    truth_path = out / TRUTH_FILE
    pa_csv.write_csv(pa.Table.from_pandas(data.truth, preserve_index=False), truth_path)
    rows = {name: len(frame) for name, frame in data.tables.items()}
    return [*paths, truth_path, _write_manifest(out, data, fmt, rows)]


@dataclass(frozen=True)
class ChunkedRun:
    """What a chunked write wrote, for the command to say so."""

    claims: int
    denied: int
    as_of: date
    chunks: int


def write_synthetic_chunks(
    chunks: Iterable[SyntheticData], out: str | Path, chunk_claims: int
) -> ChunkedRun:
    """Write `generate_chunks`' chunks as they come: each adds its parts to the partitioned
    tables (`write_partitioned`) and its rows to truth.csv, and is let go before the next is
    made; the manifest, written last, counts every chunk's rows."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: Counter[str] = Counter()
    denied = 0
    index = -1
    facts = None
    with (out / TRUTH_FILE).open("wb") as truth:
        for index, data in enumerate(chunks):
            write_partitioned(out, data.tables, index)
            pa_csv.write_csv(
                pa.Table.from_pandas(data.truth, preserve_index=False),
                truth,
                write_options=pa_csv.WriteOptions(include_header=index == 0),
            )
            rows.update({name: len(frame) for name, frame in data.tables.items()})
            denied += int(data.truth["denied"].sum())
            facts = replace(data, tables={}, truth=data.truth.iloc[:0])
            del data  # else this chunk is held while the next one is made
    if facts is None:
        raise ValueError("no chunks to write")
    _write_manifest(out, facts, PARTITIONED, dict(rows), chunk_claims=chunk_claims)
    return ChunkedRun(rows["claims"], denied, facts.as_of, index + 1)


def _write_manifest(
    out: Path, data: SyntheticData, fmt: str, rows: dict[str, int], **extra: object
) -> Path:
    """The manifest that says how to make the directory again, and what it holds."""
    manifest = out / MANIFEST_FILE
    manifest.write_text(
        json.dumps(
            {
                "generator": "denialops synth",
                "seed": data.seed,
                "claims": rows["claims"],
                "as_of": data.as_of.isoformat(),
                "ends_on": data.ends_on.isoformat() if data.ends_on else None,
                "scenario": data.scenario,
                "change_on": data.change_on.isoformat() if data.change_on else None,
                "format": fmt,
                **extra,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    return manifest
