"""One monitoring run on a small directory: kept scores win over scoring anew, a fresh
directory is scored point in time, outcomes join their claims, and the shadow challenger
is judged on the very claims the champion is."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.denials import denial_outcomes
from data_contracts.known_on import known_on
from data_contracts.reader import ContractData, read_data_dir
from model_bundle.denial import DenialRiskBundle
from monitoring.monitor import monitor
from monitoring.scores import KEPT, SCORED_NOW
from settings import Settings
from synthetic import generate, write_synthetic
from tests.small_bundle import small_bundle


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[ContractData, DenialRiskBundle]:
    folder = tmp_path_factory.mktemp("monitor")
    write_synthetic(generate(8_000, seed=41), folder, "parquet")
    data = read_data_dir(folder)
    end = pd.Timestamp(data.claims["submission_date"].max()).date()
    return data, small_bundle(known_on(data, end - timedelta(weeks=12)))


def scores_of(claims: pd.Index, p: float, version: str, fix: str | None) -> pd.DataFrame:
    return pd.DataFrame(
        {"claim_id": claims, "model_version": version, "p_denial": p, "top_fix": fix}
    )


def test_a_fresh_directory_is_scored_point_in_time(world) -> None:
    data, bundle = world
    result = monitor(data, bundle, "7", Settings())
    claims = result.scored.claims
    assert set(claims["source"]) == {SCORED_NOW}
    assert (claims["model_version"] == "7").all()
    again = bundle.score_features(result.scored.features)
    np.testing.assert_allclose(claims["p_denial"].to_numpy(float), again)
    outcomes = denial_outcomes(data)["denied"]
    adjudicated = result.scored.adjudicated
    assert (adjudicated["denied"].astype(int) == outcomes.loc[adjudicated.index]).all()
    assert not result.scored.pending.index.isin(outcomes.index).any()
    assert result.overall.iloc[0]["claims"] == len(adjudicated)


def test_kept_scores_are_what_is_judged(world) -> None:
    data, bundle = world
    first = monitor(data, bundle, "7", Settings())
    some = first.scored.claims.index[::3]
    kept = scores_of(some, 0.42, "6", "missing_auth")
    result = monitor(data, bundle, "7", Settings(), kept=kept)
    claims = result.scored.claims
    assert set(claims.loc[some, "source"]) == {KEPT}
    assert (claims.loc[some, "p_denial"] == 0.42).all()
    assert (claims.loc[some, "model_version"] == "6").all()
    others = claims.index.difference(some)
    assert (claims.loc[others, "p_denial"] == first.scored.claims.loc[others, "p_denial"]).all()
    fixed = result.top_fix.set_index("top_fix")
    assert fixed.loc["missing_auth", "claims"] == claims.loc[some, "denied"].notna().sum()


def test_the_shadow_challenger_is_judged_on_the_claims_both_scored(world) -> None:
    data, bundle = world
    claims = monitor(data, bundle, "7", Settings()).scored.claims
    some = claims.index[::2]
    shadow = scores_of(some, 0.5, "8", None)  # a challenger that knows nothing
    versus = monitor(data, bundle, "7", Settings(), shadow=shadow).versus.set_index("model")
    adjudicated = claims.loc[some].dropna(subset=["denied"])
    assert versus.loc["champion", "claims"] == versus.loc["challenger", "claims"]
    assert versus.loc["champion", "claims"] == len(adjudicated)
    assert versus.loc["challenger", "version"] == "8"
    assert versus.loc["challenger", "roc_auc"] == pytest.approx(0.5)
    assert versus.loc["champion", "roc_auc"] > 0.6
    assert versus.loc["challenger", "mean_abs_difference"] == pytest.approx(
        (adjudicated["p_denial"] - 0.5).abs().mean()
    )
    assert monitor(data, bundle, "7", Settings()).versus.empty


def test_the_report_and_the_metrics(world, tmp_path: Path) -> None:
    from monitoring.report import write_monitor_report

    data, bundle = world
    result = monitor(data, bundle, "7", Settings())
    html = write_monitor_report(result, tmp_path / "health.html").read_text()
    assert "Performance by week of submission" in html
    assert html.count("<img") == 4
    metrics = result.metrics()
    assert metrics["monitor_adjudicated_claims"] == len(result.scored.adjudicated)
    assert metrics["monitor_alerts"] == len(result.alerts)
    assert 0 < metrics["monitor_estimated_roc_auc"] < 1


def test_a_directory_with_no_outcome_yet_is_judged_by_the_estimate_alone(world) -> None:
    data, bundle = world
    fresh = replace(data, remits=data.remits.head(0), appeals=data.appeals.head(0))
    result = monitor(fresh, bundle, "7", Settings())
    assert result.scored.adjudicated.empty
    assert result.overall.iloc[0]["claims"] == 0
    assert result.estimated["claims"].sum() == len(result.scored.claims)
    assert {a.metric for a in result.alerts} <= {"feature_psi", "prediction_psi"}


def test_a_bundle_without_a_profile_is_monitored_and_says_why_drift_is_missing(world) -> None:
    data, bundle = world
    result = monitor(data, replace(bundle, profile=None), "7", Settings())
    assert result.drift.empty
    assert "no reference profile" in " ".join(result.notes)
    assert not {a.metric for a in result.alerts} & {"feature_psi", "prediction_psi"}
    assert result.overall.iloc[0]["claims"] > 0
