"""The payer contract review on the hand-made book: June 2026 against May 2026."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from analytics.contracts import contract_review, periods
from analytics.kpis import kpis
from analytics.ledger import claim_ledger
from tests.analytics.book import AS_OF, HOUR_COST, read_book


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return claim_ledger(read_book(tmp_path_factory.mktemp("book")), AS_OF)


def test_periods_are_whole_months_back_to_back() -> None:
    assert periods(date(2026, 6, 30), 1) == (
        (date(2026, 6, 1), date(2026, 6, 30)),
        (date(2026, 5, 1), date(2026, 5, 31)),
    )
    assert periods(date(2026, 6, 30), 3)[1] == (date(2026, 1, 1), date(2026, 3, 31))


def test_june_against_may(ledger: pd.DataFrame) -> None:
    review = contract_review(ledger, AS_OF, months=1, hour_cost=HOUR_COST).set_index("payer_id")
    # June: PAY-A sent C1 C2 C7 C8 (C3 went in May), PAY-B sent C4 C5.
    assert review.loc["PAY-A", "claims"] == 4
    assert review.loc["PAY-A", "claims_previous"] == 1
    assert review.loc["PAY-A", "denial_rate"] == pytest.approx(1 / 3)  # C2 of C1 C2 C7
    assert review.loc["PAY-A", "denial_rate_previous"] == 0.0  # C3 paid
    assert review.loc["PAY-A", "days_to_pay_median_previous"] == 30.0
    assert review.loc["PAY-B", "denial_rate"] == 1.0  # C4
    assert math.isnan(review.loc["PAY-B", "claims_previous"])  # C6 went in February


def test_the_review_holds_the_kpis_numbers(ledger: pd.DataFrame) -> None:
    review = contract_review(ledger, AS_OF, months=12, hour_cost=HOUR_COST)
    whole = kpis(ledger, "payer", HOUR_COST)
    pd.testing.assert_series_equal(review["contribution_margin"], whole["contribution_margin"])
