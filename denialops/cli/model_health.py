"""`denialops monitor` and `retrain`: the champion's health after promotion, and a
challenger trained on the newest data that is promoted only through the gate."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from denialops.cli.options import (
    BadRows,
    DataOption,
    OnBadRows,
    TenantOption,
    console,
    model_said,
    progress_bar,
    read_or_exit,
    scorer_or_exit,
    tenant_data,
)
from denialops.cli.pipeline import train_and_say
from settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

    from storage.tenants import Tenant

commands = typer.Typer()
ALERTS_EXIT = 3
"""The exit code when any alert fires, for cron or an orchestrator to act on."""


@commands.command()
def monitor(
    data: DataOption = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            formats=["%Y-%m-%d"],
            help="First submission date reported on [default: the last DENIALOPS_MONITOR_WEEKS "
            "weeks].",
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the alerts here: a JSON list of objects."),
    ] = None,
    report: Annotated[
        Path,
        typer.Option("--report", help="Where the HTML report goes."),
    ] = Path("model-health.html"),
    log_mlflow: Annotated[
        bool,
        typer.Option("--mlflow/--no-mlflow", help="Log the figures to the champion's MLflow run."),
    ] = True,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Judge the tenant's champion on DIR: realized and estimated performance, drift against
    its reference profile, alerts. Exits 3 when any alert fires."""
    from monitoring.monitor import monitor as run_monitor
    from monitoring.report import write_monitor_report
    from monitoring.tracking import log_to_champion_run

    known, folder = tenant_data(tenant, data)
    loaded = read_or_exit(folder, on_bad_rows)
    settings = get_settings()
    answer = scorer_or_exit(known)
    scorer = answer.scorer
    kept, shadow = _kept_scores(known)
    with progress_bar() as progress:
        task = progress.add_task("monitoring", total=None)
        result = run_monitor(
            loaded,
            scorer.bundle,
            scorer.version,
            settings,
            since.date() if since else None,
            kept,
            progress=lambda step: progress.update(task, description=step),
            shadow=shadow,
        )
    report.parent.mkdir(parents=True, exist_ok=True)
    write_monitor_report(result, report)
    alerts = [alert.as_dict() for alert in result.alerts]
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(alerts, indent=1) + "\n")
    run_id = scorer.bundle.meta.get("run_id")
    if log_mlflow and run_id:
        log_to_champion_run(result, run_id, settings.resolved_tracking_uri(), report)
    console.print(
        f"monitored {len(result.scored.claims):,} claims submitted {result.scored.since} to "
        f"{result.scored.until} with "
        f"{model_said(answer.model_name, scorer.version, answer.shared, tenant)}; report {report}"
    )
    for note in result.notes:
        console.print(f"[yellow]{note}[/]")
    if result.alerts:
        table = Table("metric", "segment", "value", "threshold", "why", title="Alerts")
        for alert in result.alerts:
            table.add_row(
                alert.metric,
                alert.segment,
                f"{alert.value:g}",
                f"{alert.threshold:g}",
                alert.message,
            )
        console.print(table)
        raise typer.Exit(code=ALERTS_EXIT)
    console.print("[green]no alert[/]")


def _kept_scores(tenant: Tenant) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The tenant's kept scores, the champion's and the shadow challenger's (the scoring
    audit's latest per claim), or None when the service's database does not exist yet (a
    SQLite file nobody made: none to give, and monitoring must not make one)."""
    from sqlalchemy.engine import make_url

    from serving.audit import AuditLog
    from storage.database import Database
    from storage.schema import SHADOW

    settings = get_settings()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return None, None
    with Database.from_settings(settings) as database:
        audit = AuditLog(database, tenant=tenant.name)
        return audit.scores(), audit.scores(role=SHADOW)


@commands.command()
def retrain(
    data: DataOption = None,
    params: Annotated[
        Path | None,
        typer.Option("--params", help="JSON of LightGBM parameters, e.g. from `denialops tune`."),
    ] = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Train a challenger on DIR's newest data with the training pipeline, judge it beside
    the champion on the newest adjudicated weeks (the test period), and promote it only if
    it passes the gate (no --force); the decision and why are tagged on the MLflow run and
    kept as promotion.json."""
    overrides = json.loads(params.read_text()) if params else None
    train_and_say(tenant, data, overrides, False, on_bad_rows, "retrain")
