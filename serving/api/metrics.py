"""/metrics in Prometheus' format: requests and latency by route template (never a raw path,
so no claim id becomes a label value), the model being served, results by band and the
queue's depth, and shadow scoring's counts (`serving/shadow.py`).

Each app has its own registry, so several apps in one process (the tests) do not collide.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator


class ServiceMetrics:
    """What the routes count; `app.state.metrics`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.scored = Counter(
            "denialops_scored_claims",
            "Claims scored, by the band they were given.",
            ["band"],
            registry=registry,
        )

    def count_bands(self, bands: Iterable[str]) -> None:
        for band, count in collections.Counter(bands).items():
            self.scored.labels(band).inc(count)


class _StateCollector(Collector):
    """Read at scrape time: the served model's version and the open items in the queue
    (one COUNT on the queue's partial index of open items)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        state = self.app.state
        scorer = getattr(state, "scorer", None)
        model = InfoMetricFamily("denialops_model", "The denial model being served.")
        model.add_metric([], {"version": scorer.version if scorer else "none"})
        yield model
        shadow = getattr(state, "shadow", None)
        if shadow is not None:
            for name, help_text, value in (
                (
                    "scored_claims",
                    "Claims scored by a challenger beside the answer.",
                    shadow.scored,
                ),
                (
                    "dropped_requests",
                    "Sampled requests dropped: the queue was full.",
                    shadow.dropped,
                ),
                ("failed_requests", "Sampled requests the challenger failed.", shadow.failed),
            ):
                yield CounterMetricFamily(f"denialops_shadow_{name}", help_text, value)
        queue = getattr(state, "queue", None)
        if queue is not None:
            yield GaugeMetricFamily(
                "denialops_queue_open_items", "Open items in the work queue.", queue.count_open()
            )


def install(app: FastAPI) -> None:
    """Instrument every route and serve /metrics (public, like the probes)."""
    registry = CollectorRegistry()
    app.state.metrics = ServiceMetrics(registry)
    registry.register(_StateCollector(app))
    Instrumentator(registry=registry).instrument(app).expose(app, include_in_schema=False)
