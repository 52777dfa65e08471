"""Write a synthetic data set: the contract tables, truth.csv, and a manifest to reproduce it.

As X12, claims, lines and remits become 837P/837I/835 files under `x12/` (what a
clinic's systems would send), and the tables X12 does not carry
(authorizations, eligibility, appeals) are written as CSV beside them; the
directory becomes a complete data directory once `denialops ingest x12` has
brought the claims in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pa_csv

from data_contracts.writer import write_data_dir
from data_contracts.x12.write import write_x12
from synthetic.generator import SyntheticData

TRUTH_FILE = "truth.csv"
MANIFEST_FILE = "synth_manifest.json"
X12_FOLDER = "x12"
X12_TABLES = ("claims", "claim_lines", "remits")
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
    manifest = out / MANIFEST_FILE
    manifest.write_text(
        json.dumps(
            {
                "generator": "denialops synth",
                "seed": data.seed,
                "claims": len(data.tables["claims"]),
                "as_of": data.as_of.isoformat(),
                "ends_on": data.ends_on.isoformat() if data.ends_on else None,
                "scenario": data.scenario,
                "change_on": data.change_on.isoformat() if data.change_on else None,
                "format": fmt,
                "rows": {name: len(frame) for name, frame in data.tables.items()},
            },
            indent=2,
        )
        + "\n"
    )
    return [*paths, truth_path, manifest]
