"""The generator's drift scenarios, for the monitor's tests: the same synthetic world with
and without each change, and a champion trained on what the day before the change knew.

`CLAIMS` is the smallest size at which a rule on one payer's code shows in the denials that
have come back four weeks after the change (remits lag weeks behind the claims): at 80,000
claims there were too few of them to tell from chance.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import mlflow

from data_contracts.known_on import known_on
from data_contracts.reader import ContractData, read_data_dir
from model_bundle.denial import DenialRiskBundle, DenialRiskModel
from synthetic import SCENARIOS, generate, write_synthetic
from tests.small_bundle import small_bundle

CLAIMS = 120_000
SEED = 23
WEEKS_AFTER = 4
"""The monitor runs this many weeks after the change: the issue's bar."""


@dataclass
class DriftWorlds:
    folders: dict[str | None, Path]
    """The data directory of each scenario (None: no change)."""
    change_on: date
    champion: DenialRiskBundle
    """Trained on the directory as it stood the day before the change."""

    def data(self, scenario: str | None) -> ContractData:
        return read_data_dir(self.folders[scenario])


def drift_worlds(root: Path) -> DriftWorlds:
    base = generate(CLAIMS, SEED)
    change_on = base.as_of - timedelta(weeks=WEEKS_AFTER)
    folders: dict[str | None, Path] = {}
    for scenario in (None, *SCENARIOS):
        made = (
            base
            if scenario is None
            else generate(CLAIMS, SEED, scenario=scenario, change_on=change_on)
        )
        folders[scenario] = root / (scenario or "unchanged")
        write_synthetic(made, folders[scenario], "parquet")
    before = known_on(read_data_dir(folders[None]), change_on - timedelta(days=1))
    return DriftWorlds(folders, change_on, small_bundle(before))


def register_champion(
    bundle: DenialRiskBundle, tracking_uri: str, name: str, alias: str = "champion"
) -> str:
    """Log `bundle` as the pyfunc training logs and register it as `name`'s champion (or
    other `alias`), with the run's id in its meta (where monitoring logs); the run's id."""
    mlflow.set_tracking_uri(tracking_uri)
    # An earlier test may have left another store's experiment active in this process.
    mlflow.set_experiment("denialops")
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as folder:
        logged = replace(bundle, meta={**bundle.meta, "run_id": run.info.run_id})
        logged.save(Path(folder) / "bundle")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=DenialRiskModel(),
            artifacts={"bundle": str(Path(folder) / "bundle")},
            pip_requirements=[],
        )
    version = mlflow.register_model(info.model_uri, name).version
    mlflow.MlflowClient().set_registered_model_alias(name, alias, version)
    return run.info.run_id
