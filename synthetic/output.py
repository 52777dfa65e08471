"""Write a synthetic data set: the contract tables, truth.csv, and a manifest to reproduce it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from data_contracts.writer import Format, write_data_dir
from synthetic.generator import SyntheticData

TRUTH_FILE = "truth.csv"
MANIFEST_FILE = "synth_manifest.json"


def write_synthetic(data: SyntheticData, out: str | Path, fmt: Format = "csv") -> list[Path]:
    out = Path(out)
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
                "format": fmt,
                "rows": {name: len(frame) for name, frame in data.tables.items()},
            },
            indent=2,
        )
        + "\n"
    )
    return [*paths, truth_path, manifest]
