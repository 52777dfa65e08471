"""The fix rule table is sound, and the batch command scores exactly the pending claims."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import sqlalchemy as sa

from data_contracts.enums import DENIAL_CATEGORIES
from features.pipeline import build_features
from serving.audit import AuditLog
from serving.batch import BATCH_KEY, COLUMNS, score_pending
from serving.fixes import FEATURE_NAMES, FixRule, corrected, fix_rules, holds, render, rule_hits
from serving.scorer import Scorer, feature_records
from storage.schema import SCORING_AUDIT
from tests.serving.conftest import scorer_for


def test_every_rule_names_a_contract_category_and_known_features() -> None:
    rules = fix_rules()
    assert len({rule.rule_id for rule in rules}) == len(rules)
    for rule in rules:
        assert rule.fix_code in DENIAL_CATEGORIES
        assert rule.fix_code != "other"
        assert set(rule.drivers) <= FEATURE_NAMES
        assert set(rule.correction) <= FEATURE_NAMES


def test_identity_features_are_never_a_fix() -> None:
    """A payer's identity drives risk but is not something a biller can change."""
    corrected_features = {name for rule in fix_rules() for name in rule.correction}
    assert not {"payer_id", "plan_type", "facility_id", "network_status"} & corrected_features


def test_every_fixable_category_has_a_rule() -> None:
    covered = {rule.fix_code for rule in fix_rules()}
    assert covered == set(DENIAL_CATEGORIES) - {"other"}


def test_rule_conditions_and_corrections_apply_to_feature_rows() -> None:
    rule = next(r for r in fix_rules() if r.rule_id == "time_band")
    features = pd.DataFrame(
        {
            "time_code_mismatch": [1.0, 0.0],
            "supported_timed_code": ["90834", "not_applicable"],
            "minutes_below_band": [8.0, 0.0],
            "minutes_above_band": [0.0, 0.0],
        },
        index=["A", "B"],
    )
    assert rule_hits((rule,), features)["time_band"].tolist() == [True, False]
    record = features.loc["A"].to_dict()
    fixed = corrected(record, rule, record)
    assert fixed["time_code_mismatch"] == 0
    assert fixed["minutes_below_band"] == 0
    assert record["time_code_mismatch"] == 1, "the claim's own features are left alone"


def test_a_correction_may_put_the_overall_rate_in_place_of_the_payers() -> None:
    rule = next(r for r in fix_rules() if r.rule_id == "credential")
    record = {"payer_credential_not_covered_rate": 0.4, "payer_credential_denial_rate": 0.5}
    fields = {"overall_credential_rate": 0.02, "overall_denial_rate": 0.1}
    fixed = corrected(record, rule, fields)
    assert fixed == {"payer_credential_not_covered_rate": 0.02, "payer_credential_denial_rate": 0.1}


def test_conditions_hold_alike_on_a_frame_and_on_each_row(serve_data) -> None:
    """The batch path evaluates rules with pandas, the per-claim path with Python."""
    features = build_features(serve_data)
    frame = rule_hits(fix_rules(), features)
    rows = [[holds(rule, row) for rule in fix_rules()] for row in feature_records(features)]
    assert frame.to_numpy().tolist() == rows
    assert frame.to_numpy().any(axis=0).sum() >= len(fix_rules()) - 3, "most rules fire somewhere"


def test_texts_fill_in_the_claim_and_say_unknown_for_gaps() -> None:
    rule = FixRule("r", "edit", "bundling", "x == 1", ("x",), {}, "{code} on {day}")
    assert render(rule, {"code": "90833", "day": float("nan")}) == "90833 on unknown"


def test_batch_scores_every_pending_claim_and_only_those_and_keeps_them(
    serve_data, bundle, database
) -> None:
    audit = AuditLog(database)
    frame = score_pending(serve_data, scorer_for(bundle, "5"), audit=audit)
    pending = set(serve_data.claims["claim_id"]) - set(serve_data.remits["claim_id"])
    assert list(frame.columns) == COLUMNS
    assert set(frame["claim_id"]) == pending
    assert frame["p_denial"].between(0, 1).all()
    assert set(frame["fix_code"]) <= set(DENIAL_CATEGORIES) | {""}
    assert (frame.loc[frame["fix_code"] != "", "fix_text"] != "").all()
    kept = audit.scores().set_index("claim_id").loc[frame["claim_id"]]
    assert (kept["model_version"] == "5").all()
    assert kept["p_denial"].round(6).tolist() == frame["p_denial"].tolist()
    assert kept["top_fix"].fillna("").tolist() == frame["fix_code"].tolist()
    with database.scope().engine.connect() as connection:
        keys = connection.execute(sa.select(SCORING_AUDIT.c.key_id).distinct()).scalars()
        assert keys.all() == [BATCH_KEY]


def test_batch_with_nothing_pending_writes_an_empty_table(serve_data, bundle) -> None:
    claims = serve_data.claims[serve_data.claims["claim_id"].isin(serve_data.remits["claim_id"])]
    done = dataclasses.replace(serve_data, claims=claims)
    frame = score_pending(done, scorer_for(bundle))
    assert frame.empty
    assert list(frame.columns) == COLUMNS


def test_thresholds_must_be_ordered(bundle) -> None:
    with pytest.raises(ValueError, match="review threshold"):
        Scorer(bundle, "x", 0.6, 0.5)
