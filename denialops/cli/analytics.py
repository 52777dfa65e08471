"""`denialops kpis`: the KPIs of RevOps and billing leadership, as the API and pages show them."""

from __future__ import annotations

import json
import sys
from datetime import datetime
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
    read_or_exit,
    tenant_data,
)
from settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

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
