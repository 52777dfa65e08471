"""The per-claim path (the API's) and the batch path answer alike, claim for claim."""

from __future__ import annotations

import pytest

from data_contracts.records import tables_from_records
from serving.api.schemas import ClaimIn
from serving.scorer import ROW_PATH_MAX_CLAIMS
from tests.serving.conftest import claim_json, scorer_for


@pytest.fixture(scope="module")
def requests_(serve_data) -> list[dict]:
    """The latest claims as the API hands them to the scorer: validated, as dicts."""
    ids = serve_data.claims["claim_id"].tail(3 * ROW_PATH_MAX_CLAIMS)
    return [ClaimIn.model_validate(claim_json(serve_data, i)).model_dump() for i in ids]


def _answers(results) -> list[tuple]:
    return [
        (
            r.claim_id,
            r.p_denial,
            r.band,
            [(d["feature"], d["value"], d["contribution"]) for d in r.drivers],
            [(f.fix_code, f.text, f.p_denial_after, f.rule_hit) for f in r.fixes],
        )
        for r in results
    ]


@pytest.mark.parametrize("size", [1, 7, ROW_PATH_MAX_CLAIMS])
def test_row_path_equals_batch_path(bundle, requests_, size) -> None:
    scorer = scorer_for(bundle)
    for start in range(0, len(requests_), size):
        chunk = requests_[start : start + size]
        rows = scorer.score_records(chunk)
        batch = scorer.score_claims(*tables_from_records(chunk))
        assert _answers(rows) == _answers(batch)


def test_the_sample_exercises_every_band_and_fixes(bundle, requests_) -> None:
    results = scorer_for(bundle).score_records(requests_[:ROW_PATH_MAX_CLAIMS])
    assert {r.band for r in results} == {"pass", "review", "hold"}
    assert any(f.rule_hit for r in results for f in r.fixes)
    assert any(not f.rule_hit for r in results for f in r.fixes)
