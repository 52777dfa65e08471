"""Shadow scoring: a sample of the requests the champion answered, scored again by the
challenger and kept beside the answers (`role` shadow in the scoring audit), so a challenger
is judged on the claims the service really sees before it is promoted.

The challenger is the registered model's `challenger` alias. Nothing of it is on the
request path: the route only offers the claims (`ShadowScorer.offer`, a coin toss and an
append to a bounded queue). One forwarding thread hands them to a runner, which scores them
with the challenger: in the service a child process of its own (`ChallengerProcess`) at the
lowest CPU priority, which loads the challenger itself (once per version), so its features
and model take neither the interpreter lock nor a core from the answers. The scores come
back as `Decision`s and the forwarding thread keeps them in the audit, in batches. It works
between answers (`ShadowScorer.answering`, counted by the `AnswersInFlight` middleware):
woken when the last answer ends rather than by the offer, and writing when none is being
made, so neither its share of the interpreter lock nor its writes land in an answer.

A full queue drops the request and counts it; a challenger that fails to load or to score
is logged (its model and the error's kind, never claim contents) and counted, and so is a
child process that dies (it is started again for the next request, and after
`CHILD_RESTARTS` deaths in a row shadow scoring turns itself off). Either way the caller
has had the champion's answer already.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import logging
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from model_bundle.registered import ModelUnavailableError, resolve_version
from serving.audit import AuditLog, Decision
from serving.loading import load_scorer
from serving.scorer import Scorer
from settings import Settings
from storage.schema import SHADOW

log = logging.getLogger(__name__)
CHALLENGER = "challenger"
"""The registry alias of the model a champion is compared with."""
CHALLENGER_RECHECK_SECONDS = 60.0
"""How long the scoring side trusts what it found of a model's challenger (a version, none,
or a failed load) before asking the registry again: a lookup per sampled request would be a
registry query each, and a promotion or a new challenger is seen within this time."""
HAND_OFF_EVERY_SECONDS = 0.02
"""Requests go to the challenger at most this often, those waiting together: each hand-off
wakes the forwarding thread twice (to send, and for the scores), and each wake-up can cost
the answer then being made a context switch and a turn of the interpreter lock. At a few
hundred requests a second, one hand-off in several requests rather than one each."""
WRITE_EVERY_SECONDS = 1.0
"""Shadow scores wait at most about this long to be written: one write a second, rather
than one a request, is what the answers share the database and the interpreter with."""
WRITE_AT_CLAIMS = 256
"""...or until this many claims' scores wait, whichever comes first."""
IDLE_PATIENCE_SECONDS = 1.0
"""How long a write waits for a moment with no answer being made: a service that is never
idle still keeps its shadow scores, a write a second at most."""
CHILD_RESTARTS = 3
"""Deaths in a row of the challenger's process after which shadow scoring turns itself off
(a challenger that kills its process each time, say by running out of memory, would
otherwise be loaded again for every sampled request)."""
CHILD_POLL_SECONDS = 0.5
"""How often the forwarding thread, waiting for scores, checks the child is still alive."""


@dataclass(frozen=True, slots=True)
class _Found:
    scorer: Scorer | None
    """None: no challenger registered, or it failed to load."""
    at: float


class Challengers:
    """Each registered model's challenger, loaded with `loader` on first need and kept while
    the alias points at the same version. Used by one runner only."""

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
class Scored:
    """What a challenger said of one request's claims: all a shadow row needs, small enough
    to come back from another process cheaply."""

    version: str
    decisions: list[Decision]


class ChallengerError(Exception):
    """A challenger could not score a request. Says the challenger's version and the error's
    kind only: the error's own message may quote a claim."""

    def __init__(self, version: str, kind: str) -> None:
        super().__init__(version, kind)
        self.version = version
        self.kind = kind


class RunnerGaveUpError(Exception):
    """The runner gave up (its process kept dying): no more shadow scoring."""


def score_with_challenger(
    challengers: Challengers, model_name: str, claims: list[dict[str, Any]]
) -> Scored | None:
    """`claims` scored by the challenger of `model_name`; None when it has none (or it does
    not load). `ChallengerError` when it fails to score."""
    challenger = challengers.get(model_name)
    if challenger is None:
        return None
    try:
        results = challenger.score_records(claims)
    except Exception as error:
        raise ChallengerError(challenger.version, type(error).__name__) from None
    return Scored(challenger.version, [Decision.of(r) for r in results])


