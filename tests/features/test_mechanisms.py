"""Features capture what billing experts know causes denials: measured on synthetic data."""

from __future__ import annotations

import pandas as pd
import pytest

from data_contracts.denials import remit_denial_categories, timed_psychotherapy_claims


@pytest.fixture(scope="module")
def labelled(data, features) -> pd.DataFrame:
    remits = data.remits
    timed = remits["claim_id"].isin(timed_psychotherapy_claims(data.claim_lines))
    category = remit_denial_categories(remits, timed)
    label = pd.Series(category.to_numpy(), index=remits["claim_id"].to_numpy())
    return features.loc[label.index].assign(category=label)


def rate(frame: pd.DataFrame) -> float:
    return float(frame["category"].notna().mean())


def test_an_earlier_claim_for_the_same_service_flags_duplicates(labelled) -> None:
    repeat = labelled["same_service_prior_claims"] > 0
    assert repeat.sum() > 20
    assert (labelled.loc[repeat, "category"] == "duplicate").mean() > 0.8


def test_visits_past_a_learned_cap_are_denied(labelled) -> None:
    over = labelled["visits_over_learned_cap"] >= 0
    assert over.sum() > 20
    assert rate(labelled[over]) > 4 * rate(labelled[~over])


def test_coverage_ended_per_eligibility_predicts_coverage_denials(labelled) -> None:
    uncovered = (labelled["eligibility_on_file"] == 1) & (labelled["covered_on_service_date"] == 0)
    assert uncovered.sum() > 10
    assert (labelled.loc[uncovered, "category"] == "coverage_inactive").mean() > 0.5


def test_minutes_below_the_band_predict_time_code_denials(labelled) -> None:
    short = labelled["minutes_below_band"] > 0
    assert short.sum() > 20
    assert rate(labelled[short]) > 3 * rate(labelled[labelled["time_code_mismatch"] == 0])


def test_units_beyond_the_authorization_predict_denials(labelled) -> None:
    on_file = labelled[labelled["auth_on_file"] == 1]
    beyond = on_file["auth_units_remaining"] < 0
    assert beyond.sum() > 10
    assert rate(on_file[beyond]) > 3 * rate(on_file[~beyond])
    assert (on_file.loc[beyond, "category"] == "auth_exhausted").mean() > 0.3
