"""Browsing the open queue and a lead's changes: filters, sorts, pages, counts, taking a chosen
item, assigning, changing the action, notes; `next` and assignments.

Every test runs on SQLite and, with DENIALOPS_TEST_POSTGRES_URL, on PostgreSQL. The clock
starts on 2026-11-23 (tests/conftest.py), so deadlines below are days from then.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from queues.browse import Holder, QueueCounts, QueueFilter
from queues.drill import drill_items
from queues.store import (
    ANALYZE_AFTER_ROWS,
    MAX_EFFORT_MINUTES,
    NOTE_LENGTH,
    ConflictError,
    InvalidValueError,
    LeaseError,
    UnknownItemError,
    WorkQueue,
)
from settings import Settings
from tests.queue_views import open_items
from tests.queues.test_store import events, ranking

# claim: (payer, category, action, program, clinician, deadline, recoverable amount)
CLAIMS = {
    "A": ("P01", "missing_auth", "appeal", "OP", "DR1", "2026-11-20", 100.0),
    "B": ("P02", "visit_limit", "rebill", "IOP", "DR2", "2026-11-25", 500.0),
    "C": ("P01", "missing_auth", "appeal", "OP", "DR2", None, 250.0),
    "D": ("P02", "missing_auth", "corrected_claim", "PHP", "DR1", "2026-12-10", 1000.0),
    "E": ("P01", "visit_limit", "appeal", "IOP", "DR3", "2026-11-30", 250.0),
    "F": ("P03", "coding", "write_off", None, None, "2026-11-23", 50.0),
}
"""Six open items, priority falling from A to F; A is 3 days past its deadline, F due today,
C's deadline unknown."""


@pytest.fixture
def filled(queue: WorkQueue) -> WorkQueue:
    names = ("payer_id", "denial_category", "action", "program", "clinician_id")
    columns = {name: [row[i] for row in CLAIMS.values()] for i, name in enumerate(names)}
    columns["deadline"] = [pd.Timestamp(row[5]) if row[5] else pd.NaT for row in CLAIMS.values()]
    columns["recoverable_amount"] = [row[6] for row in CLAIMS.values()]
    priorities = {claim: float(len(CLAIMS) - index) for index, claim in enumerate(CLAIMS)}
    queue.load(ranking(priorities, **columns), actor="ranker", policy_version="v1")
    return queue


def shown(queue: WorkQueue, viewer: str = "ana", sort: str = "rank", **view: object) -> list[str]:
    items, total = queue.browse(QueueFilter(**view), viewer, sort=sort, limit=100)
    assert total == len(items)
    return [item.claim_id for item in items]


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ({}, "ABCDEF"),
        ({"payer_id": "P01"}, "ACE"),
        ({"denial_category": "visit_limit"}, "BE"),
        ({"action": "appeal"}, "ACE"),
        ({"program": "IOP"}, "BE"),
        ({"clinician_id": "DR2"}, "BC"),
        ({"payer_id": "P01", "denial_category": "missing_auth"}, "AC"),
        ({"payer_id": "P09"}, ""),
        ({"due_within_days": 0}, "AF"),
        ({"due_within_days": 7}, "ABEF"),
        ({"due_within_days": 2}, "ABF"),
        ({"due_within_days": -3}, "A"),
        ({"due_within_days": -4}, ""),
        ({"due_within_days": 10_000}, "ABDEF"),  # never C: its deadline is unknown
        ({"due_from_days": 0, "due_within_days": 7}, "BEF"),  # due, not yet past
        ({"due_from_days": 1}, "BDE"),
        ({"due_from_days": -10_000}, "ABDEF"),  # never C either
        ({"amount_min": 250}, "BCDE"),
        ({"amount_max": 250}, "ACEF"),
        ({"amount_min": 100, "amount_max": 250}, "ACE"),
        ({"amount_min": 251, "amount_max": 499.99}, ""),
    ],
)
def test_each_filter_selects_exactly_its_items(filled: WorkQueue, view, expected: str) -> None:
    assert shown(filled, **view) == list(expected)


