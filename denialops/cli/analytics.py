"""`denialops kpis`, `forecast` and `forecast-backtest`: what RevOps and billing leadership read,
as the API and pages show it."""

from __future__ import annotations

import json
import math
import sys
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from denialops.cli.options import (
    BadRows,
    DataOption,
    OnBadRows,
    TenantOption,
    console,
    progress_bar,
    read_or_exit,
    tenant_data,
)
from settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

    from data_contracts.reader import ContractData
    from storage.tenants import Tenant

commands = typer.Typer()

TABLE_COLUMNS = (
    "adjudicated_claims",
    "denial_rate",
    "first_pass_yield",
    "net_collection_rate",
    "days_to_pay_median",
    "ar_balance",
    "days_in_ar",
    "appeal_hours",
    "contribution_margin",
)
"""The measures a `--by` table prints (`--format csv` or `json` give every one)."""


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class By(StrEnum):
    payer = "payer"
    category = "category"
    carc = "carc"
    program = "program"
    credential = "credential"
    clinician = "clinician"
    plan = "plan"
    month = "month"
    week = "week"


@commands.command("kpis")
def kpis_command(
    data: DataOption = None,
    by: Annotated[
        By | None,
        typer.Option("--by", case_sensitive=False, help="Break the KPIs down by this."),
    ] = None,
    output: Annotated[
        Format,
        typer.Option("--format", case_sensitive=False, help="table, csv or json, on stdout."),
    ] = Format.table,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="What was known on this date (default: the data's latest event).",
        ),
    ] = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Print DIR's KPIs (denial rate, first-pass yield, net collection, days in A/R, days to
    pay, appeal effort, contribution margin...), for the whole book or one row per group.
    The README's "KPI definitions" gives each formula."""
    from analytics.kpis import as_records, kpis
    from analytics.ledger import claim_ledger
    from queues.policy import PolicyError, policy_in_force

    known, folder = tenant_data(tenant, data)
    loaded = read_or_exit(folder, on_bad_rows, show_progress=False)
    try:
        hour_cost = policy_in_force(get_settings(), known.name).biller_hour_cost
    except PolicyError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    table = kpis(claim_ledger(loaded, as_of.date() if as_of else None), by and by.value, hour_cost)
    if output is Format.json:
        typer.echo(json.dumps(as_records(table), indent=1))
    elif output is Format.csv:
        table.to_csv(sys.stdout, index=False)
    else:
        wide = None if sys.stdout.isatty() else 240  # piped: do not cut columns at 80
        Console(width=wide).print(_rich_table(table, by is not None))


def _rich_table(table: pd.DataFrame, grouped: bool) -> Table:
    """One row per group with the main measures, or every measure of the whole book."""
    from analytics.kpis import format_measure

    if not grouped:
        out = Table("measure", "value")
        for name, value in table.iloc[0].items():
            out.add_row(str(name), format_measure(str(name), value))
        return out
    key = table.columns[0]
    out = Table(key, *TABLE_COLUMNS)
    for row in table.to_dict(orient="records"):
        out.add_row(str(row[key]), *(format_measure(name, row[name]) for name in TABLE_COLUMNS))
    return out


Weeks = Annotated[int, typer.Option("--weeks", min=1, max=52, help="Weeks forecast ahead.")]
Calibrations = Annotated[
    int | None,
    typer.Option(
        "--calibration-cutoffs",
        min=0,
        help="Earlier cut-offs (2 weeks apart, their weeks all past) whose errors set the "
        "80% intervals' width (default 8); 0: chance alone, which is too narrow.",
    ),
]
Output = Annotated[
    Format, typer.Option("--format", case_sensitive=False, help="table, csv or json, on stdout.")
]


