"""`denialops keys`, `policy set` and `audit verify` as an operator runs them."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from denialops.cli import app
from queues.policy import default_policy

runner = CliRunner()


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {
        "DENIALOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}",
        "DENIALOPS_KEY_STORE": str(tmp_path / "keys.json"),
        "DENIALOPS_POLICY_PATH": str(tmp_path / "policy.yaml"),
    }


def _run(env: dict[str, str], *args: str):
    return runner.invoke(app, list(args), env=env)


def test_keys_are_added_listed_and_revoked(env) -> None:
    added = _run(env, "keys", "add", "--role", "biller", "--by", "ana")
    assert added.exit_code == 0, added.output
    key_id = re.search(r"key id (\w+) \(biller\)", added.output).group(1)
    key = added.stdout.strip().splitlines()[-1]
    assert len(key) >= 40
    revoked = _run(env, "keys", "revoke", key_id, "--by", "raj")
    assert revoked.exit_code == 0, revoked.output
    listed = _run(env, "keys", "list")
    assert listed.exit_code == 0, listed.output
    assert key_id in listed.stdout
    assert "biller" in listed.stdout
    assert "ana" in listed.stdout
    assert listed.stdout.count("UTC") == 2  # created and revoked; never used
    assert key not in listed.stdout
    unknown = _run(env, "keys", "revoke", "nosuchkey")
    assert unknown.exit_code == 1
    assert "no API key with id 'nosuchkey'" in unknown.output
    assert _run(env, "keys", "add", "--role", "janitor").exit_code == 2


def test_policy_set_saves_from_the_version_in_force_only(env, tmp_path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump(default_policy().model_dump(mode="json") | {"note": "v2"}))
    saved = _run(env, "policy", "set", str(draft), "--by", "ana")
    assert saved.exit_code == 0, saved.output
    assert "policy version 2" in saved.output
    stale = _run(env, "policy", "set", str(draft), "--by", "raj")
    assert stale.exit_code == 1
    assert "version 2 is in force" in stale.output
    shown = yaml.safe_load(_run(env, "policy", "show").stdout)
    assert (shown["version"], shown["note"], shown["updated_by"]) == (2, "v2", "ana")


def test_audit_verify_counts_a_whole_trail_and_names_a_tampered_row(env) -> None:
    assert _run(env, "audit", "verify").stdout.startswith("0 audit rows verified")
    for role in ("biller", "revops", "admin"):
        assert _run(env, "keys", "add", "--role", role).exit_code == 0
    whole = _run(env, "audit", "verify")
    assert whole.exit_code == 0, whole.output
    assert whole.stdout.startswith("3 audit rows verified; head row 3")
    engine = sa.create_engine(env["DENIALOPS_DATABASE_URL"])
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER queue_audit_no_update")
        connection.exec_driver_sql("UPDATE queue_audit SET actor = 'mallory' WHERE id = 2")
    engine.dispose()
    broken = _run(env, "audit", "verify")
    assert broken.exit_code == 1
    assert "broken at row 2: edited" in broken.output
