"""A lead's bulk changes in the store: writing items off (all or none, audited), and the
reads the bulk pages use (the items of a selection, a view streamed in chunks).

Every test runs on SQLite and, with DENIALOPS_TEST_POSTGRES_URL, on PostgreSQL.
"""

from __future__ import annotations

import pytest

from queues.browse import QueueFilter
from queues.store import ConflictError, InvalidValueError, LeaseError, UnknownItemError
from tests.queues.test_store import events, load

PRIORITIES = {"C1": 3.0, "C2": 2.0, "C3": 1.0}


def test_write_off_resolves_every_item_with_the_reason_and_audits_it(queue, clock) -> None:
    load(queue, PRIORITIES)
    done = queue.write_off(["C2", "C1"], "lena", "  small balance, not worth an appeal ")
    assert [item.claim_id for item in done] == ["C1", "C2"]
    for item in done:
        assert item.status == "resolved"
        assert item.resolved_action == "write_off"
        assert item.resolved_by == "lena"
        assert item.resolved_effort_minutes == 0
        assert item.note == "small balance, not worth an appeal"
        assert item.action_date == clock.now.date()
        assert item.outcome == "pending"
        assert item.lease_holder is None
    assert queue.item("C3").status == "open"
    trail = [event for event in queue.audit() if event.event == "resolved"]
    assert {event.claim_id for event in trail} == {"C1", "C2"}
    assert all(event.actor == "lena" for event in trail)
    assert trail[0].detail["bulk"] is True
    assert trail[0].detail["reason"] == "small balance, not worth an appeal"
    assert trail[0].detail["action"] == "write_off"
    assert trail[0].detail["amount"] == 250.0
    # Written-off items export as the contract's appeals, like any resolution.
    exported = queue.export_appeals()
    assert sorted(exported["claim_id"]) == ["C1", "C2"]
    assert set(exported["action"]) == {"write_off"}


def test_write_off_refuses_the_lot_when_one_item_is_someone_elses(queue) -> None:
    load(queue, PRIORITIES)
    taken = queue.next("ana")
    assert taken is not None
    assert taken.claim_id == "C1"
    with pytest.raises(LeaseError, match="C1 is leased by ana"):
        queue.write_off(["C1", "C2"], "lena", "payer will not pay")
    assert [queue.item(claim).status for claim in PRIORITIES] == ["open"] * 3
    assert "resolved" not in events(queue)
    assert queue.item("C1").lease_holder == "ana"


def test_write_off_may_take_the_leads_own_lease(queue) -> None:
    load(queue, PRIORITIES)
    queue.next("lena")
    (item,) = queue.write_off(["C1"], "lena", "duplicate of a paid claim")
    assert item.status == "resolved"
    assert item.lease_holder is None


def test_write_off_refuses_unknown_and_resolved_claims_and_bad_reasons(queue) -> None:
    load(queue, PRIORITIES)
    with pytest.raises(UnknownItemError, match="NOPE"):
        queue.write_off(["C1", "NOPE"], "lena", "gone")
    queue.write_off(["C3"], "lena", "gone")
    with pytest.raises(ConflictError, match="C3 is resolved"):
        queue.write_off(["C2", "C3"], "lena", "again")
    for reason in ("", "   ", "x" * 2001):
        with pytest.raises(InvalidValueError, match="needs a reason"):
            queue.write_off(["C1"], "lena", reason)
    for claims in ([], "C1"):
        with pytest.raises(InvalidValueError, match="at least one claim"):
            queue.write_off(claims, "lena", "why")
    assert queue.item("C1").status == queue.item("C2").status == "open"


def test_items_reads_a_selection_in_queue_order_leaving_out_unknown_claims(queue) -> None:
    load(queue, PRIORITIES)
    found = queue.items(["C3", "NOPE", "C1", "C1"])
    assert [item.claim_id for item in found] == ["C1", "C3"]


def test_stream_yields_the_whole_view_in_chunks_in_order(queue) -> None:
    load(queue, {f"C{i:02d}": float(i) for i in range(7)})
    queue.write_off(["C03"], "lena", "gone")
    chunks = list(queue.stream(QueueFilter(), "lena", chunk=2))
    assert [len(chunk) for chunk in chunks] == [2, 2, 2]
    claims = [item.claim_id for chunk in chunks for item in chunk]
    assert claims == ["C06", "C05", "C04", "C02", "C01", "C00"]
    cheap = list(queue.stream(QueueFilter(amount_max=10), "lena"))
    assert cheap == []


def test_refusals_say_which_items_a_lead_could_not_change_now(queue) -> None:
    load(queue, PRIORITIES)
    queue.next("ana")
    queue.write_off(["C3"], "lena", "gone")
    found = queue.refusals(["C1", "C2", "C3", "NOPE"], "lena")
    assert set(found) == {"C1", "C3"}
    assert "leased by ana" in found["C1"]
    assert "resolved" in found["C3"]
    assert queue.refusals(["C1"], "ana") == {}
