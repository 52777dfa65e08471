"""The Model health page's routes: who may see it, that every number it shows is the
monitor's on the same data (`monitoring.monitor.monitor` with the tenant's champion and its
kept scores), and that the monitor runs once per version of the data and of the model."""

from __future__ import annotations

import dataclasses
import html
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from analytics.kpis import format_value as figure
from data_contracts.reader import read_data_dir
from features.catalog import MOVES_WITH_TIME
from monitoring.monitor import MonitorResult, monitor
from serving import model_health as service_module
from serving.api.app import create_app
from serving.audit import Decision
from serving.loading import ModelUnavailableError, TenantScorer
from settings import Settings
from storage.schema import SHADOW
from synthetic import generate, write_synthetic
from tests.serving.conftest import KEYS, scorer_for
from tests.serving.web.test_dashboards import chart_data, table_rows

DS_KEY = "ds-key"
PAGE, CARDS = "/model-health", "/model-health/cards"
KEPT = 5
"""Claims of the period given a kept score (the scoring audit's) before the page is read."""


def as_page(role: str) -> dict[str, str]:
    key = DS_KEY if role == "data_scientist" else KEYS[role]
    return {"Authorization": f"Bearer {key}", "Accept": "text/html"}


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("health-data")
    write_synthetic(generate(3_000, seed=5), folder)
    return folder


