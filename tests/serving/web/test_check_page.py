"""The pre-submission check page in Chromium: upload a batch, read the answer, download it."""

from __future__ import annotations

import csv
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.serving.web.conftest import Site, screenshot, sign_in


def _batch(web_data, folder: Path) -> tuple[Path, Path, str, int]:
    """The practice's pending claims as the two CSVs, one claim's plan type broken."""
    _, data = web_data
    pending = data.claims.loc[~data.claims["claim_id"].isin(data.remits["claim_id"])].head(8)
    lines = data.claim_lines[data.claim_lines["claim_id"].isin(pending["claim_id"])]
    pending = pending.astype(object)
    pending.iloc[2, pending.columns.get_loc("plan_type")] = "ppo"
    claims_csv, lines_csv = folder / "claims.csv", folder / "claim_lines.csv"
    pending.to_csv(claims_csv, index=False, date_format="%Y-%m-%d")
    lines.to_csv(lines_csv, index=False)
    broken = pending.iloc[2]["claim_id"]
    return claims_csv, lines_csv, broken, int((lines["claim_id"] == broken).sum())


def test_a_batch_is_checked_its_bad_row_set_aside_and_the_answer_downloaded(
    page: Page, site: Site, web_data, tmp_path: Path
) -> None:
    claims_csv, lines_csv, broken, broken_lines = _batch(web_data, tmp_path)
    sign_in(page, site, then="/check")
    expect(page.get_by_role("heading", name="Pre-submission check")).to_be_visible()
    page.get_by_label("Claims CSV").set_input_files(claims_csv)
    page.get_by_label("Claim lines CSV").set_input_files(lines_csv)
    page.get_by_role("button", name="Check claims").click()
    # The first check of a run loads the explainer: longer than expect's 5 s on a busy host.
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("7 claims checked")).to_be_visible()
    rows = page.get_by_role("row").filter(has_text=broken)
    expect(rows.filter(has_text="Claims CSV")).to_contain_text("plan_type")
    expect(rows.filter(has_text="Claim lines CSV")).to_have_count(broken_lines)  # with it
    screenshot(page, "pre-submission-check")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download results (CSV)").click()
    with Path(download.value.path()).open() as answer:
        rows = list(csv.DictReader(answer))
    assert len(rows) == 7
    assert broken not in {row["claim_id"] for row in rows}
    assert {row["band"] for row in rows} <= {"pass", "review", "hold"}


def test_a_file_that_is_not_csv_is_named_on_the_page(page: Page, site: Site, tmp_path) -> None:
    bad, empty = tmp_path / "claims.csv", tmp_path / "claim_lines.csv"
    bad.write_bytes(b"\xff\xfe\x00c\x00l\x00a")
    empty.write_bytes(b"")
    sign_in(page, site, then="/check")
    page.get_by_label("Claims CSV").set_input_files(bad)
    page.get_by_label("Claim lines CSV").set_input_files(empty)
    page.get_by_role("button", name="Check claims").click()
    expect(page.get_by_role("alert")).to_contain_text("Claims CSV: not UTF-8 text")


def test_a_long_answer_is_paged_50_rows_a_page_and_downloaded_whole(
    page: Page, site: Site, web_data, tmp_path: Path
) -> None:
    _, data = web_data
    claims = data.claims.head(120)
    claims_csv, lines_csv = tmp_path / "claims.csv", tmp_path / "claim_lines.csv"
    claims.to_csv(claims_csv, index=False, date_format="%Y-%m-%d")
    data.claim_lines[data.claim_lines["claim_id"].isin(claims["claim_id"])].to_csv(
        lines_csv, index=False
    )
    order = list(claims["claim_id"])
    sign_in(page, site, then="/check")
    page.get_by_label("Claims CSV").set_input_files(claims_csv)
    page.get_by_label("Claim lines CSV").set_input_files(lines_csv)
    page.get_by_role("button", name="Check claims").click()
    expect(page.get_by_text("120 claims checked")).to_be_visible(timeout=60_000)
    checked = page.get_by_role("table", name="Claims checked").locator("tbody tr")
    pages = page.get_by_role("navigation", name="Result pages")
    expect(checked).to_have_count(50)
    expect(checked.first.locator("td").first).to_have_text(order[0])
    expect(pages).to_contain_text("Page 1 of 3")
    expect(pages.get_by_role("link", name="Previous page")).to_have_count(0)

    pages.get_by_role("link", name="Next page").click()
    page.wait_for_url(f"{site.url}/check/results?page=2")
    expect(page.get_by_text("120 claims checked")).to_be_visible()  # the whole upload's count
    expect(page.get_by_text("Rows 51–100 of 120.")).to_be_visible()
    expect(checked).to_have_count(50)
    expect(checked.first.locator("td").first).to_have_text(order[50])
    pages.get_by_role("link", name="Next page").click()
    expect(pages).to_contain_text("Page 3 of 3")
    expect(checked).to_have_count(20)
    expect(checked.last.locator("td").first).to_have_text(order[-1])
    expect(pages.get_by_role("link", name="Next page")).to_have_count(0)
    pages.get_by_role("link", name="Previous page").click()
    expect(pages).to_contain_text("Page 2 of 3")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download results (CSV)").click()
    with Path(download.value.path()).open() as answer:
        assert [row["claim_id"] for row in csv.DictReader(answer)] == order


def test_the_pages_of_a_check_need_a_check(page: Page, site: Site) -> None:
    sign_in(page, site, "ben", then="/check")
    answer = page.goto(f"{site.url}/check/results?page=2")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_text("no check in the last 30 minutes")).to_be_visible()
