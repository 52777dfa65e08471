"""A billing lead's bulk actions, the CSV export and the alerts of the work queue page, in
Chromium; and a biller, who has none of the controls and whose forged post is refused."""

from __future__ import annotations

import csv
import re
from urllib.parse import parse_qs, urlencode

import pandas as pd
from playwright.sync_api import Page, expect

from queues.browse import Holder, QueueFilter
from serving.web.render import spreadsheet_cell, spreadsheet_safe
from tests.serving.web.conftest import Site, screenshot, sign_in


def free_claims(page: Page, count: int) -> list[str]:
    """The first `count` claims of the page nobody has taken or been assigned."""
    found = []
    for row in page.locator("tbody tr").all():
        cells = row.locator("td")
        if cells.last.inner_text().strip() == "":
            found.append(row.locator("a[href^='/claims/']").inner_text().strip())
        if len(found) == count:
            return found
    raise AssertionError(f"fewer than {count} free rows on the page")


def test_a_lead_selects_rows_and_assigns_them_to_a_biller(page: Page, site: Site) -> None:
    sign_in(page, site, "lena", then="/queue?sort=amount")
    page.get_by_label("Select all on this page").check()
    expect(page.get_by_text("50 selected")).to_be_visible()
    page.get_by_label("Select all on this page").uncheck()
    expect(page.get_by_text("0 selected")).to_be_visible()
    claims = free_claims(page, 3)
    for claim in claims:
        page.get_by_label(f"Select {claim}", exact=True).check()
    expect(page.get_by_text("3 selected")).to_be_visible()
    page.get_by_label("Assign to").select_option("ben")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Assigned 3 items to ben.")
    # Back on the same view (the address says so), the rows say whose they are now.
    expect(page).to_have_url(re.compile(r"/queue\?sort=amount$"))
    for claim in claims:
        row = page.locator("tbody tr", has=page.get_by_role("link", name=claim, exact=True))
        expect(row.locator("td").last).to_have_text("assigned: ben")
        assert site.queue.item(claim).assigned_to == "ben"


def test_a_lead_writes_off_after_a_confirmation_of_the_dollars(page: Page, site: Site) -> None:
    sign_in(page, site, "lena", then="/queue?holder=unassigned&sort=deadline")
    claims = free_claims(page, 2)
    total = sum(site.queue.item(claim).recoverable_amount for claim in claims)
    for claim in claims:
        page.get_by_label(f"Select {claim}", exact=True).check()
    page.get_by_label("Write-off reason").fill("past the payer's appeal window")
    page.get_by_role("button", name="Write off…").click()
    expect(page.get_by_role("heading", name="Confirm write-off")).to_be_visible()
    summary = page.locator("#write-off-summary")
    expect(summary).to_contain_text("Write off 2 items")
    expect(summary).to_contain_text(f"${total:,.2f}")
    expect(page.locator("table.confirm-items tbody tr")).to_have_count(2)
    screenshot(page, "bulk-confirm")
    for claim in claims:  # nothing is written off before the confirmation
        assert site.queue.item(claim).status == "open"
    page.get_by_role("button", name="Confirm write-off").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Wrote off 2 items (${total:,.2f}): past the payer's appeal window"
    )
    for claim in claims:
        item = site.queue.item(claim)
        assert item.status == "resolved"
        assert item.resolved_action == "write_off"
        assert item.resolved_by == "lena"
        assert item.note == "past the payer's appeal window"
        expect(page.get_by_role("link", name=claim, exact=True)).to_have_count(0)


def test_a_write_off_without_a_reason_is_not_sent(page: Page, site: Site) -> None:
    sign_in(page, site, "lena", then="/queue?holder=unassigned")
    (claim,) = free_claims(page, 1)
    page.get_by_label(f"Select {claim}", exact=True).check()
    page.get_by_role("button", name="Write off…").click()
    expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
    assert page.get_by_label("Write-off reason").evaluate("field => !field.validity.valid")
    assert site.queue.item(claim).status == "open"


def test_enter_in_the_write_off_reason_starts_the_write_off_never_assign(
    page: Page, site: Site
) -> None:
    sign_in(page, site, "lena", then="/queue?holder=unassigned")
    (claim,) = free_claims(page, 1)
    page.get_by_label(f"Select {claim}", exact=True).check()
    page.get_by_label("Assign to").select_option("ben")  # Assign, the first button, could run
    page.get_by_label("Write-off reason").fill("duplicate of a paid claim")
    page.get_by_label("Write-off reason").press("Enter")
    expect(page.get_by_role("heading", name="Confirm write-off")).to_be_visible()
    expect(page.locator("#write-off-summary")).to_contain_text("duplicate of a paid claim")
    item = site.queue.item(claim)
    assert (item.assigned_to, item.status) == (None, "open")


