"""The Model health page in Chromium: a data scientist signs in and lands on it, the
monitor's cards arrive (htmx), the alerts table and the charts are there and drawn under the
pages' CSP without a console error, and the page fits the screen's width."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from serving.audit import Decision
from serving.loading import TenantScorer
from storage.schema import SHADOW
from tests.serving.web.conftest import PASSWORD, Site, screenshot, sign_in

CHARTS = (
    "ROC-AUC and ECE by week",
    "Top 10 drifting features",
    "Predicted and observed denial rate by payer",
)


def test_a_data_scientist_reads_the_models_health(page: Page, site: Site, web_data) -> None:
    _, data = web_data
    paid = data.claims[data.claims["claim_id"].isin(data.remits["claim_id"])]
    shadowed = paid.sort_values("submission_date")["claim_id"].tail(300)
    site.app.state.tenant_stores("default").audit.record(
        "test", "8", [Decision(c, 0.2, "pass") for c in shadowed], role=SHADOW
    )
    if "dana" not in {user.username for user in site.app.state.people.list_users("default")}:
        site.app.state.people.add("default", "dana", "data_scientist", PASSWORD, by="test")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, site, "dana", then="/")
    page.wait_for_url(re.compile(r"/model-health$"))
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Model health")
    expect(nav).to_have_attribute("aria-current", "page")
    links = page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
    assert links == ["Model health"]  # not the queue's pages, which would refuse them
    expect(page.get_by_role("heading", name="Model health", level=1)).to_be_visible()
    alerts = page.get_by_role("table", name="Alerts")
    expect(alerts).to_be_visible(timeout=120_000)
    state = site.app.state
    champion = TenantScorer(state.scorer, state.settings.denial_model_name, "default", False)
    audit = state.tenant_stores("default").audit
    result = state.monitor.result("default", state.settings, champion, audit)  # the page's
    assert result.alerts, "the site's model drifts from its practice (another practice's)"
    rows = alerts.locator("tbody tr")
    expect(rows).to_have_count(len(result.alerts))
    first = result.alerts[0]
    expect(rows.first).to_have_text(re.compile(rf"^{first.metric}\s*{re.escape(first.segment)}"))
    for title in CHARTS:
        expect(page.get_by_role("img", name=f"{title}: chart")).to_be_visible()
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('canvas')).map(c => !!Chart.getChart(c))"
    )
    assert drawn == [True] * len(CHARTS)
    expect(page.get_by_text("Scores kept")).to_be_visible()
    versus = page.get_by_role("table", name="Champion beside the shadow challenger")
    expect(versus.get_by_role("row")).to_have_count(3)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280
    screenshot(page, "model-health")
    weeks = page.get_by_role("region", name="ROC-AUC and ECE by week")
    weeks.get_by_text("Show the numbers").click()
    expect(weeks.get_by_role("table", name="ROC-AUC and ECE by week")).to_be_visible()
    screenshot(page, "model-health-numbers")
    assert problems == []
