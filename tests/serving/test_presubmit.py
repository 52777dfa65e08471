"""The pre-submission check of an uploaded batch: good claims scored as the hook scores
them, bad rows and their dependants set aside with reasons, whole-file faults named."""

from __future__ import annotations

import pandas as pd
import pytest

from serving.presubmit import UploadError, check_batch, read_csv_upload, results_frame
from tests.serving.conftest import scorer_for


@pytest.fixture(scope="module")
def batch(serve_data) -> dict[str, bytes]:
    """Twelve pending claims of the synthetic practice, as the two CSVs a biller exports."""
    pending = serve_data.claims.loc[
        ~serve_data.claims["claim_id"].isin(serve_data.remits["claim_id"])
    ].head(12)
    lines = serve_data.claim_lines[serve_data.claim_lines["claim_id"].isin(pending["claim_id"])]
    return {
        "claims": pending.to_csv(index=False).encode(),
        "claim_lines": lines.to_csv(index=False).encode(),
    }


def _raw(batch: dict[str, bytes]) -> dict[str, pd.DataFrame]:
    return {name: read_csv_upload(name, content) for name, content in batch.items()}


def test_a_clean_batch_is_scored_as_the_hook_scores_it(batch, bundle, serve_data) -> None:
    scorer = scorer_for(bundle)
    result = check_batch(_raw(batch), scorer)
    assert not result.set_aside
    assert not result.problems
    raw = _raw(batch)
    ids = raw["claims"]["claim_id"].tolist()
    assert [r.claim_id for r in result.results] == ids
    claims = serve_data.claims.set_index("claim_id").loc[ids].reset_index()
    lines = serve_data.claim_lines[serve_data.claim_lines["claim_id"].isin(ids)]
    direct = scorer.score_claims(claims, lines)
    assert [r.p_denial for r in result.results] == pytest.approx([r.p_denial for r in direct])
    frame = results_frame(result.results)
    assert list(frame["claim_id"]) == ids
    assert frame["band"].isin(["pass", "review", "hold"]).all()


def test_bad_rows_and_their_dependants_are_set_aside_and_the_rest_scored(batch, bundle) -> None:
    raw = _raw(batch)
    bad_claim, lined = raw["claims"].loc[[1, 4], "claim_id"]
    raw["claims"].loc[1, "plan_type"] = "ppo"
    lines = raw["claim_lines"]
    lines.loc[lines.index[lines["claim_id"] == lined][0], "units"] = "lots"
    result = check_batch(raw, scorer_for(bundle))
    aside = {(a.table, a.claim_id) for a in result.set_aside}
    assert ("claims", bad_claim) in aside
    assert ("claim_lines", lined) in aside
    assert ("claims", lined) in aside  # its line is bad
    claim_row = next(a for a in result.set_aside if a.table == "claims" and a.claim_id == bad_claim)
    assert claim_row.row == 2
    assert any("plan_type" in reason for reason in claim_row.reasons)
    scored = {r.claim_id for r in result.results}
    assert scored == set(raw["claims"]["claim_id"]) - {bad_claim, lined}


def test_a_missing_required_column_names_the_file_and_column(batch, bundle) -> None:
    raw = _raw(batch)
    raw["claim_lines"] = raw["claim_lines"].drop(columns=["units"])
    result = check_batch(raw, scorer_for(bundle))
    assert result.results == []
    assert any("Claim lines CSV" in p and "units" in p for p in result.problems)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\xff\xfe\x00c\x00l", "not UTF-8"), (b'a,b\n"x,1\n', "not a readable CSV")],
)
def test_unreadable_files_are_named(content: bytes, message: str) -> None:
    with pytest.raises(UploadError, match=rf"Claims CSV: .*{message}"):
        read_csv_upload("claims", content)
