"""The scoring audit's weekly summary: claims checked before submission and how many the
scrubber flagged, for the leadership dashboard.

Runs on SQLite and, with DENIALOPS_TEST_POSTGRES_URL, on PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from serving.audit import SCORE_COLUMNS, AuditLog, Decision, WeekOfChecks
from storage.tenants import add_tenant
from tests.conftest import Clock


def test_weekly_checks_count_decisions_and_flags_by_week(database, clock: Clock) -> None:
    database.migrate()
    log = AuditLog(database, clock=clock)  # Monday 23 November 2026, 14:00 UTC
    log.record(
        "k1",
        "7",
        [Decision("A", 0.05, "pass"), Decision("B", 0.3, "review"), Decision("C", 0.7, "hold")],
    )
    clock.advance(6 * 86_400 + 9 * 3_600)  # Sunday 29th, 23:00: the same week
    log.record("k1", "7", [Decision("A", 0.04, "pass")])
    clock.advance(3_600)  # Monday 30th, 00:00: the next
    log.record("k1", "7", [Decision("D", 0.6, "hold"), Decision("E", 0.1, "pass")])
    add_tenant(database, "beta", by="test")
    other = AuditLog(database, tenant="beta", clock=clock)
    other.record("k2", "7", [Decision("X", 0.9, "hold")])
    weeks = log.weekly_checks(date(2026, 11, 1))
    assert weeks == [
        WeekOfChecks(date(2026, 11, 23), checked=4, review=1, hold=1),
        WeekOfChecks(date(2026, 11, 30), checked=2, review=0, hold=1),
    ]
    assert [week.flagged for week in weeks] == [2, 1]


def test_weekly_checks_start_on_the_day_asked(database, clock: Clock) -> None:
    database.migrate()
    log = AuditLog(database, clock=clock)
    log.record("k1", "7", [Decision("A", 0.3, "review")])
    clock.advance(2 * 86_400)
    log.record("k1", "7", [Decision("B", 0.3, "pass")])
    assert log.weekly_checks(clock.now.date()) == [WeekOfChecks(date(2026, 11, 23), 1, 0, 0)]
    assert log.weekly_checks(clock.now.date() + timedelta(days=1)) == []


def test_scores_give_each_claims_latest_score_by_role_with_its_top_fix(
    database, clock: Clock
) -> None:
    database.migrate()
    log = AuditLog(database, clock=clock)
    first = clock.now
    log.record("k1", "7", [Decision("A", 0.3, "review", "MOD_GT"), Decision("B", 0.7, "hold")])
    log.record("k1", "9", [Decision("A", 0.8, "hold", "AUTH")], role="shadow")
    clock.advance(3_600)
    log.record("batch", "8", [Decision("A", 0.05, "pass")])
    add_tenant(database, "beta", by="test")
    AuditLog(database, tenant="beta", clock=clock).record("k2", "7", [Decision("Z", 0.9, "hold")])

    champion = log.scores()
    assert list(champion.columns) == list(SCORE_COLUMNS)
    assert champion.drop(columns="at").to_dict("records") == [
        {"claim_id": "A", "model_version": "8", "p_denial": 0.05, "band": "pass", "top_fix": None},
        {"claim_id": "B", "model_version": "7", "p_denial": 0.7, "band": "hold", "top_fix": None},
    ]
    assert list(champion["at"]) == [pd.Timestamp(clock.now), pd.Timestamp(first)]
    shadow = log.scores(role="shadow")
    assert shadow[["claim_id", "model_version", "top_fix"]].values.tolist() == [["A", "9", "AUTH"]]
    assert log.scores(since=first + timedelta(minutes=1))["claim_id"].tolist() == ["A"]
    assert log.scores(since=clock.now + timedelta(seconds=1)).empty
    # Shadow scores were never answered: the dashboard's checks leave them out.
    assert log.weekly_checks(first.date()) == [WeekOfChecks(date(2026, 11, 23), 3, 1, 1)]


def test_scores_refuse_a_naive_since(database, clock: Clock) -> None:
    database.migrate()
    with pytest.raises(ValueError, match="naive"):
        AuditLog(database, clock=clock).scores(since=datetime(2026, 11, 23))
