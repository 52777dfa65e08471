"""The work queue's commands (rank, load, export) and RevOps' policy (show, set, simulate)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cluster import Engine
from data_contracts.reader import ContractData, ContractError
from denialops.cli.options import (
    BadRows,
    DataOption,
    EngineOption,
    OnBadRows,
    TenantOption,
    console,
    model_said,
    progress_bar,
    read_on,
    read_or_exit,
    tenant_data,
    tenant_or_exit,
)
from settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

    from features.sharding import Shards
    from queues.build import RankedQueue
    from storage.tenants import Tenant

queue_app = typer.Typer(help="The denial work queue: what to work next, and why.")
policy_app = typer.Typer(help="RevOps' accept-versus-appeal policy, versioned in the database.")
AsOf = Annotated[
    datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Rank as of this date (default: the day after the data's latest event).",
    ),
]


@queue_app.command("rank")
def queue_rank(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="CSV: claim_id, rank, denial_category, p_recover, expected_recovery, "
            "effort_minutes, action, then deadline (empty: unknown), deadline_unverified, "
            "reason and billed_amount.",
        ),
    ],
    data: DataOption = None,
    as_of: AsOf = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
    engine: EngineOption = Engine.pandas,
) -> None:
    """Rank every open denial of DIR by expected net recovery per minute of effort."""
    from data_contracts.enums import PAYER_ACTIONS
    from queues.ranking import CONTRACT_COLUMNS

    known, data = tenant_data(tenant, data)
    with read_on(engine, data, on_bad_rows) as source:
        queue, said = _queue_or_exit(source, as_of, known)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = queue.ranked[
        [*CONTRACT_COLUMNS, "deadline", "deadline_unverified", "reason", "billed_amount"]
    ]
    frame.assign(deadline=frame["deadline"].dt.date).to_csv(out, index=False)
    worked = queue.ranked["action"].isin(PAYER_ACTIONS)
    console.print(
        f"[green]ranked[/] {len(frame):,} open denials as of {queue.as_of} with recovery "
        f"{said} and policy version {queue.policy.version}: "
        f"{int(worked.sum()):,} worth working, "
        f"${queue.ranked.loc[worked, 'expected_recovery'].sum():,.0f} expected; written to {out}"
    )


@queue_app.command("load")
def queue_load(
    data: DataOption = None,
    actor: Annotated[str, typer.Option("--by", help="Who loads (audit trail).")] = "cli",
    as_of: AsOf = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Load even a ranking that is empty while items are open, or that would "
            "close more than half of the open items with no reason in the data.",
        ),
    ] = False,
    tenant: TenantOption = "default",
) -> None:
    """Rank DIR's open denials and load them into the tenant's persistent queue
    (DATABASE_URL).

    Loading again re-ranks open items and adds new ones; leased and resolved items
    keep their state, and nothing is added twice. Open items whose claims are no
    longer ranked are closed with the reason DIR gives (appeal closed, paid, gone);
    one a biller holds goes stale and stays theirs; a claim ranked again reopens."""
    from functools import partial

    from queues.reconcile import closure_reasons
    from queues.store import ReconcileRefusedError, WorkQueue

    known, data = tenant_data(tenant, data)
    loaded = read_or_exit(data, on_bad_rows)
    queue, said = _queue_or_exit(loaded, as_of, known)
    with WorkQueue.from_settings(get_settings(), tenant=known.name) as store:
        try:
            counts = store.load(
                queue.ranked,
                actor=actor,
                policy_version=str(queue.policy.version),
                explain=partial(closure_reasons, loaded),
                force=force,
                keep=loaded.quarantine.claim_ids if loaded.quarantine else (),
            )
        except ReconcileRefusedError as error:
            console.print(str(error), style="red", markup=False, highlight=False)
            raise typer.Exit(code=1) from error
    console.print(
        f"[green]loaded[/] {len(queue.ranked):,} denials ranked with recovery "
        f"{said} into tenant {known.name}'s queue: {counts.inserted:,} new, "
        f"{counts.refreshed:,} re-ranked, {counts.worked:,} kept as worked, "
        f"{counts.unchanged:,} unchanged, {counts.reopened:,} reopened"
    )
    for what, by_reason in (("closed", counts.closed), ("stale (a biller holds it)", counts.stale)):
        if by_reason:
            reasons = ", ".join(f"{reason} {count:,}" for reason, count in by_reason.items())
            console.print(f"{what}: {sum(by_reason.values()):,} ({reasons})")


@queue_app.command("export")
def queue_export(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Data directory whose appeals table to merge into (default: the tenant's).",
        ),
    ] = None,
    tenant: TenantOption = "default",
) -> None:
    """Merge the queue's resolved items into DIR's appeals table, for retraining.

    Rows the queue worked (same claim, action and action date) take its newer
    outcome; every other row is kept. Running it again changes nothing."""
    from queues.export import export_appeals_into
    from queues.store import WorkQueue

    known, out = tenant_data(tenant, out, option="--out")
    with WorkQueue.from_settings(get_settings(), tenant=known.name) as store:
        appeals = store.export_appeals()
    try:
        counts = export_appeals_into(out, appeals)
    except ContractError as error:
        console.print(str(error), markup=False, highlight=False)
        console.print("[red]the appeals table was left as it was[/]")
        raise typer.Exit(code=1) from error
    console.print(
        f"[green]exported[/] {len(appeals):,} queue appeals: kept {counts.kept:,}, "
        f"added {counts.added:,}, updated {counts.updated:,}"
    )
    console.print(f"written to {counts.path}")


@policy_app.command("show")
def policy_show(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Also print each payer's appeal window and filing limit as DIR's history "
            "shows them (or as the policy configures them), with the evidence.",
        ),
    ] = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Print the tenant's policy in force (its latest saved version, or the shipped default)."""
    import yaml

    from queues.policy import PolicyError, policy_in_force

    known = tenant_or_exit(tenant)
    try:
        policy = policy_in_force(get_settings(), known.name)
    except PolicyError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    typer.echo(yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False))
    if data is not None:
        from queues.deadlines import learn_deadlines

        _print_deadlines(learn_deadlines(read_or_exit(data, on_bad_rows), policy).table(), data)


