"""Exporting the queue's work into a data directory's appeals table keeps the clinic's history."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_contracts.reader import ContractError, check_table, read_data_dir, read_table
from data_contracts.writer import write_table
from queues.export import export_appeals_into, merge_appeals
from queues.store import WorkQueue
from tests.queues.test_store import load

HISTORY = pd.DataFrame(
    {
        "claim_id": ["H1", "H2", "H3", "Q1"],
        "action": ["appeal", "rebill", "write_off", "appeal"],
        "action_date": ["2026-01-05", "2026-02-10", "2026-03-01", "2026-11-23"],
        "effort_minutes": ["30", "12", "0", "25"],
        "outcome": ["overturned", "upheld", "upheld", "pending"],
        "recovered_amount": ["410.00", "0.00", "0.00", "0.00"],
        "closed_date": ["2026-02-20", "2026-03-15", "2026-03-01", None],
        "outcome_reason": [None, "not_covered", "other", None],
    }
)


def appeals(rows: list[tuple]) -> pd.DataFrame:
    """A typed appeals table from (claim, action, action date, effort, outcome, $, closed)."""
    raw = pd.DataFrame(
        rows,
        columns=[
            "claim_id",
            "action",
            "action_date",
            "effort_minutes",
            "outcome",
            "recovered_amount",
            "closed_date",
        ],
    ).astype("string")
    typed, problems = check_table("appeals", raw)
    assert problems == []
    return typed


@pytest.fixture
def history(tmp_path) -> pd.DataFrame:
    """HISTORY written as tmp_path/appeals.csv."""
    HISTORY.to_csv(tmp_path / "appeals.csv", index=False)
    return HISTORY


@pytest.mark.usefixtures("history")
def test_the_queues_newer_outcome_replaces_its_row_and_every_other_row_stays(tmp_path) -> None:
    queue_rows = appeals(
        [
            ("Q1", "appeal", "2026-11-23", "25", "overturned", "212.35", "2026-12-20"),
            ("H2", "rebill", "2026-02-10", "12", "upheld", "0", "2026-03-15"),  # as the file has
            ("H1", "corrected_claim", "2026-11-23", "8", "pending", "0", None),  # new action
        ]
    )

    counts = export_appeals_into(tmp_path, queue_rows)

    assert (counts.kept, counts.added, counts.updated) == (3, 1, 1)
    written = pd.read_csv(tmp_path / "appeals.csv", dtype=str, keep_default_na=False)
    assert written["claim_id"].tolist() == ["H1", "H2", "H3", "Q1", "H1"]
    assert written.loc[3, ["outcome", "recovered_amount", "closed_date"]].tolist() == [
        "overturned",
        "212.35",
        "2026-12-20",
    ]
    assert written.loc[0, "recovered_amount"] == "410.00"
    assert written["outcome_reason"].tolist() == ["", "not_covered", "other", "", ""]
    assert read_table(tmp_path, "appeals")[0]["claim_id"].tolist() == written["claim_id"].tolist()


@pytest.mark.usefixtures("history")
def test_the_payers_reason_in_the_table_survives_the_queues_update(tmp_path) -> None:
    """The queue knows what was done, not why the payer decided: `outcome_reason` stays."""
    queue_rows = appeals([("H2", "rebill", "2026-02-10", "15", "upheld", "0", "2026-03-15")])

    counts = export_appeals_into(tmp_path, queue_rows)

    assert counts.updated == 1
    merged, _ = read_table(tmp_path, "appeals")
    row = merged.set_index("claim_id").loc["H2"]
    assert (row["effort_minutes"], row["outcome_reason"]) == (15, "not_covered")


def test_exporting_twice_writes_the_same_file(tmp_path, history) -> None:
    queue_rows = appeals(
        [("Q1", "appeal", "2026-11-23", "25", "upheld", "0", "2026-12-01")],
    )
    export_appeals_into(tmp_path, queue_rows)
    first = (tmp_path / "appeals.csv").read_bytes()

    again = export_appeals_into(tmp_path, queue_rows)

    assert (tmp_path / "appeals.csv").read_bytes() == first
    assert (again.kept, again.added, again.updated) == (len(history), 0, 0)


@pytest.mark.usefixtures("history")
def test_a_parquet_table_stays_parquet(tmp_path) -> None:
    existing, _ = read_table(tmp_path, "appeals")
    (tmp_path / "appeals.csv").unlink()
    write_table(tmp_path, "appeals", existing, "parquet")
    queue_rows = appeals([("N1", "rebill", "2026-11-23", "5", "pending", "0", None)])

    counts = export_appeals_into(tmp_path, queue_rows)

    assert counts.path == tmp_path / "appeals.parquet"
    assert not (tmp_path / "appeals.csv").exists()
    merged, _ = read_table(tmp_path, "appeals")
    assert merged["claim_id"].tolist() == ["H1", "H2", "H3", "Q1", "N1"]
    assert merged["outcome_reason"].fillna("").tolist() == ["", "not_covered", "other", "", ""]


def test_a_table_breaking_the_contract_is_refused_and_left_as_it_was(tmp_path, history) -> None:
    broken = history.assign(outcome=["overturned", "won", "upheld", "pending"])
    broken.to_csv(tmp_path / "appeals.csv", index=False)
    before = (tmp_path / "appeals.csv").read_bytes()
    queue_rows = appeals([("N1", "rebill", "2026-11-23", "5", "pending", "0", None)])

    with pytest.raises(ContractError, match=r"appeals\.outcome.*row 2 \('won'\)"):
        export_appeals_into(tmp_path, queue_rows)

    assert (tmp_path / "appeals.csv").read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["appeals.csv"]


def test_a_directory_without_appeals_gets_the_queues(tmp_path) -> None:
    queue_rows = appeals([("N1", "rebill", "2026-11-23", "5", "pending", "0", None)])
    counts = export_appeals_into(tmp_path / "new", queue_rows)
    assert (counts.kept, counts.added, counts.updated) == (0, 1, 0)
    assert counts.path == tmp_path / "new" / "appeals.csv"


def test_merge_appeals_counts_only_real_changes() -> None:
    existing = appeals([("A", "appeal", "2026-01-01", "10", "pending", "0", None)])
    same, changed = merge_appeals(existing, existing)
    assert changed == 0
    pd.testing.assert_frame_equal(same, existing)
    closed = appeals([("A", "appeal", "2026-01-01", "10", "upheld", "0", "2026-01-09")])
    merged, changed = merge_appeals(existing, closed)
    assert changed == 1
    pd.testing.assert_frame_equal(merged, closed)


def test_the_queues_resolved_work_merges_into_a_data_directory(
    queue: WorkQueue, clock, queue_data, tmp_path
) -> None:
    history = queue_data.appeals
    write_table(tmp_path, "appeals", history)
    claims = queue_data.claims["claim_id"].head(2).tolist()
    load(queue, {claims[0]: 2.0, claims[1]: 1.0})
    for claim in claims:
        queue.next("ana")
        queue.resolve(claim, "ana", "appeal", 20)
    export_appeals_into(tmp_path, queue.export_appeals())
    queue.record_outcome(claims[0], "ana", "overturned", 150.0, date(2026, 11, 23))

    counts = export_appeals_into(tmp_path, queue.export_appeals())

    assert (counts.kept, counts.added, counts.updated) == (len(history) + 1, 0, 1)
    merged, _ = read_table(tmp_path, "appeals")
    pd.testing.assert_frame_equal(merged.head(len(history)), history)
    worked = merged.tail(2).set_index("claim_id")
    assert worked.loc[claims[0], "outcome"] == "overturned"
    assert worked.loc[claims[1], "outcome"] == "pending"
    assert (worked["action_date"] == pd.Timestamp(clock.now.date())).all()
    assert len(read_data_dir(_with_claims(queue_data, tmp_path)).appeals) == len(history) + 2


def _with_claims(data, directory):
    """`directory` completed with `data`'s other tables, so the contract reader checks it whole."""
    for name, frame in data.tables().items():
        if name != "appeals" and name in data.present:
            write_table(directory, name, frame)
    return directory
