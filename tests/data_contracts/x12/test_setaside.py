"""exceptions.csv as a work list: corrected copies posted by a retry, idempotently."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data_contracts.reader import read_data_dir
from data_contracts.x12 import ingest
from data_contracts.x12.ingest import EVENTS_FILE
from data_contracts.x12.setaside import EXCEPTIONS_FILE, RESOLVED_FILE
from tests.data_contracts.x12.conftest import fixture

MANAGED_CARE = "835/lfh__835_005010X221A1__managed-care.835"


def table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name, dtype=str, keep_default_na=False)


def files(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}


def test_a_retry_posts_the_corrected_copy_once(tmp_path: Path) -> None:
    text = fixture(MANAGED_CARE).read_text()
    original = tmp_path / "managed-care.835"
    original.write_text(text.replace("CLP*5554555444*1*800.00*", "CLP*5554555444*1**", 1))
    out = tmp_path / "data"
    assert ingest([original], out).set_aside
    assert list(table(out, EVENTS_FILE)["claim_id"]) == ["8765432112"]

    copy = tmp_path / "fixed" / "managed-care.835"
    copy.parent.mkdir()
    copy.write_text(text)
    summary = ingest([copy], out, retry_exceptions=True)
    assert not summary.set_aside
    assert summary.adjudications_added == 1  # the corrected claim; the good one not again
    assert sorted(table(out, EVENTS_FILE)["claim_id"]) == ["5554555444", "8765432112"]
    (resolved,) = table(out, RESOLVED_FILE).to_dict("records")
    assert (resolved["file"], resolved["resolved_by"]) == (str(original), str(copy))
    assert (resolved["segment"], resolved["claim_id"]) == ("13", "5554555444")
    assert resolved["problem"] == "CLP03 '' is not an amount"
    assert "set_aside" not in set(table(out, EXCEPTIONS_FILE)["severity"])

    before = files(out)
    for again in (
        ingest([copy], out, retry_exceptions=True),
        ingest([], out, retry_exceptions=True),
        ingest([original], out),  # the original still holds the bad claim: not listed again
    ):
        assert not again.changed
        assert again.adjudications_added == 0
        assert again.resolved == 0
        assert files(out) == before


def test_a_retry_posts_a_recoded_claim_and_keeps_what_is_still_bad(tmp_path: Path) -> None:
    text = fixture("837i/lfh__837_005010X223A3__two-claims-single-provider.837i").read_text()
    original = tmp_path / "claims.837i"
    original.write_text(text.replace("HI*BF:4019*BF:79431", "HI*ABF:F411"))  # both ICD-9 still
    out = tmp_path / "data"
    ingest([original], out)
    assert sorted(table(out, EXCEPTIONS_FILE)["claim_id"]) == ["756048Q", "756049Q"]
    copy = tmp_path / "claims-fixed.837i"
    copy.write_text(original.read_text().replace("HI*BK:3669", "HI*ABK:F331"))  # one fixed
    summary = ingest([copy], out, retry_exceptions=True)
    assert summary.set_aside  # 756049Q is still ICD-9, in the original and in the copy
    assert summary.resolved == 1
    assert list(read_data_dir(out).claims["claim_id"]) == ["756048Q"]
    left = table(out, EXCEPTIONS_FILE)
    assert sorted(zip(left["file"], left["claim_id"], strict=True)) == [
        (str(copy), "756049Q"),
        (str(original), "756049Q"),
    ]
    assert list(table(out, RESOLVED_FILE)["claim_id"]) == ["756048Q"]