def test_only_open_items_are_browsed(filled: WorkQueue) -> None:
    assert filled.next("ana").claim_id == "A"
    filled.resolve("A", "ana", "appeal", 5)
    filled.load(ranking({"B": 5.0, "C": 4.0, "D": 3.0, "E": 2.0}), actor="r", policy_version="v2")
    assert shown(filled) == list("BCDE")  # A resolved, F closed


def test_mine_and_unassigned_follow_live_leases_and_assignments(filled: WorkQueue, clock) -> None:
    filled.take("B", "ana", lease_seconds=60)
    filled.take("C", "ben")
    filled.assign(["D"], "ana", "lead")
    filled.assign(["E"], "ben", "lead")
    assert shown(filled, "ana", holder=Holder.me) == ["B", "D"]
    assert shown(filled, "ben", holder=Holder.me) == ["C", "E"]
    assert shown(filled, "cy", holder=Holder.me) == []
    assert shown(filled, "ana", holder=Holder.unassigned) == ["A", "F"]
    assert shown(filled, "ana", holder=Holder.workable) == ["A", "B", "D", "F"]
    assert shown(filled, "ben", holder=Holder.workable) == ["A", "C", "E", "F"]
    clock.advance(61)  # ana's lease on B lapses: B is nobody's
    assert shown(filled, "ana", holder=Holder.me) == ["D"]
    assert shown(filled, "ana", holder=Holder.unassigned) == ["A", "B", "F"]
    assert shown(filled, "ben", holder=Holder.workable) == ["A", "B", "C", "E", "F"]
    filled.assign(["D"], None, "lead")
    assert shown(filled, "ana", holder=Holder.unassigned) == ["A", "B", "D", "F"]
    assert shown(filled, "ana", holder=Holder.me, payer_id="P02") == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("rank", "ABCDEF"), ("deadline", "AFBEDC"), ("amount", "DBCEAF")],
)
def test_each_sort_order(filled: WorkQueue, sort: str, expected: str) -> None:
    """Deadline: nearest first, unknown last (SQLite would sort NULL first); ties (C and E
    at 250) in the queue's order."""
    assert shown(filled, sort=sort) == list(expected)


def test_pages_come_with_the_total(filled: WorkQueue) -> None:
    view = QueueFilter(amount_min=100)
    pages = [filled.browse(view, "ana", sort="amount", limit=2, offset=at) for at in (0, 2, 4)]
    assert [([item.claim_id for item in items], total) for items, total in pages] == [
        (["D", "B"], 5),
        (["C", "E"], 5),
        (["A"], 5),
    ]
    assert filled.browse(view, "ana", limit=2, offset=10) == ([], 5)


def test_counts_for_a_viewer(filled: WorkQueue, clock) -> None:
    assert filled.counts("ana") == QueueCounts(
        open=6, due_this_week=3, past_deadline=1, taken_by_me=0
    )
    filled.take("A", "ana")
    filled.take("B", "ana", lease_seconds=60)
    filled.take("C", "ben")
    assert filled.counts("ana").taken_by_me == 2
    assert filled.counts("ben").taken_by_me == 1
    clock.advance(61)
    assert filled.counts("ana").taken_by_me == 1
    clock.advance(24 * 3600 * 3)  # 2026-11-26: B (11-25) is past now, D (12-10) still not due
    assert filled.counts("ana") == QueueCounts(
        open=6, due_this_week=1, past_deadline=3, taken_by_me=0
    )


def test_take_leases_a_chosen_item_and_is_audited(filled: WorkQueue, clock) -> None:
    taken = filled.take("D", "ana")
    assert (taken.claim_id, taken.lease_holder) == ("D", "ana")
    assert taken.lease_expires_at == clock.now + pd.Timedelta(seconds=600)
    trail = filled.audit("D")[-1]
    assert (trail.event, trail.actor, trail.detail["chosen"]) == ("leased", "ana", True)
    with pytest.raises(LeaseError, match=re.escape("claim D is leased by ana until")):
        filled.take("D", "ben")
    clock.advance(100)
    renewed = filled.take("D", "ana")
    assert renewed.lease_expires_at == clock.now + pd.Timedelta(seconds=600)
    assert events(filled, "D") == ["loaded", "leased", "leased"]
    filled.resolve("D", "ana", "appeal", 5)
    assert filled.next("ana").claim_id == "A", "next does not hand out what take leased"


