"""`denialops features build` on both engines: the same table, the same serving state."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from denialops.cli import app
from features.state import FeatureState
from tests.features.test_distributed import assert_same_features, assert_same_state


def test_features_build_on_dask_writes_what_pandas_writes(tmp_path, monkeypatch, dask_client):
    monkeypatch.setenv("DENIALOPS_DASK_SCHEDULER", dask_client.scheduler.address)
    runner = CliRunner()
    data = tmp_path / "data"
    runner.invoke(app, ["synth", "--claims", "4000", "--seed", "3", "--out", str(data)])
    written = {}
    for engine in ("pandas", "dask"):
        out, state = tmp_path / f"{engine}.parquet", tmp_path / f"{engine}-state"
        build = ["features", "build", "--data", str(data), "--out", str(out)]
        result = runner.invoke(app, [*build, "--state", str(state), "--engine", engine])
        assert result.exit_code == 0, result.output
        assert "wrote 4,000 claims x 92 features" in result.output
        written[engine] = (pd.read_parquet(out).set_index("claim_id"), FeatureState.load(state))
    assert out.is_dir()  # the dask engine writes one Parquet part per shard
    assert_same_features(written["pandas"][0], written["dask"][0])
    assert_same_state(written["pandas"][1], written["dask"][1])