def test_a_biller_has_no_bulk_controls_and_a_forged_post_is_refused(page: Page, site: Site) -> None:
    sign_in(page, site, "ana", then="/queue?holder=unassigned")
    expect(page.locator("tbody tr")).to_have_count(50)
    expect(page.get_by_label("Select all on this page")).to_have_count(0)
    expect(page.get_by_label("Assign to")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    expect(page.get_by_role("link", name="Export CSV")).to_have_count(0)
    (claim,) = free_claims(page, 1)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path, form in (
        ("/queue/bulk", {"operation": "assign", "assign_to": "ana"}),
        ("/queue/bulk/write-off", {"reason": "forged"}),
    ):
        answer = page.request.post(
            f"{site.url}{path}",
            form={"csrf_token": token, "claim_ids": claim, **form},
            headers={"Accept": "text/html"},
        )
        assert answer.status == 403, path
        assert "Not allowed" in answer.text()
    exported = page.request.get(f"{site.url}/queue.csv", headers={"Accept": "text/html"})
    assert exported.status == 403
    assert [event for event in site.queue.audit() if event.event == "exported"] == []
    item = site.queue.item(claim)
    assert item.assigned_to is None
    assert item.status == "open"


def test_export_csv_downloads_every_item_of_the_view(page: Page, site: Site) -> None:
    payer = max(
        site.queue.facets()["payer_id"],
        key=lambda p: site.queue.browse(QueueFilter(payer_id=p), "lena", limit=0)[1],
    )
    view = QueueFilter(payer_id=payer)
    _, total = site.queue.browse(view, "lena", limit=0)
    assert total > 50, "the view should be longer than a page"
    sign_in(page, site, "lena", then=f"/queue?payer_id={payer}&sort=amount")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("queue-default-")
    with open(download.value.path(), newline="", encoding="utf-8") as file:
        table = list(csv.DictReader(file))
    assert len(table) == total
    [event] = [event for event in site.queue.audit() if event.event == "exported"]
    assert (event.actor, event.claim_id, event.detail["rows"]) == ("lena", None, total)
    assert parse_qs(event.detail["query"]) == {"payer_id": [payer], "sort": ["amount"]}
    assert {row["payer_id"] for row in table} == {payer}
    expected = [
        item.claim_id for chunk in site.queue.stream(view, "lena", sort="amount") for item in chunk
    ]
    assert [row["claim_id"] for row in table] == expected
    first = site.queue.item(table[0]["claim_id"])
    assert float(table[0]["recoverable_amount"]) == round(first.recoverable_amount, 2)
    assert table[0]["reason"] == first.reason
    assert list(table[0]) == [
        "rank", "claim_id", "patient_id", "payer_id", "denial_category", "carc_codes",
        "rarc_codes", "recoverable_amount", "p_recover", "expected_net", "effort_minutes",
        "deadline", "days_left", "reason", "taken_by",
    ]  # fmt: skip


def test_the_page_shows_deadline_and_authorization_alerts(page: Page, site: Site) -> None:
    sign_in(page, site, "lena")
    alerts = page.get_by_role("region", name="Alerts")
    expect(alerts).to_contain_text("Authorizations running out")
    expect(alerts).to_contain_text("Missing authorization")
    screenshot(page, "queue-alerts")
    # The synthetic queue holds items past their deadline and items inside the buffer.
    expect(
        alerts.get_by_role("link", name=re.compile(r"more due within the \d+-day buffer"))
    ).to_be_visible()
    past = site.queue.counts("lena").past_deadline
    alerts.get_by_role("link", name=f"{past:,} items past deadline").click()
    expect(page).to_have_url(re.compile(r"due_within_days=-1&sort=deadline"))
    expect(page.get_by_label("Sort by")).to_have_value("deadline")
    expect(page.get_by_text(re.compile(r"items? in this view"))).to_contain_text(f"{past:,} items")


def test_the_due_within_buffer_link_lists_exactly_the_items_it_counts(
    page: Page, site: Site
) -> None:
    sign_in(page, site, "lena")
    due_soon = page.get_by_role("region", name="Alerts").get_by_role(
        "link", name=re.compile(r"more due within the \d+-day buffer")
    )
    said = re.fullmatch(r"([\d,]+) more due within the (\d+)-day buffer", due_soon.inner_text())
    assert said, due_soon.inner_text()
    count, buffer = int(said.group(1).replace(",", "")), int(said.group(2))
    assert count > 0
    due_soon.click()
    expect(page).to_have_url(
        re.compile(rf"due_from_days=0&due_within_days={buffer}&sort=deadline$")
    )
    expect(page.get_by_label("Due from (days)")).to_have_value("0")
    expect(page.get_by_label("Due within (days)")).to_have_value(str(buffer))
    expect(page.get_by_text(re.compile(r"items? in this view"))).to_contain_text(
        f"{count:,} item{'' if count == 1 else 's'} in this view"
    )
    left = page.get_by_role("cell", name=re.compile(r"^(\d+ days|\d+ days past|unknown)\b"))
    expect(left).to_have_count(min(count, 50))
    days = [int(text.split()[0]) for text in left.all_inner_texts()]
    assert all(0 <= d <= buffer for d in days), "none past due, none beyond the buffer"
    expect(page.get_by_role("cell", name=re.compile(r"days past"))).to_have_count(0)


class Poster:
    """Form posts of the signed-in page's session (its cookie and CSRF token), as a forged
    or hand-made request would send them: repeated fields allowed."""

    def __init__(self, page: Page, site: Site) -> None:
        self.page, self.site = page, site
        self.token = page.locator("input[name=csrf_token]").first.get_attribute("value")

    def post(self, path: str, **fields: str | list[str]):
        pairs = [
            (name, value)
            for name, values in {"csrf_token": self.token, **fields}.items()
            for value in ([values] if isinstance(values, str) else values)
        ]
        return self.page.request.post(
            f"{self.site.url}{path}",
            data=urlencode(pairs),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "text/html",
            },
        )


