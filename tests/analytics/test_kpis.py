"""Each KPI on the hand-made book of `tests/analytics/book.py`, worked out by hand.

Expected allowed: C1 150, C3 300, C7 75 (their own); C2, C4, C5, C6, C8 75 (75% of 100).
Collectible (less patient responsibility): C1 120, C2 75, C3 300, C4 75, C5 75, C6 75,
C7 0, C8 75 = 795. Collections: C1 120 + C2 80 (appeal) + C3 300 = 500.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from analytics.kpis import DIMENSIONS, MEASURES, as_records, kpis
from analytics.ledger import SCRUBBER_CATEGORIES, claim_ledger
from tests.analytics.book import AS_OF, HOUR_COST, read_book


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return claim_ledger(read_book(tmp_path_factory.mktemp("book")), AS_OF)


@pytest.fixture(scope="module")
def book(ledger: pd.DataFrame) -> dict[str, float]:
    return kpis(ledger, hour_cost=HOUR_COST).iloc[0].to_dict()


def test_the_void_counts_for_nothing(ledger: pd.DataFrame) -> None:
    assert sorted(ledger["claim_id"]) == [f"C{n}" for n in range(1, 9)]


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        ("claims", 8),
        ("charges", 1200.0),
        ("adjudicated_claims", 6),  # C1 C2 C3 C4 C6 C7
        ("denied_claims", 3),  # C2 C4 C6
        ("denial_rate", 3 / 6),
        ("denied_dollars", 300.0),
        ("denial_rate_dollars", 300 / 1000),
        ("first_pass_yield", 2 / 6),  # C1 C3 paid; C7 paid nothing (deductible)
        # C1 and C4 clean: C2 (CO-197) and C6 (CO-27) failed an edit's category, C3 was
        # voided and C7 replaced later; C4's medical necessity is no edit's.
        ("clean_claim_rate", 2 / 6),
        ("appeals_closed", 2),
        ("overturn_rate", 1 / 2),
        ("collections", 500.0),
        ("collectible", 795.0),
        ("net_collection_rate", 500 / 795),
        ("recovered", 80.0),
        ("ar_balance", 225.0),  # C5 and C8 pending, C6 an open denial: 75 each
        ("ar_0_30", 150.0),
        ("ar_31_60", 0.0),
        ("ar_120_plus", 75.0),  # C6, 135 days
        # collectible of the last 90 days' claims (all but C6) is 720: 8 a day
        ("days_in_ar", 225 / 8),
        ("days_to_pay_median", 10.0),  # paid first remits: 10, 30, 10 days
        ("days_to_pay_p90", 26.0),  # linear between 10 and 30
        ("appeal_hours", 2.0),  # 60 + 45 + 15 minutes
        ("appeal_hours_per_recovered_dollar", 2 / 80),
        ("cost_to_collect", 2 * HOUR_COST / 500),
        ("denial_write_offs", 75.0),  # C4
        ("contribution_margin", 500 - 2 * HOUR_COST),
        ("margin_rate", (500 - 2 * HOUR_COST) / 500),
    ],
)
def test_a_measure_of_the_whole_book(book: dict[str, float], measure: str, expected: float) -> None:
    assert book[measure] == pytest.approx(expected)


def test_every_measure_is_tested_by_hand() -> None:
    tested = {name for name, _ in test_a_measure_of_the_whole_book.pytestmark[0].args[1]}
    assert set(MEASURES) - tested <= {"ar_61_90", "ar_91_120"}


def test_by_payer(ledger: pd.DataFrame) -> None:
    table = kpis(ledger, "payer", HOUR_COST).set_index("payer_id")
    assert table.loc["PAY-A", "adjudicated_claims"] == 4
    assert table.loc["PAY-A", "denial_rate"] == pytest.approx(1 / 4)
    assert table.loc["PAY-A", "days_to_pay_median"] == 10.0
    assert table.loc["PAY-B", "denial_rate"] == 1.0
    assert math.isnan(table.loc["PAY-B", "days_to_pay_median"])  # it paid nothing
    assert table["claims"].sum() == 8


def test_by_service_month(ledger: pd.DataFrame) -> None:
    table = kpis(ledger, "month").set_index("month")
    assert list(table.index) == ["2026-02", "2026-04", "2026-06"]
    assert table.loc["2026-06", "claims"] == 6
    assert table.loc["2026-04", "denial_rate"] == 0.0
    assert table["days_in_ar"].isna().all()


def test_by_category_counts_denials_against_all_adjudicated(ledger: pd.DataFrame) -> None:
    table = kpis(ledger, "category").set_index("denial_category")
    assert dict(table["denied_claims"]) == {
        "coverage_inactive": 1,
        "medical_necessity": 1,
        "missing_auth": 1,
    }
    assert (table["denial_rate"] == 1 / 6).all()
    assert table.loc["missing_auth", "recovered"] == 80.0
    assert table["first_pass_yield"].isna().all()


def test_by_carc_counts_only_denial_codes(ledger: pd.DataFrame) -> None:
    table = kpis(ledger, "carc").set_index("carc")
    assert sorted(table.index) == ["CO-197", "CO-27", "CO-50"]


def test_what_was_known_then(tmp_path: Path) -> None:
    """On 2026-06-19 C5 and C8 were not sent, C2's and C4's denials had not arrived, and
    nothing was appealed."""
    then = kpis(claim_ledger(read_book(tmp_path), AS_OF.replace(day=19))).iloc[0]
    assert then["claims"] == 6
    assert then["adjudicated_claims"] == 4
    assert then["denied_claims"] == 1
    assert then["appeals_closed"] == 0
    assert then["ar_balance"] == pytest.approx(75.0 + 75.0 + 75.0)  # C2, C4 pending; C6


def test_an_appeal_closed_later_was_pending_then(tmp_path: Path) -> None:
    """C2's appeal was sent on 2026-06-25 and overturned on 06-28: on 06-26 its denial was
    still open and nothing was recovered; by AS_OF the 80 came in on 06-28."""
    then = claim_ledger(read_book(tmp_path / "then"), AS_OF.replace(day=26)).set_index("claim_id")
    assert not then.loc["C2", "closed"]
    assert then.loc["C2", "recovered"] == 0.0
    assert then.loc["C2", "ar_balance"] == pytest.approx(75.0)
    assert pd.isna(then.loc["C2", "recovered_date"])
    now = claim_ledger(read_book(tmp_path / "now"), AS_OF).set_index("claim_id")
    assert now.loc["C2", "recovered"] == 80.0
    assert now.loc["C2", "recovered_date"] == pd.Timestamp("2026-06-28")


def test_an_unknown_breakdown_is_refused(ledger: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"'zip'.*payer"):
        kpis(ledger, "zip")


def test_every_breakdown_runs(ledger: pd.DataFrame) -> None:
    for by, column in DIMENSIONS.items():
        assert column in kpis(ledger, by).columns


def test_scrubber_categories_are_the_edit_rules() -> None:
    rules = pd.read_csv(Path(__file__).parents[2] / "serving" / "fix_rules.csv")
    assert set(rules.loc[rules["kind"] == "edit", "fix_code"]) == SCRUBBER_CATEGORIES


def test_records_are_plain_json(ledger: pd.DataFrame) -> None:
    rows = as_records(kpis(ledger, "payer"))
    assert rows[1]["days_to_pay_median"] is None  # PAY-B paid nothing: unknown, not 0
    assert type(rows[0]["claims"]) is int
    assert json.loads(json.dumps(rows)) == rows


def test_a_group_without_claims_in_the_rows_is_left_out(ledger: pd.DataFrame) -> None:
    only_a = ledger[ledger["payer_id"] == "PAY-A"]
    assert list(kpis(only_a, "payer")["payer_id"]) == ["PAY-A"]
