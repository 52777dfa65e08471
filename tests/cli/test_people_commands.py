"""`denialops tenants`, `users` and `keys --tenant` as a tenant admin runs them (the names are
fixed: scripts depend on them), on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from click.testing import Result
from typer.testing import CliRunner

from accounts.people import Outcome, UserStore
from accounts.roles import ROLES
from denialops.cli import app
from serving.api.security import digest
from serving.keys import KeyStore
from settings import Settings
from storage import audit
from storage.database import Database

runner = CliRunner()
PASSWORD = "correct horse battery staple"


@pytest.fixture
def env(database_url: str, tmp_path) -> dict[str, str]:
    return {
        "DENIALOPS_DATABASE_URL": database_url,
        "DENIALOPS_KEY_STORE": str(tmp_path / "keys.json"),
        "COLUMNS": "200",  # error panels unwrapped
    }


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), env=env, input=stdin)


def said(result: Result) -> str:
    """What the command printed, with the error panel's frame and line breaks taken out."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


def sign_in(env: dict[str, str], tenant: str, username: str, password: str = PASSWORD) -> Outcome:
    with Database.from_settings(Settings(database_url=env["DENIALOPS_DATABASE_URL"])) as database:
        people = UserStore.from_settings(database, Settings())
        return people.authenticate(tenant, username, password, "192.0.2.1").outcome


def trail(env: dict[str, str], tenant: str) -> list[str]:
    with (
        Database.from_settings(Settings(database_url=env["DENIALOPS_DATABASE_URL"])) as database,
        database.scope(tenant).engine.connect() as connection,
    ):
        return [event.event for event in audit.events(connection)]


def test_tenants_are_added_and_listed(env) -> None:
    added = run(env, "tenants", "add", "acme-bh", "--by", "ops")
    assert added.exit_code == 0, added.output
    listed = run(env, "tenants", "list")
    assert listed.exit_code == 0, listed.output
    assert re.findall(r"^│ (\S+)", listed.stdout, re.MULTILINE) == ["acme-bh", "default"]
    again = run(env, "tenants", "add", "acme-bh")
    assert again.exit_code == 2
    assert "already a tenant named 'acme-bh'" in said(again)
    malformed = run(env, "tenants", "add", "Acme BH")
    assert malformed.exit_code == 2
    assert "lowercase letters, digits" in said(malformed)
    assert trail(env, "acme-bh") == ["tenant_created"]


def test_a_user_added_with_the_password_on_stdin_signs_in(env) -> None:
    assert run(env, "tenants", "add", "acme-bh").exit_code == 0
    added = run(
        env,
        *("users", "add", "--tenant", "acme-bh", "--role", "billing_lead"),
        *("--username", "Lee", "--password-stdin", "--by", "ops"),
        stdin=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "user lee (billing_lead) added to tenant acme-bh" in said(added)
    assert PASSWORD not in added.output
    assert sign_in(env, "acme-bh", "lee") is Outcome.SIGNED_IN
    assert sign_in(env, "default", "lee") is Outcome.REFUSED  # another tenant's person
    assert sign_in(env, "acme-bh", "lee", PASSWORD + "\n") is Outcome.REFUSED  # newline cut
    listed = run(env, "users", "list", "--tenant", "acme-bh")
    assert re.search(r"lee\s+│ billing_lead", listed.stdout), listed.stdout
    assert trail(env, "acme-bh") == ["tenant_created", "user_added", "signed_in", "sign_in_failed"]


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("--tenant", "nowhere", "--role", "biller"), PASSWORD, "no tenant 'nowhere'"),
        (
            ("--tenant", "default", "--role", "janitor"),
            PASSWORD,
            "unknown role 'janitor': a person's role is one of biller, billing_lead, revops, "
            "data_scientist, admin",
        ),
        (("--tenant", "default", "--role", "biller"), "short", "at least 12 characters"),
        (("--tenant", "default", "--role", "biller"), "password123456", "commonly used"),
        (("--tenant", "default", "--role", "biller"), "ana-is-my-name-1", "must not contain"),
    ],
)
def test_users_add_names_what_is_wrong(env, args, password: str, message: str) -> None:
    result = run(
        env, "users", "add", *args, "--username", "ana", "--password-stdin", stdin=password
    )
    assert result.exit_code == 2
    assert message in said(result)
    assert password not in result.output
    assert run(env, "users", "list", "--tenant", "default").stdout.count("ana") == 0