def _print_deadlines(deadlines: pd.DataFrame, data: Path) -> None:
    """The deadline tables of `policy show --data`, one per kind."""
    import pandas as pd

    titles = {
        "appeal_window": "Appeal windows (days from the remit)",
        "filing_limit": "Timely-filing limits (days from service to submission)",
    }
    for kind, title in titles.items():
        table = Table(
            "payer",
            "days",
            "source",
            "accepted",
            "refused as late",
            "written off after",
            title=f"{title}, {data}",
        )
        for row in deadlines[deadlines["deadline"] == kind].itertuples(index=False):
            table.add_row(
                row.payer_id,
                "unknown" if pd.isna(row.days) else str(row.days),
                row.source,
                f"{row.accepted:,}",
                f"{row.refused:,}",
                "never (unverified)" if pd.isna(row.write_off_after) else str(row.write_off_after),
            )
        console.print(table)


@policy_app.command("set")
def policy_set(
    file: Annotated[
        Path, typer.Argument(help="A policy YAML file, edited from `policy show`'s output.")
    ],
    actor: Annotated[str, typer.Option("--by", help="Who makes the change (audit).")],
    tenant: TenantOption = "default",
) -> None:
    """Save FILE as the tenant's next policy version. FILE's `version` says which version it was
    edited from; if another version has been saved since, nothing is saved (exit 1)."""
    from queues.policy import PolicyConflictError, PolicyError, PolicyStore, parse_policy
    from storage.database import Database

    settings = get_settings()
    known = tenant_or_exit(tenant)
    try:
        policy = parse_policy(file.read_text(encoding="utf-8"), str(file))
        with Database.from_settings(settings) as database:
            store = PolicyStore(database, tenant=known.name, legacy_file=settings.policy_path)
            saved = store.save(policy, actor)
    except (OSError, PolicyError, PolicyConflictError) as error:
        console.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(code=1) from error
    console.print(f"[green]policy version {saved.version}[/] of tenant {tenant} saved by {actor}")


@policy_app.command("simulate")
def policy_simulate(
    budget_hours: Annotated[
        float, typer.Option("--budget-hours", min=0.1, help="Biller hours to spend.")
    ],
    out: Annotated[Path, typer.Option("--out", help="HTML report to write.")] = Path(
        "policy_simulation.html"
    ),
    data: DataOption = None,
    as_of: AsOf = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Compare the tenant's policy with highest-balance-first, oldest-first and FIFO on DIR."""
    from queues.simulate import simulate, write_simulation_report

    known, data = tenant_data(tenant, data)
    loaded = read_or_exit(data, on_bad_rows)
    queue = _queue_or_exit(loaded, as_of, known)[0]
    result = simulate(queue.ranked, budget_hours)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_simulation_report(out, result, queue.ranked, loaded, queue.policy)
    table = Table("strategy", "items worked", "hours", "recovered", "vs policy")
    for row in result.summary.itertuples(index=False):
        table.add_row(
            row.strategy,
            f"{row.items_worked:,}",
            f"{row.hours_used:,.1f}",
            f"${row.recovered:,.0f}",
            f"{row.vs_policy:.2f}",
        )
    console.print(table)
    console.print(f"report written to {out}")


def _queue_or_exit(
    data: ContractData | Shards, as_of: datetime | None, tenant: Tenant
) -> tuple[RankedQueue, str]:
    """The tenant's ranked queue under its policy, with its recovery model or, while it has
    none, the shared one, and which model ranked it, on the engine holding `data`; or a
    clear message and exit code 1 (no recovery model, bad policy)."""
    from model_bundle.registered import ModelUnavailableError
    from queues.build import build_queue
    from queues.policy import PolicyError, policy_in_force
    from serving.loading import answering

    try:
        with progress_bar() as progress:
            progress.add_task("ranking open denials", total=None)
            settings, shared = answering(get_settings(), tenant, recovery=True)
            policy = policy_in_force(settings, tenant.name)
            queue = build_queue(data, settings, as_of.date() if as_of else None, policy)
    except (ModelUnavailableError, PolicyError) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    return queue, model_said(settings.recovery_model_name, queue.model_version, shared, tenant.name)
