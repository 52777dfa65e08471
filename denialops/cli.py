"""The `denialops` command: one entry point for every stage; the only module importing them all."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from data_contracts.reader import ContractError, read_data_dir
from denialops.config import get_settings

app = typer.Typer(
    help="DenialOps: predict, prevent and recover behavioral-health claim denials.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
console = Console(stderr=True)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log library detail.")] = False,
) -> None:
    level = logging.DEBUG if verbose else getattr(logging, get_settings().log_level.upper(), 20)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def synth(
    claims: Annotated[int, typer.Option("--claims", min=1, help="Number of claims to generate.")],
    out: Annotated[Path, typer.Option("--out", help="Data directory to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same data.")] = 7,
    fmt: Annotated[
        str, typer.Option("--format", help="csv or parquet.", case_sensitive=False)
    ] = "csv",
) -> None:
    """Write a synthetic behavioral-health data directory plus truth.csv (evaluation only)."""
    from synthetic import generate, write_synthetic

    fmt = fmt.lower()
    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter("use csv or parquet", param_hint="--format")
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("generating", total=None)
        data = generate(claims, seed, progress=lambda step: progress.update(task, description=step))
        progress.update(task, description=f"writing {fmt}")
        write_synthetic(data, out, fmt)  # type: ignore[arg-type]
    denied = data.truth["denied"].mean()
    console.print(
        f"[green]wrote[/] {claims:,} claims to {out} (as of {data.as_of}, "
        f"{denied:.1%} denied) in {time.perf_counter() - started:.1f} s"
    )


@app.command()
def validate(
    data: Annotated[Path, typer.Option("--data", help="Data directory to check.")],
) -> None:
    """Check a data directory against the contract; list every problem, or count the rows."""
    try:
        with _progress() as progress:
            progress.add_task("checking the contract", total=None)
            loaded = read_data_dir(data)
    except ContractError as error:
        console.print(f"[red]{error}[/]", markup=False, highlight=False)
        raise typer.Exit(code=1) from error
    table = Table(title=f"{data}: contract OK")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, frame in loaded.tables().items():
        table.add_row(name, f"{len(frame):,}" if name in loaded.present else "absent")
    Console().print(table)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    )
