"""The monitor's figures in MLflow, against the run that trained the champion, so its
test metrics and its life after promotion read on one page.

Each metric is stepped by the day the monitored period ends (days since 1970-01-01) and
stamped with that day, so repeated runs draw a time series rather than overwrite one
another; the report and the alerts are kept as artifacts under `monitoring/DATE/`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import mlflow
from mlflow.entities import Metric

from monitoring.monitor import MonitorResult

log = logging.getLogger(__name__)
ARTIFACTS = "monitoring"


def log_to_champion_run(
    result: MonitorResult, run_id: str, tracking_uri: str, report: Path | None
) -> None:
    """Log `result`'s metrics (and `report`, and the alerts) to the champion's run."""
    client = mlflow.MlflowClient(tracking_uri)
    until = result.scored.until
    stamp = int(datetime.combine(until, datetime.min.time(), tzinfo=UTC).timestamp() * 1000)
    step = (until - date(1970, 1, 1)).days
    metrics = [Metric(key, value, stamp, step) for key, value in result.metrics().items()]
    client.log_batch(run_id, metrics=metrics)
    folder = f"{ARTIFACTS}/{until}"
    with tempfile.TemporaryDirectory() as scratch:
        alerts = Path(scratch) / "alerts.json"
        alerts.write_text(json.dumps([a.as_dict() for a in result.alerts], indent=1) + "\n")
        client.log_artifact(run_id, str(alerts), folder)
    if report is not None:
        client.log_artifact(run_id, str(report), folder)
    log.info("logged %d monitoring metrics to run %s", len(metrics), run_id)
