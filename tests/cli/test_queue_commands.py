"""`denialops queue` and `denialops policy` as a billing manager runs them."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from data_contracts.reader import read_data_dir
from denialops.cli import app
from queues.ranking import CONTRACT_COLUMNS
from queues.store import WorkQueue
from settings import Settings
from tests.queue_views import open_items
from training import tracking
from training.recovery import train_recovery_model

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict:
    """A synthetic data directory and an MLflow store with a registered recovery model."""
    folder = tmp_path_factory.mktemp("queue-cli")
    data = folder / "data"
    assert runner.invoke(app, ["synth", "--claims", "15000", "--out", str(data)]).exit_code == 0
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "DENIALOPS_DATABASE_URL": f"sqlite:///{folder / 'queue.db'}",
        "DENIALOPS_POLICY_PATH": str(folder / "policy.yaml"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = Settings(max_boost_rounds=100)
        tracking.configure(settings)  # an earlier in-process `train` pointed MLflow elsewhere
        train_recovery_model(read_data_dir(data), settings, force=True)
    return {"folder": folder, "data": data, "env": env}


def _run(workspace: dict, *args: str):
    return runner.invoke(app, list(args), env=workspace["env"])


def test_rank_writes_the_contract_columns_rank_one_first(workspace) -> None:
    out = workspace["folder"] / "ranked.csv"
    result = _run(workspace, "queue", "rank", "--data", str(workspace["data"]), "--out", str(out))
    assert result.exit_code == 0, result.output
    ranked = pd.read_csv(out)
    assert list(ranked.columns[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert list(ranked.columns[len(CONTRACT_COLUMNS) :]) == [
        "deadline",
        "deadline_unverified",
        "reason",
        "billed_amount",
    ]
    assert (ranked["billed_amount"] > 0).all()
    assert set(ranked["action"]) <= {
        "appeal",
        "corrected_claim",
        "rebill",
        "bill_patient",
        "write_off",
    }
    accepted = ranked["action"].isin(["bill_patient", "write_off"])
    assert ranked.loc[accepted, "rank"].min() > ranked.loc[~accepted, "rank"].max()


def test_loading_twice_adds_nothing_and_export_is_a_contract_table(workspace) -> None:
    load = ["queue", "load", "--data", str(workspace["data"]), "--by", "ana"]
    first = _run(workspace, *load)
    assert first.exit_code == 0, first.output
    second = _run(workspace, *load)
    assert " 0 new" in second.output
    exported = _run(workspace, "queue", "export", "--out", str(workspace["folder"] / "out"))
    assert exported.exit_code == 0, exported.output
    assert (workspace["folder"] / "out" / "appeals.csv").exists()


def test_export_merges_into_the_appeals_history_and_repeats_to_the_same_file(
    workspace, tmp_path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(workspace["data"], data)
    history = (data / "appeals.csv").read_text().splitlines()
    assert _run(workspace, "queue", "load", "--data", str(data), "--by", "ana").exit_code == 0
    database = workspace["env"]["DENIALOPS_DATABASE_URL"]
    with WorkQueue.from_settings(Settings(database_url=database)) as queue:
        item = queue.next("ana")
        queue.resolve(item.claim_id, "ana", "appeal", 20)
        resolved = len(queue.export_appeals())

    first = _run(workspace, "queue", "export", "--out", str(data))
    assert first.exit_code == 0, first.output
    assert f"kept {len(history) - 1:,}, added {resolved:,}, updated 0" in first.output
    exported = (data / "appeals.csv").read_text().splitlines()
    assert exported[: len(history)] == history
    assert len(exported) == len(history) + resolved
    assert item.claim_id in "\n".join(exported[len(history) :])

    again = _run(workspace, "queue", "export", "--out", str(data))
    assert f"kept {len(exported) - 1:,}, added 0, updated 0" in again.output
    assert (data / "appeals.csv").read_text().splitlines() == exported
    assert _run(workspace, "validate", "--data", str(data)).exit_code == 0


def test_export_refuses_to_overwrite_a_broken_appeals_table(workspace, tmp_path) -> None:
    broken = "claim_id,action\nC1,fax\n"
    (tmp_path / "appeals.csv").write_text(broken)
    result = _run(workspace, "queue", "export", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "appeals.action" in result.output
    assert "left as it was" in result.output
    assert (tmp_path / "appeals.csv").read_text() == broken


def test_simulate_writes_the_report_and_compares_strategies(workspace) -> None:
    report = workspace["folder"] / "simulation.html"
    result = _run(
        workspace,
        "policy",
        "simulate",
        "--data",
        str(workspace["data"]),
        "--budget-hours",
        "20",
        "--out",
        str(report),
    )
    assert result.exit_code == 0, result.output
    for strategy in ("policy", "highest_balance", "oldest_first", "fifo"):
        assert strategy in result.output
    html = report.read_text()
    assert html.count("<img") >= 4


def test_a_policy_change_is_versioned_and_a_bad_one_refused(workspace, tmp_path) -> None:
    shown = _run(workspace, "policy", "show")
    assert shown.exit_code == 0
    edited = tmp_path / "edited.yaml"
    edited.write_text(shown.output.replace("min_expected_net: 15.0", "min_expected_net: 55.0"))
    saved = _run(workspace, "policy", "set", str(edited), "--by", "raj")
    assert saved.exit_code == 0, saved.output
    assert "55.0" in _run(workspace, "policy", "show").output
    edited.write_text(shown.output.replace("biller_hour_cost: 42.0", "biller_hour_cost: lots"))
    refused = _run(workspace, "policy", "set", str(edited), "--by", "raj")
    assert refused.exit_code == 1
    assert "biller_hour_cost" in refused.output


def test_without_a_recovery_model_rank_says_so(workspace, tmp_path) -> None:
    env = workspace["env"] | {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = runner.invoke(
        app,
        ["queue", "rank", "--data", str(workspace["data"]), "--out", str(tmp_path / "q.csv")],
        env=env,
    )
    assert result.exit_code == 1
    assert "denial-recovery" in result.output


def test_a_load_closes_what_the_data_settled_and_refuses_a_partial_directory(
    workspace, tmp_path
) -> None:
    """The next extract: one open denial paid on a later remit, one whose appeal closed
    elsewhere; `queue load` closes both and says why. An extract missing most denied
    remits is refused until forced."""
    data = tmp_path / "data"
    shutil.copytree(workspace["data"], data)
    env = {**workspace["env"], "DENIALOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'queue.db'}"}
    load = ["queue", "load", "--data", str(data), "--by", "ana"]
    assert runner.invoke(app, load, env=env).exit_code == 0
    with WorkQueue.from_settings(Settings(database_url=env["DENIALOPS_DATABASE_URL"])) as queue:
        opened = queue.count_open()
        paid, appealed, *kept = (item.claim_id for item in open_items(queue, limit=12))

    text = {"dtype": str, "keep_default_na": False}
    remits = pd.read_csv(data / "remits.csv", **text)
    row = remits["claim_id"] == paid
    remits.loc[row, ["status", "carc_codes", "rarc_codes"]] = ["paid", "CO-45", ""]
    remits.to_csv(data / "remits.csv", index=False)
    appeals = pd.read_csv(data / "appeals.csv", **text)
    closing = {column: "" for column in appeals.columns} | {
        "claim_id": appealed,
        "action": "appeal",
        "action_date": "2025-01-02",
        "effort_minutes": "30",
        "outcome": "upheld",
        "recovered_amount": "0",
        "closed_date": "2025-02-01",
    }
    pd.concat([appeals, pd.DataFrame([closing])]).to_csv(data / "appeals.csv", index=False)
    settled = runner.invoke(app, load, env=env)
    assert settled.exit_code == 0, settled.output
    assert "closed: 2 (appeal_closed 1, not_denied 1)" in settled.output

    cut_short = (remits["status"] == "paid") | remits["claim_id"].isin(kept)
    remits[cut_short].to_csv(data / "remits.csv", index=False)
    partial = runner.invoke(app, load, env=env)
    assert partial.exit_code == 1
    said = " ".join(partial.output.split())  # the console wraps long lines
    assert f"would close {opened - 2 - len(kept):,} of the {opened - 2:,} open" in said
    assert "no reason in the data (not_in_data" in said
    assert "(denialops queue load --force)" in said
    forced = runner.invoke(app, [*load, "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    with WorkQueue.from_settings(Settings(database_url=env["DENIALOPS_DATABASE_URL"])) as queue:
        assert queue.count_open() == len(kept) < (opened - 2) / 2
        assert queue.item(paid).closed_reason == "not_denied"


def test_policy_show_with_data_prints_each_payers_deadlines_and_where_they_come_from(
    workspace, tmp_path
) -> None:
    payers = sorted(set(pd.read_csv(workspace["data"] / "claims.csv")["payer_id"]))
    shown = _run(workspace, "policy", "show", "--data", str(workspace["data"]))
    assert shown.exit_code == 0, shown.output
    assert "Appeal windows" in shown.output
    assert "Timely-filing limits" in shown.output
    assert all(shown.output.count(payer) == 2 for payer in payers)
    assert "configured" not in shown.output

    policy = _run(workspace, "policy", "show").output.replace(
        "payers: {}", f"payers:\n  {payers[0]}:\n    appeal_window_days: 45"
    )
    edited = tmp_path / "edited.yaml"
    edited.write_text(policy)
    saved = _run(workspace, "policy", "set", str(edited), "--by", "raj")
    assert saved.exit_code == 0, saved.output
    configured = _run(workspace, "policy", "show", "--data", str(workspace["data"])).output
    row = next(  # the appeal window's row, not the policy's `payers:` entry
        line for line in configured.splitlines() if payers[0] in line and line.strip()[-1] != ":"
    )
    assert "45" in row
    assert "configured" in row
