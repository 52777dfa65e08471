"""The billing leadership dashboard's route: who may see it, where `/` sends whom, and that
every number it shows is the services' (the KPI service as GET /v1/kpis gives it, the
queue's counts and throughput, the scoring audit), on the hand-made book."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from analytics.kpis import format_value as figure
from serving.api.app import create_app
from serving.audit import Decision
from serving.web.dashboards import first_day, last_months
from settings import Settings
from tests.analytics.book import write_book
from tests.serving.conftest import KEYS
from tests.serving.test_queue_routes import ranked_items

LEAD_KEY = "lead-key"
PAGE = "/dashboards/leadership"


def as_page(role: str) -> dict[str, str]:
    """A browser's request with a key of `role` (pages take keys, as the API does)."""
    key = LEAD_KEY if role == "billing_lead" else KEYS[role]
    return {"Authorization": f"Bearer {key}", "Accept": "text/html"}


@pytest.fixture
def book_site(settings: Settings, tmp_path: Path):
    served = settings.model_copy(
        update={
            "api_keys": f"{settings.api_keys},{LEAD_KEY}:billing_lead",
            "queue_data_dir": write_book(tmp_path / "book"),
        }
    )
    with TestClient(create_app(served, loader=lambda _s: None)) as client:
        yield client


def chart_data(html: str, chart: str) -> dict:
    """The JSON a chart is drawn from."""
    found = re.search(rf'<script type="application/json" id="data-{chart}">(.*?)</script>', html)
    assert found, f"no data for chart {chart}"
    return json.loads(found.group(1))


def table_rows(html: str, title: str) -> dict[str, list[str]]:
    """A chart's table of numbers: each row's heading and its cells' text."""
    table = re.search(rf'<table aria-label="{re.escape(title)}">(.*?)</table>', html, re.S)
    assert table, f"no table {title}"
    rows = re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', table.group(1))
    return {head: re.findall(r'<td class="num">(.*?)</td>', cells) for head, cells in rows}


@pytest.mark.parametrize("role", ["billing_lead", "revops", "admin"])
def test_leads_revops_and_admins_see_the_dashboard(book_site: TestClient, role: str) -> None:
    answer = book_site.get(PAGE, headers=as_page(role))
    assert answer.status_code == 200
    assert "<h1>Billing leadership</h1>" in answer.text
    assert '<a href="/dashboards/leadership" aria-current="page">Billing leadership</a>' in (
        answer.text
    )


@pytest.mark.parametrize("role", ["biller", "scrubber"])
def test_others_are_refused_with_a_page_and_no_link(book_site: TestClient, role: str) -> None:
    answer = book_site.get(PAGE, headers=as_page(role))
    assert answer.status_code == 403
    assert "Not allowed" in answer.text
    assert "Billing leadership" not in book_site.get("/queue", headers=as_page(role)).text


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("billing_lead", PAGE),
        ("revops", "/dashboards/revops"),
        ("biller", "/queue"),
        ("admin", "/queue"),
    ],
)
def test_home_is_each_roles_first_page(book_site: TestClient, role: str, home: str) -> None:
    answer = book_site.get("/", headers=as_page(role), follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, home)


def test_the_kpis_are_the_services_and_the_apis(book_site: TestClient) -> None:
    html = book_site.get(PAGE, headers=as_page("billing_lead")).text
    state = book_site.app.state
    cost = state.tenant_stores("default").policies.current().biller_hour_cost

    def table(by: str | None) -> pd.DataFrame:
        return state.kpis.table("default", state.settings, by, None, cost)

    by_month = table("month")
    trend = chart_data(html, "denial-trend")
    assert trend["labels"] == by_month["month"].tolist() == ["2026-02", "2026-04", "2026-06"]
    assert trend["series"][0]["values"] == by_month["denial_rate"].tolist()
    assert trend["series"][1]["values"] == by_month["denied_dollars"].tolist()
    fpy = chart_data(html, "first-pass-yield")["series"][0]["values"]
    assert fpy == by_month["first_pass_yield"].tolist()
    api = book_site.get("/v1/kpis", params={"by": "month"}, headers=as_page("revops")).json()
    shown = table_rows(html, "Denial trend")
    for row in api["rows"]:
        assert shown[row["month"]][0] == figure(row["denial_rate"], "fraction")
        assert shown[row["month"]][1] == figure(row["denied_dollars"], "dollars")
    assert shown["2026-06"][:3] == ["50.0%", "$200", "2"]
    carcs = table("carc").set_index("carc")
    top = chart_data(html, "top-carcs")
    assert top["series"][0]["values"] == carcs.loc[top["labels"], "denied_claims"].tolist()
    whole = table(None).iloc[0]
    aging = chart_data(html, "backlog-aging")["series"][0]["values"]
    assert aging == [whole[f"ar_{b}"] for b in ("0_30", "31_60", "61_90", "91_120", "120_plus")]
    assert f"<dt>Denial rate</dt><dd>{figure(whole['denial_rate'], 'fraction')}</dd>" in html


