"""Drift scenarios: the world changes on a date and the data before it does not."""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
import pytest

from synthetic import SCENARIOS, SyntheticData, generate
from synthetic.scenarios import AUTH_RULE_CODE, AUTH_RULE_PAYER, WEEKS_AFTER_CHANGE
from synthetic.world import ENTRANT

CLAIMS, SEED = 20_000, 4


@pytest.fixture(scope="module")
def base() -> SyntheticData:
    return generate(CLAIMS, seed=SEED)


@pytest.fixture(scope="module")
def drifted() -> dict[str, SyntheticData]:
    return {name: generate(CLAIMS, seed=SEED, scenario=name) for name in SCENARIOS}


def first_codes(data: SyntheticData) -> pd.Series:
    lines = data.tables["claim_lines"]
    return lines[lines["line_number"] == 1].set_index("claim_id")["procedure_code"]


def judged(data: SyntheticData, change_on: date | None = None) -> pd.DataFrame:
    """Claims with their first line's code, the true outcome (truth.csv), and whether they
    were served on or after the change date (the data's own, or `change_on`)."""
    claims = data.tables["claims"]
    truth = data.truth.set_index("claim_id")
    return claims.assign(
        code=claims["claim_id"].map(first_codes(data)),
        denied=claims["claim_id"].map(truth["denied"]),
        category=claims["claim_id"].map(truth["denial_category"]),
        after=claims["service_date"] >= pd.Timestamp(change_on or data.change_on),
    )


def test_without_a_scenario_the_data_is_what_it_was() -> None:
    """Known answer from before scenarios existed: their code leaves the plain run alone."""
    data = generate(3_000, seed=5)
    digest = hashlib.sha256()
    for name in sorted(data.tables):
        digest.update(data.tables[name].to_csv(index=False).encode())
    digest.update(data.truth.to_csv(index=False).encode())
    assert digest.hexdigest() == "bc921a5327dbab84e2af29dbe9ce01e9412d1755be1172bf947becec8277ebfa"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rows_before_the_change_are_identical(base, drifted, scenario) -> None:
    data = drifted[scenario]
    change = pd.Timestamp(data.change_on)
    assert data.as_of == base.as_of
    assert (
        data.change_on == (pd.Timestamp(base.as_of) - pd.Timedelta(weeks=WEEKS_AFTER_CHANGE)).date()
    )
    claims = base.tables["claims"]
    pd.testing.assert_series_equal(data.tables["claims"]["claim_id"], claims["claim_id"])
    pd.testing.assert_series_equal(
        data.tables["claims"]["submission_date"], claims["submission_date"]
    )
    before = set(claims.loc[claims["service_date"] < change, "claim_id"])
    assert 0.8 * CLAIMS < len(before) < CLAIMS
    for name, frame in [*base.tables.items(), ("truth", base.truth)]:
        other = data.truth if name == "truth" else data.tables[name]
        if "claim_id" in frame:
            pd.testing.assert_frame_equal(
                other[other["claim_id"].isin(before)].reset_index(drop=True),
                frame[frame["claim_id"].isin(before)].reset_index(drop=True),
                obj=name,
            )
    auths = [t["authorizations"] for t in (base.tables, data.tables)]
    pd.testing.assert_frame_equal(
        *(a[a["start_date"] < change].reset_index(drop=True) for a in auths)
    )
    spans = base.tables["eligibility"].merge(data.tables["eligibility"], how="left", indicator=True)
    assert (spans["_merge"] == "both").all()


def test_auth_rule_denies_the_payers_code_for_missing_auth(base, drifted) -> None:
    before, after = judged(base), judged(drifted["auth_rule"])
    rule = (after["payer_id"] == AUTH_RULE_PAYER) & (after["code"] == AUTH_RULE_CODE)
    hit = rule & after["after"]
    assert hit.sum() > 20
    missing_auth = after["denied"] & (after["category"] == "missing_auth")
    assert missing_auth[hit].mean() > 0.6
    assert (before["denied"] & (before["category"] == "missing_auth"))[hit].mean() < 0.05
    assert missing_auth[rule & ~after["after"]].mean() < 0.05
    # Every other claim, other payers' included, is judged exactly as without the rule.
    pd.testing.assert_frame_equal(
        drifted["auth_rule"].truth[~hit.to_numpy()], base.truth[~hit.to_numpy()]
    )
    remits = drifted["auth_rule"].tables["remits"]
    carcs = remits.loc[remits["claim_id"].isin(after.loc[hit, "claim_id"]), "carc_codes"]
    assert carcs.str.contains("CO-197").mean() > 0.4
    auths = drifted["auth_rule"].tables["authorizations"]
    assert (auths["procedure_codes"] == AUTH_RULE_CODE).any()


def test_new_payer_appears_only_after_the_change_and_denies_more(base, drifted) -> None:
    data = drifted["new_payer"]
    claims = judged(data)
    entrant = claims["payer_id"] == ENTRANT.payer_id
    assert not (base.tables["claims"]["payer_id"] == ENTRANT.payer_id).any()
    assert not (entrant & ~claims["after"]).any()
    share = entrant[claims["after"]].mean()
    assert 0.08 < share < 0.2
    others = claims["after"] & ~entrant
    assert claims.loc[entrant, "denied"].mean() > 1.5 * claims.loc[others, "denied"].mean()
    spans = data.tables["eligibility"]
    joined = spans[spans["payer_id"] == ENTRANT.payer_id]
    assert set(claims.loc[entrant, "patient_id"]) <= set(joined["patient_id"])
    assert (joined["coverage_start"] == pd.Timestamp(data.change_on)).all()
    auths = data.tables["authorizations"]
    assert (
        auths.loc[auths["payer_id"] == ENTRANT.payer_id, "start_date"]
        >= joined["coverage_start"].min()
    ).all()


def test_code_mix_moves_therapy_to_longer_codes(base, drifted) -> None:
    change_on = drifted["code_mix"].change_on

    def shares(data: SyntheticData) -> pd.Series:
        claims = judged(data, change_on)
        codes = claims.loc[claims["after"], "code"]
        return codes[codes.isin(["90832", "90834", "90837"])].value_counts(normalize=True)

    before, after = shares(base), shares(drifted["code_mix"])
    assert after["90837"] > before["90837"] + 0.15
    assert after["90832"] < 0.6 * before["90832"]
    # Minutes are documented for the new code: time denials do not jump with the mix.
    claims = judged(drifted["code_mix"])
    mismatch = claims["after"] & (claims["category"] == "time_code_mismatch") & claims["denied"]
    plain = judged(base, change_on)
    was = plain["after"] & (plain["category"] == "time_code_mismatch") & plain["denied"]
    assert mismatch.sum() < 2 * was.sum() + 10


def test_scenario_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown scenario 'weather'"):
        generate(500, seed=1, scenario="weather")
    with pytest.raises(ValueError, match="needs a scenario"):
        generate(500, seed=1, change_on=date(2024, 6, 1))
    with pytest.raises(ValueError, match="change_on must fall between"):
        generate(500, seed=1, scenario="code_mix", change_on=date(2020, 1, 1))
    data = generate(2_000, seed=1, scenario="code_mix", change_on=date(2024, 3, 1))
    assert data.change_on == date(2024, 3, 1)
