"""The appeal letter page in Chromium: draft, edit, save, download the PDF, draft again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from queues.letters import PARITY_CATEGORIES, LetterStore
from storage.tenants import add_tenant
from tests.queue_views import open_items
from tests.queues.test_letters import pdf_text
from tests.serving.test_queue_routes import ranked_items
from tests.serving.web.conftest import PASSWORD, Site, screenshot, sign_in


def open_claim(site: Site) -> str:
    """An open claim denied for a treatment limitation, so its draft argues parity (every
    synthetic claim is a behavioral-health one)."""
    for category in sorted(PARITY_CATEGORIES):
        found = open_items(site.queue, 1, denial_category=category)
        if found:
            return found[0].claim_id
    raise AssertionError("the synthetic queue has no item in a parity category")


def test_a_biller_drafts_edits_saves_and_downloads_an_appeal_letter(page: Page, site: Site) -> None:
    claim = open_claim(site)
    address = f"/claims/{claim}/letter"
    sign_in(page, site, "ana", then=f"/claims/{claim}")
    page.get_by_role("link", name="Draft appeal").click()
    page.wait_for_url(f"{site.url}{address}")
    expect(page.get_by_role("heading", name=f"Appeal letter: claim {claim}")).to_be_visible()
    letter = page.get_by_label("Appeal letter")
    expect(letter).to_have_value(re.compile(rf"Claim number: {claim}"))
    expect(letter).to_have_value(re.compile("Mental Health Parity and Addiction Equity Act"))
    expect(page.get_by_role("link", name="Download PDF")).to_have_count(0)

    letter.fill(letter.input_value() + "\nP.S. Notes of the session are enclosed. (ana)")
    page.get_by_role("button", name="Save letter").click()
    page.wait_for_url(re.compile(rf"{re.escape(address)}\?saved=1$"))
    expect(page.get_by_role("status")).to_have_text("Version 1 saved.")
    expect(letter).to_have_value(re.compile(r"P\.S\. Notes of the session are enclosed"))
    saved = LetterStore(site.queue.database, "default").latest(claim)
    assert saved is not None
    assert (saved.saved_by, saved.version) == ("ana", 1)
    assert saved.body.endswith("P.S. Notes of the session are enclosed. (ana)")
    trail = [event for event in site.queue.audit(claim) if event.event == "letter_saved"]
    assert [(event.actor, event.detail["version"]) for event in trail] == [("ana", 1)]
    screenshot(page, "appeal-letter")

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download PDF").click()
    download = downloading.value
    assert download.suggested_filename == f"appeal-{claim}-v1.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert "P.S. Notes of the session are enclosed. (ana)" in pdf_text(pdf)

    page.get_by_role("button", name="Draft again").click()
    page.wait_for_url(re.compile(r"\?draft=1$"))
    expect(letter).not_to_have_value(re.compile("P.S."))
    expect(letter).to_have_value(re.compile(rf"Claim number: {claim}"))
    assert LetterStore(site.queue.database, "default").latest(claim).version == 1


def test_an_empty_letter_is_not_saved_and_a_pdf_needs_a_saved_letter(
    page: Page, site: Site
) -> None:
    claim = open_items(site.queue, 5)[-1].claim_id
    sign_in(page, site, "ben", then=f"/claims/{claim}/letter")
    answer = page.request.get(f"{site.url}/claims/{claim}/letter.pdf")
    assert answer.status == 404
    page.get_by_label("Appeal letter").fill("   ")
    page.get_by_label("Appeal letter").evaluate("area => area.removeAttribute('required')")
    page.get_by_role("button", name="Save letter").click()
    expect(page.get_by_role("alert")).to_contain_text("Not saved: a letter is 1 to 20000")
    assert LetterStore(site.queue.database, "default").latest(claim) is None
    page.goto(f"{site.url}/claims/NO-SUCH-CLAIM/letter")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


@pytest.fixture(scope="module")
def practice_without_data(site: Site) -> str:
    """Tenant `solo`: a queue and a biller (`sol`), but no data directory."""
    add_tenant(site.app.state.database, "solo", by="test")
    queue = site.app.state.tenant_stores("solo").queue
    queue.load(ranked_items(2), actor="test", policy_version="1")
    site.app.state.people.add("solo", "sol", "biller", PASSWORD, by="test")
    return "D0"


def test_without_the_practices_data_the_draft_says_what_to_fill_in(
    page: Page, site: Site, practice_without_data: str
) -> None:
    claim = practice_without_data
    sign_in(page, site, "sol", then=f"/claims/{claim}/letter")
    missing = page.get_by_role("note")
    expect(missing).to_contain_text("the practice has no data directory")
    expect(missing).to_contain_text("service date")
    letter = page.get_by_label("Appeal letter")
    expect(letter).to_have_value(re.compile(r"Date of service: \[service date\]"))
    expect(letter).to_have_value(re.compile(rf"Claim number: {claim}"))


def test_a_revops_analyst_may_not_write_letters(page: Page, site: Site) -> None:
    site.app.state.people.add("default", "rita", "revops", PASSWORD, by="test")
    claim = open_items(site.queue, 1)[0].claim_id
    sign_in(page, site, "rita")
    page.goto(f"{site.url}/claims/{claim}/letter")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
