"""Shadow scoring: a sample of the requests the champion answered, scored again by the
challenger and kept beside the answers (`role` shadow in the scoring audit), so a challenger
is judged on the claims the service really sees before it is promoted.

The challenger is the registered model's `challenger` alias. Nothing of it is on the
request path: the route only offers the claims (`ShadowScorer.offer`, a coin toss and a
put on a bounded queue); one worker thread looks the challenger up, loads it (once per
version) and scores. A full queue drops the request and counts it; a challenger that fails
to load or to score is logged (its model and the error's kind, never claim contents) and
counted. Either way the caller has had the champion's answer already.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model_bundle.registered import ModelUnavailableError, resolve_version
from serving.audit import AuditLog, Decision
from serving.scorer import Scorer
from settings import Settings
from storage.schema import SHADOW

log = logging.getLogger(__name__)
CHALLENGER = "challenger"
"""The registry alias of the model a champion is compared with."""
CHALLENGER_RECHECK_SECONDS = 60.0
"""How long the worker trusts what it found of a model's challenger (a version, none, or a
failed load) before asking the registry again: a lookup per sampled request would be a
registry query each, and a promotion or a new challenger is seen within this time."""


@dataclass(frozen=True, slots=True)
class _Found:
    scorer: Scorer | None
    """None: no challenger registered, or it failed to load."""
    at: float


class Challengers:
    """Each registered model's challenger, loaded with `loader` on first need and kept while
    the alias points at the same version. Used by the one shadow worker only."""

    def __init__(
        self,
        settings: Settings,
        loader: Callable[[Settings], Scorer],
        *,
        recheck_seconds: float = CHALLENGER_RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._loader = loader
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._found: dict[str, _Found] = {}

    def get(self, model_name: str) -> Scorer | None:
        """The challenger of `model_name`, or None when it has none or it cannot be loaded."""
        now = self._clock()
        found = self._found.get(model_name)
        if found is not None and now - found.at < self._recheck_seconds:
            return found.scorer
        uri = f"models:/{model_name}@{CHALLENGER}"
        try:
            _, version = resolve_version(uri, self._settings.resolved_tracking_uri())
        except ModelUnavailableError:
            scorer = None  # no challenger: nothing to compare, nothing to say
        else:
            kept = found.scorer if found is not None else None
            scorer = kept if kept is not None and kept.version == version else None
            if scorer is None:
                scorer = self._load(model_name, uri, version)
        self._found[model_name] = _Found(scorer, now)
        return scorer

    def forget(self) -> None:
        """Look every challenger up again on next need (after a reload of the models)."""
        self._found = {}

    def _load(self, model_name: str, uri: str, version: str) -> Scorer | None:
        chosen = self._settings.model_copy(
            update={"denial_model_name": model_name, "model_uri": uri}
        )
        try:
            return self._loader(chosen)
        except Exception as error:  # a challenger must never take the service down
            log.warning(
                "challenger %s version %s failed to load, no shadow scores for it: %s",
                model_name,
                version,
                error,
            )
            return None


@dataclass(frozen=True, slots=True)
class _Job:
    audit: AuditLog
    key_id: str
    model_name: str
    claims: list[dict[str, Any]]


class ShadowScorer:
    """Scores a `sample` of the offered requests with their model's challenger, in a worker
    thread (`start`, `stop`), keeping at most `capacity` requests waiting.

    `scored` (claims), `dropped` and `failed` (requests) are read by /metrics."""

    def __init__(
        self,
        challengers: Challengers,
        sample: float,
        capacity: int,
        *,
        toss: Callable[[], float] = random.random,
    ) -> None:
        self._challengers = challengers
        self._sample = sample
        self._toss = toss
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=capacity)
        self._worker: threading.Thread | None = None
        self._counts = threading.Lock()
        self.scored = 0
        self.dropped = 0
        self.failed = 0

    @property
    def on(self) -> bool:
        """Whether any request is sampled (no worker thread otherwise)."""
        return self._sample > 0

    def start(self) -> None:
        """Start the worker (when sampling at all)."""
        if self.on and self._worker is None:
            self._worker = threading.Thread(target=self._work, name="shadow-scoring", daemon=True)
            self._worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Let the worker finish what it is scoring and end; requests still waiting are
        not scored (they were a sample, and the service is stopping)."""
        if self._worker is None:
            return
        while True:
            try:
                self._jobs.get_nowait()
                self._jobs.task_done()
            except queue.Empty:
                break
        self._jobs.put(None)
        self._worker.join(timeout)
        self._worker = None

    def offer(
        self, audit: AuditLog, key_id: str, model_name: str, claims: list[dict[str, Any]]
    ) -> None:
        """On the request path, after the answer is made: maybe queue the claims for the
        challenger of `model_name`, to be kept in `audit` under `key_id`. Never blocks."""
        if not self.on or self._toss() >= self._sample:
            return
        try:
            self._jobs.put_nowait(_Job(audit, key_id, model_name, claims))
        except queue.Full:
            with self._counts:
                self.dropped += 1

    def wait(self) -> None:
        """Until every request queued so far is scored (or given up): for tests and the
        benchmark."""
        self._jobs.join()

    def forget_challengers(self) -> None:
        """Look the challengers up again (the models were reloaded)."""
        self._challengers.forget()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                self._score(job)
            finally:
                self._jobs.task_done()

    def _score(self, job: _Job) -> None:
        challenger = None
        try:
            challenger = self._challengers.get(job.model_name)
            if challenger is None:
                return
            results = challenger.score_records(job.claims)
            decisions = [Decision.of(r) for r in results]
            job.audit.record(job.key_id, challenger.version, decisions, role=SHADOW)
        except Exception as error:  # the answer went out already; this is only a comparison
            with self._counts:
                self.failed += 1
            log.warning(
                "shadow scoring of %d claim(s) with challenger %s version %s failed: %s",
                len(job.claims),
                job.model_name,
                challenger.version if challenger is not None else "unknown",
                type(error).__name__,
            )
            return
        with self._counts:
            self.scored += len(decisions)
