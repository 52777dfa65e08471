"""The generator's mechanisms, measured the way a billing analyst would: from the tables alone."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from data_contracts.denials import remit_denial_categories, timed_psychotherapy_claims
from data_contracts.reader import check_tables, read_data_dir
from synthetic import SyntheticData, generate, generate_chunks
from synthetic.world import PAYERS


@pytest.fixture(scope="module")
def labelled(synthetic_data: SyntheticData) -> pd.DataFrame:
    """Adjudicated claims with the contract's denial label and category from their remits."""
    tables = synthetic_data.tables
    remits = tables["remits"]
    timed = remits["claim_id"].isin(timed_psychotherapy_claims(tables["claim_lines"]))
    remits = remits.assign(category=remit_denial_categories(remits, timed))
    return tables["claims"].merge(remits[["claim_id", "category"]], on="claim_id")


def denial_rate(frame: pd.DataFrame) -> float:
    return float(frame["category"].notna().mean())


def test_exact_count_and_reproducible() -> None:
    first, again, other = generate(3_000, seed=5), generate(3_000, seed=5), generate(3_000, seed=6)
    assert len(first.tables["claims"]) == 3_000
    for name, frame in first.tables.items():
        pd.testing.assert_frame_equal(frame, again.tables[name])
    assert not first.tables["claims"].equals(other.tables["claims"])


def test_written_data_passes_the_contract_reader(synthetic_dir, synthetic_data) -> None:
    loaded = read_data_dir(synthetic_dir)
    for name, frame in synthetic_data.tables.items():
        assert len(loaded.tables()[name]) == len(frame), name
    assert loaded.present == frozenset(synthetic_data.tables)


def test_overall_denial_rate_is_in_the_behavioral_health_range(labelled) -> None:
    assert 0.10 <= denial_rate(labelled) <= 0.18


def test_truth_probability_is_calibrated_against_realised_denials(synthetic_data) -> None:
    truth = synthetic_data.truth
    bins = pd.cut(truth["p_denial"], [0, 0.05, 0.2, 0.5, 1.0], include_lowest=True)
    by_bin = truth.groupby(bins, observed=True).agg(p=("p_denial", "mean"), rate=("denied", "mean"))
    assert np.allclose(by_bin["p"], by_bin["rate"], atol=0.03)


def test_remit_codes_map_back_to_the_true_category(synthetic_data, labelled) -> None:
    truth = synthetic_data.truth.set_index("claim_id")
    denied = labelled[labelled["category"].notna()].set_index("claim_id")
    agreement = (denied["category"] == truth.loc[denied.index, "denial_category"]).mean()
    assert agreement == 1.0


def test_visits_over_the_annual_cap_are_denied_far_more(labelled) -> None:
    caps = {spec.payer_id: spec.visit_cap for spec in PAYERS}
    op = labelled[labelled["program"] == "OP"].sort_values("service_date", kind="stable")
    year = op["service_date"].dt.year
    visit = op.groupby([op["patient_id"], op["payer_id"], year]).cumcount() + 1
    cap = op["payer_id"].map(caps)
    over = (cap > 0) & (visit > cap)
    assert over.sum() > 100
    assert denial_rate(op[over]) > 4 * denial_rate(op[~over])
    assert (op.loc[over, "category"] == "visit_limit").mean() > 0.6


def test_time_based_code_below_its_minutes_is_denied_more(synthetic_data, labelled) -> None:
    lines = synthetic_data.tables["claim_lines"]
    l90837 = lines[lines["procedure_code"] == "90837"]
    short = set(l90837.loc[l90837["minutes"] < 53, "claim_id"])
    full = set(l90837.loc[l90837["minutes"] >= 53, "claim_id"])
    is_short = labelled["claim_id"].isin(short)
    assert is_short.sum() > 50
    assert denial_rate(labelled[is_short]) > 3 * denial_rate(
        labelled[labelled["claim_id"].isin(full)]
    )


def test_telehealth_without_a_modifier_is_denied_more(synthetic_data, labelled) -> None:
    lines = synthetic_data.tables["claim_lines"]
    first = lines[lines["line_number"] == 1].set_index("claim_id")["modifiers"]
    tele = labelled[labelled["place_of_service"].isin(["02", "10"])]
    mods = first.reindex(tele["claim_id"]).fillna("").to_numpy()
    has_tele_mod = pd.Series(mods).str.contains(r"\b(?:95|GT)\b").to_numpy()
    assert (~has_tele_mod).sum() > 30
    assert denial_rate(tele[~has_tele_mod]) > 3 * denial_rate(tele[has_tele_mod])


