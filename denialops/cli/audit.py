"""`denialops audit`: check a tenant's append-only audit trail."""

from __future__ import annotations

import typer

from denialops.cli.options import TenantOption, console, tenant_or_exit
from settings import get_settings

audit_app = typer.Typer(help="The append-only audit trail of the queue, policy, model and keys.")


@audit_app.command("verify")
def audit_verify(tenant: TenantOption = "default") -> None:
    """Walk a tenant's audit trail's hash chain. Exit 0 with the number of rows verified, or exit 1
    naming the first broken link (edited row, deleted row, re-ordered rows).

    Rows cut off the end leave no broken link: note the head hash printed, and compare."""
    from storage.audit import verify
    from storage.database import Database

    known = tenant_or_exit(tenant)
    with (
        Database.from_settings(get_settings()) as database,
        database.scope(known.name).engine.connect() as db,
    ):
        result = verify(db)
    if not result.ok:
        console.print(
            f"audit trail broken at row {result.broken_id}: {result.problem} "
            f"({result.rows:,} rows before it verified)",
            style="red",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=1)
    head = "empty trail" if result.head_id is None else f"head row {result.head_id}"
    typer.echo(f"{result.rows:,} audit rows verified; {head}, hash {result.head_hash}")