Request = tuple[str, list[dict[str, Any]]]
"""A request to score again: the name of the model that answered it, and its claims."""
Outcome = Scored | ChallengerError | None
"""What came of one request: its scores, the challenger's failure, or None (no challenger)."""


def score_each(challengers: Challengers, requests: list[Request]) -> list[Outcome]:
    """Each request scored on its own (as the champion scored it), in order."""
    outcomes: list[Outcome] = []
    for model_name, claims in requests:
        try:
            outcomes.append(score_with_challenger(challengers, model_name, claims))
        except ChallengerError as failure:
            outcomes.append(failure)
    return outcomes


class ChallengerRunner(Protocol):
    """Where the challengers score: used by the forwarding thread only (`kill` excepted)."""

    def start(self) -> None:
        """Get ready (before the first request)."""

    def score(self, requests: list[Request]) -> list[Outcome]:
        """As `score_each`: all the requests waiting at once, so one hand-off for them all.
        `ChallengerError` when none could be scored, `RunnerGaveUpError` when the runner
        cannot go on."""

    def forget(self) -> None:
        """Look every challenger up again on next need (may be called from any thread)."""

    def stop(self, timeout: float) -> None:
        """End, cleanly."""

    def kill(self) -> None:
        """End now (from the thread stopping the service, when `stop` did not come soon)."""


class InProcess:
    """Challengers scored in the forwarding thread, in the service's process: for tests,
    whose loaders (functions of the test) cannot be sent to another process."""

    def __init__(self, challengers: Challengers) -> None:
        self._challengers = challengers

    def start(self) -> None:
        pass

    def score(self, requests: list[Request]) -> list[Outcome]:
        return score_each(self._challengers, requests)

    def forget(self) -> None:
        self._challengers.forget()

    def stop(self, timeout: float) -> None:
        pass

    def kill(self) -> None:
        pass


class ChallengerProcess:
    """Challengers scored in one long-lived child process (`spawn`: a fresh interpreter, no
    copy of the service's threads or locks) at the lowest CPU priority, which loads them from
    the registry with `load_scorer` as the service loads its champion. One request at a time
    goes through a pipe at a time, with the requests waiting: their claims as plain dicts,
    back an `Outcome` each. The child needs no database: the service keeps the scores."""

    def __init__(self, settings: Settings, *, restarts: int = CHILD_RESTARTS) -> None:
        self._settings = settings
        self._restarts = restarts
        self._deaths = 0
        self._forget = False
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Connection | None = None

    def start(self) -> None:
        """Start the child, which loads the service's model's challenger straight away (at
        its low priority), so the first sampled requests find it loaded."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve_challengers,
            args=(theirs, self._settings, logging.getLogger().getEffectiveLevel()),
            name="denialops-shadow",
            daemon=True,
        )
        self._process.start()
        theirs.close()  # the child's end is the child's: its death then ends our reads
        self._pipe = ours

    def score(self, requests: list[Request]) -> list[Outcome]:
        if self._process is None or not self._process.is_alive():
            self._start_again()
        assert self._pipe is not None
        assert self._process is not None
        forget, self._forget = self._forget, False
        try:
            self._pipe.send((requests, forget))
            while not self._pipe.poll(CHILD_POLL_SECONDS):
                if not self._process.is_alive():
                    break  # what it sent before it ended is still read; then EOFError
            reply = self._pipe.recv()
        except (OSError, EOFError):
            self._process.join(1)
            raise ChallengerError("unknown", "ChildProcessEnded") from None
        self._deaths = 0
        return reply

    def forget(self) -> None:
        self._forget = True  # sent with the next request

    def stop(self, timeout: float) -> None:
        if self._process is None or self._pipe is None:
            return
        with contextlib.suppress(OSError):
            self._pipe.send(None)
        self._process.join(timeout)
        self.kill()
        self._pipe.close()

    def kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(1)

    def _start_again(self) -> None:
        """A new child for the one that ended (counted and logged), unless too many did."""
        if self._process is not None and self._pipe is not None:
            self._deaths += 1
            log.warning(
                "the shadow scoring process ended (exit code %s): %s",
                self._process.exitcode,
                "starting it again" if self._deaths < self._restarts else "not started again",
            )
            self._pipe.close()
            self._process = self._pipe = None
        if self._deaths >= self._restarts:
            raise RunnerGaveUpError(f"its process ended {self._deaths} times in a row")
        self.start()


def _serve_challengers(pipe: Connection, settings: Settings, log_level: int) -> None:
    """The child process: scores what comes through `pipe` until None or the service ends."""
    # First, so every thread it starts (LightGBM's) is as low: nice 19, and on Linux the
    # idle class, which runs only on a core no normal-priority thread wants.
    os.nice(19)
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    logging.basicConfig(
        level=log_level, format="%(levelname)s %(name)s (shadow process): %(message)s"
    )
    challengers = Challengers(settings, load_scorer)
    challengers.get(settings.denial_model_name)
    while True:
        try:
            message = pipe.recv()
        except EOFError:  # the service is gone
            return
        if message is None:
            return
        requests, forget = message
        if forget:
            challengers.forget()
        pipe.send(score_each(challengers, requests))


class _WriteDue(enum.Enum):
    WRITE_DUE = "the scores waiting are to be written"


WRITE_DUE = _WriteDue.WRITE_DUE


@dataclass(frozen=True, slots=True)
class _Job:
    audit: AuditLog
    key_id: str
    model_name: str
    claims: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Kept:
    """A request's shadow scores, waiting to be written."""

    audit: AuditLog
    key_id: str
    scored: Scored


