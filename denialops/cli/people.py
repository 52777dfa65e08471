"""Tenants, the people who sign in to them, the demo's people, and API keys: the tenant
admin's commands."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from denialops.cli.options import (
    By,
    TenantOption,
    Username,
    console,
    open_database,
    tenant_or_exit,
    when,
)
from settings import get_settings

if TYPE_CHECKING:
    from accounts.people import UserStore
    from serving.keys import KeyStore

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (one line) instead of a prompt.",
    ),
]

keys_app = typer.Typer(help="API keys of the HTTP service (stored hashed in the database).")
tenants_app = typer.Typer(help="Tenants (billing practices): each sees only its own data.")
users_app = typer.Typer(help="People who sign in to the service, one tenant and role each.")


@tenants_app.command("add")
def tenants_add(
    name: Annotated[
        str, typer.Argument(help="1 to 64 lowercase letters, digits, - or _ (e.g. acme-bh).")
    ],
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "--data-dir",
            help="The tenant's own data directory (kept absolute): its commands' --data "
            "when not given.",
        ),
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model-name",
            help="The tenant's registered denial model (its recovery model: NAME-recovery); "
            "default: denial-risk-TENANT and denial-recovery-TENANT.",
        ),
    ] = None,
    exist_ok: Annotated[
        bool,
        typer.Option(
            "--exist-ok",
            help="A tenant of that name with the same data directory and model is kept "
            "as it is (for scripts run again, like `make demo`).",
        ),
    ] = False,
    actor: By = "cli",
) -> None:
    """Add a tenant; its users and keys are added next (`users add`, `keys add`)."""
    from storage.tenants import TenantError, add_tenant, get_tenant

    data_dir = data_dir and data_dir.resolve()  # commands run from anywhere
    try:
        with open_database() as database:
            existing = get_tenant(database, name) if exist_ok else None
            if existing and (existing.data_dir, existing.model_name) == (data_dir, model_name):
                console.print(f"tenant {name} kept as it is")
                return
            if existing:
                raise TenantError(
                    f"tenant {name!r} exists with data directory {existing.data_dir} and "
                    f"model {existing.model_name or '(default names)'}, not as given: "
                    "--exist-ok keeps only the same tenant"
                )
            tenant = add_tenant(database, name, by=actor, data_dir=data_dir, model_name=model_name)
    except TenantError as error:
        raise typer.BadParameter(str(error), param_hint="NAME") from error
    console.print(f"tenant {tenant.name} added")


@tenants_app.command("list")
def tenants_list() -> None:
    """Every tenant: name, when created, its own data directory, and the models it trains
    and scores with (until it trains, the shared `default` ones answer for it)."""
    from storage.tenants import list_tenants

    with open_database() as database:
        tenants = list_tenants(database)
    table = Table("tenant", "created", "data dir", "models (denial, recovery)")
    for tenant in tenants:
        table.add_row(
            tenant.name,
            when(tenant.created_at),
            "" if tenant.data_dir is None else str(tenant.data_dir),
            ", ".join(tenant.model_names(get_settings())),
        )
    Console().print(table)


@users_app.command("add")
def users_add(
    tenant: TenantOption,
    role: Annotated[
        str,
        typer.Option("--role", help="biller, billing_lead, revops, data_scientist or admin."),
    ],
    username: Username,
    password_stdin: PasswordStdin = False,
    actor: By = "cli",
) -> None:
    """Add a person to a tenant with a role. The password (at least 12 characters, not a
    common one, not containing the username) is prompted for, or read from standard input
    with --password-stdin; never given on the command line, where it would be kept in the
    shell's history."""
    password = _read_password(password_stdin)
    with _people_or_exit() as people:
        user = people.add(tenant, username, role, password, by=actor)
    console.print(f"user {user.username} ({user.role}) added to tenant {user.tenant}")


@users_app.command("role")
def users_role(
    tenant: TenantOption,
    username: Username,
    role: Annotated[
        str,
        typer.Option(
            "--role", help="The new role: biller, billing_lead, revops, data_scientist or admin."
        ),
    ],
    actor: By = "cli",
) -> None:
    """Give a person another role; it takes effect from their next request, in the
    sessions they have open too."""
    with _people_or_exit() as people:
        before = people.get(tenant, username)
        user = people.change_role(tenant, username, role, by=actor)
    old = user.role if before is None else before.role
    change = f"already {user.role}" if old == user.role else f"{old} → {user.role}"
    console.print(f"user {user.username} of tenant {user.tenant}: role {change}")


@users_app.command("password")
def users_password(
    tenant: TenantOption,
    username: Username,
    password_stdin: PasswordStdin = False,
    actor: By = "cli",
) -> None:
    """Reset a person's password (the policy of `users add`) and end their open sessions,
    so whoever signed in with the old one is signed out. The new password is prompted for,
    or read from standard input with --password-stdin, never given on the command line."""
    password = _read_password(password_stdin)
    with _people_or_exit() as people:
        user = people.reset_password(tenant, username, password, by=actor)
    console.print(
        f"password of user {user.username} of tenant {user.tenant} reset; their open sessions ended"
    )


