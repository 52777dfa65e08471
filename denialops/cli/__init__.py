"""The `denialops` command: one entry point for every stage; the only package importing them all.

Each module holds a group of commands; this one builds `app` (the console script) from them, in
the order `denialops --help` lists them. Commands import their libraries when they run, so that
start-up, and `--help`, stay quick."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from denialops.cli import analytics, audit, ingest, model_health, people, pipeline, queue
from settings import get_settings

app = typer.Typer(
    help="DenialOps: predict, prevent and recover behavioral-health claim denials.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(pipeline.commands)
app.add_typer(pipeline.features_app, name="features")
app.add_typer(queue.queue_app, name="queue")
app.add_typer(queue.policy_app, name="policy")
app.add_typer(analytics.commands)
app.add_typer(model_health.commands)
app.add_typer(ingest.ingest_app, name="ingest")
app.add_typer(people.keys_app, name="keys")
app.add_typer(people.tenants_app, name="tenants")
app.add_typer(people.users_app, name="users")
app.add_typer(people.demo_app, name="demo")
app.add_typer(audit.audit_app, name="audit")


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log library detail.")] = False,
) -> None:
    get_settings.cache_clear()  # each command reads the environment it is run in
    level = logging.DEBUG if verbose else getattr(logging, get_settings().log_level.upper(), 20)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
