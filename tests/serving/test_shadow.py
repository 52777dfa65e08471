"""Shadow scoring: with a challenger registered, sampled requests are scored again by it off
the request path (in a child process of its own in the service) and kept as `shadow`, written
when no answer is being made; the answer is the champion's whatever the challenger does
(`serving/shadow.py`)."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from model_bundle.registered import ModelUnavailableError, resolve_version
from serving.api.app import create_app
from serving.api.schemas import ClaimIn
from serving.audit import AuditLog
from serving.scorer import Scorer
from serving.shadow import InProcess, RunnerGaveUpError, ShadowScorer
from settings import Settings
from storage.schema import SCORING_AUDIT
from tests.drift_worlds import register_champion
from tests.serving.conftest import Registry, auth

SCORE = "/v1/claims/score"
SECRET = "PATIENT-DOE-JANE"
"""What a failing challenger's error says: it must not reach the log."""


class _Failing(Scorer):
    def score_records(self, claims):  # noqa: ARG002 (Scorer's signature)
        raise RuntimeError(f"cannot score {SECRET}")


@contextmanager
def _service(
    settings: Settings, bundle, registry: Registry, challenger: str | None
) -> Iterator[TestClient]:
    """The service, every request sampled, over `registry`: the champion scores with the test
    thresholds, a `challenger` that is `ok` with lower ones (other bands, same risks), or
    that fails to `load` or to `score`."""

    def loader(chosen: Settings) -> Scorer:
        _, version = resolve_version(chosen.model_uri, chosen.resolved_tracking_uri())
        registry.loads[chosen.model_uri] += 1
        if not chosen.model_uri.endswith("@challenger"):
            return Scorer(bundle, version, 0.15, 0.5)
        if challenger == "load":
            raise ModelUnavailableError(f"cannot load {chosen.model_uri}: artifact missing")
        return (_Failing if challenger == "score" else Scorer)(bundle, version, 0.01, 0.02)

    if not registry.client.search_registered_models(filter_string="name = 'denial-risk'"):
        registry.champion("denial-risk")
    if challenger is not None:
        registry.challenger("denial-risk")
    shadowed = settings.model_copy(update={"shadow_sample": 1.0})
    with TestClient(create_app(shadowed, loader=loader)) as client:
        yield client


def _kept(client: TestClient, role: str) -> list[tuple]:
    client.app.state.shadow.wait()
    audit = client.app.state.database.scope()
    query = sa.select(
        SCORING_AUDIT.c.key_id,
        SCORING_AUDIT.c.claim_id,
        SCORING_AUDIT.c.model_version,
        SCORING_AUDIT.c.band,
    ).where(SCORING_AUDIT.c.role == role)
    with audit.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query.order_by(SCORING_AUDIT.c.id))]


def _shadow_metrics(client: TestClient) -> dict[str, float]:
    text = client.get("/metrics").text
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("denialops_shadow_")
    }


def test_a_sampled_request_is_answered_by_the_champion_and_kept_scored_by_the_challenger(
    settings: Settings, bundle, registry: Registry, pending
) -> None:
    with _service(settings, bundle, registry, "ok") as client:
        answer = client.post(SCORE, json={"claims": pending[:3]}, headers=auth("scrubber"))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["model_version"] == "1"
        claims = [result["claim_id"] for result in body["results"]]
        bands = [result["band"] for result in body["results"]]
        champion = _kept(client, "champion")
        key = champion[0][0]  # the scrubber key's id
        assert champion == [
            (key, claim, "1", band) for claim, band in zip(claims, bands, strict=True)
        ]
        shadow = _kept(client, "shadow")
        assert [row[:3] for row in shadow] == [(key, claim, "2") for claim in claims]
        risks = [result["p_denial"] for result in body["results"]]
        assert [band for *_, band in shadow] == [
            "pass" if p < 0.01 else "review" if p < 0.02 else "hold" for p in risks
        ], "the challenger's own thresholds: its scores, not the champion's copied"
        client.post(SCORE, json={"claims": pending[3:5]}, headers=auth("scrubber"))
        assert len(_kept(client, "shadow")) == 5
        assert _shadow_metrics(client) == {
            "denialops_shadow_scored_claims_total": 5.0,
            "denialops_shadow_dropped_requests_total": 0.0,
            "denialops_shadow_failed_requests_total": 0.0,
        }
        # Loaded once, kept by version, looked up again only after a while.
        assert registry.loads["models:/denial-risk@challenger"] == 1
        kept = AuditLog(client.app.state.database).scores(role="shadow")
        assert set(kept["model_version"]) == {"2"}


