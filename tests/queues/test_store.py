"""The work queue as billers and the ranking meet it: loads, leases, resolutions, outcomes, audit.

Every test runs on SQLite and, with DENIALOPS_TEST_POSTGRES_URL, on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from data_contracts.reader import check_table
from data_contracts.schemas import TABLES
from queues.store import (
    ConflictError,
    ForbiddenError,
    InvalidValueError,
    LeaseError,
    LoadCounts,
    ReconcileRefusedError,
    UnknownItemError,
    WorkQueue,
)
from tests.queue_views import open_items


def ranking(priorities: dict[str, float], **columns: object) -> pd.DataFrame:
    """Ranked denials, one per claim, with the given priorities (rank follows priority)."""
    claims = list(priorities)
    frame = pd.DataFrame(
        {
            "claim_id": claims,
            "payer_id": "P01",
            "denial_category": "missing_auth",
            "action": "appeal",
            "p_recover": 0.6,
            "recoverable_amount": 250.0,
            "billed_amount": 400.0,
            "expected_recovery": 150.0,
            "effort_minutes": 30.0,
            "deadline": pd.Timestamp("2027-01-15"),
            "priority": [priorities[claim] for claim in claims],
            "reason": "authorization on file but not named",
        }
    )
    frame["rank"] = frame["priority"].rank(ascending=False, method="first").astype(int)
    for name, value in columns.items():
        frame[name] = value
    return frame


def load(queue: WorkQueue, priorities: dict[str, float], policy: str = "v1", **columns: object):
    return queue.load(ranking(priorities, **columns), actor="ranker", policy_version=policy)


def events(queue: WorkQueue, claim_id: str | None = None) -> list[str]:
    return [event.event for event in queue.audit(claim_id)]


def test_loading_the_same_denials_twice_adds_nothing(queue: WorkQueue) -> None:
    priorities = {"C1": 3.0, "C2": 2.0, "C3": 1.0}
    assert load(queue, priorities) == LoadCounts(inserted=3, refreshed=0, unchanged=0, worked=0)
    assert load(queue, priorities) == LoadCounts(inserted=0, refreshed=0, unchanged=3, worked=0)
    assert [item.claim_id for item in open_items(queue)] == ["C1", "C2", "C3"]
    assert events(queue) == ["loaded"] * 3


def test_a_new_ranking_refreshes_open_items_and_leaves_worked_ones_alone(
    queue: WorkQueue, clock
) -> None:
    load(queue, {"HELD": 4.0, "DONE": 3.0, "LAPSED": 2.0, "OPEN": 1.0})
    assert queue.next("ana").claim_id == "HELD"
    assert queue.next("ben").claim_id == "DONE"
    queue.resolve("DONE", "ben", "appeal", 25)
    clock.advance(300)
    assert queue.next("cy", lease_seconds=60).claim_id == "LAPSED"
    clock.advance(120)  # cy's lease on LAPSED ran out; ana's still runs

    counts = load(queue, {"HELD": 0.5, "DONE": 0.5, "LAPSED": 9.0, "OPEN": 8.0, "NEW": 7.0}, "v2")

    assert counts == LoadCounts(inserted=1, refreshed=2, unchanged=0, worked=2)
    held, done, lapsed = (queue.item(claim) for claim in ("HELD", "DONE", "LAPSED"))
    assert (held.lease_holder, held.priority, held.policy_version) == ("ana", 4.0, "v1")
    assert (done.status, done.priority, done.resolved_by) == ("resolved", 3.0, "ben")
    assert (lapsed.priority, lapsed.policy_version) == (9.0, "v2")
    refreshed = queue.audit("OPEN")[-1]
    assert refreshed.event == "refreshed"
    assert refreshed.detail["priority"] == [1.0, 8.0]
    assert refreshed.detail["policy_version"] == ["v1", "v2"]
    assert events(queue, "HELD") == ["loaded", "leased"]
    assert events(queue, "NEW") == ["loaded"]


def test_next_hands_out_the_highest_priority_then_the_first_loaded(queue: WorkQueue) -> None:
    load(queue, {"LOW": 1.0, "TIE-A": 5.0, "TOP": 9.0, "TIE-B": 5.0})
    handed = [queue.next(f"biller-{index}") for index in range(5)]
    assert [item.claim_id if item else None for item in handed] == [
        "TOP",
        "TIE-A",
        "TIE-B",
        "LOW",
        None,
    ]
    top = handed[0]
    assert top.lease_holder == "biller-0"
    assert top.lease_expires_at - top.updated_at == timedelta(seconds=600)


def test_next_can_keep_to_one_payer_or_category(queue: WorkQueue) -> None:
    both = pd.concat(
        [
            ranking({"A1": 5.0, "A2": 1.0}, payer_id="PA"),
            ranking({"B1": 3.0}, payer_id="PB", denial_category="visit_limit"),
        ]
    )
    queue.load(both, actor="ranker", policy_version="v1")
    assert queue.next("ana", payer_id="PB").claim_id == "B1"
    assert queue.next("ana", payer_id="PB") is None
    assert queue.next("ana", denial_category="missing_auth").claim_id == "A1"


def test_a_leased_item_is_not_handed_out_again_until_its_lease_expires(
    queue: WorkQueue, clock
) -> None:
    load(queue, {"ONLY": 1.0})
    assert queue.next("ana").claim_id == "ONLY"
    assert queue.next("ben") is None
    clock.advance(599)
    assert queue.next("ben") is None
    clock.advance(1)
    taken = queue.next("ben")
    assert (taken.claim_id, taken.lease_holder) == ("ONLY", "ben")
    with pytest.raises(LeaseError, match="ONLY is leased by ben"):
        queue.resolve("ONLY", "ana", "appeal", 10)
    clock.advance(601)
    with pytest.raises(LeaseError, match="ben's lease on claim ONLY expired"):
        queue.resolve("ONLY", "ben", "appeal", 10)
    assert events(queue, "ONLY") == ["loaded", "leased", "leased"]


def test_only_the_lease_holder_may_resolve_or_release(queue: WorkQueue) -> None:
    load(queue, {"C1": 2.0, "C2": 1.0})
    assert queue.next("ana").claim_id == "C1"
    with pytest.raises(LeaseError, match="C1 is leased by ana"):
        queue.release("C1", "ben")
    with pytest.raises(LeaseError, match="ben holds no lease on claim C2"):
        queue.resolve("C2", "ben", "appeal", 5)
    with pytest.raises(UnknownItemError, match="no queue item for claim NOPE"):
        queue.resolve("NOPE", "ana", "appeal", 5)
    with pytest.raises(InvalidValueError, match="C1: action 'fax'"):
        queue.resolve("C1", "ana", "fax", 5)
    with pytest.raises(InvalidValueError, match="effort_minutes"):
        queue.resolve("C1", "ana", "appeal", -1)

    released = queue.release("C1", "ana")
    assert (released.lease_holder, released.status) == (None, "open")
    assert queue.next("ben").claim_id == "C1"
    resolved = queue.resolve("C1", "ben", "corrected_claim", 12, note="added modifier 95")
    assert (resolved.status, resolved.resolved_action, resolved.outcome) == (
        "resolved",
        "corrected_claim",
        "pending",
    )
    assert (resolved.resolved_effort_minutes, resolved.lease_holder) == (12, None)
    with pytest.raises(ConflictError, match="C1 is already resolved"):
        queue.resolve("C1", "ben", "appeal", 5)
    assert events(queue, "C1") == ["loaded", "leased", "released", "leased", "resolved"]


def test_ranked_shows_a_biller_what_they_may_work(queue: WorkQueue) -> None:
    load(queue, {"C1": 4.0, "C2": 3.0, "C3": 2.0, "C4": 1.0})
    queue.next("ana")
    queue.next("ben")

    def ids(items):
        return [item.claim_id for item in items]

    assert ids(open_items(queue)) == ["C1", "C2", "C3", "C4"]
    assert ids(open_items(queue, biller="ben")) == ["C2", "C3", "C4"]
    assert ids(open_items(queue, limit=2, offset=1, biller="ana")) == ["C3", "C4"]


def test_outcomes_follow_the_action_and_the_contract(queue: WorkQueue, clock) -> None:
    load(queue, {"C1": 2.0, "C2": 1.0})
    with pytest.raises(ConflictError, match="C1 has no action yet"):
        queue.record_outcome("C1", "ana", "overturned", 100.0, clock.now.date())
    queue.next("ana")
    queue.resolve("C1", "ana", "appeal", 40)
    today = clock.now.date()
    with pytest.raises(InvalidValueError, match="overturned outcome needs a closed_date"):
        queue.record_outcome("C1", "ana", "overturned", 100.0, None)
    with pytest.raises(InvalidValueError, match="pending outcome has no closed_date"):
        queue.record_outcome("C1", "ana", "pending", 0.0, today)
    with pytest.raises(InvalidValueError, match="before the action date"):
        queue.record_outcome("C1", "ana", "upheld", 0.0, today - timedelta(days=1))
    with pytest.raises(InvalidValueError, match="recovered_amount"):
        queue.record_outcome("C1", "ana", "overturned", -5.0, today)
    with pytest.raises(UnknownItemError):
        queue.record_outcome("NOPE", "ana", "upheld", 0.0, today)

    clock.advance(30 * 24 * 3600)
    closed = queue.record_outcome("C1", "ana", "overturned", 212.346, today + timedelta(days=30))
    assert (closed.outcome, closed.recovered_amount) == ("overturned", 212.35)
    assert queue.audit("C1")[-1].detail == {
        "outcome": "overturned",
        "recovered_amount": 212.35,
        "closed_date": (today + timedelta(days=30)).isoformat(),
    }


def test_resolved_items_export_as_the_contracts_appeals_table(queue: WorkQueue, clock) -> None:
    assert queue.export_appeals().empty
    load(queue, {"C1": 3.0, "C2": 2.0, "C3": 1.0, "OPEN": 0.5})
    for claim, action in (("C1", "appeal"), ("C2", "rebill"), ("C3", "write_off")):
        assert queue.next("ana").claim_id == claim
        queue.resolve(claim, "ana", action, 15)
    worked_on = clock.now.date()
    clock.advance(30 * 24 * 3600)
    queue.record_outcome("C1", "ana", "overturned", 180.0, date(2026, 12, 20))
    queue.record_outcome("C3", "ana", "upheld", 0.0, clock.now.date())

    appeals = queue.export_appeals()

    # The queue does not know why a payer decided: the optional outcome_reason is left out.
    assert list(appeals.columns) == [c.name for c in TABLES["appeals"].columns if not c.optional]
    typed, problems = check_table("appeals", appeals)
    assert problems == []
    pd.testing.assert_frame_equal(typed, appeals)
    rows = appeals.set_index("claim_id")
    assert rows.loc["C1", "outcome"] == "overturned"
    assert rows.loc["C1", "recovered_amount"] == 180.0
    assert rows.loc["C2", "outcome"] == "pending"
    assert pd.isna(rows.loc["C2", "closed_date"])
    assert rows.loc["C3", "action"] == "write_off"
    assert (rows["action_date"] == pd.Timestamp(worked_on)).all()
    assert (rows["effort_minutes"] == 15).all()


def test_every_change_is_audited_and_the_trail_is_append_only(queue: WorkQueue, clock) -> None:
    load(queue, {"C1": 1.0})
    queue.next("ana")
    queue.resolve("C1", "ana", "appeal", 30, note="faxed the authorization")
    queue.record_outcome("C1", "payer-feed", "overturned", 95.5, clock.now.date(), lead=True)

    trail = queue.audit("C1")
    assert [(event.event, event.actor) for event in trail] == [
        ("loaded", "ranker"),
        ("leased", "ana"),
        ("resolved", "ana"),
        ("outcome", "payer-feed"),
    ]
    assert trail[0].at == clock.now
    assert trail[2].detail == {
        "action": "appeal",
        "effort_minutes": 30,
        "note": "faxed the authorization",
    }
    for statement in ("UPDATE queue_audit SET actor = 'mallory'", "DELETE FROM queue_audit"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), queue.engine.begin() as db:
            db.exec_driver_sql(statement)
    assert len(queue.audit()) == 4


def test_what_a_biller_sees_of_a_denial_is_kept_and_refreshed(queue: WorkQueue) -> None:
    load(queue, {"A": 2.0, "B": 1.0})  # a ranking made before the details: unknown
    assert queue.item("A").patient_id is None
    details = {
        "patient_id": "PT9",
        "program": "IOP",
        "clinician_id": "R7",
        "carc_codes": "CO-197;PR-3",
        "rarc_codes": float("nan"),
    }
    load(queue, {"A": 2.0, "B": 1.0}, **details)
    item = queue.item("A")
    assert (item.patient_id, item.program, item.clinician_id) == ("PT9", "IOP", "R7")
    assert (item.carc_codes, item.rarc_codes) == ("CO-197;PR-3", None)


def test_a_long_list_of_remit_codes_is_kept_whole(queue: WorkQueue) -> None:
    """A remit may carry many adjustments: 600 characters of CARC and RARC codes load on
    PostgreSQL (which refused more than 256 in a VARCHAR) as on SQLite, and come back whole."""
    carc = ";".join(f"CO-{code}" for code in range(100, 220))[:600].rsplit(";", 1)[0]
    rarc = ";".join(f"N{code}" for code in range(100, 300))[:600].rsplit(";", 1)[0]
    assert min(len(carc), len(rarc)) > 590  # far past the old 256
    load(queue, {"A": 2.0, "B": 1.0}, carc_codes=carc, rarc_codes=rarc)
    item = queue.item("A")
    assert (item.carc_codes, item.rarc_codes, item.status) == (carc, rarc, "open")


def test_a_bad_ranking_is_refused_whole(queue: WorkQueue) -> None:
    good = ranking({"C1": 1.0, "C2": 2.0})
    cases = {
        "lack column": good.drop(columns="reason"),
        "claim_id is not unique: claim(s) C1": ranking({"C1": 1.0}).pipe(
            lambda frame: pd.concat([good, frame])
        ),
        "action is not one of": good.assign(action=["appeal", "resubmit"]),
        "priority is not a finite number for claim(s) C2": good.assign(priority=[1.0, None]),
        "rank is not a whole number": good.assign(rank=[1.5, 2]),
        "deadline is not a date": good.assign(deadline=["2027-01-01", "soon"]),
    }
    for message, frame in cases.items():
        with pytest.raises(InvalidValueError, match=re.escape(message)):
            queue.load(frame, actor="ranker", policy_version="v1")
    with pytest.raises(InvalidValueError, match="actor"):
        queue.load(good, actor="", policy_version="v1")
    assert open_items(queue) == []
    assert queue.audit() == []


def test_missing_deadlines_and_numpy_values_load(queue: WorkQueue) -> None:
    frame = ranking({"C1": 1.0, "C2": 2.0}).assign(deadline=[pd.NaT, pd.Timestamp("2027-02-01")])
    queue.load(frame, actor="ranker", policy_version="v1")
    assert queue.item("C1").deadline is None
    assert queue.item("C2").deadline == date(2027, 2, 1)
    assert isinstance(queue.item("C2").rank, int)


def resolved(queue: WorkQueue, claims: dict[str, float], biller: str = "ana") -> None:
    """Load `claims` and let `biller` lease and resolve each (an appeal, dated today)."""
    load(queue, claims)
    for _ in claims:
        item = queue.next(biller)
        queue.resolve(item.claim_id, biller, "appeal", 20)


def test_only_the_biller_who_resolved_or_a_lead_records_the_outcome_once(
    queue: WorkQueue, clock
) -> None:
    resolved(queue, {"C1": 1.0})
    today = clock.now.date()
    with pytest.raises(ForbiddenError, match="C1 was resolved by ana: only they or a billing"):
        queue.record_outcome("C1", "ben", "overturned", 100.0, today)
    assert queue.record_outcome("C1", "lee", "pending", 0.0, None, lead=True).outcome == "pending"
    queue.record_outcome("C1", "ana", "overturned", 100.0, today)
    with pytest.raises(ForbiddenError, match="C1 was resolved by ana"):
        queue.record_outcome("C1", "ben", "overturned", 9_999_999.0, today)
    for actor, lead in (("ana", False), ("lee", True)):
        with pytest.raises(ConflictError, match=r"C1 already has its final outcome \(overturned"):
            queue.record_outcome("C1", actor, "upheld", 0.0, today, lead=lead)
    item = queue.item("C1")
    assert (item.outcome, item.recovered_amount, item.closed_date) == ("overturned", 100.0, today)
    assert events(queue, "C1")[-2:] == ["outcome", "outcome"]


def test_a_lead_corrects_a_final_outcome_and_the_trail_keeps_both(queue: WorkQueue, clock) -> None:
    resolved(queue, {"C1": 1.0})
    today = clock.now.date()
    with pytest.raises(ConflictError, match="C1 has no final outcome to correct"):
        queue.correct_outcome("C1", "lee", "upheld", 0.0, today, reason="payer letter")
    queue.record_outcome("C1", "ana", "overturned", 300.0, today)
    with pytest.raises(InvalidValueError, match="needs a reason"):
        queue.correct_outcome("C1", "lee", "upheld", 0.0, today, reason=" ")
    with pytest.raises(InvalidValueError, match="changes nothing"):
        queue.correct_outcome("C1", "lee", "overturned", 300.0, today, reason="again")
    with pytest.raises(InvalidValueError, match="in the future"):
        queue.correct_outcome("C1", "lee", "upheld", 0.0, today + timedelta(1), reason="r")

    fixed = queue.correct_outcome("C1", "lee", "overturned", 120.5, today, reason="partial pay")

    assert (fixed.outcome, fixed.recovered_amount) == ("overturned", 120.5)
    last = queue.audit("C1")[-1]
    assert (last.event, last.actor) == ("outcome_corrected", "lee")
    assert last.detail == {
        "old": {"outcome": "overturned", "recovered_amount": 300.0, "closed_date": str(today)},
        "new": {"outcome": "overturned", "recovered_amount": 120.5, "closed_date": str(today)},
        "reason": "partial pay",
    }


def test_the_recovered_amount_is_bounded_by_the_billed_amount_unless_a_lead_overrides(
    queue: WorkQueue, clock
) -> None:
    resolved(queue, {"C1": 3.0, "C2": 2.0, "C3": 1.0})  # billed $400, recoverable $250
    today = clock.now.date()
    assert queue.item("C1").billed_amount == 400.0
    with pytest.raises(InvalidValueError, match=r"400\.01 is more than the item's billed_amount"):
        queue.record_outcome("C1", "ana", "overturned", 400.01, today)
    with pytest.raises(ForbiddenError, match="only a billing lead may record more"):
        queue.record_outcome("C1", "ana", "overturned", 9_999_999.0, today, override_amount=True)
    with pytest.raises(InvalidValueError, match="billed_amount"):
        queue.record_outcome("C1", "lee", "overturned", 500.0, today, lead=True)
    assert queue.record_outcome("C1", "ana", "overturned", 400.0, today).recovered_amount == 400.0

    over = queue.record_outcome(
        "C2", "lee", "overturned", 512.0, today, lead=True, override_amount=True
    )
    assert over.recovered_amount == 512.0
    assert queue.audit("C2")[-1].detail["amount_override"] == {
        "bound": 400.0,
        "basis": "billed_amount",
    }

    with queue.engine.begin() as db:  # an item loaded before the queue kept billed amounts
        db.exec_driver_sql("UPDATE queue_items SET billed_amount = NULL WHERE claim_id = 'C3'")
    with pytest.raises(InvalidValueError, match=r"recoverable_amount 250\.00"):
        queue.record_outcome("C3", "ana", "overturned", 250.01, today)
    assert queue.record_outcome("C3", "ana", "overturned", 250.0, today).outcome == "overturned"


def test_no_outcome_closes_in_the_future(queue: WorkQueue, clock) -> None:
    resolved(queue, {"C1": 1.0})
    with pytest.raises(InvalidValueError, match="2099-12-31 is in the future"):
        queue.record_outcome("C1", "ana", "upheld", 0.0, date(2099, 12, 31))
    clock.advance(3 * 24 * 3600)
    closed = queue.record_outcome("C1", "ana", "upheld", 0.0, clock.now.date())
    assert closed.closed_date == date(2026, 11, 26)


def test_a_biller_holds_at_most_the_cap_of_live_leases(queue: WorkQueue, clock) -> None:
    load(queue, {f"C{index}": 10.0 - index for index in range(6)})
    assert [queue.next("ana").claim_id for _ in range(3)] == ["C0", "C1", "C2"]
    with pytest.raises(
        ConflictError,
        match=re.escape("ana already holds 3 live leases, the most a biller may hold "),
    ) as refused:
        queue.next("ana")
    assert "(max_leases_per_biller = 3): claims C0, C1, C2" in str(refused.value)
    assert queue.next("ben").claim_id == "C3", "the cap is per biller"
    queue.release("C1", "ana")
    assert queue.next("ana").claim_id == "C1"
    clock.advance(601)  # ana's leases lapse: they count no more
    assert queue.next("ana").claim_id == "C0"
    assert events(queue, "C4") == ["loaded"]


def test_the_holder_renews_a_live_lease_and_no_one_else_can(queue: WorkQueue, clock) -> None:
    load(queue, {"C1": 2.0, "C2": 1.0})
    queue.next("ana")
    clock.advance(500)
    renewed = queue.renew("C1", "ana")
    assert renewed.lease_expires_at == clock.now + timedelta(seconds=600)
    clock.advance(500)  # past the first lease, within the renewed one
    assert queue.next("ben").claim_id == "C2"
    with pytest.raises(LeaseError, match="C1 is leased by ana"):
        queue.renew("C1", "ben")
    with pytest.raises(UnknownItemError):
        queue.renew("NOPE", "ana")
    clock.advance(101)
    with pytest.raises(LeaseError, match="ana's lease on claim C1 expired"):
        queue.renew("C1", "ana")
    queue.resolve("C2", "ben", "appeal", 5)
    with pytest.raises(ConflictError, match="C2 is already resolved"):
        queue.renew("C2", "ben")
    trail = queue.audit("C1")
    assert [event.event for event in trail] == ["loaded", "leased", "renewed"]
    assert trail[-1].detail == {"lease_expires_at": renewed.lease_expires_at.isoformat()}


# Reconciliation: the ranking is the whole of what is open.


class Explained:
    """An `explain` that gives the listed reasons and records what it was asked."""

    def __init__(self, reasons: dict[str, str] | None = None) -> None:
        self.reasons = reasons or {}
        self.asked: list[list[str]] = []

    def __call__(self, claim_ids):
        self.asked.append(sorted(claim_ids))
        return {claim: self.reasons[claim] for claim in claim_ids if claim in self.reasons}


def reload(queue: WorkQueue, priorities: dict[str, float], explain=None, **options):
    return queue.load(
        ranking(priorities), actor="ranker", policy_version="v2", explain=explain, **options
    )


def test_open_items_gone_from_the_ranking_close_with_their_reason(queue: WorkQueue) -> None:
    load(queue, {"KEEP": 5.0, "PAID": 4.0, "APPEALED": 3.0, "DROPPED": 2.0})
    explain = Explained({"PAID": "not_denied", "APPEALED": "appeal_closed"})

    counts = reload(queue, {"KEEP": 6.0}, explain)

    assert explain.asked == [["APPEALED", "DROPPED", "PAID"]]
    assert counts.closed == {"appeal_closed": 1, "not_denied": 1, "not_in_ranking": 1}
    assert (counts.refreshed, counts.stale, counts.reopened) == (1, {}, 0)
    closed = {claim: queue.item(claim) for claim in ("PAID", "APPEALED", "DROPPED")}
    assert {claim: (item.status, item.closed_reason) for claim, item in closed.items()} == {
        "PAID": ("closed", "not_denied"),
        "APPEALED": ("closed", "appeal_closed"),
        "DROPPED": ("closed", "not_in_ranking"),
    }
    assert closed["PAID"].priority == 4.0, "the last ranking stays on record"
    assert [item.claim_id for item in open_items(queue)] == ["KEEP"]
    assert queue.count_open() == 1
    assert queue.next("ana").claim_id == "KEEP"
    assert queue.next("ben") is None
    trail = queue.audit("PAID")
    assert [event.event for event in trail] == ["loaded", "reconciled"]
    assert trail[-1].detail == {"status": "closed", "closed_reason": "not_denied"}
    assert trail[-1].actor == "ranker"
    with pytest.raises(ConflictError, match=r"PAID left the ranking and was closed \(not_denied\)"):
        queue.resolve("PAID", "ana", "appeal", 5)


def test_a_leased_item_gone_from_the_ranking_goes_stale_and_stays_its_billers(
    queue: WorkQueue, clock
) -> None:
    load(queue, {"WORKED": 5.0, "GIVEN_BACK": 4.0, "LAPSING": 3.0, "REST": 1.0, "MORE": 0.5})
    worked, given_back = queue.next("ana"), queue.next("ben")
    lapsing = queue.next("cy", lease_seconds=60)

    counts = reload(queue, {"REST": 1.0, "MORE": 0.5}, Explained({"WORKED": "not_denied"}))

    assert counts.stale == {"not_denied": 1, "not_in_ranking": 2}
    assert counts.closed == {}
    stale = queue.item("WORKED")
    assert (stale.status, stale.closed_reason) == ("stale", "not_denied")
    assert (stale.lease_holder, stale.lease_expires_at) == ("ana", worked.lease_expires_at)
    assert [event.event for event in queue.audit("WORKED")] == ["loaded", "leased", "reconciled"]
    assert queue.audit("WORKED")[-1].detail["lease_holder"] == "ana"
    assert queue.next("dee").claim_id == "REST", "a stale item is never handed out"
    with pytest.raises(LeaseError, match="WORKED is leased by ana"):
        queue.resolve("WORKED", "dee", "appeal", 5)

    queue.renew("WORKED", "ana")
    done = queue.resolve("WORKED", "ana", "appeal", 30)
    assert (done.status, done.closed_reason, done.resolved_by) == ("resolved", None, "ana")
    released = queue.release(given_back.claim_id, "ben")
    assert (released.status, released.closed_reason) == ("closed", "not_in_ranking")
    assert released.lease_holder is None

    clock.advance(61)  # cy's lease on LAPSING ran out: the next load closes it
    counts = reload(queue, {"REST": 1.0, "MORE": 0.5})
    assert (counts.closed, counts.stale, counts.worked) == ({"not_in_ranking": 1}, {}, 1)
    closed = queue.item(lapsing.claim_id)
    assert (closed.status, closed.lease_holder, closed.lease_expires_at) == ("closed", None, None)
    assert queue.item("WORKED").status == "resolved", "resolved items are never touched"


def test_items_of_claims_set_aside_in_quarantine_stay_as_they_are(queue: WorkQueue) -> None:
    load(queue, {"KEEP": 5.0, "UNREADABLE": 4.0, "DROPPED": 2.0})
    before = queue.item("UNREADABLE")

    counts = reload(queue, {"KEEP": 6.0}, keep={"UNREADABLE"})

    assert counts.closed == {"not_in_ranking": 1}
    assert queue.item("UNREADABLE") == before
    assert events(queue, "UNREADABLE") == ["loaded"]
    assert queue.item("DROPPED").status == "closed"


def test_resolved_items_are_not_reconciled(queue: WorkQueue) -> None:
    load(queue, {"DONE": 2.0, "OPEN": 1.0})
    queue.next("ana")
    queue.resolve("DONE", "ana", "appeal", 10)
    counts = reload(queue, {"OPEN": 1.0}, Explained({"DONE": "appeal_closed"}))
    assert (counts.closed, counts.stale) == ({}, {})
    assert (queue.item("DONE").status, queue.item("DONE").closed_reason) == ("resolved", None)
    assert events(queue, "DONE") == ["loaded", "leased", "resolved"]
    assert len(queue.export_appeals()) == 1


def test_closed_and_stale_items_reopen_when_their_claims_return(queue: WorkQueue) -> None:
    load(queue, {"HELD": 3.0, "BACK": 2.0, "STAYS": 1.0})
    held = queue.next("ana")
    assert held.claim_id == "HELD"
    reload(queue, {"STAYS": 1.0}, Explained({"BACK": "not_denied"}))
    assert (queue.item("HELD").status, queue.item("BACK").status) == ("stale", "closed")

    counts = queue.load(
        ranking({"HELD": 9.0, "BACK": 8.0, "STAYS": 1.0}),
        actor="ranker",
        policy_version="v3",
    )

    assert (counts.reopened, counts.closed, counts.stale) == (2, {}, {})
    back, again = queue.item("BACK"), queue.item("HELD")
    assert (back.status, back.closed_reason, back.priority, back.policy_version) == (
        "open",
        None,
        8.0,
        "v3",
    )
    assert (again.status, again.closed_reason) == ("open", None)
    assert (again.lease_holder, again.lease_expires_at) == ("ana", held.lease_expires_at)
    assert (again.priority, again.policy_version) == (3.0, "v1"), "its biller's ranking stays"
    reopened = queue.audit("BACK")[-1]
    assert reopened.event == "reopened"
    assert reopened.detail["was"] == "closed"
    assert reopened.detail["closed_reason"] == "not_denied"
    assert reopened.detail["priority"] == [2.0, 8.0]
    assert queue.audit("HELD")[-1].detail == {"was": "stale", "closed_reason": "not_in_ranking"}
    assert queue.next("ben").claim_id == "BACK"


def test_reconciling_twice_changes_nothing_more(queue: WorkQueue) -> None:
    load(queue, {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0})
    queue.next("ana")  # A: it goes stale and stays so while the lease runs
    first = reload(queue, {"C": 2.0, "D": 1.0})
    trail = len(queue.audit())
    again = reload(queue, {"C": 2.0, "D": 1.0})
    assert (first.closed, first.stale) == ({"not_in_ranking": 1}, {"not_in_ranking": 1})
    assert again == LoadCounts(inserted=0, refreshed=0, unchanged=2, worked=0)
    assert len(queue.audit()) == trail


def test_an_empty_ranking_is_refused_while_items_are_open_unless_forced(queue: WorkQueue) -> None:
    assert reload(queue, {}) == LoadCounts(0, 0, 0, 0), "an empty queue takes an empty ranking"
    load(queue, {"A": 2.0, "B": 1.0})
    trail = queue.audit()
    with pytest.raises(ReconcileRefusedError, match=r"empty while 2 queue items are open"):
        reload(queue, {}, Explained({"A": "not_denied", "B": "not_denied"}))
    assert queue.audit() == trail, "however well the data explains it"
    counts = reload(queue, {}, force=True)
    assert counts.closed == {"not_in_ranking": 2}
    assert queue.count_open() == 0


def test_a_ranking_closing_most_open_items_without_a_reason_is_refused(queue: WorkQueue) -> None:
    load(queue, {f"C{i}": float(i) for i in range(1, 7)})
    trail = queue.audit()
    with pytest.raises(ReconcileRefusedError, match=r"close 4 of the 6 open .*not_in_ranking 4"):
        reload(queue, {"C1": 1.0, "C2": 2.0, "NEW": 3.0})
    assert queue.audit() == trail, "nothing of a refused load is written"
    with pytest.raises(UnknownItemError):
        queue.item("NEW")
    # Half or fewer, or closures the data explains, load.
    explained = Explained({"C3": "not_denied", "C4": "appeal_closed"})
    counts = reload(queue, {"C1": 1.0, "C2": 2.0, "NEW": 3.0}, explained)
    assert counts.closed == {"appeal_closed": 1, "not_denied": 1, "not_in_ranking": 2}
    assert counts.inserted == 1


def test_explanations_are_checked(queue: WorkQueue) -> None:
    load(queue, {"A": 2.0, "B": 1.0})
    with pytest.raises(InvalidValueError, match=r"not 'paid' for claim\(s\) B"):
        reload(queue, {"A": 2.0}, Explained({"B": "paid"}))
    assert queue.item("B").status == "open"


def test_the_database_keeps_reasons_on_closed_items_only(queue: WorkQueue) -> None:
    load(queue, {"A": 1.0})
    for change in (
        "status = 'closed'",
        "closed_reason = 'not_denied'",
        "status = 'closed', closed_reason = 'paid'",
    ):
        with pytest.raises(sa.exc.IntegrityError), queue.engine.begin() as connection:
            connection.exec_driver_sql(f"UPDATE queue_items SET {change}")


def test_claim_ids_with_quotes_and_backslashes_reload(queue: WorkQueue) -> None:
    """`load` writes the ranking's claim ids into its IN lists as literals: they must be
    quoted, whatever they hold."""
    odd = {"O'BRIEN-1": 2.0, "C\\2'; DROP TABLE queue_items; --": 1.0}
    load(queue, odd)
    assert load(queue, odd) == LoadCounts(inserted=0, refreshed=0, unchanged=2, worked=0)
    assert {item.claim_id for item in open_items(queue)} == set(odd)
