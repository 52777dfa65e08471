"""What the `denialops` commands share: their common options, the console they report on,
and the first steps most of them take (find the tenant and its data directory, read it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from cluster import Engine
from data_contracts.reader import ContractData, ContractError, read_data_dir
from settings import get_settings

if TYPE_CHECKING:
    from data_contracts.quarantine import QuarantineSummary
    from features.sharding import Shards
    from serving.loading import TenantScorer
    from storage.database import Database
    from storage.tenants import Tenant

console = Console(stderr=True)


class OnBadRows(StrEnum):
    """What a command does with rows that break the contract."""

    quarantine = "quarantine"
    strict = "strict"


BadRows = Annotated[
    OnBadRows,
    typer.Option(
        "--on-bad-rows",
        case_sensitive=False,
        help="quarantine: set rows that break the contract, and the rows that depend on them, "
        "aside in DIR/quarantine and load the rest (fails above DENIALOPS_QUARANTINE_CEILING "
        "of a table); strict: refuse the directory, listing every problem.",
    ),
]


EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine",
        case_sensitive=False,
        help="pandas: in this process (the default). dask: on the Dask cluster at "
        "DENIALOPS_DASK_SCHEDULER, or a LocalCluster of this machine (see the README's "
        "'Scale-out on Dask').",
    ),
]
TenantOption = Annotated[
    str, typer.Option("--tenant", help="The tenant acted on (see `tenants list`).")
]
DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", help="Contract data directory (default: the tenant's, see `tenants list`)."
    ),
]


By = Annotated[str, typer.Option("--by", help="Who makes the change (audit trail).")]
Username = Annotated[str, typer.Option("--username", help="The person's username.")]


def scorer_or_exit(tenant: Tenant) -> TenantScorer:
    """The tenant's champion (or the shared one), or the reason none loads and exit 1."""
    from serving.loading import ModelUnavailableError, load_batch_scorer, load_tenant_scorer

    try:
        return load_tenant_scorer(get_settings(), tenant, loader=load_batch_scorer)
    except ModelUnavailableError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error


def model_said(name: str, version: str, shared: bool, tenant: str) -> str:
    """Which registered model answered, e.g. "model denial-risk version 3 (shared: tenant
    acme has no model of its own yet)"."""
    said = f"model {name} version {version}"
    return f"{said} (shared: tenant {tenant} has no model of its own yet)" if shared else said


@contextlib.contextmanager
def open_database() -> Iterator[Database]:
    """The service's database (DATABASE_URL), migrated to the latest revision."""
    from storage.database import Database

    with Database.from_settings(get_settings()) as database:
        yield database


def tenant_or_exit(name: str, database: Database | None = None) -> Tenant:
    """The tenant `name`; an unknown one exits 2, naming it and how to add it."""
    from storage.tenants import get_tenant

    with contextlib.nullcontext(database) if database else open_database() as opened:
        tenant = get_tenant(opened, name)
    if tenant is None:
        raise typer.BadParameter(
            f"there is no tenant {name!r}: see `denialops tenants list`, or add it with "
            f"`denialops tenants add {name}`",
            param_hint="--tenant",
        )
    return tenant


def tenant_data(name: str, data: Path | None, option: str = "--data") -> tuple[Tenant, Path]:
    """The tenant `name` and the data directory to use: `data` when given, else the
    tenant's own; neither exits 2, saying how to give one.

    `default` with `data` given opens no database, so `train`, `tune` and `request` on a
    directory run as they did before tenants (no denialops.db made); `score` opens it
    afterwards, to keep its scores in the scoring audit."""
    from storage.tenants import SEEDED

    if name == SEEDED.name and data is not None:
        return SEEDED, data
    tenant = tenant_or_exit(name)
    data = data or tenant.data_dir
    if data is None:
        raise typer.BadParameter(
            f"give the data directory: tenant {name!r} has none of its own (`denialops "
            f"tenants add NAME --data DIR` gives a tenant one)",
            param_hint=option,
        )
    return tenant, data


@contextlib.contextmanager
def read_on(engine: Engine, data: Path, on_bad_rows: OnBadRows) -> Iterator[ContractData | Shards]:
    """The data directory as `engine` holds it: read here (`read_or_exit`), or on the Dask
    engine read by the workers of the cluster (`cluster.dask_client`) and split into shards
    (`features.sharding.read_shards`), there while the block runs. The Dask engine reads
    strictly: a part that breaks the contract is named and the command exits 1."""
    if engine is Engine.pandas:
        yield read_or_exit(data, on_bad_rows)
        return
    from cluster import dask_client
    from features.sharding import read_shards

    settings = get_settings()
    with dask_client(settings) as client:
        try:
            with progress_bar() as progress:
                progress.add_task("reading on the cluster", total=None)
                shards = read_shards(data, client, settings.dask_partitions)
        except ContractError as error:
            console.print(str(error), markup=False, highlight=False)
            raise typer.Exit(code=1) from error
        yield shards


def when(at: datetime | None) -> str:
    """A time as the tables print it (UTC, to the minute); empty for none."""
    return "" if at is None else f"{at:%Y-%m-%d %H:%M} UTC"


def read_or_exit(data: Path, on_bad_rows: OnBadRows, *, show_progress: bool = True) -> ContractData:
    """The data directory (what was set aside printed), or the contract's complete error
    and exit code 1.

    Without progress, standard output carries only what the command prints."""
    ceiling = get_settings().quarantine_ceiling if on_bad_rows is OnBadRows.quarantine else None
    try:
        if not show_progress:
            loaded = read_data_dir(data, ceiling)
        else:
            with progress_bar() as progress:
                progress.add_task("checking the contract", total=None)
                loaded = read_data_dir(data, ceiling)
    except ContractError as error:
        console.print(str(error), markup=False, highlight=False)
        raise typer.Exit(code=1) from error
    if loaded.quarantine is not None:
        console.print(_quarantine_table(loaded.quarantine))
    return loaded


def _quarantine_table(summary: QuarantineSummary) -> Table:
    """Rows set aside per table and problem, then per table of those read."""
    table = Table(
        "table",
        "column",
        "problem",
        Column("rows", justify="right"),
        title=f"set aside in {summary.folder} (rows that break the contract, and their dependants)",
    )
    for row in summary.counts.itertuples(index=False):
        table.add_row(row.table, row.column, row.problem, f"{row.rows:,}")
    table.add_section()
    for name, row in summary.tables[summary.tables["set_aside"] > 0].iterrows():
        table.add_row(str(name), "", f"set aside, of {row.read:,} read", f"{row.set_aside:,}")
    return table


def progress_bar() -> Progress:
    """The spinner and elapsed time of a long step, on standard error so standard output
    carries only what the command prints."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
    )
