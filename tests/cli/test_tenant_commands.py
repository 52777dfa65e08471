"""Commands on tenant data (`--tenant`): each tenant's queue, policy, data directory and
model; a tenant without a model of its own is served by the shared one, and says so.

Two tenants share one database and one MLflow registry: `acme` trains its own models,
`beta` (other data, the same claim ids) has none, so the shared (`default`) models
answer for it."""

from __future__ import annotations

import re

import mlflow
import pandas as pd
import pytest
import yaml
from click.testing import Result
from typer.main import get_command
from typer.testing import CliRunner

from denialops.cli import app
from queues.store import WorkQueue
from serving.audit import AuditLog
from settings import Settings
from storage.database import Database
from tests.cli import commands, training_env
from tests.queue_views import open_items

runner = CliRunner()
TENANT_DATA = {
    ("queue", "load"),
    ("queue", "rank"),
    ("queue", "export"),
    ("policy", "show"),
    ("policy", "set"),
    ("policy", "simulate"),
    ("train",),
    ("tune",),
    ("score",),
    ("request",),
    ("audit", "verify"),
}


def said(result: Result) -> str:
    """What the command printed, with the error panel's frame and line breaks taken out."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


@pytest.fixture(scope="module")
def tenants(tmp_path_factory) -> dict:
    """`acme` (6,000 claims, trained with `train --tenant acme`) and `beta` (1,500 other
    claims, no model); the shared models are acme's versions registered under the
    installation's names, as a `train` of `default` would have (saving a second training)."""
    folder = tmp_path_factory.mktemp("tenant-cli")
    acme, beta = folder / "acme", folder / "beta"
    for data, claims, seed in ((acme, "6000", "7"), (beta, "1500", "8")):
        made = runner.invoke(app, ["synth", "--claims", claims, "--seed", seed, "--out", str(data)])
        assert made.exit_code == 0, made.output
    env = {**training_env(folder), "COLUMNS": "200"}
    for name, data in (("acme", acme), ("beta", beta)):
        added = runner.invoke(app, ["tenants", "add", name, "--data", str(data)], env=env)
        assert added.exit_code == 0, added.output
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        trained = runner.invoke(app, ["train", "--tenant", "acme"], env=env)
        client = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"])
        for own, shared in (
            ("denial-risk-acme", "denial-risk"),
            ("denial-recovery-acme", "denial-recovery"),
        ):
            if client.search_model_versions(f"name='{own}'"):
                client.create_registered_model(shared)
                copy = client.create_model_version(shared, f"models:/{own}/1")
                client.set_registered_model_alias(shared, "champion", copy.version)
    return {"folder": folder, "acme": acme, "beta": beta, "env": env, "train": trained}


def run(tenants: dict, *args: str) -> Result:
    return runner.invoke(app, list(args), env=tenants["env"])


def test_every_command_on_tenant_data_takes_tenant_defaulting_to_default() -> None:
    defaults = {
        words: {param.name: param.default for param in command.params}.get("tenant", "absent")
        for words, command in commands(get_command(app))
        if words in TENANT_DATA
    }
    assert defaults == dict.fromkeys(TENANT_DATA, "default")


def test_every_command_with_a_data_directory_takes_the_tenants_when_it_is_omitted() -> None:
    reading = {}
    for words, command in commands(get_command(app)):
        params = {param.name: param for param in command.params}
        if "data" in params:
            reading[words] = "tenant" in params
            assert "tenant" not in params or not params["data"].required, words
    # Checks of a directory and its features are the same for every tenant.
    untenanted = {words for words, takes in reading.items() if not takes}
    assert untenanted == {("validate",), ("features", "build")}


def test_an_unknown_tenant_is_refused_naming_it_and_how_to_add_it(tenants, tmp_path) -> None:
    for args in (
        ("queue", "rank", "--out", str(tmp_path / "q.csv")),
        ("policy", "show"),
        ("score", "--out", str(tmp_path / "s.csv")),
        ("audit", "verify"),
    ):
        result = run(tenants, *args, "--tenant", "nobody")
        assert result.exit_code == 2, result.output
        assert "no tenant 'nobody'" in said(result)
        assert "denialops tenants add nobody" in said(result)


def test_a_tenant_without_a_data_directory_needs_data(tenants, tmp_path) -> None:
    result = run(tenants, "queue", "rank", "--out", str(tmp_path / "q.csv"))
    assert result.exit_code == 2
    assert "tenant 'default' has none of its own" in said(result)


def test_train_registers_the_tenants_own_models(tenants) -> None:
    result = tenants["train"]
    assert result.exit_code == 0, result.output
    assert "denial-risk-acme version 1 is champion" in said(result)
    assert "denial-recovery-acme version 1 is champion" in said(result)
    client = mlflow.MlflowClient(tenants["env"]["MLFLOW_TRACKING_URI"])
    names = {model.name for model in client.search_registered_models()}
    assert names == {"denial-risk-acme", "denial-recovery-acme", "denial-risk", "denial-recovery"}


