"""`--engine dask` on `train`, `score` and `queue rank`, from a Dask cluster (the session's
LocalCluster, joined through DENIALOPS_DASK_SCHEDULER): training registers both models,
champions on an empty registry, on the data the pandas engine trains on; scoring and
ranking write the pandas engine's files. One Dask training serves all of these tests: a
training on the cluster is the costliest step here."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from denialops.cli import app
from tests.cli import training_env

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dask_client) -> dict:
    """A 5,000-claim directory with a denial and a recovery model trained by `train
    --engine dask` into an empty registry, and that command's output."""
    folder = tmp_path_factory.mktemp("engine-cli")
    data = folder / "data"
    assert runner.invoke(app, ["synth", "--claims", "5000", "--out", str(data)]).exit_code == 0
    env = training_env(folder) | {"DENIALOPS_DASK_SCHEDULER": dask_client.scheduler.address}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = runner.invoke(app, ["train", "--data", str(data), "--engine", "dask"], env=env)
    assert result.exit_code == 0, result.output
    return {"folder": folder, "data": data, "env": env, "output": result.output}


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


def test_train_on_the_dask_engine_registers_both_models_as_champions(trained) -> None:
    assert "recovery model not trained" not in trained["output"]
    client = MlflowClient(trained["env"]["MLFLOW_TRACKING_URI"])
    for name in ("denial-risk", "denial-recovery"):
        assert f"{name} version 1 is champion" in trained["output"]
    version = client.get_model_version("denial-risk", "1")
    assert client.get_run(version.run_id).data.params["engine"] == "dask"


def test_the_engines_train_on_the_same_data(trained) -> None:
    args = ["train", "--data", str(trained["data"]), "--engine", "pandas", "--force"]
    result = runner.invoke(app, args, env=trained["env"])
    assert result.exit_code == 0, result.output
    client = MlflowClient(trained["env"]["MLFLOW_TRACKING_URI"])
    runs = client.search_runs(
        [experiment.experiment_id for experiment in client.search_experiments()],
        "attributes.run_name = 'denial-risk'",
    )
    by_engine = {run.data.params["engine"]: run.data.params for run in runs}
    assert by_engine.keys() == {"pandas", "dask"}
    assert by_engine["dask"]["data_fingerprint"] == by_engine["pandas"]["data_fingerprint"]