@pytest.mark.parametrize("failing", ["load", "score"])
def test_a_failing_challenger_changes_no_answer_and_keeps_nothing(
    settings: Settings, bundle, registry: Registry, pending, failing: str, caplog
) -> None:
    with _service(settings, bundle, registry, None) as client:
        alone = client.post(SCORE, json={"claims": pending[:3]}, headers=auth("scrubber"))
    with (
        _service(settings, bundle, registry, failing) as client,
        caplog.at_level(logging.WARNING, logger="serving.shadow"),
    ):
        answer = client.post(SCORE, json={"claims": pending[:3]}, headers=auth("scrubber"))
        assert answer.status_code == 200, answer.text
        assert answer.json() == alone.json()
        assert _kept(client, "shadow") == []
        assert len(_kept(client, "champion")) == 6  # the three answers of each service
        failed = _shadow_metrics(client)["denialops_shadow_failed_requests_total"]
    assert failed == (1.0 if failing == "score" else 0.0)
    assert "challenger" in caplog.text
    assert SECRET not in caplog.text
    assert not any(claim["claim_id"] in caplog.text for claim in pending[:3])


def test_without_a_challenger_nothing_is_shadowed_and_nothing_loaded(
    settings: Settings, bundle, registry: Registry, pending
) -> None:
    with _service(settings, bundle, registry, None) as client:
        answer = client.post(SCORE, json={"claims": pending[:2]}, headers=auth("scrubber"))
        assert answer.status_code == 200
        assert _kept(client, "shadow") == []
    assert registry.loads == {"models:/denial-risk@champion": 1}


class _Held:
    """A challenger lookup that waits until the test lets it go."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.go = threading.Event()

    def get(self, _model_name: str) -> Scorer:
        self.go.wait(10)
        return self.scorer

    def forget(self) -> None:
        pass


def test_a_full_queue_drops_and_counts_and_the_offer_never_waits(bundle, pending, database) -> None:
    claims = [ClaimIn.model_validate(claim).model_dump() for claim in pending[:4]]
    held = _Held(Scorer(bundle, "9", 0.15, 0.5))
    shadow = ShadowScorer(InProcess(held), 1.0, capacity=2)  # type: ignore[arg-type]
    audit = AuditLog(database)
    for start in range(4):  # no worker yet: two wait, two are dropped
        shadow.offer(audit, "k", "denial-risk", claims[start : start + 1])
    assert (shadow.dropped, shadow.scored) == (2, 0)
    shadow.start()
    held.go.set()
    shadow.wait()
    shadow.stop()
    assert shadow.scored == 2
    assert sorted(audit.scores(role="shadow")["claim_id"]) == sorted(
        claim["claim_id"] for claim in claims[:2]
    )


def test_a_sample_takes_its_share_of_requests(bundle, pending, database) -> None:
    claims = [ClaimIn.model_validate(claim).model_dump() for claim in pending[:5]]
    tosses = iter([0.1, 0.5, 0.29, 0.3, 0.9])
    held = _Held(Scorer(bundle, "9", 0.15, 0.5))
    held.go.set()
    shadow = ShadowScorer(InProcess(held), 0.3, 8, toss=tosses.__next__)  # type: ignore[arg-type]
    audit = AuditLog(database)
    for claim in claims:
        shadow.offer(audit, "k", "denial-risk", [claim])
    shadow.start()
    shadow.wait()
    shadow.stop()
    shadowed = audit.scores(role="shadow")["claim_id"]
    assert sorted(shadowed) == sorted(claims[i]["claim_id"] for i in (0, 2))  # tosses under 0.3


class _Counting(InProcess):
    """A runner noting how many requests each hand-off carried."""

    def __init__(self, challengers) -> None:
        super().__init__(challengers)
        self.handed: list[int] = []

    def score(self, requests):
        self.handed.append(len(requests))
        return super().score(requests)


def test_scores_are_made_and_written_together_and_only_when_no_answer_is_being_made(
    bundle, pending, database
) -> None:
    claims = [ClaimIn.model_validate(claim).model_dump() for claim in pending[:3]]
    held = _Held(Scorer(bundle, "9", 0.15, 0.5))
    held.go.set()
    runner = _Counting(held)
    shadow = ShadowScorer(runner, 1.0, 8, idle_patience=30.0)
    audit = AuditLog(database)
    shadow.start()
    with shadow.answering():
        for claim in claims:
            shadow.offer(audit, "k", "denial-risk", [claim])
        waiting = threading.Thread(target=shadow.wait)
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive(), "written while an answer was being made"
        assert audit.scores(role="shadow").empty
    waiting.join(10)
    assert not waiting.is_alive()
    shadow.stop()
    kept = audit.scores(role="shadow")
    assert sorted(kept["claim_id"]) == sorted(claim["claim_id"] for claim in claims)
    assert kept["at"].nunique() == 1, "one write for the three requests"
    assert runner.handed == [3], "the three requests handed to the challenger at once"
    assert shadow.scored == 3


def test_a_service_never_idle_still_gets_its_shadow_scores_written(
    bundle, pending, database
) -> None:
    claim = ClaimIn.model_validate(pending[0]).model_dump()
    held = _Held(Scorer(bundle, "9", 0.15, 0.5))
    held.go.set()
    shadow = ShadowScorer(InProcess(held), 1.0, 8, idle_patience=0.1)  # type: ignore[arg-type]
    audit = AuditLog(database)
    shadow.start()
    with shadow.answering():
        shadow.offer(audit, "k", "denial-risk", [claim])
        shadow.wait()
        assert list(audit.scores(role="shadow")["claim_id"]) == [claim["claim_id"]]
    shadow.stop()


class _GivingUp(InProcess):
    """A runner whose process keeps ending."""

    def score(self, requests):  # noqa: ARG002 (the runner's signature)
        raise RunnerGaveUpError("its process ended 3 times in a row")


def test_shadow_scoring_turns_itself_off_when_its_runner_gives_up(
    bundle, pending, database, caplog
) -> None:
    claim = ClaimIn.model_validate(pending[0]).model_dump()
    held = _Held(Scorer(bundle, "9", 0.15, 0.5))
    shadow = ShadowScorer(_GivingUp(held), 1.0, 8)  # type: ignore[arg-type]
    audit = AuditLog(database)
    shadow.start()
    with caplog.at_level(logging.WARNING, logger="serving.shadow"):
        shadow.offer(audit, "k", "denial-risk", [claim])
        shadow.wait()
    assert (shadow.on, shadow.failed) == (False, 1)
    assert "shadow scoring is off" in caplog.text
    shadow.offer(audit, "k", "denial-risk", [claim])  # no longer sampled
    shadow.wait()
    shadow.stop()
    assert (shadow.failed, shadow.dropped) == (1, 0)
    assert audit.scores(role="shadow").empty


def _shadow_process(other_than: int | None = None) -> multiprocessing.process.BaseProcess:
    """The service's shadow scoring process (a new one, when `other_than` is the last's pid)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [p for p in multiprocessing.active_children() if p.name == "denialops-shadow"]
        if found and found[0].pid != other_than:
            (process,) = found
            return process
        time.sleep(0.01)
    raise AssertionError("no shadow scoring process")