def test_queue_deadlines_throughput_and_the_scrubber_are_the_stores(book_site: TestClient) -> None:
    stores = book_site.app.state.tenant_stores("default")
    items = ranked_items(4)
    items.loc[2:, "deadline"] = pd.Timestamp("2020-01-01")  # the two left open: past due
    stores.queue.load(items, actor="test", policy_version="1")
    for minutes, recovered in ((40, 150.0), (20, None)):
        item = stores.queue.next("ana")
        stores.queue.resolve(item.claim_id, "ana", "appeal", minutes)
        if recovered is not None:
            today = stores.queue.now().date()
            stores.queue.record_outcome(item.claim_id, "ana", "overturned", recovered, today)
    stores.audit.record(
        "k1",
        "7",
        [Decision("A", 0.1, "pass"), Decision("B", 0.3, "review"), Decision("C", 0.8, "hold")],
    )
    html = book_site.get(PAGE, params={"months": "6"}, headers=as_page("revops")).text
    assert "<dt>Past deadline</dt><dd>2</dd>" in html
    assert "<dt>Open items</dt><dd>2</dd>" in html
    since = first_day(stores.queue.now().date(), 6)
    (ana,) = stores.queue.throughput(since)
    assert table_rows(html, "Biller throughput") == {"ana": ["2.0", "$150", "2", "1.0", "$150"]}
    assert (ana.resolved_per_hour, ana.recovered_per_hour) == (2.0, 150.0)
    (week,) = stores.audit.weekly_checks(since)
    assert table_rows(html, "What the scrubber caught") == {
        f"{week.week:%Y-%m-%d}": ["3", "2", "1", "1"]
    }


def test_the_period_is_in_the_url_and_a_bad_one_is_named(book_site: TestClient) -> None:
    html = book_site.get(PAGE, params={"months": "24"}, headers=as_page("revops")).text
    assert '<option value="24" selected>' in html
    html = book_site.get(PAGE, params={"months": "7"}, headers=as_page("revops")).text
    assert "months &#39;7&#39; is not one of 6, 12, 24: showing 12" in html
    assert '<option value="12" selected>' in html


def test_the_months_shown_end_with_the_datas_latest() -> None:
    table = pd.DataFrame({"month": ["2024-11", "2025-06", "2025-07", "2025-12"], "x": 1})
    assert last_months(table, 6)["month"].tolist() == ["2025-07", "2025-12"]
    assert last_months(table, 12)["month"].tolist() == ["2025-06", "2025-07", "2025-12"]
    assert first_day(date(2026, 12, 2), 6) == date(2026, 7, 1)
    assert first_day(date(2026, 3, 31), 12) == date(2025, 4, 1)


def test_without_data_the_queue_cards_still_show(settings: Settings) -> None:
    served = settings.model_copy(
        update={"api_keys": f"{settings.api_keys},{LEAD_KEY}:billing_lead"}
    )
    with TestClient(create_app(served, loader=lambda _s: None)) as client:
        answer = client.get(PAGE, headers=as_page("billing_lead"))
    assert answer.status_code == 200
    assert "No KPIs:" in answer.text
    assert "DENIALOPS_QUEUE_DATA_DIR" in answer.text
    assert "Queue deadlines" in answer.text
    assert "Denial trend" not in answer.text