def test_take_refuses_assigned_items_closed_ones_and_the_cap(filled: WorkQueue, clock) -> None:
    filled.assign(["B"], "ben", "lead")
    with pytest.raises(LeaseError, match="claim B is assigned to ben"):
        filled.take("B", "ana")
    assert filled.take("B", "ben").lease_holder == "ben"
    with pytest.raises(UnknownItemError, match="NOPE"):
        filled.take("NOPE", "ana")
    for claim in "ACD":
        filled.take(claim, "ana")
    with pytest.raises(ConflictError, match=r"ana already holds 3 live leases"):
        filled.take("E", "ana")
    assert filled.take("A", "ana").lease_holder == "ana", "renewing one's own is not a new lease"
    filled.resolve("A", "ana", "appeal", 5)
    with pytest.raises(ConflictError, match="claim A is resolved, not open"):
        filled.take("A", "ana")
    clock.advance(601)  # every lease lapsed: a lapsed lease is anyone's
    assert filled.take("D", "cy").lease_holder == "cy"
    assert events(filled, "E") == ["loaded"]


def test_assign_is_all_or_none_and_audited(filled: WorkQueue) -> None:
    filled.take("C", "ben")
    with pytest.raises(LeaseError, match="claim C is leased by ben"):
        filled.assign(["A", "B", "C"], "ana", "lead")
    assert [filled.item(claim).assigned_to for claim in "ABC"] == [None, None, None]
    assert events(filled, "A") == ["loaded"]
    with pytest.raises(UnknownItemError, match="NOPE"):
        filled.assign(["A", "NOPE"], "ana", "lead")
    assert filled.item("A").assigned_to is None

    done = filled.assign(["B", "A"], "ana", "lead")
    assert [(item.claim_id, item.assigned_to) for item in done] == [("A", "ana"), ("B", "ana")]
    moved = filled.assign(["C", "A"], "ben", "lead")  # C: leased by ben, assigned to him
    assert [(item.claim_id, item.assigned_to) for item in moved] == [("A", "ben"), ("C", "ben")]
    filled.assign(["A"], None, "lead")
    trail = [(e.actor, e.event, e.detail) for e in filled.audit("A")[1:]]
    assert trail == [
        ("lead", "assigned", {"from": None, "to": "ana"}),
        ("lead", "assigned", {"from": "ana", "to": "ben"}),
        ("lead", "assigned", {"from": "ben", "to": None}),
    ]
    with pytest.raises(InvalidValueError, match="biller must be"):
        filled.assign(["A"], "", "lead")


def test_a_lead_changes_the_action_all_or_none(filled: WorkQueue) -> None:
    filled.take("B", "ben")
    with pytest.raises(LeaseError, match="claim B is leased by ben"):
        filled.change_action(["A", "B"], "write_off", "lead")
    assert (filled.item("A").action, filled.item("B").action) == ("appeal", "rebill")
    with pytest.raises(InvalidValueError, match="action 'shred' is not one of"):
        filled.change_action(["A"], "shred", "lead")
    changed = filled.change_action(["E", "A"], "write_off", "lead")
    assert [(item.claim_id, item.action) for item in changed] == [
        ("A", "write_off"),
        ("E", "write_off"),
    ]
    last = filled.audit("A")[-1]
    assert (last.actor, last.event, last.detail) == (
        "lead",
        "action_changed",
        {"from": "appeal", "to": "write_off"},
    )
    assert shown(filled, action="write_off") == ["A", "E", "F"]


def test_next_skips_items_assigned_to_someone_else(filled: WorkQueue) -> None:
    filled.assign(["A", "B"], "ben", "lead")
    assert [item.claim_id for item in open_items(filled, biller="ana")] == ["C", "D", "E", "F"]
    assert shown(filled, "ana", holder=Holder.workable) == ["C", "D", "E", "F"]
    assert [item.claim_id for item in open_items(filled, biller="ben")] == list("ABCDEF")
    assert len(open_items(filled)) == 6
    assert filled.next("ana").claim_id == "C"
    assert filled.next("ben").claim_id == "A"
    assert filled.next("ben").claim_id == "B"
    assert [item.claim_id for item in open_items(filled, biller="ana")] == ["C", "D", "E", "F"]
    assert shown(filled, "ana", holder=Holder.workable) == ["C", "D", "E", "F"]