def test_score_uses_the_tenants_model_else_the_shared_one_and_says_which(tenants, tmp_path) -> None:
    answered = {}
    settings = Settings(database_url=tenants["env"]["DENIALOPS_DATABASE_URL"])
    for tenant in ("acme", "beta"):
        out = tmp_path / f"{tenant}.csv"
        result = run(tenants, "score", "--tenant", tenant, "--out", str(out))
        assert result.exit_code == 0, result.output
        frame = pd.read_csv(out, dtype={"claim_id": str})
        assert list(frame.columns[:4]) == ["claim_id", "p_denial", "fix_code", "fix_text"]
        answered[tenant] = (set(frame["model_name"]), said(result))
        with Database.from_settings(settings) as database:
            kept = AuditLog(database, tenant=tenant).scores()
        assert sorted(kept["claim_id"]) == sorted(frame["claim_id"]), "each tenant keeps its own"
        assert set(kept["model_version"]) == {"1"}
    assert answered["acme"][0] == {"denial-risk-acme"}
    assert "model denial-risk-acme version 1;" in answered["acme"][1]
    assert answered["beta"][0] == {"denial-risk"}
    assert "(shared: tenant beta has no model of its own yet)" in answered["beta"][1]


def test_each_tenants_queue_holds_only_its_own_claims(tenants, tmp_path) -> None:
    ranked, models = {}, {}
    for tenant in ("acme", "beta"):
        out = tmp_path / f"{tenant}.csv"
        result = run(tenants, "queue", "rank", "--tenant", tenant, "--out", str(out))
        assert result.exit_code == 0, result.output
        ranked[tenant] = set(pd.read_csv(out, dtype=str)["claim_id"])
        models[tenant] = said(result)
        loaded = run(tenants, "queue", "load", "--tenant", tenant, "--by", "lee")
        assert loaded.exit_code == 0, loaded.output
    assert "with recovery model denial-recovery-acme version 1 and" in models["acme"]
    assert "model denial-recovery version 1 (shared: tenant beta has no model" in models["beta"]
    assert ranked["acme"] != ranked["beta"]
    assert ranked["acme"] & ranked["beta"], "the same claim ids in both: a sharper test"
    settings = Settings(database_url=tenants["env"]["DENIALOPS_DATABASE_URL"])
    for tenant in ("acme", "beta", "default"):
        with WorkQueue.from_settings(settings, tenant=tenant) as queue:
            held = {item.claim_id for item in open_items(queue, limit=100_000)}
        assert held == ranked.get(tenant, set()), tenant


def test_a_policy_saved_for_one_tenant_is_not_anothers(tenants, tmp_path) -> None:
    shown = run(tenants, "policy", "show", "--tenant", "acme")
    assert shown.exit_code == 0, shown.output
    shipped = yaml.safe_load(shown.stdout)
    edited = tmp_path / "policy.yaml"
    edited.write_text(yaml.safe_dump({**shipped, "note": "acme only"}))
    saved = run(tenants, "policy", "set", str(edited), "--by", "rev", "--tenant", "acme")
    assert saved.exit_code == 0, saved.output
    assert "policy version 2 of tenant acme saved by rev" in said(saved)
    policies = {
        tenant: yaml.safe_load(run(tenants, "policy", "show", "--tenant", tenant).stdout)
        for tenant in ("acme", "beta")
    }
    assert (policies["acme"]["version"], policies["acme"]["note"]) == (2, "acme only")
    assert policies["beta"] == shipped
    verified = run(tenants, "audit", "verify", "--tenant", "acme")
    assert verified.exit_code == 0, verified.output


def test_default_on_a_given_directory_opens_no_database(tenants, tmp_path) -> None:
    database = tmp_path / "never.db"
    result = runner.invoke(
        app,
        ["request", "--data", str(tenants["beta"]), "--out", str(tmp_path / "body.json")],
        env={"DENIALOPS_DATABASE_URL": f"sqlite:///{database}"},
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "body.json").exists()
    assert not database.exists()


def test_adding_a_tenant_again_with_exist_ok_keeps_only_the_same_one(tenants, tmp_path) -> None:
    add = ("tenants", "add", "gamma", "--data", str(tmp_path), "--exist-ok")
    assert "tenant gamma added" in said(run(tenants, *add))
    again = run(tenants, *add)
    assert again.exit_code == 0, again.output
    assert "tenant gamma kept as it is" in said(again)
    other = run(tenants, "tenants", "add", "gamma", "--data", str(tenants["beta"]), "--exist-ok")
    assert other.exit_code == 2
    assert f"tenant 'gamma' exists with data directory {tmp_path}" in said(other)


def test_tune_keeps_each_tenants_study_and_parameters_apart(tenants, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(tenants, "tune", "--tenant", "beta", "--trials", "1")
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (tmp_path / "optuna").iterdir()) == [
        "best_params-beta.json",
        "denial-risk-beta.db",
    ]
    assert "denialops train --tenant beta" in said(result)
