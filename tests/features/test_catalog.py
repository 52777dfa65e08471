"""The catalog is the documentation: the pipeline returns exactly what it lists."""

from __future__ import annotations

from features.catalog import CATEGORICAL, CLAIM_ONLY, FEATURES


def test_pipeline_returns_the_catalog_in_order(features) -> None:
    assert list(features.columns) == [feature.name for feature in FEATURES]


def test_types_follow_the_catalog(features) -> None:
    for name in features.columns:
        expected = "string" if name in CATEGORICAL else "float64"
        assert str(features[name].dtype) == expected, name


def test_every_feature_is_documented() -> None:
    names = [feature.name for feature in FEATURES]
    assert len(names) == len(set(names))
    for feature in FEATURES:
        assert len(feature.meaning) > 10, feature.name
        assert feature.point_in_time, feature.name


def test_claim_only_features_read_nothing_but_the_claim() -> None:
    assert "payer_code_denial_rate" not in CLAIM_ONLY
    assert "visit_number_this_year" not in CLAIM_ONLY
    assert {"code_1", "timed_minutes", "telehealth_modifier_missing"} <= set(CLAIM_ONLY)


def test_one_row_per_claim_in_claims_order(data, features) -> None:
    assert features.index.tolist() == data.claims["claim_id"].tolist()
