"""The Model health page in Chromium: a data scientist signs in and lands on it, the
monitor's cards arrive (htmx), the alerts table and the charts are there and drawn under the
pages' CSP without a console error, and the page fits the screen's width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.serving.web.conftest import PASSWORD, Site, screenshot, sign_in

CHARTS = (
    "ROC-AUC and ECE by week",
    "Top 10 drifting features",
    "Predicted and observed denial rate by payer",
)


def test_a_data_scientist_reads_the_models_health(
    page: Page, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A calibration error over 0.001 on 10 claims alerts: the alerts table has rows to show.
    strict = site.app.state.settings.model_copy(
        update={"monitor_max_ece": 0.001, "monitor_min_claims": 10}
    )
    monkeypatch.setattr(site.app.state, "settings", strict)
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
    expect(alerts.get_by_role("cell", name="ece", exact=True)).to_be_visible()
    for title in CHARTS:
        expect(page.get_by_role("img", name=f"{title}: chart")).to_be_visible()
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('canvas')).map(c => !!Chart.getChart(c))"
    )
    assert drawn == [True] * len(CHARTS)
    expect(page.get_by_text("Scores kept")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280
    screenshot(page, "model-health")
    weeks = page.get_by_role("region", name="ROC-AUC and ECE by week")
    weeks.get_by_text("Show the numbers").click()
    expect(weeks.get_by_role("table", name="ROC-AUC and ECE by week")).to_be_visible()
    screenshot(page, "model-health-numbers")
    assert problems == []
