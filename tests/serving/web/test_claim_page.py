"""The claim detail page in Chromium: open it from the queue, take, resolve, record the
outcome, add a note; a second biller is told who holds the item and changes nothing."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from queues.browse import QueueFilter
from queues.policy import default_policy
from tests.queue_views import open_items
from tests.serving.web.conftest import TODAY, Site, screenshot, sign_in


def _free_claim(site: Site, offset: int) -> str:
    """An open, unleased claim of the ranking (each test its own, the site being shared)."""
    return open_items(site.queue, 1, offset, None)[0].claim_id


def test_a_biller_works_a_claim_from_its_page(page: Page, site: Site) -> None:
    sign_in(page, site, "ana")
    claim_id = _free_claim(site, 20)
    page.goto(f"{site.url}/queue?sort=rank&page=1")
    page.get_by_role("link", name=claim_id, exact=True).click()
    page.wait_for_url(f"{site.url}/claims/{claim_id}")
    expect(page.get_by_role("heading", name=claim_id, level=1)).to_be_visible()
    for section in ("Recovery estimate", "Remit codes", "Fixes for a corrected claim", "Claim"):
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    item = site.queue.item(claim_id)
    first_carc = (item.carc_codes or "").split(";")[0]
    expect(page.get_by_text(f"CARC {first_carc}", exact=True)).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Claim submitted")
    expect(page.get_by_text(re.compile(r"^Risk of denial as submitted"))).to_be_visible()

    page.get_by_role("button", name="Take", exact=True).click()
    expect(page.get_by_text("You hold this item")).to_be_visible()
    assert site.queue.item(claim_id).lease_holder == "ana"
    screenshot(page, "claim-detail")

    page.get_by_label("Action taken").select_option(label="Appeal filed")
    page.get_by_label("Effort (minutes)").fill("25")
    resolving = page.get_by_role("form", name="Resolve")
    resolving.get_by_label("Note").fill("Sent the appeal with the auth letter")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text(re.compile(r"^Resolved by ana: appeal"))).to_be_visible()
    expect(timeline).to_contain_text("Resolved: appeal, 25 min")

    page.get_by_label("Outcome", exact=True).select_option("overturned")
    page.get_by_label("Amount paid").fill("120")
    page.get_by_label("Closed on").fill(TODAY.isoformat())
    page.get_by_role("button", name="Record outcome").click()
    expect(timeline).to_contain_text("Outcome: overturned, $120.00 paid")
    expect(page.get_by_role("button", name="Record outcome")).to_have_count(0)
    done = site.queue.item(claim_id)
    assert (done.outcome, done.recovered_amount, done.closed_date) == ("overturned", 120.0, TODAY)

    page.get_by_role("form", name="Add note").get_by_label("Note").fill("Payer called back")
    page.get_by_role("button", name="Add note").click()
    expect(timeline.locator("li").last).to_contain_text("Note: Payer called back")
    expect(timeline.locator("li").last).to_contain_text("ana")


def test_a_second_biller_is_told_who_holds_the_claim(page: Page, site: Site) -> None:
    claim_id = _free_claim(site, 30)
    sign_in(page, site, "ben", then=f"/claims/{claim_id}")
    take = page.get_by_role("button", name="Take", exact=True)
    expect(take).to_be_visible()
    site.queue.take(claim_id, "ana")  # ana takes it while ben's page is open
    take.click()
    expect(page.get_by_role("alert")).to_contain_text(f"claim {claim_id} is leased by ana until")
    assert site.queue.item(claim_id).lease_holder == "ana", "nothing is overwritten"
    page.goto(f"{site.url}/claims/{claim_id}")
    expect(page.get_by_role("status")).to_contain_text("Taken by ana")
    expect(page.get_by_role("button", name="Take", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    site.queue.release(claim_id, "ana")


def test_a_write_off_without_its_reason_is_refused(page: Page, site: Site) -> None:
    claim_id = _free_claim(site, 40)
    sign_in(page, site, "ben", then=f"/claims/{claim_id}")
    page.get_by_role("button", name="Take", exact=True).click()
    page.get_by_label("Action taken").select_option(label="Written off")
    page.get_by_label("Effort (minutes)").fill("5")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("alert")).to_have_text(
        "A write-off needs its reason: say why in the note."
    )
    assert site.queue.item(claim_id).status == "open"


def test_the_holder_reassigns_a_claim_from_the_resolve_form(page: Page, site: Site) -> None:
    claim_id = _free_claim(site, 45)
    sign_in(page, site, "ben", then=f"/claims/{claim_id}")
    page.get_by_role("button", name="Take", exact=True).click()
    expect(page.get_by_role("form", name="Reassign")).to_have_count(0)  # one way to do it
    resolving = page.get_by_role("form", name="Resolve")
    resolving.get_by_label("Action taken").select_option(label="Reassigned")
    resolving.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("alert")).to_have_text("Reassign to: choose whom to hand it to.")
    assert site.queue.item(claim_id).lease_holder == "ben", "nothing changed"

    resolving.get_by_label("Action taken").select_option(label="Reassigned")
    resolving.get_by_label("Reassign to").select_option("ana")
    resolving.get_by_label("Note").fill("Ana knows this payer")
    resolving.get_by_role("button", name="Resolve").click()  # no effort: none is asked
    page.wait_for_url(f"{site.url}/claims/{claim_id}")
    item = site.queue.item(claim_id)
    assert (item.status, item.lease_holder, item.assigned_to) == ("open", None, "ana")
    expect(page.get_by_role("button", name="Take", exact=True)).to_have_count(0)  # ana's now
    events = site.queue.audit(claim_id)
    assert [e.event for e in events][-3:] == ["released", "assigned", "note_added"]
    assert events[-1].detail["text"] == "Ana knows this payer"
    site.queue.assign([claim_id], None, "lena")


def test_an_action_without_its_effort_is_refused_by_the_server(page: Page, site: Site) -> None:
    claim_id = _free_claim(site, 47)
    sign_in(page, site, "ben", then=f"/claims/{claim_id}")
    page.get_by_role("button", name="Take", exact=True).click()
    resolving = page.get_by_role("form", name="Resolve")
    resolving.get_by_label("Action taken").select_option(label="Rebilled")
    resolving.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("alert")).to_have_text("Effort (minutes): say how long the work took.")
    assert site.queue.item(claim_id).status == "open"
    site.queue.release(claim_id, "ben")


def test_the_deadline_is_red_inside_the_policy_buffer_not_a_week(page: Page, site: Site) -> None:
    buffer = default_policy().deadline_buffer_days  # the site's tenant saved no other
    assert buffer < 7, "a deadline between the buffer and a week tells the two apart"
    today = site.queue.now().date()
    week = QueueFilter(due_from_days=0, due_within_days=7)
    due, _ = site.queue.browse(week, "ana", sort="deadline", limit=2000)
    inside = next(i for i in due if 0 <= (i.deadline - today).days <= buffer)
    outside = next(i for i in due if buffer < (i.deadline - today).days <= 7)
    sign_in(page, site, "ana", then=f"/claims/{inside.claim_id}")
    shown = page.get_by_role("definition").filter(has_text=inside.deadline.isoformat())
    expect(shown).to_have_class(re.compile(r"\blate\b"))
    expect(shown).to_contain_text(f"(inside the {buffer}-day buffer)")
    page.goto(f"{site.url}/claims/{outside.claim_id}")
    shown = page.get_by_role("definition").filter(has_text=outside.deadline.isoformat())
    expect(shown).to_contain_text(f"{(outside.deadline - today).days} days left")
    expect(shown).not_to_have_class(re.compile(r"\blate\b"))
    expect(shown).not_to_contain_text("buffer")


def test_a_claim_outside_the_queue_is_not_found(page: Page, site: Site) -> None:
    sign_in(page, site, "ana", then="/queue")
    answer = page.goto(f"{site.url}/claims/NO-SUCH-CLAIM")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
