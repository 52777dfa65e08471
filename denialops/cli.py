"""The `denialops` command: one entry point for every stage; the only module importing them all."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from data_contracts.reader import ContractData, ContractError, read_data_dir
from settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

    from accounts.people import UserStore
    from data_contracts.quarantine import QuarantineSummary
    from data_contracts.x12 import IngestSummary
    from queues.build import RankedQueue
    from serving.keys import KeyStore
    from storage.database import Database
    from storage.tenants import Tenant

app = typer.Typer(
    help="DenialOps: predict, prevent and recover behavioral-health claim denials.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
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


TenantOption = Annotated[
    str, typer.Option("--tenant", help="The tenant acted on (see `tenants list`).")
]
DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", help="Contract data directory (default: the tenant's, see `tenants list`)."
    ),
]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log library detail.")] = False,
) -> None:
    get_settings.cache_clear()  # each command reads the environment it is run in
    level = logging.DEBUG if verbose else getattr(logging, get_settings().log_level.upper(), 20)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def synth(
    claims: Annotated[int, typer.Option("--claims", min=1, help="Number of claims to generate.")],
    out: Annotated[Path, typer.Option("--out", help="Data directory to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same data.")] = 7,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv, parquet, or x12 (837P/837I/835 files plus the other tables as CSV).",
            case_sensitive=False,
        ),
    ] = "csv",
    ends_on: Annotated[
        datetime | None,
        typer.Option(
            "--ends-on",
            formats=["%Y-%m-%d"],
            help="Move every date so the extract date is this day (e.g. today, for a demo "
            "whose deadlines are still ahead); default: the data starts on 2024-01-01.",
        ),
    ] = None,
) -> None:
    """Write a synthetic behavioral-health data directory plus truth.csv (evaluation only)."""
    from synthetic import generate, write_synthetic
    from synthetic.output import X12_FOLDER

    fmt = fmt.lower()
    if fmt not in ("csv", "parquet", "x12"):
        raise typer.BadParameter("use csv, parquet or x12", param_hint="--format")
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("generating", total=None)
        data = generate(
            claims,
            seed,
            progress=lambda step: progress.update(task, description=step),
            ends_on=ends_on.date() if ends_on else None,
        )
        progress.update(task, description=f"writing {fmt}")
        write_synthetic(data, out, fmt)  # type: ignore[arg-type]
    denied = data.truth["denied"].mean()
    console.print(
        f"[green]wrote[/] {claims:,} claims to {out} (as of {data.as_of}, "
        f"{denied:.1%} denied) in {time.perf_counter() - started:.1f} s"
    )
    if fmt == "x12":
        console.print(
            f"claims and remits are X12 files in {out / X12_FOLDER}; bring them in with: "
            f"denialops ingest x12 {out / X12_FOLDER} --out {out}"
        )


@app.command()
def validate(
    data: Annotated[Path, typer.Option("--data", help="Data directory to check.")],
    on_bad_rows: BadRows = OnBadRows.strict,
) -> None:
    """Check a data directory against the contract; list every problem, or count the rows."""
    loaded = _read_or_exit(data, on_bad_rows)
    verdict = "contract OK" if loaded.quarantine is None else "the rest is OK"
    table = Table(title=f"{data}: {verdict}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, frame in loaded.tables().items():
        table.add_row(name, f"{len(frame):,}" if name in loaded.present else "absent")
    Console().print(table)


features_app = typer.Typer(help="Point-in-time claim features and the serving state.")
app.add_typer(features_app, name="features")


@features_app.command("build")
def features_build(
    data: Annotated[Path, typer.Option("--data", help="Contract data directory.")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file: claim_id plus features.")],
    state: Annotated[
        Path | None,
        typer.Option("--state", help="Also write the serving state (latest tallies) here."),
    ] = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
) -> None:
    """Build one feature row per claim from what was known at its submission date."""
    from features.pipeline import STEPS, build_features, build_state

    loaded = _read_or_exit(data, on_bad_rows)
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("features", total=len(STEPS))
        frame = build_features(
            loaded, progress=lambda step: progress.update(task, description=step, advance=1)
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.reset_index().to_parquet(out, index=False)
        if state is not None:
            progress.update(task, description="serving state")
            build_state(loaded).save(state)
    console.print(
        f"[green]wrote[/] {len(frame):,} claims x {frame.shape[1]} features to {out} "
        f"in {time.perf_counter() - started:.1f} s" + (f"; state in {state}" if state else "")
    )


@app.command()
def train(
    data: DataOption = None,
    params: Annotated[
        Path | None,
        typer.Option("--params", help="JSON of LightGBM parameters, e.g. from `denialops tune`."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Make the new model champion even if it is not better.")
    ] = False,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Train the denial model (and the recovery model where appeals exist) and register it,
    under the tenant's model names (`default`: the installation's)."""
    from training.dataset import TrainingDataError
    from training.train import train_all

    known, data = _tenant_data(tenant, data)
    settings = known.models(get_settings())
    overrides = json.loads(params.read_text()) if params else None
    loaded = _read_or_exit(data, on_bad_rows)
    with _progress() as progress:
        task = progress.add_task("training", total=None)
        try:
            result = train_all(
                loaded,
                settings,
                overrides,
                force,
                progress=lambda step: progress.update(task, description=step),
            )
        except TrainingDataError as error:
            console.print(f"[red]cannot train:[/] {error}")
            raise typer.Exit(code=1) from error
    metrics = result.test_metrics
    console.print(
        f"[green]{settings.denial_model_name} version {result.version} is {result.alias}[/]: "
        f"{result.reason}\n  test ROC-AUC {metrics['roc_auc']:.4f}, Brier {metrics['brier']:.4f}, "
        f"ECE {metrics['ece']:.4f}, calibration {result.calibration}; baselines: "
        + ", ".join(f"{n} ROC-AUC {m['roc_auc']:.4f}" for n, m in result.baselines.items())
        + f"\n  MLflow run {result.run_id} at {settings.resolved_tracking_uri()}"
    )
    if result.recovery:
        console.print(
            f"[green]{settings.recovery_model_name} version {result.recovery['version']} is "
            f"{result.recovery['alias']}[/]: {result.recovery['reason']}"
        )
    else:
        console.print(f"recovery model not trained: {result.recovery_note}")