def test_resubmitted_duplicates_are_denied_as_duplicates(synthetic_data, labelled) -> None:
    lines = synthetic_data.tables["claim_lines"]
    first = lines[lines["line_number"] == 1][["claim_id", "procedure_code"]]
    claims = labelled.merge(first, on="claim_id").sort_values(["submission_date", "claim_id"])
    repeat = claims.duplicated(["patient_id", "service_date", "procedure_code"], keep="first")
    assert repeat.sum() > 100
    assert denial_rate(claims[repeat]) > 0.8
    assert (claims.loc[repeat, "category"] == "duplicate").mean() > 0.8


def test_claims_without_a_required_authorization_are_denied(labelled) -> None:
    institutional = labelled[labelled["program"].isin(["IOP", "PHP", "RES", "DETOX"])]
    institutional = institutional[institutional["plan_type"] != "medicare"]
    no_auth = institutional["prior_auth_id"].isna()
    assert no_auth.sum() > 20
    assert denial_rate(institutional[no_auth]) > 3 * denial_rate(institutional[~no_auth])
    assert (institutional.loc[no_auth, "category"] == "missing_auth").mean() > 0.6


def test_pending_claims_are_the_most_recent(synthetic_data) -> None:
    claims = synthetic_data.tables["claims"]
    remitted = claims["claim_id"].isin(synthetic_data.tables["remits"]["claim_id"])
    pending = claims[~remitted]
    assert 0 < len(pending) < 0.1 * len(claims)
    assert pending["submission_date"].median() > claims.loc[remitted, "submission_date"].quantile(
        0.9
    )


def test_appeals_only_follow_denials_and_precede_the_extract(synthetic_data, labelled) -> None:
    appeals = synthetic_data.tables["appeals"]
    denied = set(labelled.loc[labelled["category"].notna(), "claim_id"])
    assert appeals["claim_id"].isin(denied).all()
    as_of = pd.Timestamp(synthetic_data.as_of)
    assert (appeals["action_date"] <= as_of).all()
    closed = appeals["closed_date"].notna()
    assert (appeals.loc[closed, "closed_date"] <= as_of).all()
    assert (appeals.loc[~closed, "outcome"] == "pending").all()
    overturned = appeals["outcome"] == "overturned"
    assert (appeals.loc[overturned, "recovered_amount"] > 0).all()


def test_requests_past_the_payers_window_are_upheld_as_untimely(synthetic_data) -> None:
    """The evidence the queue learns windows from: some requests go in near the window, and
    exactly the decided ones past it are refused as untimely."""
    tables = synthetic_data.tables
    appeals = tables["appeals"].merge(
        tables["remits"][["claim_id", "received_date"]], on="claim_id"
    )
    window = appeals["claim_id"].map(
        synthetic_data.truth.set_index("claim_id")["appeal_window_days"]
    )
    lag = (appeals["action_date"] - appeals["received_date"]).dt.days
    asked = appeals["action"].isin(["appeal", "corrected_claim", "rebill"])
    decided = asked & (appeals["outcome"] != "pending")
    near = asked & ((lag - window).abs() <= 10)
    assert 0.08 <= near.sum() / asked.sum() <= 0.2
    untimely = appeals["outcome_reason"] == "untimely"
    assert untimely.equals(decided & (lag > window))
    assert (appeals.loc[untimely, "outcome"] == "upheld").all()
    assert appeals.loc[~decided, "outcome_reason"].isna().all()
    assert (decided & ~untimely & (appeals["outcome"] == "upheld")).any()


def test_truth_has_the_contract_columns(synthetic_data) -> None:
    expected = {"claim_id", "p_denial", "denial_category", "p_recover", "effort_minutes"}
    assert expected <= set(synthetic_data.truth.columns)
    assert synthetic_data.truth["claim_id"].equals(synthetic_data.tables["claims"]["claim_id"])