def test_notes_are_audited_and_bounded(filled: WorkQueue) -> None:
    note = filled.add_note("A", "ana", "  called the payer, waiting  ")
    assert (note.event, note.actor, note.claim_id) == ("note_added", "ana", "A")
    assert note.detail == {"text": "called the payer, waiting"}
    assert filled.audit("A")[-1] == note
    filled.add_note("A", "ben", "x" * NOTE_LENGTH)
    for text in ("", "   ", "x" * (NOTE_LENGTH + 1)):
        with pytest.raises(InvalidValueError, match="a note is 1 to 2000 characters"):
            filled.add_note("A", "ana", text)
    with pytest.raises(UnknownItemError):
        filled.add_note("NOPE", "ana", "hello")
    assert events(filled, "A") == ["loaded", "note_added", "note_added"]


def test_an_unknown_sort_is_refused(filled: WorkQueue) -> None:
    with pytest.raises(InvalidValueError, match="sort 'payer' is not one of rank, deadline"):
        filled.browse(QueueFilter(), "ana", sort="payer")


def test_a_filter_as_params_keeps_every_value() -> None:
    view = QueueFilter(payer_id="P01", due_within_days=-3, amount_min=1234567.5, holder=Holder.me)
    assert view.as_params() == {
        "payer_id": "P01",
        "due_within_days": "-3",
        "amount_min": "1234567.5",
        "holder": "me",
    }
    assert QueueFilter(amount_max=250.0).as_params() == {"amount_max": "250"}
    assert QueueFilter().as_params() == {}


def test_a_repeated_claim_is_changed_and_audited_once(filled: WorkQueue) -> None:
    assert [item.claim_id for item in filled.assign(["A", "A"], "ana", "lead")] == ["A"]
    assert events(filled, "A") == ["loaded", "assigned"]


def test_the_holder_reassigns_an_item_in_one_step(filled: WorkQueue) -> None:
    with pytest.raises(LeaseError, match="ana holds no lease on claim D"):
        filled.reassign("D", "ana", "ben")
    filled.take("D", "ana")
    with pytest.raises(InvalidValueError, match="someone else than ana"):
        filled.reassign("D", "ana", "ana")
    with pytest.raises(LeaseError, match="claim D is leased by ana"):
        filled.reassign("D", "cy", "ben")
    item = filled.reassign("D", "ana", "ben")
    assert (item.lease_holder, item.assigned_to, item.status) == (None, "ben", "open")
    assert events(filled, "D")[-2:] == ["released", "assigned"]
    assert filled.audit("D")[-1].detail == {"from": None, "to": "ben"}
    with pytest.raises(LeaseError, match="assigned to ben"):
        filled.take("D", "ana")
    assert filled.take("D", "ben").lease_holder == "ben"


@pytest.mark.postgres
def test_a_large_load_refreshes_postgresqls_statistics(database_url: str, clock) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("statistics are PostgreSQL's")
    settings = Settings(database_url=database_url)
    with WorkQueue.from_settings(settings, clock=clock) as queue:
        queue.load(drill_items(ANALYZE_AFTER_ROWS), actor="ranker", policy_version="v1")
        with queue.database.admin().engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = 'queue_items'::regclass"
            ).scalar()
    assert rows == ANALYZE_AFTER_ROWS  # -1 (never analyzed) without the load's ANALYZE


def test_a_resolution_records_at_most_a_days_effort(filled: WorkQueue) -> None:
    filled.take("A", "ana")
    for minutes in (-1, MAX_EFFORT_MINUTES + 1, 3_000_000_000):
        with pytest.raises(InvalidValueError, match="effort_minutes must be a whole number"):
            filled.resolve("A", "ana", "appeal", minutes)
    assert filled.resolve("A", "ana", "appeal", MAX_EFFORT_MINUTES).resolved_effort_minutes == (
        MAX_EFFORT_MINUTES
    )