@app.command()
def tune(
    trials: Annotated[int, typer.Option("--trials", min=1, help="Trials to run in this call.")],
    study: Annotated[
        str | None,
        typer.Option(
            "--study",
            help="Study name; reuse it to resume (default: the tenant's denial model name, "
            "e.g. denial-risk), so tenants never resume each other's studies.",
        ),
    ] = None,
    storage: Annotated[
        Path | None,
        typer.Option(
            "--storage",
            help="Study storage: an SQLite file, or a .journal file for parallel workers "
            "(default: optuna/STUDY.db).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Best parameters as JSON, for `train --params` (default: "
            "optuna/best_params.json; another tenant's optuna/best_params-TENANT.json).",
        ),
    ] = None,
    data: DataOption = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Search LightGBM parameters with Optuna on the validation period; resumable."""
    from training.dataset import TrainingDataError
    from training.tune import tune as run_tune

    known, data = _tenant_data(tenant, data)
    study = study or known.model_names(get_settings())[0]
    storage = storage or Path(f"optuna/{study}.db")
    suffix = "" if known.name == "default" else f"-{known.name}"
    out = out or Path(f"optuna/best_params{suffix}.json")
    loaded = _read_or_exit(data, on_bad_rows)
    with _progress() as progress:
        task = progress.add_task("tuning", total=trials)
        try:
            result = run_tune(
                loaded,
                get_settings(),
                trials,
                study,
                storage,
                out,
                on_trial=lambda number, loss: progress.update(
                    task, advance=1, description=f"trial {number}: log loss {loss:.4f}"
                ),
            )
        except TrainingDataError as error:
            console.print(f"[red]cannot tune:[/] {error}")
            raise typer.Exit(code=1) from error
    console.print(
        f"[green]best of {result.trials} trials[/]: validation log loss "
        f"{result.best_log_loss:.4f}; parameters in {result.params_file} "
        f"(use: denialops train --tenant {known.name} --data {data} --params "
        f"{result.params_file})"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the registered champion over HTTP (POST /v1/claims/score, /healthz, /readyz)."""
    started = time.perf_counter()
    # Start-up takes a while (model download, state, code lists): its steps show by default.
    from serving import loading

    logging.getLogger(loading.__name__).setLevel(min(logging.INFO, logging.getLogger().level))
    with loading.step("imports"):
        import uvicorn

        from serving.api.app import create_app

    with loading.step("app set-up"):
        service = create_app(get_settings())

    class Server(uvicorn.Server):
        async def startup(self, sockets: list | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                scorer = service.state.scorer
                model = f"model version {scorer.version}" if scorer else "no model (see /readyz)"
                console.print(
                    f"[green]ready[/] at http://{host}:{port} with {model}, "
                    f"{time.perf_counter() - started:.1f} s after start"
                )

    Server(uvicorn.Config(service, host=host, port=port, log_level="warning")).run()


@app.command()
def score(
    out: Annotated[
        Path,
        typer.Option("--out", help="CSV: claim_id, p_denial, fix_code, fix_text, then model_name."),
    ],
    data: DataOption = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """Score every pending claim of DIR (no remit yet) with the tenant's registered champion,
    or the shared (`default`) one while the tenant has none; says which answered."""
    from serving.batch import score_pending
    from serving.loading import ModelUnavailableError, load_tenant_scorer

    known, data = _tenant_data(tenant, data)
    loaded = _read_or_exit(data, on_bad_rows)
    try:
        answer = load_tenant_scorer(get_settings(), known)
    except ModelUnavailableError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    with _progress() as progress:
        task = progress.add_task("scoring pending claims", total=None)
        frame = score_pending(
            loaded, answer.scorer, progress=lambda step: progress.update(task, description=step)
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.assign(model_name=answer.model_name).to_csv(out, index=False)
    flagged = int((frame["fix_code"] != "").sum())
    console.print(
        f"[green]scored[/] {len(frame):,} pending claims with "
        f"{_model_said(answer.model_name, answer.scorer.version, answer.shared, tenant)}; "
        f"{flagged:,} with a fix; written to {out}"
    )


def _model_said(name: str, version: str, shared: bool, tenant: str) -> str:
    """Which registered model answered, e.g. "model denial-risk version 3 (shared: tenant
    acme has no model of its own yet)"."""
    said = f"model {name} version {version}"
    return f"{said} (shared: tenant {tenant} has no model of its own yet)" if shared else said


@app.command("request")
def request_body(
    data: DataOption = None,
    claim: Annotated[
        list[str] | None,
        typer.Option("--claim", help="A claim id (repeat for more); default: the latest pending."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON here; default: standard output.")
    ] = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
) -> None:
    """The body of POST /v1/claims/score for claims of DIR: to try the API, or re-score."""
    from data_contracts.records import records_from_tables

    data = _tenant_data(tenant, data)[1]
    loaded = _read_or_exit(data, on_bad_rows, show_progress=out is not None)
    claims = loaded.claims
    if claim:
        unknown = sorted(set(claim) - set(claims["claim_id"]))
        if unknown:
            raise typer.BadParameter(
                f"no claim {', '.join(unknown)} in {data}", param_hint="--claim"
            )
        chosen = claims[claims["claim_id"].isin(claim)]
    else:
        pending = claims[~claims["claim_id"].isin(loaded.remits["claim_id"])]
        chosen = pending.sort_values("submission_date", kind="stable").tail(1)
        if chosen.empty:
            raise typer.BadParameter(
                f"{data} has no pending claim: name one with --claim", param_hint="--data"
            )
    lines = loaded.claim_lines[loaded.claim_lines["claim_id"].isin(chosen["claim_id"])]
    body = json.dumps({"claims": records_from_tables(chosen, lines)}, indent=1)
    if out is None:
        typer.echo(body)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body + "\n", encoding="utf-8")
    console.print(f"[green]wrote[/] a scoring request for {', '.join(chosen['claim_id'])} to {out}")


queue_app = typer.Typer(help="The denial work queue: what to work next, and why.")
app.add_typer(queue_app, name="queue")
policy_app = typer.Typer(help="RevOps' accept-versus-appeal policy, versioned in the database.")
app.add_typer(policy_app, name="policy")
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
) -> None:
    """Rank every open denial of DIR by expected net recovery per minute of effort."""
    from data_contracts.enums import PAYER_ACTIONS
    from queues.ranking import CONTRACT_COLUMNS

    known, data = _tenant_data(tenant, data)
    queue, said = _queue_or_exit(_read_or_exit(data, on_bad_rows), as_of, known)
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

    known, data = _tenant_data(tenant, data)
    loaded = _read_or_exit(data, on_bad_rows)
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

    known, out = _tenant_data(tenant, out, option="--out")
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

    known = _tenant_or_exit(tenant)
    try:
        policy = policy_in_force(get_settings(), known.name)
    except PolicyError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    typer.echo(yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False))
    if data is not None:
        from queues.deadlines import learn_deadlines

        _print_deadlines(learn_deadlines(_read_or_exit(data, on_bad_rows), policy).table(), data)


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
    known = _tenant_or_exit(tenant)
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

    known, data = _tenant_data(tenant, data)
    loaded = _read_or_exit(data, on_bad_rows)
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
    data: ContractData, as_of: datetime | None, tenant: Tenant
) -> tuple[RankedQueue, str]:
    """The tenant's ranked queue under its policy, with its recovery model or, while it has
    none, the shared one, and which model ranked it; or a clear message and exit code 1 (no
    recovery model, bad policy)."""
    from model_bundle.registered import ModelUnavailableError
    from queues.build import build_queue
    from queues.policy import PolicyError, policy_in_force
    from serving.loading import answering

    try:
        with _progress() as progress:
            progress.add_task("ranking open denials", total=None)
            settings, shared = answering(get_settings(), tenant, recovery=True)
            policy = policy_in_force(settings, tenant.name)
            queue = build_queue(data, settings, as_of.date() if as_of else None, policy)
    except (ModelUnavailableError, PolicyError) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    return queue, _model_said(
        settings.recovery_model_name, queue.model_version, shared, tenant.name
    )


ingest_app = typer.Typer(help="Bring claims and remittances from outside into a data directory.")
app.add_typer(ingest_app, name="ingest")


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
        with _progress() as progress:
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


keys_app = typer.Typer(help="API keys of the HTTP service (stored hashed in the database).")
app.add_typer(keys_app, name="keys")
tenants_app = typer.Typer(help="Tenants (billing practices): each sees only its own data.")
app.add_typer(tenants_app, name="tenants")
users_app = typer.Typer(help="People who sign in to the service, one tenant and role each.")
app.add_typer(users_app, name="users")
By = Annotated[str, typer.Option("--by", help="Who makes the change (audit trail).")]
Username = Annotated[str, typer.Option("--username", help="The person's username.")]


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
        with _database() as database:
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

    with _database() as database:
        tenants = list_tenants(database)
    table = Table("tenant", "created", "data dir", "models (denial, recovery)")
    for tenant in tenants:
        table.add_row(
            tenant.name,
            _when(tenant.created_at),
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
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from standard input (one line) instead of a prompt.",
        ),
    ] = False,
    actor: By = "cli",
) -> None:
    """Add a person to a tenant with a role. The password (at least 12 characters, not a
    common one, not containing the username) is prompted for, or read from standard input
    with --password-stdin; never given on the command line, where it would be kept in the
    shell's history."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _people_or_exit() as people:
        user = people.add(tenant, username, role, password, by=actor)
    console.print(f"user {user.username} ({user.role}) added to tenant {user.tenant}")


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
            _when(user.created_at),
            user.created_by,
            _when(user.disabled_at),
        )
    Console().print(table)


demo_app = typer.Typer(help="Set-up steps of `make demo` (demo only).")
app.add_typer(demo_app, name="demo")


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
        with _database() as database:
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
            _when(key.created_at),
            key.created_by,
            _when(key.last_used_at),
            _when(key.revoked_at),
        )
    Console().print(table)


@contextlib.contextmanager
def _database() -> Iterator[Database]:
    """The service's database (DATABASE_URL), migrated to the latest revision."""
    from storage.database import Database

    with Database.from_settings(get_settings()) as database:
        yield database


