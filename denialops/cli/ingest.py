"""`denialops ingest`: claims and remittances from outside (X12) into a data directory."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from data_contracts.reader import ContractError
from denialops.cli.options import console, progress_bar

if TYPE_CHECKING:
    from data_contracts.x12 import IngestSummary

ingest_app = typer.Typer(help="Bring claims and remittances from outside into a data directory.")


@ingest_app.command("x12")
def ingest_x12(
    out: Annotated[Path, typer.Option("--out", help="Data directory to write or merge into.")],
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="837P, 837I and 835 files, folders or glob patterns (with --retry-exceptions: "
            "corrected copies, optional)."
        ),
    ] = None,
    retry_exceptions: Annotated[
        bool,
        typer.Option(
            "--retry-exceptions",
            help="Read again the files with set-aside rows in OUT/exceptions.csv, and any "
            "corrected copies given; claims that now post are moved to "
            "x12_exceptions_resolved.csv.",
        ),
    ] = False,
) -> None:
    """Read X12 claims (837P/837I) and remittances (835) into a contract data directory.

    A claim (837 claim loop, 835 CLP loop) that cannot post is set aside, and a transaction
    set with an envelope error; the rest posts. Both, and flags (unknown codes, payments that
    do not balance, wrong counts), are listed in OUT/exceptions.csv. Ingesting a file again
    changes nothing. Exits 1 when anything was set aside (0 when there are only flags).
    """
    from data_contracts.x12 import expand_paths, ingest

    if not paths and not retry_exceptions:
        raise typer.BadParameter("name the files to read (or use --retry-exceptions)")
    try:
        files = expand_paths(paths or [])
    except FileNotFoundError as error:
        console.print(str(error), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from error
    started = time.perf_counter()
    try:
        with progress_bar() as progress:
            task = progress.add_task("reading", total=len(files))
            summary = ingest(
                files,
                out,
                progress=lambda done, total, path: progress.update(
                    task, completed=done, total=total, description=f"reading {path.name}"
                ),
                retry_exceptions=retry_exceptions,
            )
    except ContractError as error:
        console.print(str(error), markup=False, highlight=False)
        raise typer.Exit(code=1) from error
    Console().print(_ingest_table(summary, out))
    for failure in summary.failures:
        console.print(str(failure), markup=False, highlight=False, soft_wrap=True)
    _print_set_aside(summary)
    if summary.set_aside:
        verdict = f"[red]some claims were set aside: see {out / 'exceptions.csv'}[/]"
    else:
        verdict = "[green]done[/]"
    console.print(f"{verdict} in {time.perf_counter() - started:.1f} s")
    if summary.set_aside:
        raise typer.Exit(code=1)


_LISTED_EXCEPTIONS = 20


def _print_set_aside(summary: IngestSummary) -> None:
    """The first set-aside rows of the run, where they are and why (all are in the CSV)."""
    rows = [row for row in summary.exceptions if row["severity"] == "set_aside"]
    for row in rows[:_LISTED_EXCEPTIONS]:
        where = ", ".join(
            part
            for part in (
                Path(row["file"]).name,
                f"transaction {row['transaction']}" if row["transaction"] else "",
                f"segment {row['segment']}" if row["segment"] else "",
                f"claim {row['claim_id']}" if row["claim_id"] else "",
            )
            if part
        )
        console.print(
            f"set aside: {where}: {row['problem']}", markup=False, highlight=False, soft_wrap=True
        )
    if len(rows) > _LISTED_EXCEPTIONS:
        console.print(f"... and {len(rows) - _LISTED_EXCEPTIONS} more set-aside rows")
    if rows:
        by_category = Counter(row["category"] for row in rows)
        console.print(
            "set-aside rows by category: "
            + ", ".join(f"{name} {count:,}" for name, count in by_category.most_common()),
            highlight=False,
        )


def _ingest_table(summary: IngestSummary, out: Path) -> Table:
    """The run's counts; unreadable files and set-aside rows are printed after it."""
    table = Table(title=f"X12 into {out}" + ("" if summary.changed else " (nothing changed)"))
    table.add_column("")
    table.add_column("count", justify="right")
    rows = [
        ("files read", f"{len(summary.ingested):,} of {summary.files:,}"),
        ("files unreadable", f"{len(summary.failures):,}"),
        ("interchanges / transactions", f"{summary.interchanges:,} / {summary.transactions:,}"),
        ("claims read", f"{summary.claims_read:,}"),
        ("claims added / replaced", f"{summary.claims_added:,} / {summary.claims_replaced:,}"),
        ("adjudications read", f"{summary.adjudications_read:,}"),
        (
            "adjudications new / reversals",
            f"{summary.adjudications_added:,} / {summary.reversals:,}",
        ),
        ("remits changed", f"{summary.remits_changed:,}"),
        ("remits without a claim (kept)", f"{summary.remits_without_claim:,}"),
        *(
            (f"denied: {category}", f"{count:,}")
            for category, count in sorted(summary.denials.items())
        ),
        (
            "provider-level adjustments (PLB)",
            f"{summary.provider_adjustments:,} (${summary.provider_adjustment_total:,.2f})",
        ),
        ("claims set aside", f"{summary.count('set_aside', claims=True):,}"),
        ("transaction sets set aside", f"{summary.count('set_aside', claims=False):,}"),
        (
            "flags (claims / transactions)",
            f"{summary.count('flagged', claims=True):,} / "
            f"{summary.count('flagged', claims=False):,}",
        ),
        *((("set-aside claims resolved", f"{summary.resolved:,}"),) if summary.resolved else ()),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table
