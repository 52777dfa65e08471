"""`claim_detail` over the reader's small valid directory: which authorizations cover the
claim, and the timeline's order when the practice's records and the queue's trail meet."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from data_contracts.reader import read_data_dir
from queues.detail import claim_detail
from queues.store import WorkItem, WorkQueue
from settings import Settings
from storage.audit import AuditEvent
from tests.data_contracts.test_reader import text_tables, write_csv_dir
from tests.serving.test_queue_routes import ranked_items


@pytest.fixture
def c1(tmp_path: Path) -> WorkItem:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'q.db'}")
    with WorkQueue.from_settings(settings) as queue:
        queue.load(ranked_items(1).assign(claim_id=["C1"]), actor="t", policy_version="1")
        return queue.item("C1")


def _data(tmp_path: Path, **auth_changes: str):
    tables = text_tables()
    for column, value in auth_changes.items():
        tables["authorizations"].loc[1, column] = value  # A200: P1 at PAY1
    return read_data_dir(write_csv_dir(tmp_path / "data", tables))


@pytest.mark.parametrize(
    ("changes", "covers"),
    [
        ({}, True),  # no codes named: the whole program
        ({"procedure_codes": "90837"}, True),
        ({"procedure_codes": "90791"}, False),
        ({"program": "IOP"}, False),  # C1 is OP
        ({"start_date": "2024-01-06"}, None),  # starts after the service date: not in force
    ],
)
def test_authorizations_in_force_and_whether_they_cover_the_claim(
    tmp_path: Path, c1: WorkItem, changes: dict[str, str], covers: bool | None
) -> None:
    detail = claim_detail(c1, [], _data(tmp_path, **changes), date(2024, 3, 1), 1.0)
    assert detail.history is not None
    found = [(auth.auth_id, auth.covers_claim) for auth in detail.history.authorizations]
    assert found == ([] if covers is None else [("A200", covers)])


def test_the_timeline_interleaves_records_and_trail_by_time(tmp_path: Path, c1: WorkItem) -> None:
    trail = [
        AuditEvent(1, datetime(2024, 1, 22, 9, 30, tzinfo=UTC), "ana", "C1", "leased", {}),
        AuditEvent(
            2,
            datetime(2024, 1, 22, 9, 45, tzinfo=UTC),
            "ana",
            "C1",
            "note_added",
            {"text": "called the payer"},
        ),
    ]
    detail = claim_detail(c1, trail, _data(tmp_path), date(2024, 3, 1), 1.0)
    assert [(event.kind, event.actor) for event in detail.timeline] == [
        ("service", None),
        ("submitted", None),
        ("remit", None),
        ("leased", "ana"),
        ("note_added", "ana"),
        ("appeal", None),
        ("appeal", None),
    ]
    assert detail.timeline[4].text == "Note: called the payer"
    assert detail.estimate.expected_net == 200.0 - 30.0
    assert detail.estimate.days_left == (date(2026, 12, 31) - date(2024, 3, 1)).days
