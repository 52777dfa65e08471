"""The cash forecast on hand-made ledgers whose answer is known, and its backtest on a small
synthetic history.

Payer A's history: 60 claims, each paid exactly 14 days after submission, 100 dollars
allowed and paid; payer D's: 40 denials recovered exactly 30 days after the denial and 40
closed without recovery. So an open claim of A pays 14 days after it was sent, and an open
denial of D is recovered, half the time, 30 days after it was denied.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.forecast import (
    ALL_PAYERS,
    Calibration,
    actual_cash,
    backtest,
    calibrate,
    cash_forecast,
    evenly_spaced_cutoffs,
)
from analytics.ledger import claim_ledger, data_as_of
from data_contracts.reader import ContractData, read_data_dir
from synthetic import generate, write_synthetic

AS_OF = date(2026, 6, 30)
HISTORY_CLAIMS = 12_000


def claim(
    claim_id: str,
    payer: str,
    age: int,
    *,
    owed: float = 0.0,
    paid_after: int | None = None,
    denied_after: int | None = None,
    recovered_after: int | None = None,
    closed: bool = False,
) -> dict[str, object]:
    """One ledger row as `claim_ledger` makes it: sent `age` days before AS_OF, paid (100
    dollars) or denied `paid_after` / `denied_after` days later, or pending owing `owed`."""
    sent = pd.Timestamp(AS_OF) - pd.Timedelta(days=age)
    remit_after = paid_after if paid_after is not None else denied_after
    received = sent + pd.Timedelta(days=remit_after) if remit_after is not None else pd.NaT
    recovered_on = (
        received + pd.Timedelta(days=recovered_after) if recovered_after is not None else pd.NaT
    )
    return {
        "claim_id": claim_id,
        "payer_id": payer,
        "submission_date": sent,
        "age_days": age,
        "adjudicated": remit_after is not None,
        "denied": denied_after is not None,
        "received_date": received,
        "days_to_pay": float(paid_after) if paid_after is not None else np.nan,
        "paid_amount": 100.0 if paid_after is not None else 0.0,
        "expected_allowed": 100.0,
        "collectible": 100.0,
        "recovered": 100.0 if recovered_after is not None else 0.0,
        "recovered_date": recovered_on,
        "closed": closed or recovered_after is not None,
        "ar_balance": owed,
    }


def history() -> list[dict[str, object]]:
    paid = [claim(f"A{n}", "A", 100 + n, paid_after=14) for n in range(60)]
    won = [
        claim(f"DW{n}", "D", 200 + n, denied_after=10, recovered_after=30, closed=True)
        for n in range(40)
    ]
    lost = [claim(f"DL{n}", "D", 200 + n, denied_after=10, closed=True) for n in range(40)]
    return paid + won + lost


def ledger(*open_claims: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame([*history(), *open_claims])


def by_week(table: pd.DataFrame, payer: str) -> dict[int, float]:
    rows = table[table["payer_id"] == payer]
    return dict(zip(rows["week"], rows["expected"], strict=True))


def test_cash_lands_in_the_week_the_payer_pays() -> None:
    """Sent 0, 3, 7 and 13 days ago, paid at day 14: in 14, 11, 7 and 1 days."""
    table = cash_forecast(
        ledger(
            claim("P0", "A", 0, owed=10.0),
            claim("P3", "A", 3, owed=20.0),
            claim("P7", "A", 7, owed=40.0),
            claim("P13", "A", 13, owed=80.0),
        ),
        as_of=AS_OF,
    )
    assert by_week(table, "A") == pytest.approx({0: 120.0, 1: 30.0})
    assert by_week(table, ALL_PAYERS) == pytest.approx(
        {0: 120.0, 1: 30.0} | dict.fromkeys(range(2, 8), 0.0)
    )
    first = table[(table["payer_id"] == "A") & (table["week"] == 0)].iloc[0]
    assert first["week_start"] == AS_OF + timedelta(days=1)
    assert first["claims"] == 2
    assert (table["p_paid_from"] == "ledger rates").all()
    assert (table["low"] <= table["expected"]).all()
    assert (table["expected"] <= table["high"]).all()


def test_a_claim_older_than_every_delay_counts_on_nothing() -> None:
    table = cash_forecast(ledger(claim("OLD", "A", 20, owed=500.0)), as_of=AS_OF)
    assert table.loc[table["payer_id"] == ALL_PAYERS, "expected"].sum() == 0.0
    assert "A" not in set(table["payer_id"])


def test_p_paid_scales_the_cash_and_zero_means_none() -> None:
    open_claims = [claim("P7", "A", 7, owed=40.0), claim("P13", "A", 13, owed=80.0)]
    half = cash_forecast(
        ledger(*open_claims), pd.Series({"P7": 0.5, "P13": 0.25}, dtype=float), as_of=AS_OF
    )
    assert by_week(half, "A") == pytest.approx({0: 40.0 * 0.5 + 80.0 * 0.25})
    assert (half["p_paid_from"] == "model").all()
    none = cash_forecast(ledger(*open_claims), pd.Series({"P7": 0.0, "P13": 0.0}), as_of=AS_OF)
    assert none["expected"].sum() == 0.0
    partly = cash_forecast(ledger(*open_claims), pd.Series({"P7": 0.0}), as_of=AS_OF)
    assert by_week(partly, "A") == pytest.approx({0: 80.0})  # P13 takes A's rate: 1
    assert partly["p_paid_from"].iat[0] == "model (ledger rates for 1 claims it did not score)"


def test_an_open_denial_is_recovered_at_the_payers_rate_and_delay() -> None:
    """Denied 10 days ago (sent 20 days ago): recovered half the time, 20 days from now
    (week 2: days 15 to 21); a model's P(recover) replaces the payer's half."""
    denial = claim("OPEN", "D", 20, owed=100.0, denied_after=10)
    assert by_week(cash_forecast(ledger(denial), as_of=AS_OF), "D") == pytest.approx({2: 50.0})
    model = cash_forecast(ledger(denial), pd.Series({"OPEN": 0.9}), as_of=AS_OF)
    assert by_week(model, "D") == pytest.approx({2: 90.0})
    late = claim("LATE", "D", 50, owed=100.0, denied_after=10)  # 40 days after its denial
    assert "D" not in set(cash_forecast(ledger(late), as_of=AS_OF)["payer_id"])


def test_calibration_widens_the_interval_by_earlier_errors() -> None:
    open_claims = ledger(claim("P7", "A", 7, owed=40.0), claim("P13", "A", 13, owed=80.0))
    chance = cash_forecast(open_claims, as_of=AS_OF)
    row = chance[chance["payer_id"] == ALL_PAYERS].iloc[0]
    assert (row["low"], row["high"]) == pytest.approx((120.0, 120.0))  # both certain to pay
    assert chance["interval_from"].iat[0].startswith("chance alone")
    scores = np.arange(-9.0, 10.0)  # 19 scores: the 2nd and the 18th bound 80%
    calibration = Calibration(
        (AS_OF,),
        {"total": np.full(8, 0.1), "payer": np.full(8, 0.1)},
        {"total": scores, "payer": scores},
    )
    assert calibration.bounds("total", 0.8) == (-8.0, 8.0)
    wide = cash_forecast(open_claims, as_of=AS_OF, calibration=calibration)
    row = wide[wide["payer_id"] == ALL_PAYERS].iloc[0]
    assert (row["low"], row["high"]) == pytest.approx((120.0 - 8 * 12.0, 120.0 + 8 * 12.0))
    assert wide["interval_from"].iat[0] == "calibrated on 1 earlier cut-offs"


def test_too_few_scores_give_an_open_interval() -> None:
    calibration = Calibration((AS_OF,), {"total": np.zeros(8)}, {"total": np.array([1.0, 2.0])})
    assert calibration.bounds("total", 0.8) == (-np.inf, np.inf)


@pytest.fixture(scope="module")
def history_dir(tmp_path_factory: pytest.TempPathFactory) -> ContractData:
    """Two years of synthetic history, small enough for a backtest of a few seconds."""
    folder = tmp_path_factory.mktemp("history")
    write_synthetic(generate(HISTORY_CLAIMS, seed=11), folder, "parquet")
    return read_data_dir(folder)


def test_actual_cash_is_what_came_in_from_claims_open_at_the_cutoff(
    history_dir: ContractData,
) -> None:
    cutoff = data_as_of(history_dir) - timedelta(weeks=12)
    open_at = claim_ledger(history_dir, cutoff)
    open_ids = set(open_at.loc[open_at["ar_balance"] > 0, "claim_id"])
    actual = actual_cash(history_dir, open_at, cutoff, 2)
    remits = history_dir.remits
    days = (remits["received_date"] - pd.Timestamp(cutoff)).dt.days
    first_week = remits[remits["claim_id"].isin(open_ids) & days.between(1, 7)]
    appeals = history_dir.appeals
    closed = (appeals["closed_date"] - pd.Timestamp(cutoff)).dt.days
    recovered = appeals[appeals["claim_id"].isin(open_ids) & closed.between(1, 7)]
    week0 = actual[(actual["payer_id"] == ALL_PAYERS) & (actual["week"] == 0)]["actual"].item()
    assert week0 == pytest.approx(
        first_week["paid_amount"].sum() + recovered["recovered_amount"].sum()
    )
    payers = actual[actual["payer_id"] != ALL_PAYERS].groupby("week")["actual"].sum()
    totals = actual[actual["payer_id"] == ALL_PAYERS].set_index("week")["actual"]
    assert payers.to_numpy() == pytest.approx(totals.to_numpy())


def test_backtest_on_synthetic_history(history_dir: ContractData) -> None:
    """Two cut-offs 4 weeks apart, intervals calibrated on 4 cut-offs before each: the
    forecast is near what came in and the 80% intervals cover a sane share. (12,000 claims
    over two years is about $11,000 a week, a few large claims at a time, so a week's total
    errs by a quarter; `benchmarks/bench_forecast.py` measures it on 200,000.)"""
    last = data_as_of(history_dir) - timedelta(weeks=8)
    result = backtest(history_dir, evenly_spaced_cutoffs(last, 2), calibration_count=4)
    summary = result.summary
    assert summary["cutoffs"] == 2
    assert summary["total_cells"] == 16
    assert summary["total_wape"] < 0.4
    assert abs(summary["total_bias"]) < 0.15
    assert 0.5 <= summary["payer_week_coverage"] <= 1.0
    assert 0.5 <= summary["total_coverage"] <= 1.0
    cells = result.cells
    assert set(cells.columns) >= {"cutoff", "week_start", "payer_id", "expected", "low", "high"}
    assert (cells["low"] <= cells["high"]).all()
    assert cells["interval_from"].eq("calibrated on 4 earlier cut-offs").all()


def test_no_earlier_cutoff_no_calibration(history_dir: ContractData) -> None:
    start = history_dir.claims["submission_date"].min().date()
    assert calibrate(history_dir, start + timedelta(weeks=4)) is None