def _read_password(from_stdin: bool) -> str:
    """A new password: one line of standard input (for scripts), or typed twice at a hidden
    prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("disable")
def users_disable(tenant: TenantOption, username: Username, actor: By = "cli") -> None:
    """Stop a person signing in; their open sessions end at once."""
    _set_enabled(tenant, username, actor, enabled=False)


@users_app.command("enable")
def users_enable(tenant: TenantOption, username: Username, actor: By = "cli") -> None:
    """Let a disabled person sign in again."""
    _set_enabled(tenant, username, actor, enabled=True)


def _set_enabled(tenant: str, username: str, actor: str, *, enabled: bool) -> None:
    """Enable or disable a person, saying whether they already were."""
    with _people_or_exit() as people:
        before = people.get(tenant, username)
        change = people.enable if enabled else people.disable
        user = change(tenant, username, by=actor)
    already = "was already " if before is not None and before.enabled == enabled else ""
    state = "enabled" if enabled else "disabled"
    console.print(f"user {user.username} of tenant {user.tenant} {already}{state}")


@users_app.command("list")
def users_list(tenant: TenantOption) -> None:
    """A tenant's people: username, role, created, disabled (never a password hash)."""
    with _people_or_exit() as people:
        users = people.list_users(tenant)
    table = Table("username", "role", "created", "by", "disabled")
    for user in users:
        table.add_row(
            user.username,
            user.role,
            when(user.created_at),
            user.created_by,
            when(user.disabled_at),
        )
    Console().print(table)


demo_app = typer.Typer(help="Set-up steps of `make demo` (demo only).")


@demo_app.command("people")
def demo_people(tenant: TenantOption = "demo", actor: By = "demo") -> None:
    """One person per role in the tenant, the username being the role, each with a random
    password generated now and printed once, on standard output (demo only: real people
    choose their own with `users add`). People of an earlier run are kept; their
    passwords are not shown again."""
    import secrets

    from accounts.roles import ROLES

    signed: list[tuple[str, str]] = []
    with _people_or_exit() as people:
        for role in ROLES:
            if people.get(tenant, role) is not None:
                signed.append((role, "(kept from an earlier run)"))
                continue
            password = secrets.token_urlsafe(18)  # 24 characters, 144 random bits
            people.add(tenant, role, role, password, by=actor)
            signed.append((role, password))
    table = Table("username = role", "password", title=f"Sign-ins of tenant {tenant}, shown once")
    for username, password in signed:
        table.add_row(username, password)
    Console().print(table)


@contextlib.contextmanager
def _people_or_exit() -> Iterator[UserStore]:
    """The people of DATABASE_URL; a refused change exits 2, its message naming the option
    at fault (unknown tenant, role, username taken or malformed, weak password)."""
    from accounts.passwords import PasswordPolicyError
    from accounts.people import PeopleError, UnknownTenantError, UserStore
    from accounts.roles import UnknownRoleError

    hints = (
        (UnknownTenantError, "--tenant"),
        (UnknownRoleError, "--role"),
        (PasswordPolicyError, "password"),
        (PeopleError, "--username"),  # taken, unknown or malformed
    )
    settings = get_settings()
    try:
        with open_database() as database:
            yield UserStore.from_settings(database, settings)
    except ValueError as error:
        hint = next((hint for kind, hint in hints if isinstance(error, kind)), None)
        if hint is None:
            raise
        raise typer.BadParameter(str(error), param_hint=hint) from error


@keys_app.command("add")
def keys_add(
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="scrubber (machines only), biller, billing_lead, revops, "
            "data_scientist or admin (an admin of default reloads the model).",
        ),
    ],
    tenant: TenantOption = "default",
    actor: By = "cli",
) -> None:
    """Create an API key of a tenant with a role; the key is printed once and stored only as
    a hash. A running service accepts it within DENIALOPS_KEY_CACHE_SECONDS."""
    from serving.keys import KeyStoreError

    try:
        with _key_store(tenant) as store:
            key, key_id = store.add(role, by=actor)
    except KeyStoreError as error:
        raise typer.BadParameter(str(error), param_hint="--role") from error
    console.print(f"key id {key_id} ({role}) of tenant {tenant} added. The key, shown once:")
    typer.echo(key)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `keys list`).")],
    tenant: TenantOption = "default",
    actor: By = "cli",
) -> None:
    """Revoke a key: a running service refuses it within DENIALOPS_KEY_CACHE_SECONDS.
    Bootstrap keys (DENIALOPS_API_KEYS) are not stored, so cannot be revoked here."""
    from serving.keys import KeyStoreError

    try:
        with _key_store(tenant) as store:
            info = store.revoke(key_id, by=actor)
    except KeyStoreError as error:
        console.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(code=1) from error
    console.print(
        f"key id {key_id} ({info.role}) revoked as of {info.revoked_at:%Y-%m-%d %H:%M:%S} UTC"
    )


@keys_app.command("list")
def keys_list(tenant: TenantOption = "default") -> None:
    """A tenant's stored keys: id, role, when and by whom created, last used, revoked (never
    the key nor its hash)."""
    with _key_store(tenant) as store:
        keys = store.list_keys()
    table = Table("key id", "role", "created", "by", "last used", "revoked")
    for key in keys:
        table.add_row(
            key.key_id,
            key.role,
            when(key.created_at),
            key.created_by,
            when(key.last_used_at),
            when(key.revoked_at),
        )
    Console().print(table)


@contextlib.contextmanager
def _key_store(tenant: str) -> Iterator[KeyStore]:
    """`tenant`'s keys in DATABASE_URL (importing a JSON key store of earlier versions into
    `default`); an unknown tenant exits 2 naming it."""
    from serving.keys import KeyStore

    settings = get_settings()
    with open_database() as database:
        tenant_or_exit(tenant, database)
        legacy = settings.key_store if tenant == "default" else None
        yield KeyStore(database, tenant=tenant, legacy_file=legacy)