def test_a_duplicate_username_is_refused(env) -> None:
    command = ("users", "add", "--tenant", "default", "--role", "biller", "--password-stdin")
    assert run(env, *command, "--username", "ana", stdin=PASSWORD).exit_code == 0
    again = run(env, *command, "--username", " ANA ", stdin=PASSWORD)
    assert again.exit_code == 2
    assert "the username 'ana' is taken" in said(again)


def test_users_are_disabled_and_enabled(env) -> None:
    add = ("users", "add", "--tenant", "default", "--role", "revops", "--username", "raj")
    assert run(env, *add, "--password-stdin", stdin=PASSWORD).exit_code == 0
    who = ("--tenant", "default", "--username", "raj")
    disabled = run(env, "users", "disable", *who)
    assert disabled.exit_code == 0, disabled.output
    assert "user raj of tenant default disabled" in said(disabled)
    assert sign_in(env, "default", "raj") is Outcome.REFUSED
    assert "was already disabled" in said(run(env, "users", "disable", *who))
    enabled = run(env, "users", "enable", *who)
    assert enabled.exit_code == 0, enabled.output
    assert sign_in(env, "default", "raj") is Outcome.SIGNED_IN
    unknown = run(env, "users", "disable", "--tenant", "default", "--username", "nobody")
    assert unknown.exit_code == 2
    assert "no user named 'nobody'" in said(unknown)
    assert trail(env, "default") == [
        "user_added",
        "user_disabled",
        "sign_in_failed",
        "user_enabled",
        "signed_in",
    ]


def test_a_role_is_changed_saying_from_what_to_what(env) -> None:
    add = ("users", "add", "--tenant", "default", "--role", "biller", "--username", "raj")
    assert run(env, *add, "--password-stdin", stdin=PASSWORD).exit_code == 0
    who = ("--tenant", "default", "--username", "raj")
    changed = run(env, "users", "role", *who, "--role", "revops", "--by", "ops")
    assert changed.exit_code == 0, changed.output
    assert "user raj of tenant default: role biller → revops" in said(changed)
    assert re.search(r"raj\s+│ revops", run(env, "users", "list", "--tenant", "default").stdout)
    again = run(env, "users", "role", *who, "--role", "revops")
    assert again.exit_code == 0, again.output
    assert "role already revops" in said(again)
    assert trail(env, "default") == ["user_added", "role_changed"]  # the same role: no change


@pytest.mark.parametrize(
    ("who", "role", "option", "message"),
    [
        (("--tenant", "nowhere", "--username", "raj"), "revops", "--tenant", "no tenant 'nowhere'"),
        (("--tenant", "default", "--username", "nobody"), "revops", "--username", "no user named"),
        (("--tenant", "default", "--username", "raj"), "janitor", "--role", "unknown role"),
    ],
)
def test_users_role_names_the_option_at_fault(env, who, role: str, option: str, message) -> None:
    add = ("users", "add", "--tenant", "default", "--role", "biller", "--username", "raj")
    assert run(env, *add, "--password-stdin", stdin=PASSWORD).exit_code == 0
    refused = run(env, "users", "role", *who, "--role", role)
    assert refused.exit_code == 2
    assert option in said(refused)
    assert message in said(refused)
    assert trail(env, "default") == ["user_added"]