@pytest.fixture
def health_site(settings: Settings, bundle, practice: Path):
    """The service over the practice, with alerts that fire on its few recent claims."""
    served = settings.model_copy(
        update={
            "api_keys": f"{settings.api_keys},{DS_KEY}:data_scientist",
            "queue_data_dir": practice,
            "monitor_min_claims": 10,
        }
    )
    with TestClient(create_app(served, loader=lambda _s: scorer_for(bundle))) as client:
        yield client


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model versions the service ran the monitor with, one entry a run."""
    ran: list[str] = []
    real = service_module.monitor

    def counted(data, bundle, version, *args, **kwargs) -> MonitorResult:
        ran.append(version)
        return real(data, bundle, version, *args, **kwargs)

    monkeypatch.setattr(service_module, "monitor", counted)
    return ran


@pytest.mark.parametrize("role", ["data_scientist", "admin"])
def test_data_scientists_and_admins_see_the_page(health_site: TestClient, role: str) -> None:
    answer = health_site.get(PAGE, headers=as_page(role))
    assert answer.status_code == 200
    assert "<h1>Model health</h1>" in answer.text
    assert '<a href="/model-health" aria-current="page">Model health</a>' in answer.text
    assert f'hx-get="{CARDS}"' in answer.text


@pytest.mark.parametrize("role", ["biller", "revops", "scrubber"])
def test_others_are_refused_and_get_no_link(health_site: TestClient, role: str) -> None:
    for path in (PAGE, CARDS):
        answer = health_site.get(path, headers=as_page(role))
        assert answer.status_code == 403, path
        assert 'href="/model-health"' not in answer.text  # the refusal page's navigation


def test_a_data_scientist_lands_on_it(health_site: TestClient) -> None:
    answer = health_site.get("/", headers=as_page("data_scientist"), follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, PAGE)


def known(column: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else v for v in column.tolist()]


def alert_rows(page: str) -> list[list[str]]:
    table = re.search(r'<table aria-label="Alerts">(.*?)</table>', page, re.S)
    assert table, "no alerts table"
    rows = re.findall(r"<tr><td>(.*?)</tr>", table.group(1))
    return [[html.unescape(c) for c in re.findall(r"(?:<td[^>]*>)?(.*?)</td>", r)] for r in rows]


def test_the_numbers_are_the_monitors(health_site: TestClient, bundle, practice: Path) -> None:
    state = health_site.app.state
    data = read_data_dir(practice)
    audit = state.tenant_stores("default").audit
    latest = data.claims.sort_values("submission_date")["claim_id"].tail(KEPT).tolist()
    adjudicated = data.claims["claim_id"].isin(data.remits["claim_id"])
    judged = data.claims[adjudicated].sort_values("submission_date")["claim_id"].tail(60)
    audit.record("test", "7", [Decision(c, 0.9, "hold", "AUTH") for c in latest])
    audit.record("test", "9", [Decision(c, 0.2, "pass") for c in judged], role=SHADOW)
    page = health_site.get(CARDS, headers=as_page("data_scientist")).text
    kept, shadow = audit.scores(), audit.scores(role=SHADOW)
    expected = monitor(data, bundle, "7", state.settings, kept=kept, shadow=shadow)

    assert expected.alerts, "the settings make alerts fire: the table must show them"
    assert alert_rows(page) == [
        [a.metric, a.segment, f"{a.value:g}", f"{a.threshold:g}", a.message]
        for a in expected.alerts
    ]
    weeks = chart_data(page, "by-week")
    assert weeks["labels"] == expected.by_week["week"].tolist()
    drawn = {s["label"]: s["values"] for s in weeks["series"]}
    assert drawn == {
        "ROC-AUC (realized)": known(expected.by_week["roc_auc"]),
        "ROC-AUC (estimated)": known(expected.by_week["estimated_roc_auc"]),
        "ECE (realized)": known(expected.by_week["ece"]),
    }
    shown = table_rows(page, "ROC-AUC and ECE by week")
    for row in expected.by_week.itertuples():
        assert shown[row.week][:3] == [
            figure(row.roc_auc, "decimal"),
            figure(row.estimated_roc_auc, "decimal"),
            figure(row.ece, "decimal"),
        ]
    drift = chart_data(page, "drift")
    top = expected.drift.head(10)
    assert drift["labels"] == top["feature"].tolist()
    assert drift["horizontal"]
    assert drift["stacked"]
    alerting, calendar = drift["series"]
    assert calendar["label"] == "PSI, moves with the calendar, never alerts"
    for feature, psi, one, other in zip(
        top["feature"], top["psi"], alerting["values"], calendar["values"], strict=True
    ):
        assert (one, other) == ((None, psi) if feature in MOVES_WITH_TIME else (psi, None))
    assert any(f in MOVES_WITH_TIME for f in top["feature"])  # both series are shown
    assert not all(f in MOVES_WITH_TIME for f in top["feature"])
    payers = chart_data(page, "by-payer")
    assert payers["labels"] == expected.by_payer["payer_id"].tolist()
    assert payers["series"][0]["values"] == known(expected.by_payer["mean_prediction"])
    assert payers["series"][1]["values"] == known(expected.by_payer["denial_rate"])
    versus = re.search(
        r'<table aria-label="Champion beside the shadow challenger">(.*?)</table>', page, re.S
    )
    assert versus, "no champion beside the challenger"
    shown = dict(
        re.findall(r'<tr><th scope="row">(\w+)</th><td>[^<]*</td>(.*?)</tr>', versus.group(1))
    )
    assert set(shown) == {"champion", "challenger"}
    for row in expected.versus.itertuples():
        assert f'<td class="num">{figure(row.roc_auc, "decimal")}</td>' in shown[row.model]
        assert f'<td class="num">{row.claims}</td>' in shown[row.model]
    scored = expected.scored
    assert f"{scored.since} to {scored.until}" in page
    assert f"<dt>Scores kept</dt><dd>{KEPT}</dd>" in page
    assert f"<dt>Scored now</dt><dd>{len(scored.claims) - KEPT:,}</dd>" in page
    assert f"<dt>Pending claims</dt><dd>{len(scored.pending):,}</dd>" in page


def test_two_views_run_the_monitor_once(health_site: TestClient, runs: list[str]) -> None:
    for _ in range(2):
        answer = health_site.get(CARDS, headers=as_page("data_scientist"))
        assert answer.status_code == 200
        assert 'id="data-by-week"' in answer.text
    assert runs == ["7"]


def test_a_new_model_or_new_data_runs_it_again(
    health_site: TestClient, bundle, practice: Path, runs: list[str]
) -> None:
    state = health_site.app.state
    audit = state.tenant_stores("default").audit

    def champion(version: str) -> TenantScorer:
        return TenantScorer(scorer_for(bundle, version), "denial-risk", "default", False)

    first = state.monitor.result("default", state.settings, champion("7"), audit)
    assert state.monitor.result("default", state.settings, champion("7"), audit) is first
    state.monitor.result("default", state.settings, champion("8"), audit)
    assert runs == ["7", "8"]
    claims = practice / "claims.csv"
    stat = claims.stat()  # the same rows in a file written later: a new version of the data
    os.utime(claims, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    state.monitor.result("default", state.settings, champion("8"), audit)
    assert runs == ["7", "8", "8"]


def test_a_champion_without_a_profile_is_judged_without_drift(
    settings: Settings, bundle, practice: Path
) -> None:
    served = settings.model_copy(
        update={
            "api_keys": f"{settings.api_keys},{DS_KEY}:data_scientist",
            "queue_data_dir": practice,
        }
    )
    unprofiled = dataclasses.replace(bundle, profile=None)
    with TestClient(create_app(served, loader=lambda _s: scorer_for(unprofiled))) as client:
        answer = client.get(CARDS, headers=as_page("data_scientist"))
    assert answer.status_code == 200
    notes = re.findall(r'<p class="warning">(.*?)</p>', answer.text)
    assert notes == [
        "the champion&#39;s bundle has no reference profile (trained before one was kept): "
        "retrain it to see drift"
    ]
    assert 'id="data-drift"' not in answer.text  # no chart of nothing
    assert 'id="data-by-week"' in answer.text


def test_without_data_the_cards_say_why(settings: Settings, bundle) -> None:
    served = settings.model_copy(
        update={"api_keys": f"{settings.api_keys},{DS_KEY}:data_scientist"}
    )
    with TestClient(create_app(served, loader=lambda _s: scorer_for(bundle))) as client:
        answer = client.get(CARDS, headers=as_page("data_scientist"))
    assert answer.status_code == 200
    assert 'role="alert">No model health: tenant &#39;default&#39; has no data directory' in (
        answer.text
    )


def test_without_a_model_the_cards_say_why(settings: Settings, practice: Path) -> None:
    served = settings.model_copy(
        update={
            "api_keys": f"{settings.api_keys},{DS_KEY}:data_scientist",
            "queue_data_dir": practice,
        }
    )

    def no_model(_settings: Settings):
        raise ModelUnavailableError("nothing registered")

    with TestClient(create_app(served, loader=no_model)) as client:
        answer = client.get(CARDS, headers=as_page("data_scientist"))
    assert answer.status_code == 200
    assert "No model health: no model loaded: nothing registered" in answer.text
