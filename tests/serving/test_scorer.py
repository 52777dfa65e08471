"""The per-claim path (the API's) and the batch path answer alike, claim for claim."""

from __future__ import annotations

import pytest

from data_contracts.records import tables_from_records
from serving.api.schemas import ClaimIn
from serving.batch import score_pending
from serving.scorer import ROW_PATH_MAX_CLAIMS
from tests.serving.conftest import auth, claim_json, scorer_for


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


def test_a_pending_claim_scored_again_is_not_its_own_duplicate(bundle, serve_data, client) -> None:
    """The scrubbing hook scores a claim of the state again after a fix: over HTTP, on the
    row path and on the batch path alike, its copy in the state is not an earlier claim
    (every one of them was a 'duplicate' before)."""
    claims, lines = serve_data.claims, serve_data.claim_lines
    pending = claims.loc[~claims["claim_id"].isin(serve_data.remits["claim_id"]), "claim_id"]
    ids = pending.tail(ROW_PATH_MAX_CLAIMS).tolist()
    assert set(ids) <= set(bundle.state.claims["claim_id"])
    requests = [ClaimIn.model_validate(claim_json(serve_data, i)).model_dump() for i in ids]
    scorer = scorer_for(bundle)
    rows = _answers(scorer.score_records(requests))
    assert rows == _answers(scorer.score_claims(*tables_from_records(requests)))
    alone = scorer.score_records(requests[:1])[0]
    response = client.post(
        "/v1/claims/score",
        json={"claims": [claim_json(serve_data, ids[0])]},
        headers=auth("scrubber"),
    )
    assert (alone.claim_id, alone.p_denial) == (
        response.json()["results"][0]["claim_id"],
        response.json()["results"][0]["p_denial"],
    )

    # A duplicate exactly where another claim has its patient, service date and first code.
    first = lines.sort_values("line_number").drop_duplicates("claim_id")
    code_1 = claims["claim_id"].map(first.set_index("claim_id")["procedure_code"])
    service = claims.assign(code_1=code_1).duplicated(
        ["patient_id", "service_date", "code_1"], keep=False
    )
    repeated = set(claims.loc[service, "claim_id"])
    duplicates = [claim_id in repeated for claim_id in ids]
    assert [any(fix[0] == "duplicate" for fix in r[4]) for r in rows] == duplicates
    assert not all(duplicates)


def test_every_pending_claim_scores_over_http_as_denialops_score_does(
    bundle, serve_data, client
) -> None:
    """`denialops score` features a directory's pending claims over its own history; the
    bundled state was built from the same directory. Sent one by one to the row path, and
    64 at once over HTTP, each pending claim gets the same probability and top fix,
    though it was submitted before the state's later claims and remits."""
    scorer = scorer_for(bundle)
    expected = score_pending(serve_data, scorer).set_index("claim_id")
    ids = expected.index.tolist()
    assert len(ids) > 100
    requests = [ClaimIn.model_validate(claim_json(serve_data, i)).model_dump() for i in ids]
    alone = [scorer.score_records([request])[0] for request in requests]
    assert [(r.claim_id, round(r.p_denial, 6)) for r in alone] == list(expected["p_denial"].items())
    assert [r.fixes[0].fix_code if r.fixes else "" for r in alone] == expected["fix_code"].tolist()
    first = ids[:ROW_PATH_MAX_CLAIMS]
    response = client.post(
        "/v1/claims/score",
        json={"claims": [claim_json(serve_data, i) for i in first]},
        headers=auth("scrubber"),
    )
    assert response.status_code == 200
    answered = {r["claim_id"]: r["p_denial"] for r in response.json()["results"]}
    assert [round(answered[i], 6) for i in first] == expected.loc[first, "p_denial"].tolist()
