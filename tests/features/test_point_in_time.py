"""Nothing dated after a claim's submission reaches its features, and serving equals training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from data_contracts.reader import ContractData
from features.pipeline import (
    build_features,
    build_features_and_state,
    build_state,
    features_for_claims,
)
from features.state import FeatureState


def assert_identical(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    """Byte for byte: same columns, dtypes, index, and the same bits in every float."""
    assert list(expected.columns) == list(actual.columns)
    assert expected.index.equals(actual.index)
    for name in expected.columns:
        left, right = expected[name], actual[name]
        assert left.dtype == right.dtype, name
        if left.dtype == "float64":
            assert left.to_numpy().tobytes() == right.to_numpy().tobytes(), name
        else:
            assert left.equals(right), name


def _cutoff(data: ContractData) -> pd.Timestamp:
    return data.claims["submission_date"].quantile(0.6).normalize()


def _before(data: ContractData, features: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    early = data.claims.loc[data.claims["submission_date"] < cutoff, "claim_id"]
    return features.loc[early]


def test_deleting_everything_after_a_cutoff_changes_no_earlier_feature(data, features) -> None:
    cutoff = _cutoff(data)
    claims = data.claims[data.claims["submission_date"] < cutoff]
    truncated = dataclasses.replace(
        data,
        claims=claims,
        claim_lines=data.claim_lines[data.claim_lines["claim_id"].isin(claims["claim_id"])],
        remits=data.remits[data.remits["received_date"] < cutoff],
        appeals=data.appeals[data.appeals["action_date"] < cutoff],
    )
    assert len(truncated.remits) < len(data.remits)
    assert_identical(_before(data, features, cutoff), build_features(truncated))


def test_changing_everything_after_a_cutoff_changes_no_earlier_feature(data, features) -> None:
    cutoff = _cutoff(data)
    late_claims = data.claims["submission_date"] >= cutoff
    claims = data.claims.copy()
    # Later claims move onto earlier claims' patients, payers and dates of service.
    donors = claims[~late_claims].sample(int(late_claims.sum()), replace=True, random_state=1)
    for column in ("patient_id", "payer_id", "service_date", "prior_auth_id"):
        claims.loc[late_claims, column] = donors[column].to_numpy()
    late_lines = data.claim_lines["claim_id"].isin(claims.loc[late_claims, "claim_id"])
    lines = data.claim_lines.copy()
    lines.loc[late_lines, "procedure_code"] = "90837"
    remits = data.remits.copy()
    late_remits = remits["received_date"] >= cutoff
    remits.loc[late_remits, "status"] = "denied"
    remits.loc[late_remits, "carc_codes"] = "CO-119"
    appeals = data.appeals.copy()
    appeals.loc[appeals["action_date"] >= cutoff, "outcome"] = "overturned"
    changed = dataclasses.replace(
        data, claims=claims, claim_lines=lines, remits=remits, appeals=appeals
    )
    assert late_remits.any()
    changed_features = build_features(changed)
    assert_identical(_before(data, features, cutoff), _before(data, changed_features, cutoff))
    assert not features.loc[claims.loc[late_claims, "claim_id"]].equals(
        changed_features.loc[claims.loc[late_claims, "claim_id"]]
    )


@pytest.fixture(scope="module")
def serving_days(data) -> list[pd.Timestamp]:
    days = data.claims["submission_date"].drop_duplicates().sort_values()
    return [days.iloc[len(days) // 3], days.iloc[2 * len(days) // 3], days.iloc[-1]]


def _day_batch(data: ContractData, day: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    batch = data.claims[data.claims["submission_date"] == day]
    return batch, data.claim_lines[data.claim_lines["claim_id"].isin(batch["claim_id"])]


def test_serving_a_days_claims_against_the_state_equals_training(
    data, features, serving_days
) -> None:
    for day in serving_days:
        state = build_state(data, as_of=day.date())
        batch, lines = _day_batch(data, day)
        assert len(batch) > 1
        shuffled = batch.sample(frac=1.0, random_state=3)
        served = features_for_claims(shuffled, lines, state)
        assert_identical(features.loc[shuffled["claim_id"]], served)


def test_state_survives_save_and_load(data, features, serving_days, tmp_path) -> None:
    day = serving_days[1]
    build_state(data, as_of=day.date()).save(tmp_path / "state")
    loaded = FeatureState.load(tmp_path / "state")
    batch, lines = _day_batch(data, day)
    assert_identical(features.loc[batch["claim_id"]], features_for_claims(batch, lines, loaded))


def test_one_claim_alone_sees_the_state_but_not_its_batch_mates(data, serving_days) -> None:
    day = serving_days[0]
    state = build_state(data, as_of=day.date())
    batch, lines = _day_batch(data, day)
    repeated = pd.concat(
        [batch.head(1), batch.head(1).assign(claim_id=lambda f: f["claim_id"] + "B")]
    )
    repeated_lines = pd.concat(
        [
            lines[lines["claim_id"] == batch["claim_id"].iloc[0]],
            lines[lines["claim_id"] == batch["claim_id"].iloc[0]].assign(
                claim_id=lambda f: f["claim_id"] + "B"
            ),
        ]
    )
    served = features_for_claims(repeated, repeated_lines, state)
    first, second = served.iloc[0], served.iloc[1]
    assert second["same_service_prior_claims"] == first["same_service_prior_claims"] + 1
    assert second["patient_prior_claims"] == first["patient_prior_claims"] + 1
    assert np.isfinite(first["patient_prior_claims"])


def test_one_pass_gives_the_same_features_and_state_as_two(data, features) -> None:
    one_pass_features, one_pass_state = build_features_and_state(data)
    assert_identical(features, one_pass_features)
    separate = build_state(data)
    assert one_pass_state.as_of == separate.as_of
    for name, frame in separate.tallies.items():
        pd.testing.assert_frame_equal(frame, one_pass_state.tallies[name], check_exact=True)
