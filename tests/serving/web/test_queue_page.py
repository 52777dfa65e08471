"""The work queue page in Chromium: sign in, filter, take next, sign out."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.serving.web.conftest import Site, screenshot, sign_in


def test_a_page_asked_for_signed_out_signs_in_and_comes_back(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/queue?sort=amount")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "sign-in")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("username or password not accepted")
    sign_in(page, site, then="/queue?sort=amount")
    expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
    expect(page.get_by_label("Sort by")).to_have_value("amount")


def test_filters_narrow_the_queue_and_make_a_shareable_url(page: Page, site: Site) -> None:
    sign_in(page, site)
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(50)
    screenshot(page, "work-queue")
    payer = site.queue.facets()["payer_id"][0]
    page.get_by_label("Payer").select_option(payer)
    expect(page).to_have_url(re.compile(rf"payer_id={payer}"))
    expect(rows.first).to_contain_text(payer)
    payers = rows.locator("td:nth-child(4)").all_inner_texts()
    assert set(payers) == {payer}
    shown = page.get_by_text(re.compile(r"items? in this view")).inner_text()
    # The same URL opened afresh shows the same view.
    page.goto(page.url)
    expect(page.get_by_label("Payer")).to_have_value(payer)
    expect(page.get_by_text(re.compile(r"items? in this view"))).to_have_text(shown)


def test_take_next_leases_the_top_item_and_opens_it(page: Page, site: Site) -> None:
    sign_in(page, site, "ben")
    page.get_by_role("button", name="Take next").click()
    page.wait_for_url(re.compile(r"/claims/"))
    claim_id = page.url.rsplit("/", 1)[1]
    assert site.queue.item(claim_id).lease_holder == "ben"


def test_sign_out_ends_the_session(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(f"{site.url}/queue")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
