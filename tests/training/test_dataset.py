"""The split is by time and the labels are the contract's; bad data stops with a clear reason."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from training.dataset import (
    PARTS,
    TrainingDataError,
    build_training_set,
    combined_fingerprint,
    data_fingerprint,
    table_sums,
    time_split,
)


def test_parts_follow_submission_dates(train_data) -> None:
    ts = build_training_set(train_data, 0.15, 0.15)
    dates = {part: ts.submission_date[ts.part == part] for part in PARTS}
    assert dates["train"].max() < dates["validation"].min()
    assert dates["validation"].max() < dates["test"].min()
    assert ts.cutoffs == (dates["validation"].min(), dates["test"].min())
    sizes = ts.part.value_counts(normalize=True)
    assert sizes["test"] == pytest.approx(0.15, abs=0.03)
    assert list(ts.features.index) == list(ts.label.index)
    assert ts.submission_date.is_monotonic_increasing


def test_pending_claims_are_not_labelled(train_data) -> None:
    ts = build_training_set(train_data, 0.15, 0.15)
    pending = set(train_data.claims["claim_id"]) - set(train_data.remits["claim_id"])
    assert pending
    assert not pending & set(ts.label.index)


def test_patient_responsibility_alone_is_not_a_denial(train_data) -> None:
    remits = train_data.remits.copy()
    target = remits.index[remits["status"] == "paid"][:50]
    remits.loc[target, ["status", "carc_codes"]] = ["denied", "PR-1"]
    ts = build_training_set(dataclasses.replace(train_data, remits=remits), 0.15, 0.15)
    assert ts.label.loc[remits.loc[target, "claim_id"]].eq(0).all()


def test_no_denials_fails_with_a_clear_message(train_data) -> None:
    remits = train_data.remits.assign(status="paid", carc_codes="CO-45", rarc_codes="")
    with pytest.raises(TrainingDataError, match="only paid claims"):
        build_training_set(dataclasses.replace(train_data, remits=remits), 0.15, 0.15)


def test_only_denials_fails_with_a_clear_message(train_data) -> None:
    remits = train_data.remits.assign(status="denied", carc_codes="CO-197")
    with pytest.raises(TrainingDataError, match="only denied claims"):
        build_training_set(dataclasses.replace(train_data, remits=remits), 0.15, 0.15)


def test_one_submission_date_cannot_be_split() -> None:
    dates = pd.Series(pd.to_datetime(["2025-01-01"] * 200))
    with pytest.raises(TrainingDataError, match="too few submission dates"):
        time_split(dates, 0.15, 0.15)


def test_the_fingerprint_sees_one_cell_and_not_row_order(train_data) -> None:
    fingerprint = data_fingerprint(train_data)
    remits = train_data.remits.copy()
    remits.loc[remits.index[7], "paid_amount"] += 0.01
    assert data_fingerprint(dataclasses.replace(train_data, remits=remits)) != fingerprint
    # the sums behind it add up over any split of the rows, as the Dask engine's shards do
    shuffled = train_data.claims.sample(frac=1.0, random_state=3)
    assert data_fingerprint(dataclasses.replace(train_data, claims=shuffled)) == fingerprint
    halves = [train_data.claims.iloc[:100], train_data.claims.iloc[100:]]
    parts = [table_sums({"claims": half}) for half in halves]
    others = {name: t for name, t in train_data.tables().items() if name != "claims"}
    assert combined_fingerprint([*parts, table_sums(others)]) == fingerprint