def test_a_password_reset_lets_only_the_new_password_in_and_signs_everyone_out(env) -> None:
    add = ("users", "add", "--tenant", "default", "--role", "biller", "--username", "raj")
    assert run(env, *add, "--password-stdin", stdin=PASSWORD).exit_code == 0
    new = "a brand new passphrase, please"
    with Database.from_settings(Settings(database_url=env["DENIALOPS_DATABASE_URL"])) as database:
        people = UserStore.from_settings(database, Settings())
        token = people.authenticate("default", "raj", PASSWORD, "192.0.2.1").token
        who = ("--tenant", "default", "--username", "raj")
        reset = run(env, "users", "password", *who, "--password-stdin", "--by", "ops", stdin=new)
        assert reset.exit_code == 0, reset.output
        assert people.sessions.touch(token) is None
    assert "password of user raj of tenant default reset; their open sessions ended" in said(reset)
    assert new not in reset.output
    assert sign_in(env, "default", "raj") is Outcome.REFUSED
    assert sign_in(env, "default", "raj", new) is Outcome.SIGNED_IN
    prompted = run(env, "users", "password", *who, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert sign_in(env, "default", "raj") is Outcome.SIGNED_IN
    assert trail(env, "default") == [
        "user_added",
        "signed_in",
        "password_reset",
        "sign_in_failed",
        "signed_in",
        "password_reset",
        "signed_in",
    ]


@pytest.mark.parametrize(
    ("who", "password", "option", "message"),
    [
        (("--tenant", "nowhere", "--username", "raj"), PASSWORD, "--tenant", "no tenant"),
        (("--tenant", "default", "--username", "nobody"), PASSWORD, "--username", "no user"),
        (("--tenant", "default", "--username", "raj"), "short", "password", "at least 12"),
        (("--tenant", "default", "--username", "raj"), "raj-is-my-name-1", "password", "contain"),
    ],
)
def test_users_password_names_what_is_wrong(env, who, password: str, option: str, message) -> None:
    add = ("users", "add", "--tenant", "default", "--role", "biller", "--username", "raj")
    assert run(env, *add, "--password-stdin", stdin=PASSWORD).exit_code == 0
    refused = run(env, "users", "password", *who, "--password-stdin", stdin=password)
    assert refused.exit_code == 2
    assert f"Invalid value for {option}" in said(refused)
    assert message in said(refused)
    assert password not in refused.output
    assert sign_in(env, "default", "raj") is Outcome.SIGNED_IN  # the old password still works


def test_a_key_belongs_to_its_tenant_and_is_printed_once(env) -> None:
    assert run(env, "tenants", "add", "acme-bh").exit_code == 0
    added = run(env, "keys", "add", "--tenant", "acme-bh", "--role", "scrubber")
    assert added.exit_code == 0, added.output
    key = added.stdout.strip().splitlines()[-1]
    assert len(key) >= 40
    assert added.output.count(key) == 1
    key_id = re.search(r"key id (\w+) \(scrubber\) of tenant acme-bh", said(added)).group(1)
    assert key_id in run(env, "keys", "list", "--tenant", "acme-bh").stdout
    assert key_id not in run(env, "keys", "list").stdout  # default's keys
    with Database.from_settings(Settings(database_url=env["DENIALOPS_DATABASE_URL"])) as db:
        assert digest(key) in KeyStore(db, tenant="acme-bh").active()
        assert digest(key) not in KeyStore(db).active()
    assert "no API key" in said(run(env, "keys", "revoke", key_id))  # not default's to revoke
    assert run(env, "keys", "revoke", key_id, "--tenant", "acme-bh").exit_code == 0
    # Without --tenant, as today's scripts call it: the default tenant.
    plain = run(env, "keys", "add", "--role", "biller")
    assert plain.exit_code == 0, plain.output
    assert "of tenant default" in said(plain)
    unknown = run(env, "keys", "add", "--tenant", "nowhere", "--role", "biller")
    assert unknown.exit_code == 2
    assert "no tenant 'nowhere'" in said(unknown)
    bad_role = run(env, "keys", "add", "--role", "janitor")
    assert bad_role.exit_code == 2
    assert "scrubber, biller, billing_lead, revops, data_scientist, admin" in said(bad_role)


def test_demo_people_adds_one_person_per_role_each_password_printed_once(env) -> None:
    assert run(env, "tenants", "add", "demo").exit_code == 0
    made = run(env, "demo", "people", "--tenant", "demo")
    assert made.exit_code == 0, made.output
    rows = dict(re.findall(r"^│ (\S+)\s+│ (\S+)\s+│", made.stdout, re.MULTILINE))
    assert set(rows) == set(ROLES)
    assert len(set(rows.values())) == len(ROLES)
    for username, password in rows.items():
        assert made.output.count(password) == 1
        assert sign_in(env, "demo", username, password) is Outcome.SIGNED_IN
    listed = run(env, "users", "list", "--tenant", "demo").stdout
    assert sorted(re.findall(r"^│ (\S+)\s+│ (\S+)", listed, re.MULTILINE)) == sorted(
        (role, role) for role in ROLES
    )
    again = run(env, "demo", "people", "--tenant", "demo")
    assert again.exit_code == 0, again.output
    assert not any(password in again.output for password in rows.values())
    assert again.stdout.count("(kept from an earlier run)") == len(ROLES)
