"""The billing leadership dashboard in Chromium: a lead opens it from the navigation, the
charts are drawn (under the pages' CSP, without a console error), the period changes by
URL, and the numbers under a chart are the API's."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from analytics.kpis import format_value as figure
from serving.audit import Decision
from tests.serving.web.conftest import Site, screenshot, sign_in

CHARTS = (
    "Denial trend",
    "First-pass yield",
    "Top denial reasons (CARC)",
    "Backlog aging (A/R)",
    "Biller throughput",
    "What the scrubber caught",
)


def some_work(site: Site) -> None:
    """A biller resolves an item and a batch of claims is checked: throughput and the
    scrubber have something to show."""
    stores = site.app.state.tenant_stores("default")
    item = stores.queue.next("ben")
    stores.queue.resolve(item.claim_id, "ben", "appeal", 30)
    stores.audit.record("lena", "7", [Decision("N1", 0.1, "pass"), Decision("N2", 0.4, "review")])


def test_a_lead_reads_the_dashboard_and_changes_the_period(page: Page, site: Site) -> None:
    some_work(site)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    sign_in(page, site, "lena", then="/queue")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Billing leadership"
    ).click()
    page.wait_for_url(re.compile(r"/dashboards/leadership$"))
    expect(page.get_by_role("heading", name="Billing leadership", level=1)).to_be_visible()
    expect(page.get_by_label("Months shown")).to_have_value("12")
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('canvas')).map(c => !!Chart.getChart(c))"
    )
    assert drawn == [True] * len(CHARTS)
    for title in CHARTS:
        expect(page.get_by_role("img", name=f"{title}: chart")).to_be_visible()
    screenshot(page, "leadership-dashboard")

    page.get_by_label("Months shown").select_option("6")
    page.wait_for_url(re.compile(r"months=6"))
    expect(page.get_by_label("Months shown")).to_have_value("6")
    trend = page.get_by_role("region", name="Denial trend")
    trend.get_by_text("Show the numbers").click()
    table = trend.get_by_role("table", name="Denial trend")
    expect(table).to_be_visible()
    months = table.locator("tbody th").all_inner_texts()
    api = page.request.get(f"{site.url}/v1/kpis?by=month").json()["rows"]
    assert months == [row["month"] for row in api][-len(months) :]
    assert 0 < len(months) <= 6
    latest = api[-1]
    row = table.get_by_role("row", name=re.compile(rf"^{latest['month']}"))
    expect(row.get_by_role("cell").first).to_have_text(figure(latest["denial_rate"], "fraction"))
    screenshot(page, "leadership-dashboard-numbers")
    assert problems == []


def test_the_page_is_quick_with_the_kpis_kept(page: Page, site: Site) -> None:
    sign_in(page, site, "lena", then="/dashboards/leadership")
    url = f"{site.url}/dashboards/leadership?months=24"
    page.request.get(url, headers={"Accept": "text/html"})  # the KPI tables are kept now
    started = time.perf_counter()
    answer = page.request.get(url, headers={"Accept": "text/html"})
    assert answer.status == 200
    assert time.perf_counter() - started < 1.0


def test_a_biller_has_no_link_and_is_refused(page: Page, site: Site) -> None:
    sign_in(page, site, "ana")
    expect(page.get_by_role("link", name="Billing leadership")).to_have_count(0)
    page.goto(f"{site.url}/dashboards/leadership")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