def test_ends_on_moves_every_date_and_keeps_the_calendar() -> None:
    """A demo made on a given day ends on it; visit caps still reset on 1 January."""
    ends_on = date(2026, 12, 2)
    base, moved = generate(20_000, seed=5), generate(20_000, seed=5, ends_on=ends_on)
    assert moved.as_of == ends_on
    claims, moved_claims = base.tables["claims"], moved.tables["claims"]
    pd.testing.assert_series_equal(claims["claim_id"], moved_claims["claim_id"])
    shift = pd.Timestamp(ends_on) - pd.Timestamp(base.as_of)
    # The same claims, sent the same number of days apart; how payers answer may differ,
    # since caps and deductibles follow the moved calendar.
    for column in ("service_date", "submission_date"):
        assert (moved_claims[column] - claims[column]).eq(shift).all()
    assert moved_claims["submission_date"].max() == pd.Timestamp(ends_on)
    assert moved.tables["remits"]["received_date"].max() <= pd.Timestamp(ends_on)
    # Caps count calendar years of the moved dates, as an analyst (and the features) would.
    labelled = moved_claims.merge(moved.truth, on="claim_id")
    op = labelled[labelled["program"] == "OP"].sort_values("service_date", kind="stable")
    visit = op.groupby([op["patient_id"], op["payer_id"], op["service_date"].dt.year]).cumcount()
    cap = op["payer_id"].map({spec.payer_id: spec.visit_cap for spec in PAYERS})
    over = (cap > 0) & (visit + 1 > cap)
    assert over.sum() > 100
    category = op["denial_category"].where(op["denied"])
    assert (category[over] == "visit_limit").mean() > 0.6


# --- one world in chunks ------------------------------------------------------------------


@pytest.fixture(scope="module")
def chunks() -> list[SyntheticData]:
    return list(generate_chunks(5_000, seed=5, chunk_claims=2_000))


def test_a_run_of_one_chunk_is_generates_data() -> None:
    (only,) = generate_chunks(3_000, seed=5, chunk_claims=3_000)
    whole = generate(3_000, seed=5)
    for name, frame in whole.tables.items():
        pd.testing.assert_frame_equal(only.tables[name], frame, obj=name)
    pd.testing.assert_frame_equal(only.truth, whole.truth)


def test_chunks_pass_the_contract_each_alone(chunks) -> None:
    assert [len(chunk.tables["claims"]) for chunk in chunks] == [2_000, 2_000, 1_000]
    for index, chunk in enumerate(chunks):
        check_tables(f"chunk {index}", chunk.tables)
        assert chunk.truth["claim_id"].equals(chunk.tables["claims"]["claim_id"])


def test_chunks_share_the_world_and_extract_date_but_no_ids(chunks) -> None:
    claims = pd.concat([chunk.tables["claims"] for chunk in chunks], ignore_index=True)
    assert list(claims["claim_id"]) == [f"CLM{i:09d}" for i in range(1, 5_001)]
    assert {chunk.as_of for chunk in chunks} == {chunks[0].as_of}
    assert claims["submission_date"].max() == pd.Timestamp(chunks[0].as_of)
    for column in ("patient_id", "auth_id"):
        table = "claims" if column == "patient_id" else "authorizations"
        per_chunk = [set(chunk.tables[table][column]) for chunk in chunks]
        assert sum(map(len, per_chunk)) == len(set().union(*per_chunk)), column
    # The same world: the later chunks' claims go to the first chunk's providers.
    first_providers = set(chunks[0].tables["claims"]["rendering_provider_id"])
    assert set(chunks[1].tables["claims"]["rendering_provider_id"]) & first_providers


def test_chunks_end_on_the_day_asked_for() -> None:
    chunks = list(generate_chunks(1_500, seed=5, chunk_claims=1_000, ends_on=date(2026, 11, 1)))

    assert {chunk.as_of for chunk in chunks} == {date(2026, 11, 1)}
    for chunk in chunks:
        assert chunk.tables["claims"]["submission_date"].max() <= pd.Timestamp("2026-11-01")


def test_chunked_run_is_reproducible(chunks) -> None:
    again = list(generate_chunks(5_000, seed=5, chunk_claims=2_000))
    for first, second in zip(chunks, again, strict=True):
        for name, frame in first.tables.items():
            pd.testing.assert_frame_equal(second.tables[name], frame, obj=name)
    other = next(iter(generate_chunks(5_000, seed=6, chunk_claims=2_000)))
    assert not other.tables["claims"].equals(chunks[0].tables["claims"])