@contextlib.contextmanager
def _key_store(tenant: str) -> Iterator[KeyStore]:
    """`tenant`'s keys in DATABASE_URL (importing a JSON key store of earlier versions into
    `default`); an unknown tenant exits 2 naming it."""
    from serving.keys import KeyStore

    settings = get_settings()
    with _database() as database:
        _tenant_or_exit(tenant, database)
        legacy = settings.key_store if tenant == "default" else None
        yield KeyStore(database, tenant=tenant, legacy_file=legacy)


def _tenant_or_exit(name: str, database: Database | None = None) -> Tenant:
    """The tenant `name`; an unknown one exits 2, naming it and how to add it."""
    from storage.tenants import get_tenant

    with contextlib.nullcontext(database) if database else _database() as opened:
        tenant = get_tenant(opened, name)
    if tenant is None:
        raise typer.BadParameter(
            f"there is no tenant {name!r}: see `denialops tenants list`, or add it with "
            f"`denialops tenants add {name}`",
            param_hint="--tenant",
        )
    return tenant


def _tenant_data(name: str, data: Path | None, option: str = "--data") -> tuple[Tenant, Path]:
    """The tenant `name` and the data directory to use: `data` when given, else the
    tenant's own; neither exits 2, saying how to give one.

    `default` with `data` given opens no database, so `train`, `score`, `tune` and
    `request` on a directory run as they did before tenants (no denialops.db made)."""
    from storage.tenants import SEEDED

    if name == SEEDED.name and data is not None:
        return SEEDED, data
    tenant = _tenant_or_exit(name)
    data = data or tenant.data_dir
    if data is None:
        raise typer.BadParameter(
            f"give the data directory: tenant {name!r} has none of its own (`denialops "
            f"tenants add NAME --data DIR` gives a tenant one)",
            param_hint=option,
        )
    return tenant, data


def _when(at: datetime | None) -> str:
    return "" if at is None else f"{at:%Y-%m-%d %H:%M} UTC"


audit_app = typer.Typer(help="The append-only audit trail of the queue, policy, model and keys.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(tenant: TenantOption = "default") -> None:
    """Walk a tenant's audit trail's hash chain. Exit 0 with the number of rows verified, or exit 1
    naming the first broken link (edited row, deleted row, re-ordered rows).

    Rows cut off the end leave no broken link: note the head hash printed, and compare."""
    from storage.audit import verify
    from storage.database import Database

    known = _tenant_or_exit(tenant)
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


def _read_or_exit(
    data: Path, on_bad_rows: OnBadRows, *, show_progress: bool = True
) -> ContractData:
    """The data directory (what was set aside printed), or the contract's complete error
    and exit code 1.

    Without progress, standard output carries only what the command prints."""
    ceiling = get_settings().quarantine_ceiling if on_bad_rows is OnBadRows.quarantine else None
    try:
        if not show_progress:
            loaded = read_data_dir(data, ceiling)
        else:
            with _progress() as progress:
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


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
    )


if __name__ == "__main__":
    app()