@commands.command("forecast")
def forecast_command(
    data: DataOption = None,
    weeks: Weeks = 8,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Forecast from what was known on this date (default: the data's latest event).",
        ),
    ] = None,
    output: Output = Format.table,
    calibration_cutoffs: Calibrations = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Cash expected in each coming week, by payer and in all, with 80% intervals, from the
    pending claims and open denials of DIR: the tenant's registered models give P(paid) when
    they load, else each payer's own rates. The README's "Cash forecast" says how."""
    from analytics.forecast import CALIBRATION_CUTOFFS, calibrate, cash_forecast
    from analytics.ledger import claim_ledger, data_as_of

    known, folder = tenant_data(tenant, data)
    loaded = read_or_exit(folder, on_bad_rows, show_progress=False)
    latest = data_as_of(loaded)
    day = as_of.date() if as_of else latest
    ledger = claim_ledger(loaded, day)
    chances = _model_chances(loaded, known, day) if day == latest else None
    if day != latest:
        console.print(
            f"P(paid) from the ledger's rates as of {day}: the registered models know what "
            "came after it"
        )
    count = CALIBRATION_CUTOFFS if calibration_cutoffs is None else calibration_cutoffs
    with progress_bar() as progress:
        progress.add_task(f"calibrating on {count} earlier cut-offs", total=None)
        calibration = calibrate(loaded, day, weeks, count)
    table = cash_forecast(ledger, chances, weeks, 0.8, day, calibration)
    console.print(
        f"cash forecast as of {day}: P(paid) from {table['p_paid_from'].iat[0]}; intervals "
        f"{table['interval_from'].iat[0]}"
        if len(table)
        else f"no open claim of {folder} may pay in the {weeks} weeks after {day}"
    )
    _print_cells(table.drop(columns=["variance", "p_paid_from", "interval_from"]), output)


@commands.command("forecast-backtest")
def forecast_backtest_command(
    data: DataOption = None,
    cutoffs: Annotated[
        int | None,
        typer.Option(
            "--cutoffs", min=1, help="Cut-offs, 2 weeks apart, forecast from [default: 26]."
        ),
    ] = None,
    weeks: Weeks = 8,
    output: Output = Format.table,
    calibration_cutoffs: Calibrations = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Forecast from past cut-offs (2 weeks apart, the last one WEEKS before the data's
    latest event) as each was known then, against the cash that came in after it: WAPE,
    bias and 80% interval coverage (on standard error), then each cut-off's weeks."""
    from analytics.forecast import (
        ALL_PAYERS,
        BACKTEST_CUTOFFS,
        CALIBRATION_CUTOFFS,
        backtest,
        evenly_spaced_cutoffs,
    )
    from analytics.ledger import data_as_of

    folder = tenant_data(tenant, data)[1]
    loaded = read_or_exit(folder, on_bad_rows, show_progress=False)
    last = data_as_of(loaded) - timedelta(weeks=weeks)
    dates = evenly_spaced_cutoffs(last, BACKTEST_CUTOFFS if cutoffs is None else cutoffs)
    with progress_bar() as progress:
        progress.add_task(f"forecasting from {len(dates)} cut-offs", total=None)
        count = CALIBRATION_CUTOFFS if calibration_cutoffs is None else calibration_cutoffs
        result = backtest(loaded, dates, weeks, 0.8, count)
    summary = result.summary
    for level, name in (("total", "week totals"), ("payer_week", "payer-weeks")):
        console.print(
            f"{name}: WAPE {summary[f'{level}_wape']:.1%}, bias {summary[f'{level}_bias']:+.1%}, "
            f"80% interval coverage {summary[f'{level}_coverage']:.1%} of "
            f"{summary[f'{level}_cells']} ({summary['cutoffs']} cut-offs from {dates[0]})"
        )
    cells = result.cells.drop(columns="interval_from")
    if output is Format.table:
        cells = cells[cells["payer_id"] == ALL_PAYERS]
    _print_cells(cells, output)


def _model_chances(data: ContractData, tenant: Tenant, as_of: date) -> pd.Series | None:
    """P(cash) per open claim from the tenant's registered models (1 - p_denial for a
    pending claim, P(recover) for an open denial), or None, saying why, when neither loads."""
    import pandas as pd

    from model_bundle.registered import ModelUnavailableError
    from queues.build import build_queue
    from queues.policy import PolicyError, policy_in_force
    from serving.batch import score_pending
    from serving.loading import answering, load_batch_scorer, load_tenant_scorer

    settings = get_settings()
    found = []
    try:
        scorer = load_tenant_scorer(settings, tenant, loader=load_batch_scorer).scorer
        pending = score_pending(data, scorer).set_index("claim_id")["p_denial"]
        found.append(1 - pending.astype(float))
    except ModelUnavailableError as error:
        console.print(f"no denial model ({error}): pending claims take the payers' rates")
    try:
        recovery_settings = answering(settings, tenant, recovery=True)[0]
        policy = policy_in_force(recovery_settings, tenant.name)
        ranked = build_queue(data, recovery_settings, as_of, policy).ranked
        found.append(ranked.set_index("claim_id")["p_recover"].astype(float))
    except (ModelUnavailableError, PolicyError) as error:
        console.print(f"no recovery model ({error}): open denials take the payers' rates")
    if not found:
        return None
    chances = pd.concat(found)
    chances.index = chances.index.astype("string")
    return chances


def _print_cells(cells: pd.DataFrame, output: Format) -> None:
    """Forecast cells on standard output: JSON records, CSV, or a table in dollars."""
    from analytics.kpis import as_records

    cells = cells.assign(
        **{c: cells[c].astype(str) for c in ("week_start", "cutoff") if c in cells}
    )
    if output is Format.json:  # an unbounded interval (too few earlier cut-offs) is null
        cells = cells.replace([math.inf, -math.inf], math.nan)
        typer.echo(json.dumps(as_records(cells), indent=1))
    elif output is Format.csv:
        cells.to_csv(sys.stdout, index=False)
    else:
        money = {"expected", "low", "high", "actual"}
        table = Table(*cells.columns)
        for row in cells.itertuples(index=False):
            table.add_row(
                *(
                    f"${value:,.0f}" if name in money else str(value)
                    for name, value in zip(cells.columns, row, strict=True)
                )
            )
        wide = None if sys.stdout.isatty() else 240
        Console(width=wide).print(table)