@pytest.mark.usefixtures("registry")  # the registry's MLflow store, in MLFLOW_TRACKING_URI
def test_the_challenger_scores_in_a_child_process_that_is_started_again_when_it_ends(
    settings: Settings, bundle, pending, tmp_path, monkeypatch, caplog
) -> None:
    """The service as deployed: champion and challenger (the same bundle, two versions)
    logged and loaded from the registry, the challenger in the child process."""
    monkeypatch.chdir(tmp_path)  # MLflow's artifacts
    tracking_uri = settings.resolved_tracking_uri()
    register_champion(bundle, tracking_uri, "denial-risk")
    register_champion(bundle, tracking_uri, "denial-risk", alias="challenger")
    shadowed = settings.model_copy(update={"shadow_sample": 1.0})
    with (
        TestClient(create_app(shadowed)) as client,
        caplog.at_level(logging.WARNING, logger="serving.shadow"),
    ):
        answer = client.post(SCORE, json={"claims": pending[:3]}, headers=auth("scrubber"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] == "1"
        champion = _kept(client, "champion")
        shadow = _kept(client, "shadow")
        assert [row[:3] for row in shadow] == [(key, claim, "2") for key, claim, *_ in champion]
        assert [row[3] for row in shadow] == [row[3] for row in champion], "the same model"
        # Ended between two requests: started again for the next one; ended at that one
        # (the new process still loading the challenger): that request is not scored.
        first = _shadow_process()
        first.kill()
        first.join(10)
        ending = client.post(SCORE, json={"claims": pending[3:4]}, headers=auth("scrubber"))
        assert (ending.status_code, ending.json()["model_version"]) == (200, "1")
        _shadow_process(other_than=first.pid).kill()
        client.post(SCORE, json={"claims": pending[4:6]}, headers=auth("scrubber"))
        scored = [claim for _, claim, *_ in _kept(client, "shadow")]
        assert scored[3:] == [claim["claim_id"] for claim in pending[4:6]]
        assert "ended (exit code -9): starting it again" in caplog.text
        metrics = _shadow_metrics(client)
        started = time.monotonic()
    assert metrics == {
        "denialops_shadow_scored_claims_total": 5.0,
        "denialops_shadow_dropped_requests_total": 0.0,
        "denialops_shadow_failed_requests_total": 1.0,
    }
    assert time.monotonic() - started < 10, "the process ended with the service"
    assert not [p for p in multiprocessing.active_children() if p.name == "denialops-shadow"]
