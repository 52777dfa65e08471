"""The RevOps dashboard: the book's measures, program profitability and the payer contract
review, sortable and exported, with the numbers of the KPI service."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from analytics.kpis import format_measure, format_value
from serving.api.app import create_app
from settings import Settings
from tests.analytics.book import write_book
from tests.serving.conftest import auth
from tests.serving.web.conftest import PASSWORD, Site, screenshot, sign_in

PAGE = {"Accept": "text/html"}


@pytest.fixture
def book_site(settings: Settings, tmp_path: Path):
    served = settings.model_copy(update={"queue_data_dir": write_book(tmp_path / "book")})
    with TestClient(create_app(served, loader=lambda _s: None)) as client:
        yield client


def test_the_review_shows_each_payers_period_beside_the_one_before(book_site) -> None:
    """The book ends 2026-06-28: the month to it holds June's claims, the month before May's."""
    answer = book_site.get(
        "/dashboards/revops", params={"months": 1}, headers={**PAGE, **auth("revops")}
    )
    assert answer.status_code == 200, answer.text
    body = answer.text
    assert "Payer contract review" in body
    review = body.split('id="h-review"', 1)[1].split("</table>", 1)[0]
    pay_a = review.split('<th scope="row">PAY-A</th>', 1)[1].split("</tr>", 1)[0]
    assert "33.3%" in pay_a  # June's denial rate: C2 of C1, C2, C7
    assert "0.0%" in pay_a  # May's: C3 paid


def test_the_page_shows_the_kpi_services_numbers(book_site) -> None:
    app = book_site.app
    policy = app.state.tenant_stores("default").policies.current()
    book = app.state.kpis.table("default", app.state.settings, None, None, policy.biller_hour_cost)
    body = book_site.get("/dashboards/revops", headers={**PAGE, **auth("revops")}).text
    for name in ("net_collection_rate", "days_in_ar", "denial_rate"):
        assert format_measure(name, book.iloc[0][name]) in body


def test_sorting_orders_the_payers(book_site) -> None:
    headers = {**PAGE, **auth("revops")}
    for order, first in (("desc", "PAY-B"), ("asc", "PAY-A")):
        params = {"months": 12, "sort": "denial_rate", "order": order}
        body = book_site.get("/dashboards/revops", params=params, headers=headers).text
        review = body.split('id="h-review"', 1)[1]
        assert review.index(f'"row">{first}<') < review.index('"row">PAY-') + 20
        assert f'aria-sort="{"descending" if order == "desc" else "ascending"}"' in review


def test_the_csv_holds_both_periods(book_site) -> None:
    answer = book_site.get(
        "/dashboards/revops/contracts.csv", params={"months": 1}, headers=auth("revops")
    )
    assert answer.status_code == 200
    rows = {row["payer_id"]: row for row in csv.DictReader(io.StringIO(answer.text))}
    assert float(rows["PAY-A"]["claims"]) == 4
    assert float(rows["PAY-A"]["claims_previous"]) == 1
    assert "attachment" in answer.headers["content-disposition"]


def test_the_forecast_card_shows_the_services_forecast(book_site) -> None:
    answer = book_site.get("/dashboards/revops/forecast", headers={**PAGE, **auth("revops")})
    assert answer.status_code == 200, answer.text
    app = book_site.app
    cells = app.state.kpis.forecast("default", app.state.settings, 8)
    total = cells[cells["payer_id"] == "(all)"].sort_values("week")
    assert len(total) > 0
    for value in total["expected"]:
        assert format_value(value, "dollars") in answer.text
    assert "P(paid) from" in answer.text


def test_a_biller_may_not_see_it(book_site) -> None:
    for path in (
        "/dashboards/revops",
        "/dashboards/revops/contracts.csv",
        "/dashboards/revops/forecast",
    ):
        assert book_site.get(path, headers={**PAGE, **auth("biller")}).status_code == 403


def test_an_unknown_period_or_sort_is_refused(book_site) -> None:
    headers = {**PAGE, **auth("revops")}
    assert book_site.get("/dashboards/revops?months=5", headers=headers).status_code == 422
    assert book_site.get("/dashboards/revops?sort=zip", headers=headers).status_code == 422


def test_revops_sorts_the_review_and_exports_it(page: Page, site: Site) -> None:
    if "rita" not in {user.username for user in site.app.state.people.list_users("default")}:
        site.app.state.people.add("default", "rita", "revops", PASSWORD, by="test")
    sign_in(page, site, "rita", then="/queue")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="RevOps").click()
    expect(page.get_by_role("heading", name="RevOps", level=1)).to_be_visible()
    page.get_by_label("Period").select_option(label="Last 6 months")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="Denial rate").click()
    review = page.get_by_role("table", name="Payer contract review")
    header = review.get_by_role("columnheader", name="Denial rate")
    expect(header).to_have_attribute("aria-sort", "descending")
    rows = review.get_by_role("row").all()[1:]
    shown = [float(row.get_by_role("cell").nth(2).inner_text().split("%")[0]) for row in rows]
    assert shown == sorted(shown, reverse=True)
    assert "months=6" in page.url
    forecast = page.get_by_role("heading", name="Cash forecast, next 8 weeks")
    expect(forecast).to_be_visible(timeout=60_000)
    chart = page.get_by_role("img", name="Cash forecast, next 8 weeks: chart")
    expect(chart).to_have_attribute("data-drawn", "")  # drawn when htmx brought it in
    screenshot(page, "revops")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "contract-review-6m.csv"