def test_bulk_posts_refuse_what_they_cannot_do_and_change_nothing(page: Page, site: Site) -> None:
    free, _ = site.queue.browse(QueueFilter(holder=Holder.unassigned), "lena", limit=3)
    claims = [item.claim_id for item in free]
    sign_in(page, site, "lena")
    lead = Poster(page, site)
    too_many = lead.post("/queue/bulk", operation="action", action="rebill", claim_ids=claims * 200)
    assert too_many.status == 409
    assert "select at most 500 items at a time" in too_many.text()
    stranger = lead.post("/queue/bulk", operation="assign", assign_to="mallory", claim_ids=claims)
    assert stranger.status == 409
    assert "choose whom to assign them to" in stranger.text()
    gone = lead.post("/queue/bulk/write-off", reason="gone", claim_ids=[*claims, "NO-SUCH-CLAIM"])
    assert gone.status == 409
    assert "1 item of the selection is not in the queue" in gone.text()
    assert "NO-SUCH-CLAIM" not in gone.text()
    for odd in ("NUL\x00ID", "C" * 65):
        strange = lead.post("/queue/bulk/write-off", reason="odd", claim_ids=[*claims, odd])
        assert strange.status == 409
        assert "the selection holds a claim id no queue item could have" in strange.text()
    unreasoned = lead.post("/queue/bulk/write-off", reason=" ", claim_ids=claims)
    assert "a write-off needs a reason" in unreasoned.text()
    assert [site.queue.item(claim) for claim in claims] == free
    changed = lead.post("/queue/bulk", operation="action", action="rebill", claim_ids=claims)
    assert changed.status == 200
    assert "Set the action of 3 items to rebill." in changed.text()
    assert {site.queue.item(claim).action for claim in claims} == {"rebill"}
    trail = [event for event in site.queue.audit(claims[0]) if event.event == "action_changed"]
    assert trail[-1].actor == "lena"
    assert trail[-1].detail["to"] == "rebill"


def test_the_write_off_confirmation_names_items_someone_else_is_working(
    page: Page, site: Site
) -> None:
    free, _ = site.queue.browse(QueueFilter(holder=Holder.unassigned), "lena", limit=2)
    claims = [item.claim_id for item in free]
    sign_in(page, site, "lena")
    lead = Poster(page, site)
    site.queue.take(claims[1], "ana")
    try:
        shown = lead.post("/queue/bulk", operation="write_off", reason="small", claim_ids=claims)
        assert shown.status == 200
        assert f"claim {claims[1]} is leased by ana" in shown.text()
        assert re.search(r"<button[^>]*disabled[^>]*>Confirm write-off", shown.text())
        refused = lead.post("/queue/bulk/write-off", reason="small", claim_ids=claims)
        assert refused.status == 409
        assert "nothing was written off" in refused.text()
        assert site.queue.item(claims[0]).status == "open"
    finally:
        site.queue.release(claims[1], "ana")


def test_csv_text_cells_cannot_run_as_spreadsheet_formulas() -> None:
    assert spreadsheet_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert spreadsheet_cell("-2+3") == "'-2+3"
    assert spreadsheet_cell("CLM1") == "CLM1"
    assert spreadsheet_cell(None) == ""
    frame = pd.DataFrame({"claim_id": ["@SUM(A1)", "C2"], "p_denial": [-0.5, 0.25]})
    rows = list(csv.reader(spreadsheet_safe(frame).decode().splitlines()))
    assert rows[1:] == [["'@SUM(A1)", "-0.5"], ["C2", "0.25"]]  # numbers stay numbers
