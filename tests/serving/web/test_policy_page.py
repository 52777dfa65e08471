"""The policy editor in Chromium: RevOps change the biller hour cost, simulate the draft
beside the policy in force, save it with a comment, find it in the past versions and
compare it with the one before."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.serving.web.conftest import PASSWORD, Site, screenshot, sign_in

EDITOR = "rosa"


def test_revops_simulates_saves_and_compares_a_policy(page: Page, site: Site) -> None:
    site.app.state.people.add("default", EDITOR, "revops", PASSWORD, by="test")
    policies = site.app.state.tenant_stores("default").policies
    before = policies.current()
    sign_in(page, site, EDITOR, then="/queue")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Policy").click()
    page.wait_for_url(f"{site.url}/policy")
    expect(page.get_by_role("heading", name="Policy", exact=True)).to_be_visible()
    cost = page.get_by_label("Biller hour cost ($)")
    expect(cost).to_have_value("42")
    expect(page.get_by_label("Action for duplicate")).to_have_value("write_off")
    screenshot(page, "policy-editor")

    cost.fill("-5")
    page.get_by_role("button", name="Simulate").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Not simulated: 1 problem")
    expect(summary.get_by_role("link", name="Biller hour cost ($)")).to_be_visible()
    expect(cost).to_have_attribute("aria-invalid", "true")
    expect(cost).to_have_accessible_description("Input should be greater than 0")
    expect(page.get_by_role("region", name=re.compile("Simulation"))).to_have_count(0)
    screenshot(page, "policy-refused")

    cost.fill("95")
    page.get_by_label("Budget (hours)").fill("30")
    page.get_by_role("button", name="Simulate").click()
    page.wait_for_url(f"{site.url}/policy/simulate")
    simulation = page.get_by_role(
        "region", name=f"Simulation: the draft beside version {before.version}"
    )
    expect(simulation).to_be_visible()
    recovered = simulation.get_by_role("table", name="Recovered within the budget")
    expect(
        recovered.get_by_role("columnheader", name=f"Version {before.version} (in force)")
    ).to_be_visible()
    expect(recovered.get_by_role("columnheader", name="Draft")).to_be_visible()
    expect(recovered.get_by_role("row", name=re.compile("The policy's order"))).to_be_visible()
    split = simulation.get_by_role("table", name="Open denials appealed and accepted, by payer")
    expect(split.get_by_role("row", name=re.compile("All payers"))).to_be_visible()
    expect(cost).to_have_value("95")  # the draft is still in the form
    screenshot(page, "policy-simulated")

    page.get_by_label("Comment").fill("Biller hour at the new loaded cost")
    page.get_by_role("button", name="Save as new version").click()
    saved = before.version + 1
    page.wait_for_url(f"{site.url}/policy?saved={saved}")
    expect(page.get_by_role("status")).to_have_text(f"Saved version {saved}.")
    expect(cost).to_have_value("95")
    current = policies.current()
    assert (current.version, current.biller_hour_cost) == (saved, 95)
    assert (current.updated_by, current.note) == (EDITOR, "Biller hour at the new loaded cost")

    versions = page.get_by_role("region", name="Past versions")
    row = versions.get_by_role("row", name=re.compile(f"^{saved} in force {EDITOR}"))
    expect(row).to_contain_text("Biller hour at the new loaded cost")
    screenshot(page, "policy-saved")
    row.get_by_role("link", name=f"Compare with version {before.version}").click()
    page.wait_for_url(f"{site.url}/policy/diff?a={before.version}&b={saved}")
    expect(
        page.get_by_role("heading", name=f"Policy: version {before.version} → version {saved}")
    ).to_be_visible()
    changes = page.get_by_role("table")
    expect(changes.get_by_role("row")).to_have_count(2)  # the header and the one change
    expect(changes.get_by_role("row", name=re.compile("biller_hour_cost"))).to_contain_text("42")
    expect(changes.get_by_role("row", name=re.compile("biller_hour_cost"))).to_contain_text("95")
    screenshot(page, "policy-diff")
