"""Files into a data directory: whole or not at all, idempotent, corrections and reversals."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.reader import MAX_LISTED_ROWS, read_data_dir
from data_contracts.x12 import expand_paths, ingest
from data_contracts.x12.ingest import EVENTS_FILE
from data_contracts.x12.setaside import EXCEPTIONS_FILE
from synthetic import generate, write_synthetic
from tests.data_contracts.x12.conftest import FIXTURES, claims_file, fixture, remittance


def exceptions(out: Path) -> pd.DataFrame:
    """exceptions.csv as text, files by name."""
    found = pd.read_csv(out / EXCEPTIONS_FILE, dtype=str, keep_default_na=False)
    return found.assign(file=[Path(name).name for name in found["file"]])


def remit_of(out: Path, claim_id: str) -> pd.Series | None:
    remits = read_data_dir(out).remits.set_index("claim_id")
    return remits.loc[claim_id] if claim_id in remits.index else None


def test_remits_without_claims_are_kept_until_their_claims_arrive(tmp_path: Path) -> None:
    out = tmp_path / "data"
    summary = ingest(expand_paths([FIXTURES / "835"]), out)
    assert summary.failures == []
    assert summary.files == 12
    assert summary.adjudications_read == 21
    assert summary.adjudications_added == 20  # era835rb example_3 repeats blue_cross_nc_sample
    assert summary.remits_without_claim == 15
    assert summary.denials["timely_filing"] == 0  # emedny's account number: first one paid
    data = read_data_dir(out)  # the contract reader accepts the directory
    assert data.remits.empty
    assert len(pd.read_csv(out / EVENTS_FILE)) == 20

    claims_file(
        tmp_path / "x12",
        {
            "claim_id": "001-18573-358",
            "service_date": "2020-12-21",
            "submission_date": "2021-01-20",
        },
    )
    summary = ingest(expand_paths([tmp_path / "x12"]), out)
    assert summary.remits_without_claim == 14
    remit = remit_of(out, "001-18573-358")
    assert remit["carc_codes"] == "CO-45;PR-1"
    assert remit["allowed_amount"] == pytest.approx(194.18)
    assert remit["received_date"] == pd.Timestamp("2021-02-04")
    assert remit["status"] == "paid"


def test_real_claims_with_icd10_codes_go_in(tmp_path: Path) -> None:
    """The public 837 samples are ICD-9 (2005 TR3 examples); with ICD-10 codes in their HI
    segments (the one change), they are ingested and the contract reader accepts them."""
    text = fixture("837i/lfh__837_005010X223A3__two-claims-single-provider.837i").read_text()
    text = text.replace("HI*BK:3669", "HI*ABK:F331").replace(
        "HI*BF:4019*BF:79431", "HI*ABF:F411*ABF:Z630"
    )
    path = tmp_path / "two-claims.837i"
    path.write_text(text.replace("HI*BK:30000", "HI*ABK:F410"))
    summary = ingest([path], tmp_path / "data")
    assert summary.failures == []
    assert (summary.claims_added, summary.interchanges, summary.transactions) == (2, 1, 1)
    data = read_data_dir(tmp_path / "data")
    claim = data.claims.set_index("claim_id").loc["756048Q"]
    assert (claim["primary_dx"], claim["secondary_dx"]) == ("F33.1", "F41.1;Z63.0")
    assert (claim["plan_type"], claim["place_of_service"], claim["program"]) == (
        "tricare",
        "22",
        "other",
    )
    assert claim["service_date"] == pd.Timestamp("2005-03-15")
    lines = data.claim_lines[data.claim_lines["claim_id"] == "756048Q"]
    assert list(lines["revenue_code"]) == ["0305", "0730"]
    assert list(lines["units"]) == [1, 3]


def test_ingesting_the_same_files_again_changes_nothing(tmp_path: Path) -> None:
    data = generate(300, seed=5)
    write_synthetic(data, tmp_path, "x12")
    paths = expand_paths([tmp_path / "x12"])
    first = ingest(paths, tmp_path)
    assert first.changed
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    again = ingest(paths, tmp_path)
    after = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    assert not again.changed
    assert (again.claims_added, again.claims_replaced, again.adjudications_added) == (0, 0, 0)
    assert after == before


MALFORMED = {
    # file: (segment, category, reason) of its first set-aside row
    "imsweb__x12_ambiguous_loop.837": (28, "icd9", "ICD-9-CM diagnosis"),
    "imsweb__x12_bad_first_line.837": (23, "icd9", "ICD-9-CM diagnosis"),
    "imsweb__x12_segments_out_of_order.837": (23, "icd9", "ICD-9-CM diagnosis"),
    "imsweb__x12_bad_segment_identifier.837": (6, "structure", "'' is not a segment identifier"),
    "imsweb__x12_bad_valid_code.837": (9, "structure", "NM1*117 where the billing provider"),
    "imsweb__x12_loop_errors3_missing_loops.837": (9, "structure", "NM1*87 where the billing"),
    "imsweb__x12_missing_elements.837": (23, "icd9", "ICD-9-CM diagnosis"),
    "imsweb__x12_277CA_rejected.277": (3, "unsupported", "transaction set '277' is not ingested"),
    "imsweb__x12_999_rejected.999": (3, "unsupported", "transaction set '999' is not ingested"),
}


def test_each_bad_file_is_set_aside_where_it_is_bad_and_the_others_go_in(tmp_path: Path) -> None:
    good = fixture("835/edi835parser__united_healthcare_legacy_sample.835")
    bad = expand_paths([FIXTURES / "malformed", FIXTURES / "other"])
    summary = ingest([*bad[:4], good, *bad[4:]], tmp_path / "data")
    assert summary.set_aside
    assert summary.failures == []  # every file could be read: no file is set aside whole
    found = exceptions(tmp_path / "data")
    set_aside = found[found["severity"] == "set_aside"].groupby("file").first()
    assert set(set_aside.index) == set(MALFORMED)
    for name, (segment, category, reason) in MALFORMED.items():
        row = set_aside.loc[name]
        assert (row["segment"], row["category"]) == (str(segment), category), name
        assert reason in row["problem"], name
    missing = found[found["file"] == "imsweb__x12_missing_elements.837"]
    assert list(missing[missing["severity"] == "set_aside"].claim_id) == ["A37YH556", "A37YH667"]
    assert "CLM05" in missing.set_index("segment").loc["31", "problem"]
    assert read_data_dir(tmp_path / "data").claims.empty  # every 837 claim there is bad
    assert summary.remits_without_claim == 2  # the good file's two claims


def test_a_file_with_the_same_claim_twice_sets_aside_every_copy(tmp_path: Path) -> None:
    (path,) = claims_file(tmp_path / "x12", {"claim_id": "C1"}, {"claim_id": "C2"})
    text = path.read_text()
    path.write_text(text + text.replace("CLM*C2*", "CLM*C3*"))  # C1 in each interchange
    summary = ingest([path], tmp_path / "data")
    found = exceptions(tmp_path / "data")
    assert list(found["claim_id"]) == ["C1", "C1"]
    assert set(found["category"]) == {"repeated"}
    assert "claim C1 is in the file 2 times" in found["problem"].iloc[0]
    assert summary.claims_added == 2
    assert sorted(read_data_dir(tmp_path / "data").claims["claim_id"]) == ["C2", "C3"]


def test_a_reversal_replaces_the_remit_whatever_the_order(tmp_path: Path, write) -> None:
    claims = claims_file(tmp_path / "x12", {"claim_id": "C1", "total_charge": "200.00"})
    paid = write(
        "paid.835",
        remittance("CLP*C1*1*200*150*0*12*ICN1~CAS*CO*45*50", date="20240301", trace="P1"),
    )
    reversed_and_denied = write(
        "redo.835",
        remittance(
            "CLP*C1*22*-200*-150*0*12*ICN1~CAS*CO*45*-50",
            "CLP*C1*4*200*0*0*12*ICN2~CAS*CO*197*200~MOA***N54",
            date="20240315",
            trace="P2",
        ),
    )
    for order, out in (([paid, reversed_and_denied], "a"), ([reversed_and_denied, paid], "b")):
        summary = ingest([*claims, *order], tmp_path / out)
        assert summary.reversals == 1
        assert summary.denials == {"missing_auth": 1}
        remit = remit_of(tmp_path / out, "C1")
        assert (remit["status"], remit["carc_codes"], remit["rarc_codes"]) == (
            "denied",
            "CO-197",
            "N54",
        )
        assert remit["received_date"] == pd.Timestamp("2024-03-15")
    lone = write(
        "undo.835",
        remittance("CLP*C1*22*-200*0*0*12*ICN2~CAS*CO*197*-200", date="20240320", trace="P3"),
    )
    summary = ingest([lone], tmp_path / "a")
    assert summary.remits_changed == 1
    assert remit_of(tmp_path / "a", "C1") is None  # pending again


def test_a_corrected_claim_replaces_the_original_and_its_lines(tmp_path: Path) -> None:
    out = tmp_path / "data"
    two_lines = [
        {"claim_id": "C1", "line_number": "1", "procedure_code": "90837", "modifiers": "",
         "units": "1", "minutes": "40", "line_charge": "150.00", "revenue_code": None},
        {"claim_id": "C1", "line_number": "2", "procedure_code": "90785", "modifiers": "",
         "units": "1", "minutes": None, "line_charge": "50.00", "revenue_code": None},
    ]  # fmt: skip
    original = claims_file(tmp_path / "v1", {"claim_id": "C1"}, lines=two_lines)
    ingest(original, out)
    corrected = claims_file(
        tmp_path / "v2",
        {
            "claim_id": "C1",
            "frequency_code": "7",
            "original_claim_id": "C1",
            "submission_date": "2024-02-20",
        },
    )
    summary = ingest(corrected, out)
    assert (summary.claims_added, summary.claims_replaced) == (0, 1)
    data = read_data_dir(out)
    claim = data.claims.set_index("claim_id").loc["C1"]
    assert (claim["frequency_code"], claim["original_claim_id"]) == ("7", "C1")
    assert list(data.claim_lines["procedure_code"]) == ["90837"]
    assert not ingest(original, out).changed  # resending the original does not undo it


def test_a_replacement_names_its_original_by_the_payer_claim_number(tmp_path: Path, write) -> None:
    originals = claims_file(tmp_path / "v1", {"claim_id": "C1"})
    payment = write("paid.835", remittance("CLP*C1*4*200*0*0*12*PAYER-ICN-9~CAS*CO*16*200"))
    replacement = claims_file(
        tmp_path / "v2",
        {
            "claim_id": "C2",
            "frequency_code": "7",
            "original_claim_id": "PAYER-ICN-9",  # REF*F8 carries the payer's number
            "submission_date": "2024-03-10",
        },
    )
    ingest([*originals, payment, *replacement], tmp_path / "data")
    claims = read_data_dir(tmp_path / "data").claims.set_index("claim_id")
    assert claims.loc["C2", "original_claim_id"] == "C1"


def test_a_remit_before_its_claim_was_sent_sets_aside_that_adjudication(
    tmp_path: Path, write
) -> None:
    claims = claims_file(tmp_path / "x12", {"claim_id": "C1", "submission_date": "2024-02-05"})
    early = write(
        "early.835",
        remittance("CLP*C1*1*200*200*0*12*ICN1", "CLP*C9*1*50*50*0*12*ICN9", date="20240201"),
    )
    summary = ingest([*claims, early], tmp_path / "data")
    found = exceptions(tmp_path / "data").query("severity == 'set_aside'")
    assert list(zip(found["segment"], found["claim_id"], found["category"], strict=True)) == [
        ("7", "C1", "between_tables")  # the CLP
    ]
    assert "remit received before its claim's submission_date" in found["problem"].iloc[0]
    assert remit_of(tmp_path / "data", "C1") is None
    assert summary.claims_added == 1
    assert summary.remits_without_claim == 1  # C9 posted


def test_a_remit_on_file_stays_the_first_adjudication(tmp_path: Path, write) -> None:
    data = generate(200, seed=3)
    write_synthetic(data, tmp_path)
    remits = data.tables["remits"].set_index("claim_id")
    adjudicated = remits.index[0]
    pending = next(c for c in data.tables["claims"]["claim_id"] if c not in remits.index)
    later = write(
        "later.835",
        remittance(
            f"CLP*{adjudicated}*4*1*0*0*12*X1~CAS*CO*29*1",
            f"CLP*{pending}*4*1*0*0*12*X2~CAS*CO*29*1",
            date="20300101",
        ),
    )
    summary = ingest([later], tmp_path)
    assert summary.remits_changed == 1
    assert remit_of(tmp_path, adjudicated)["status"] == remits.loc[adjudicated, "status"]
    assert remit_of(tmp_path, pending)["carc_codes"] == "CO-29"


# ---------------------------------------------------------------- isolation by claim


def corrupted(tmp_path: Path, name: str, *changes: tuple[str, str]) -> Path:
    """A copy of a public sample with each (old, new) change made once (old must be there)."""
    text = fixture(name).read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / Path(name).name
    path.write_text(text)
    return path


def posted(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / EVENTS_FILE, dtype=str, keep_default_na=False).set_index("segment")


def test_a_claim_with_a_blank_clp03_is_set_aside_and_the_other_posts(tmp_path: Path) -> None:
    path = corrupted(
        tmp_path,
        "835/lfh__835_005010X221A1__managed-care.835",
        ("CLP*5554555444*1*800.00*", "CLP*5554555444*1**"),
    )
    summary = ingest([path], tmp_path / "data")
    assert summary.set_aside
    assert list(posted(tmp_path / "data")["claim_id"]) == ["8765432112"]
    found = exceptions(tmp_path / "data").query("severity == 'set_aside'")
    assert list(zip(found["segment"], found["claim_id"], found["transaction"], strict=True)) == [
        ("13", "5554555444", "112233")
    ]
    assert found["problem"].iloc[0] == "CLP03 '' is not an amount"


def test_unknown_codes_are_kept_and_flagged_placeholders_are_set_aside(tmp_path: Path) -> None:
    # eMedNY's three CLPs share a claim id with spaces; each is isolated by its own loop.
    path = corrupted(
        tmp_path,
        "835/edi835parser__emedny_sample.835",
        ("CAS*CO*29*12", "CAS*CO*299*12"),  # claim 2: a CARC newer than our list
        ("LQ*HE*N206", "LQ*HE*X999"),  # claim 3: a placeholder, not a RARC
        ("SVC*HC:V2020:RB*6*6**1", "SVC*HC:V2020:RB*6*6**1~LQ*HE*N9999"),  # claim 1: unknown RARC
    )
    ingest([path], tmp_path / "data")
    events = posted(tmp_path / "data")
    assert set(events.index) == {"15", "35"}  # one segment was added to claim 1
    assert set(events["claim_id"]) == {"PATIENT ACCOUNT NUMBER"}
    assert (events.loc["35", "carc_codes"], events.loc["15", "rarc_codes"]) == (
        "CO-299;CO-29",
        "N9999",
    )
    found = exceptions(tmp_path / "data").set_index("segment")
    assert found.loc["47", ["severity", "category"]].tolist() == ["set_aside", "contract"]
    assert "remits.rarc_codes: each item must be a valid RARC" in found.loc["47", "problem"]
    assert "('X999;N206')" in found.loc["47", "problem"]  # the value as written
    for segment, code in (("35", "CO-299"), ("15", "N9999")):
        assert found.loc[segment, ["severity", "category"]].tolist() == [
            "flagged",
            "unknown_code",
        ]
        assert code in found.loc[segment, "problem"]


def test_payments_that_do_not_balance_are_flagged_and_posted(tmp_path: Path) -> None:
    clean = ingest([fixture("835/edi835parser__united_healthcare_legacy_sample.835")], tmp_path)
    assert clean.exceptions == []  # the sample balances
    path = corrupted(
        tmp_path,
        "835/edi835parser__united_healthcare_legacy_sample.835",
        ("SVC*HC>B4152*156.42*88.92**234", "SVC*HC>B4152*156.42*80.92**234"),
        ("BPR*I*349.99*", "BPR*I*359.99*"),
    )
    summary = ingest([path], tmp_path / "data")
    assert not summary.set_aside
    assert summary.adjudications_added == 2
    found = exceptions(tmp_path / "data")
    assert list(zip(found["segment"], found["claim_id"], found["severity"], strict=True)) == [
        ("4", "", "flagged"),
        ("19", "001-18573-358", "flagged"),
    ]
    assert found["problem"].tolist() == [
        "BPR02 359.99 is not the claims' CLP04 less the PLB adjustments (349.99)",
        "CLP04 88.92 is not the sum of its service lines' SVC03 (80.92)",
    ]


def test_an_envelope_error_sets_aside_one_interchange_of_two(tmp_path: Path) -> None:
    first = fixture("835/edi835parser__united_healthcare_legacy_sample.835").read_text()
    second = fixture("835/lfh__835_005010X221A1__managed-care.835").read_text()
    assert "IEA*1*000000907" in second
    path = tmp_path / "two.835"
    path.write_text(first.rstrip() + "\n" + second.replace("IEA*1*000000907", "IEA*1*000000999"))
    summary = ingest([path], tmp_path / "data")
    assert summary.set_aside
    assert sorted(posted(tmp_path / "data")["claim_id"]) == ["001-18573-358", "001-18604-358"]
    found = exceptions(tmp_path / "data").query("severity == 'set_aside'")
    assert list(zip(found["transaction"], found["category"], strict=True)) == [
        ("112233", "envelope")
    ]
    iea = len(first.strip().strip("~").split("~")) + 30  # the second interchange's IEA
    assert found["segment"].tolist() == [str(iea)]
    assert "IEA02 '000000999' is not the control number of its ISA" in found["problem"].iloc[0]


def icd10(text: str) -> str:
    return text.replace("HI*BK:3669", "HI*ABK:F331").replace(
        "HI*BF:4019*BF:79431", "HI*ABF:F411*ABF:Z630"
    )


RECODED = ("HI*BK:30000", "HI*ABK:F410")
"""The second claim of the 837I sample with an ICD-10-CM principal diagnosis."""


@pytest.mark.parametrize(
    ("changes", "segment", "category", "reason"),
    [
        ([], 44, "icd9", "ICD-9-CM diagnosis (HI qualifier BK) on 756049Q"),
        (
            [("HI*BK:30000", "HI*ABF:F410")],
            41,
            "no_principal_dx",
            "no principal diagnosis (HI ABK) on 756049Q",
        ),
        (
            [RECODED, ("DTP*472*D8*20050401", "DTP*472*D8*20050431")],
            49,
            "malformed",
            "DTP*472 '20050431' is not a date",
        ),
        (
            [RECODED, ("SV2*0300*HC:85087*50.00*", "SV2*0300*HC:85087*5O.00*")],
            48,
            "malformed",
            "SV203 '5O.00' is not an amount",
        ),
        (
            [RECODED, ("CLM*756049Q*50.00*", "CLM*756049Q*fifty*")],
            41,
            "malformed",
            "CLM02 'fifty' is not an amount",
        ),
    ],
)
def test_a_bad_837_claim_is_set_aside_alone(
    tmp_path: Path, changes: list[tuple[str, str]], segment: int, category: str, reason: str
) -> None:
    text = icd10(fixture("837i/lfh__837_005010X223A3__two-claims-single-provider.837i").read_text())
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "two-claims.837i"
    path.write_text(text)
    summary = ingest([path], tmp_path / "data")
    assert summary.claims_added == 1
    assert list(read_data_dir(tmp_path / "data").claims["claim_id"]) == ["756048Q"]
    found = exceptions(tmp_path / "data").query("severity == 'set_aside'")
    assert list(zip(found["claim_id"], found["category"], strict=True)) == [("756049Q", category)]
    assert found["segment"].tolist() == [str(segment)]
    assert reason in found["problem"].iloc[0]


def test_reingesting_a_file_replaces_its_exception_rows(tmp_path: Path) -> None:
    path = corrupted(
        tmp_path,
        "835/lfh__835_005010X221A1__managed-care.835",
        ("CLP*5554555444*1*800.00*", "CLP*5554555444*1**"),
    )
    other = fixture("835/tigershark__835-example.835")
    ingest([path, other], tmp_path / "data")
    before = (tmp_path / "data" / EXCEPTIONS_FILE).read_bytes()
    ingest([path], tmp_path / "data")
    assert (tmp_path / "data" / EXCEPTIONS_FILE).read_bytes() == before
    path.write_text(fixture("835/lfh__835_005010X221A1__managed-care.835").read_text())
    ingest([path], tmp_path / "data")
    found = exceptions(tmp_path / "data")
    assert "set_aside" not in set(found.loc[found["file"] == path.name, "severity"])
    assert (found["file"] == other.name).sum() > 0  # the other file's rows stay


def test_every_claim_breaking_one_rule_is_set_aside_not_only_those_a_message_lists(
    tmp_path: Path,
) -> None:
    """A problem keeps the first few values for its message, not one per row: the claims
    past them used to post, and the data directory then broke the contract."""
    ids = [f"C{i}" for i in range(MAX_LISTED_ROWS + 3)]
    [path] = claims_file(tmp_path / "x12", *({"claim_id": claim_id} for claim_id in ids))
    path.write_text(re.sub(r"DTP\*472\*D8\*\d{8}", "DTP*472*D8*19850101", path.read_text()))

    summary = ingest([path], tmp_path / "data")

    found = exceptions(tmp_path / "data").query("severity == 'set_aside'")
    assert sorted(found["claim_id"]) == sorted(ids)
    assert summary.claims_added == 0
