"""The recovery model's training rows: closed appeals the payer was asked to reconsider."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from data_contracts.enums import PAYER_ACTIONS
from data_contracts.reader import ContractData
from training.recovery import recovery_training_rows


def test_appeals_of_a_claim_without_a_remit_are_left_out_and_counted(
    train_data: ContractData, caplog: pytest.LogCaptureFixture
) -> None:
    closed = train_data.appeals[
        train_data.appeals["action"].isin(PAYER_ACTIONS)
        & train_data.appeals["outcome"].ne("pending")
    ]
    unremitted = set(closed["claim_id"].drop_duplicates().head(5))
    data = dataclasses.replace(
        train_data, remits=train_data.remits[~train_data.remits["claim_id"].isin(unremitted)]
    )

    with caplog.at_level(logging.WARNING):
        features, label, action_date = recovery_training_rows(data)

    left_out = int(closed["claim_id"].isin(unremitted).sum())
    assert len(features) == len(label) == len(action_date) == len(closed) - left_out
    assert f"{left_out} closed appeals left out" in caplog.text
