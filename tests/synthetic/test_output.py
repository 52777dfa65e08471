"""A chunked synthetic run on disk: partitioned tables, truth.csv and the manifest add up."""

from __future__ import annotations

import json

import pandas as pd

from data_contracts.reader import read_data_dir, table_parts
from synthetic import generate_chunks, write_synthetic_chunks
from synthetic.output import MANIFEST_FILE, TRUTH_FILE


def test_chunks_are_written_as_parts_and_read_back_whole(tmp_path) -> None:
    chunks = list(generate_chunks(2_500, seed=4, chunk_claims=1_000))

    run = write_synthetic_chunks(iter(chunks), tmp_path, chunk_claims=1_000)

    data = read_data_dir(tmp_path)
    assert (run.claims, run.chunks, run.as_of) == (2_500, 3, chunks[0].as_of)
    for name, frame in data.tables().items():
        written = pd.concat([chunk.tables[name] for chunk in chunks], ignore_index=True)
        assert sorted(frame.iloc[:, 0]) == sorted(written.iloc[:, 0]), name
    parts = {path.name for path in table_parts(tmp_path, "claim_lines")}
    assert parts == {"part-00000.parquet", "part-00001.parquet", "part-00002.parquet"}
    truth = pd.read_csv(tmp_path / TRUTH_FILE)
    assert list(truth["claim_id"]) == [f"CLM{i:09d}" for i in range(1, 2_501)]
    assert run.denied == truth["denied"].sum()
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert manifest["rows"] == {name: len(frame) for name, frame in data.tables().items()}
