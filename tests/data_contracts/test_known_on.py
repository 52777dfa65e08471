"""A directory as a past day knew it: nothing submitted, remitted or decided later."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from data_contracts.known_on import known_on
from tests.analytics.book import read_book


def test_later_claims_remits_and_appeal_rows_are_not_known(tmp_path: Path) -> None:
    book = read_book(tmp_path)
    then = known_on(book, date(2026, 6, 21))
    assert set(then.claims["claim_id"]) == {
        c
        for c, d in zip(book.claims["claim_id"], book.claims["submission_date"], strict=True)
        if d <= pd.Timestamp("2026-06-21")
    }
    assert set(then.claim_lines["claim_id"]) == set(then.claims["claim_id"])
    assert set(then.remits["claim_id"]) == {"C1", "C3", "C4", "C6", "C7"}  # C2's came 06-22
    assert then.appeals.empty  # the first appeal was filed 06-22


def test_an_appeal_closed_later_was_still_pending(tmp_path: Path) -> None:
    then = known_on(read_book(tmp_path), date(2026, 6, 23))
    (row,) = then.appeals.itertuples()
    assert (row.claim_id, row.outcome, row.recovered_amount) == ("C4", "pending", 0.0)
    assert pd.isna(row.closed_date)
    later = known_on(read_book(tmp_path / "again"), date(2026, 6, 24))
    assert later.appeals.set_index("claim_id").loc["C4", "outcome"] == "upheld"
