"""The pipeline's commands, in the order of `make demo`: synthetic data, the contract check,
features, training and tuning, then scoring (in batch, as a request body, or served)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cluster import Engine
from data_contracts.reader import ContractData
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
    scorer_or_exit,
    tenant_data,
)
from settings import get_settings

if TYPE_CHECKING:
    from features.sharding import Shards

# Top-level commands (`denialops synth`, ...): merged into the app, which names no group for them.
commands = typer.Typer()
CHUNK_CLAIMS = 500_000
"""`synth --format parquet-partitioned` makes this many claims at a time unless told."""


@commands.command()
def synth(
    claims: Annotated[int, typer.Option("--claims", min=1, help="Number of claims to generate.")],
    out: Annotated[Path, typer.Option("--out", help="Data directory to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same data.")] = 7,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv, parquet, x12 (837P/837I/835 files plus the other tables as CSV), or "
            "parquet-partitioned (folders of Parquet parts by service month, written a chunk "
            "of claims at a time: memory holds one chunk, not the whole).",
            case_sensitive=False,
        ),
    ] = "csv",
    chunk_claims: Annotated[
        int | None,
        typer.Option(
            "--chunk-claims",
            min=1,
            help=f"Claims per chunk with --format parquet-partitioned (default {CHUNK_CLAIMS:,}).",
        ),
    ] = None,
    ends_on: Annotated[
        datetime | None,
        typer.Option(
            "--ends-on",
            formats=["%Y-%m-%d"],
            help="Move every date so the extract date is this day (e.g. today, for a demo "
            "whose deadlines are still ahead); default: the data starts on 2024-01-01.",
        ),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="Drift scenario for testing a model monitor: auth_rule, new_payer or "
            "code_mix. Sessions before the change date are the same as without it.",
        ),
    ] = None,
    change_on: Annotated[
        datetime | None,
        typer.Option(
            "--change-on",
            formats=["%Y-%m-%d"],
            help="Date the scenario starts on; default: 8 weeks before the extract date.",
        ),
    ] = None,
) -> None:
    """Write a synthetic behavioral-health data directory plus truth.csv (evaluation only)."""
    from synthetic import SCENARIOS, generate, write_synthetic
    from synthetic.output import PARTITIONED, X12_FOLDER

    fmt = fmt.lower()
    if fmt not in ("csv", "parquet", "x12", PARTITIONED):
        raise typer.BadParameter(f"use csv, parquet, x12 or {PARTITIONED}", param_hint="--format")
    if scenario is not None and scenario not in SCENARIOS:
        raise typer.BadParameter(f"use one of {', '.join(SCENARIOS)}", param_hint="--scenario")
    if change_on is not None and scenario is None:
        raise typer.BadParameter("needs --scenario", param_hint="--change-on")
    if fmt == PARTITIONED:
        if scenario is not None:
            raise typer.BadParameter(
                f"is not made in chunks ({PARTITIONED})", param_hint="--scenario"
            )
        _synth_in_chunks(claims, out, seed, chunk_claims or CHUNK_CLAIMS, ends_on)
        return
    if chunk_claims is not None:
        raise typer.BadParameter(f"needs --format {PARTITIONED}", param_hint="--chunk-claims")
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("generating", total=None)
        data = generate(
            claims,
            seed,
            progress=lambda step: progress.update(task, description=step),
            ends_on=ends_on.date() if ends_on else None,
            scenario=scenario,
            change_on=change_on.date() if change_on else None,
        )
        progress.update(task, description=f"writing {fmt}")
        write_synthetic(data, out, fmt)  # type: ignore[arg-type]
    denied = data.truth["denied"].mean()
    console.print(
        f"[green]wrote[/] {claims:,} claims to {out} (as of {data.as_of}, "
        f"{denied:.1%} denied) in {time.perf_counter() - started:.1f} s"
    )
    if data.scenario:
        console.print(f"scenario {data.scenario} from {data.change_on}")
    if fmt == "x12":
        console.print(
            f"claims and remits are X12 files in {out / X12_FOLDER}; bring them in with: "
            f"denialops ingest x12 {out / X12_FOLDER} --out {out}"
        )


def _synth_in_chunks(
    claims: int, out: Path, seed: int, chunk_claims: int, ends_on: datetime | None
) -> None:
    """`synth` as partitioned Parquet: one world made and written a chunk at a time."""
    from synthetic import generate_chunks, write_synthetic_chunks

    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("generating", total=None)
        run = write_synthetic_chunks(
            generate_chunks(
                claims,
                seed,
                chunk_claims,
                progress=lambda step: progress.update(task, description=step),
                ends_on=ends_on.date() if ends_on else None,
            ),
            out,
            chunk_claims,
        )
    console.print(
        f"[green]wrote[/] {run.claims:,} claims to {out} in {run.chunks} chunk(s) as partitioned "
        f"Parquet (as of {run.as_of}, {run.denied / run.claims:.1%} denied) in "
        f"{time.perf_counter() - started:.1f} s"
    )


@commands.command()
def validate(
    data: Annotated[Path, typer.Option("--data", help="Data directory to check.")],
    on_bad_rows: BadRows = OnBadRows.strict,
) -> None:
    """Check a data directory against the contract; list every problem, or count the rows."""
    loaded = read_or_exit(data, on_bad_rows)
    verdict = "contract OK" if loaded.quarantine is None else "the rest is OK"
    table = Table(title=f"{data}: {verdict}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, frame in loaded.tables().items():
        table.add_row(name, f"{len(frame):,}" if name in loaded.present else "absent")
    Console().print(table)


features_app = typer.Typer(help="Point-in-time claim features and the serving state.")


@features_app.command("build")
def features_build(
    data: Annotated[Path, typer.Option("--data", help="Contract data directory.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Parquet: claim_id plus features (with --engine dask, a folder of Parquet "
            "parts, one per shard, that pandas and pyarrow read as one table).",
        ),
    ],
    state: Annotated[
        Path | None,
        typer.Option("--state", help="Also write the serving state (latest tallies) here."),
    ] = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    engine: EngineOption = Engine.pandas,
) -> None:
    """Build one feature row per claim from what was known at its submission date."""
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with read_on(engine, data, on_bad_rows) as source, progress_bar() as progress:
        task = progress.add_task("features", total=None)
        build = _features_in_process if isinstance(source, ContractData) else _features_on_dask
        claims, columns = build(
            source, out, state, lambda step: progress.update(task, description=step)
        )
    console.print(
        f"[green]wrote[/] {claims:,} claims x {columns} features to {out} "
        f"in {time.perf_counter() - started:.1f} s" + (f"; state in {state}" if state else "")
    )


def _features_in_process(
    loaded: ContractData, out: Path, state: Path | None, step: Callable[[str], None]
) -> tuple[int, int]:
    from features.pipeline import build_features, build_features_and_state

    if state is None:
        frame = build_features(loaded, progress=step)
    else:
        frame, feature_state = build_features_and_state(loaded, progress=step)
        feature_state.save(state)
    frame.reset_index().to_parquet(out, index=False)
    return len(frame), frame.shape[1]


def _features_on_dask(
    shards: Shards, out: Path, state: Path | None, step: Callable[[str], None]
) -> tuple[int, int]:
    from features.distributed import build_features_dask

    built = build_features_dask(shards, state_dir=state, progress=step)
    step("writing Parquet parts")
    built.features.reset_index().to_parquet(out, write_index=False, overwrite=True)
    claims = int(built.features.map_partitions(len).compute().sum())
    return claims, len(built.features.columns)


@commands.command()
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
    engine: EngineOption = Engine.pandas,
) -> None:
    """Train the denial model (and the recovery model where appeals exist) and register it,
    under the tenant's model names (`default`: the installation's). With `--engine dask`
    the features and the LightGBM fits run on the cluster; the registered model is the same
    kind either way."""
    overrides = json.loads(params.read_text()) if params else None
    train_and_say(tenant, data, overrides, force, on_bad_rows, "train", engine)


def train_and_say(
    tenant: str,
    data: Path | None,
    overrides: dict | None,
    force: bool,
    on_bad_rows: OnBadRows,
    trigger: str,
    engine: Engine = Engine.pandas,
) -> None:
    """`train` and `retrain`: train, register through the gate, say what became of it."""
    from training.dataset import TrainingDataError
    from training.train import train_all

    known, data = tenant_data(tenant, data)
    settings = known.models(get_settings())
    with read_on(engine, data, on_bad_rows) as source, progress_bar() as progress:
        task = progress.add_task("training", total=None)
        try:
            result = train_all(
                source,
                settings,
                overrides,
                force,
                progress=lambda step: progress.update(task, description=step),
                trigger=trigger,
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


@commands.command()
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

    known, data = tenant_data(tenant, data)
    study = study or known.model_names(get_settings())[0]
    storage = storage or Path(f"optuna/{study}.db")
    suffix = "" if known.name == "default" else f"-{known.name}"
    out = out or Path(f"optuna/best_params{suffix}.json")
    loaded = read_or_exit(data, on_bad_rows)
    with progress_bar() as progress:
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


@commands.command()
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


@commands.command()
def score(
    out: Annotated[
        Path,
        typer.Option("--out", help="CSV: claim_id, p_denial, fix_code, fix_text, then model_name."),
    ],
    data: DataOption = None,
    on_bad_rows: BadRows = OnBadRows.quarantine,
    tenant: TenantOption = "default",
    engine: EngineOption = Engine.pandas,
) -> None:
    """Score every pending claim of DIR (no remit yet) with the tenant's registered champion,
    or the shared (`default`) one while the tenant has none; says which answered. Every
    score is kept in the tenant's scoring audit (key `batch`), for monitoring."""
    from serving.audit import AuditLog
    from serving.batch import score_pending
    from storage.database import Database

    known, data = tenant_data(tenant, data)
    settings = get_settings()
    answer = scorer_or_exit(known)
    with (
        Database.from_settings(settings) as database,
        read_on(engine, data, on_bad_rows) as source,
        progress_bar() as progress,
    ):
        task = progress.add_task("scoring pending claims", total=None)
        audit = AuditLog(database, tenant=known.name)

        def step(description: str) -> None:
            progress.update(task, description=description)

        if isinstance(source, ContractData):
            frame = score_pending(source, answer.scorer, step, audit)
        else:
            from serving.distributed import score_pending_dask

            frame = score_pending_dask(source, answer.scorer, step, audit)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.assign(model_name=answer.model_name).to_csv(out, index=False)
    flagged = int((frame["fix_code"] != "").sum())
    console.print(
        f"[green]scored[/] {len(frame):,} pending claims with "
        f"{model_said(answer.model_name, answer.scorer.version, answer.shared, tenant)}; "
        f"{flagged:,} with a fix; written to {out}"
    )


@commands.command("request")
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

    data = tenant_data(tenant, data)[1]
    loaded = read_or_exit(data, on_bad_rows, show_progress=out is not None)
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
