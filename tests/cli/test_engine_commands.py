"""`--engine dask` on `score` and `queue rank`: the same files as the pandas engine, from a
Dask cluster (the session's LocalCluster, joined through DENIALOPS_DASK_SCHEDULER)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from denialops.cli import app
from tests.cli import training_env

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dask_client) -> dict:
    """A 5,000-claim directory with a denial and a recovery model registered."""
    folder = tmp_path_factory.mktemp("engine-cli")
    data = folder / "data"
    assert runner.invoke(app, ["synth", "--claims", "5000", "--out", str(data)]).exit_code == 0
    env = training_env(folder) | {"DENIALOPS_DASK_SCHEDULER": dask_client.scheduler.address}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = runner.invoke(app, ["train", "--data", str(data)], env=env)
    assert result.exit_code == 0, result.output
    return {"folder": folder, "data": data, "env": env}


@pytest.mark.parametrize("command", [("score",), ("queue", "rank")])
def test_the_dask_engine_writes_the_pandas_engines_file(trained, command) -> None:
    written = {}
    for engine in ("pandas", "dask"):
        out = trained["folder"] / f"{'-'.join(command)}-{engine}.csv"
        args = [*command, "--data", str(trained["data"]), "--out", str(out), "--engine", engine]
        result = runner.invoke(app, args, env=trained["env"])
        assert result.exit_code == 0, result.output
        written[engine] = out.read_bytes()
    assert written["pandas"].count(b"\n") > 10
    assert written["dask"] == written["pandas"]