class ShadowScorer:
    """Scores a `sample` of the offered requests with their model's challenger (`runner`),
    keeping at most `capacity` requests waiting; one forwarding thread (`start`, `stop`)
    gives them to the runner and writes the scores.

    The forwarding thread does its work when no answer is being made (`answering`): it is
    woken when the last answer ends, not by the offer, so it takes the interpreter lock
    between answers rather than in the middle of one; `idle_patience` is how long it waits
    for such a moment before going ahead anyway.

    `scored` (claims kept), `dropped` and `failed` (requests) are read by /metrics."""

    def __init__(
        self,
        runner: ChallengerRunner,
        sample: float,
        capacity: int,
        *,
        toss: Callable[[], float] = random.random,
        idle_patience: float = IDLE_PATIENCE_SECONDS,
    ) -> None:
        self._runner = runner
        self._sample = sample
        self._capacity = capacity
        self._toss = toss
        self._idle_patience = idle_patience
        # `_idle` guards the answers being made and what waits for the forwarding thread:
        # requests (`_Job`), a `wait` (an Event, set once all before it is written) and
        # None (stop).
        self._idle = threading.Condition()
        self._answering = 0
        self._waiting: collections.deque[_Job | threading.Event | None] = collections.deque()
        self._jobs_waiting = 0
        self._worker: threading.Thread | None = None
        self._counts = threading.Lock()
        self.scored = 0
        self.dropped = 0
        self.failed = 0

    @property
    def on(self) -> bool:
        """Whether any request is sampled (no thread nor process otherwise)."""
        return self._sample > 0

    def start(self) -> None:
        """Start the forwarding thread, which starts the runner (when sampling at all)."""
        if self.on and self._worker is None:
            self._worker = threading.Thread(
                target=self._forward, name="shadow-scoring", daemon=True
            )
            self._worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Write the scores made, end the runner and the thread; requests still waiting are
        not scored (they were a sample, and the service is stopping)."""
        if self._worker is None:
            return
        with self._idle:
            for item in self._waiting:
                if isinstance(item, threading.Event):
                    item.set()  # a `wait`: nothing more will be scored
            self._waiting.clear()
            self._jobs_waiting = 0
            self._waiting.append(None)
            self._idle.notify_all()
        self._worker.join(timeout)
        if self._worker.is_alive():  # the challenger is still at a request: not waited for
            self._runner.kill()
            self._worker.join(timeout)
        self._worker = None

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the making of an answer: the forwarding thread waits for none to be."""
        counted = self.on
        if counted:
            with self._idle:
                self._answering += 1
        try:
            yield
        finally:
            if counted:
                with self._idle:
                    self._answering -= 1
                    if self._answering == 0 and self._waiting:
                        self._idle.notify_all()

    def offer(
        self, audit: AuditLog, key_id: str, model_name: str, claims: list[dict[str, Any]]
    ) -> None:
        """On the request path, after the answer is made: maybe queue the claims for the
        challenger of `model_name`, to be kept in `audit` under `key_id`. Never blocks."""
        if not self.on or self._toss() >= self._sample:
            return
        with self._idle:
            if self._jobs_waiting >= self._capacity:
                self.dropped += 1
                return
            self._jobs_waiting += 1
            self._waiting.append(_Job(audit, key_id, model_name, claims))
            if self._answering == 0:  # else woken when the answers end
                self._idle.notify_all()

    def wait(self) -> None:
        """Until every request queued so far is scored (or given up) and its scores are
        written: for tests and the benchmark."""
        if self._worker is None:
            return
        done = threading.Event()
        with self._idle:
            self._waiting.append(done)
            self._idle.notify_all()
        done.wait()

    def forget_challengers(self) -> None:
        """Look the challengers up again (the models were reloaded)."""
        self._runner.forget()

    def _forward(self) -> None:
        """The forwarding thread: requests to the runner, scores to the audit (`_write`)
        once `WRITE_EVERY_SECONDS` passed or `WRITE_AT_CLAIMS` claims' scores wait."""
        try:
            self._runner.start()
        except Exception:  # the service goes on without shadow scoring
            log.exception("shadow scoring could not start and is off")
            self._sample = 0.0
        kept: list[_Kept] = []
        claims, due = 0, 0.0
        while True:
            item = self._next(due if kept else None)
            if isinstance(item, list):
                handed = time.monotonic()
                for scored in self._score(item):
                    if not kept:
                        due = time.monotonic() + WRITE_EVERY_SECONDS
                    kept.append(scored)
                    claims += len(scored.scored.decisions)
                time.sleep(max(0.0, handed + HAND_OFF_EVERY_SECONDS - time.monotonic()))
                if claims < WRITE_AT_CLAIMS and (not kept or time.monotonic() < due):
                    continue
            self._write(kept)
            kept, claims = [], 0
            if item is None:
                self._runner.stop(timeout=5.0)
                return
            if isinstance(item, threading.Event):
                item.set()

    def _next(self, due: float | None) -> list[_Job] | threading.Event | _WriteDue | None:
        """What waits next (all the requests waiting in a row, or a `wait` or a stop), taken
        when no answer is being made (or `idle_patience` seconds after it could have been);
        `WRITE_DUE` when `due` (a monotonic time) comes first."""
        with self._idle:
            timeout = None if due is None else max(0.0, due - time.monotonic())
            if not self._idle.wait_for(lambda: self._waiting, timeout):
                return WRITE_DUE
            self._idle.wait_for(lambda: self._answering == 0, self._idle_patience)
            if not isinstance(self._waiting[0], _Job):
                return self._waiting.popleft()
            jobs: list[_Job] = []
            while self._waiting and isinstance(self._waiting[0], _Job):
                jobs.append(self._waiting.popleft())  # type: ignore[arg-type]
            self._jobs_waiting -= len(jobs)
            return jobs

    def _score(self, jobs: list[_Job]) -> list[_Kept]:
        try:
            outcomes = self._runner.score([(job.model_name, job.claims) for job in jobs])
        except RunnerGaveUpError as reason:
            self._count_failed(len(jobs))
            if self.on:
                self._sample = 0.0
                log.warning("shadow scoring is off until the service restarts: %s", reason)
            return []
        except ChallengerError as failure:
            outcomes = [failure] * len(jobs)
        except Exception as error:  # the answers went out already; these are comparisons
            outcomes = [ChallengerError("unknown", type(error).__name__)] * len(jobs)
        kept: list[_Kept] = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, Scored):
                kept.append(_Kept(job.audit, job.key_id, outcome))
            elif isinstance(outcome, ChallengerError):
                self._count_failed(1)
                log.warning(
                    "shadow scoring of %d claim(s) with challenger %s version %s failed: %s",
                    len(job.claims),
                    job.model_name,
                    outcome.version,
                    outcome.kind,
                )
        return kept

    def _write(self, waiting: list[_Kept]) -> None:
        """The scores in the audit, one write per tenant, key and version, each made when no
        answer is being made (or after `idle_patience` seconds)."""
        together: dict[tuple[AuditLog, str, str], list[_Kept]] = {}
        for kept in waiting:
            together.setdefault((kept.audit, kept.key_id, kept.scored.version), []).append(kept)
        for (audit, key_id, version), requests in together.items():
            decisions = [d for kept in requests for d in kept.scored.decisions]
            with self._idle:
                self._idle.wait_for(lambda: self._answering == 0, self._idle_patience)
            try:
                audit.record(key_id, version, decisions, role=SHADOW)
            except Exception as error:  # the service goes on; these were comparisons
                self._count_failed(len(requests))
                log.warning(
                    "keeping %d shadow score(s) of version %s failed: %s",
                    len(decisions),
                    version,
                    type(error).__name__,
                )
                continue
            with self._counts:
                self.scored += len(decisions)

    def _count_failed(self, requests: int) -> None:
        with self._counts:
            self.failed += requests
