"""Segments to contract columns, checked against values read off the public samples by hand."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pandas as pd
import pytest

from data_contracts.denials import denial_category
from data_contracts.x12 import loops, mapping
from data_contracts.x12.errors import SET_ASIDE, X12Problem
from data_contracts.x12.ingest import read_file
from data_contracts.x12.tokens import decode, tokenize
from tests.data_contracts.x12.conftest import fixture, remittance


def events(name: str) -> pd.DataFrame:
    content = read_file(fixture(name))
    assert [problem for problem in content.exceptions if problem.severity == SET_ASIDE] == []
    return pd.DataFrame(content.events).set_index("segment")


def category(event: pd.Series) -> str | None:
    return denial_category(
        [code for code in event["carc_codes"].split(";") if code],
        [code for code in event["rarc_codes"].split(";") if code],
        timed_psychotherapy=False,
    )


# ---------------------------------------------------------------- 835


def test_united_healthcare_sample() -> None:
    found = events("835/edi835parser__united_healthcare_legacy_sample.835")
    first, second = found.loc["19"], found.loc["39"]
    # CLP*001-18573-358*1*341.28*88.92*105.26*16*ATL2819897200*12*1, AMT*AU*194.18
    assert first["claim_id"] == "001-18573-358"
    assert (first["billed_amount"], first["paid_amount"]) == ("341.28", "88.92")
    assert (first["patient_responsibility"], first["allowed_amount"]) == ("105.26", "194.18")
    assert first["received_date"] == "2021-02-04"  # BPR16
    assert first["carc_codes"] == "CO-45;PR-1"  # line 1 CO-45, line 2 PR-1 and CO-45
    assert first["status"] == "paid"
    # CAS*PR*2*5.13**1*110 holds two reasons: the second (PR-1 110.00) balances the line
    # (328.50 - 29.05 = 5.13 + 110.00 + 184.32); edi-835-parser's CSV misses it.
    assert second["carc_codes"] == "CO-45;PR-2;PR-1"
    assert category(first) is None
    assert category(second) is None


def test_emedny_sample_keeps_every_adjudication_of_one_account_number() -> None:
    found = events("835/edi835parser__emedny_sample.835")
    assert list(found["claim_id"].unique()) == ["PATIENT ACCOUNT NUMBER"]
    assert list(found["status"]) == ["paid", "denied", "partial"]
    assert list(found["payer_claim_number"]) == [
        "1000210000000030",
        "1000220000000020",
        "1000230000000020",
    ]
    paid, denied, partial = (found.iloc[i] for i in range(3))
    assert (paid["billed_amount"], paid["allowed_amount"]) == ("34.25", "34.25")
    assert denied["carc_codes"] == "CO-29"
    assert category(denied) == "timely_filing"
    assert (partial["carc_codes"], partial["rarc_codes"]) == ("CO-251", "N206")  # line LQ*HE
    assert partial["allowed_amount"] == "11.5"  # AMT*AU


def test_era_835_parser_example_1_matches_its_spec() -> None:
    # era_835_parser_spec.rb: charge 374060, payment 545104 (cents), check date 09/23/2010,
    # account 474623UB001CW0321, status 1, payer claim control number 80209000000,
    # total adjustment -171044 (CAS*CO*94*-1710.44 at claim level).
    (event,) = events("835/era835rb__example_1.835").to_dict("records")
    assert event["claim_id"] == "474623UB001CW0321"
    assert (event["billed_amount"], event["paid_amount"]) == ("3740.6", "5451.04")
    assert event["received_date"] == "2010-09-23"
    assert event["claim_status_code"] == "1"
    assert event["payer_claim_number"] == "80209000000"
    assert event["carc_codes"] == "CO-94"


def test_tigershark_pipes_remarks_and_provider_adjustments() -> None:
    content = read_file(fixture("835/tigershark__835-example.835"))
    found = pd.DataFrame(content.events).set_index("claim_id")
    assert found.loc["001-DDDDDDDDDD", "carc_codes"] == ""
    second = found.loc["001-SSSSSSSSSS"]
    assert second["carc_codes"] == "PR-1;CO-45"  # claim-level CAS first, then the line's
    assert second["rarc_codes"] == "N220;M68"
    assert second["allowed_amount"] == "12145.65"
    assert second["received_date"] == "2012-03-22"
    assert content.provider_adjustments == 1
    assert content.provider_adjustment_total == Decimal("-361.19")  # PLB WO


def test_medicare_part_a_remarks_and_plb() -> None:
    content = read_file(fixture("835/lfh__835_005010X221A1__medicare-part-a.835"))
    found = pd.DataFrame(content.events).set_index("claim_id")
    assert found.loc["777777", "rarc_codes"] == "MA02"  # MOA***MA02
    assert found.loc["666123", "carc_codes"] == "CO-45"
    assert found.loc["666123", "status"] == "paid"
    assert category(found.loc["666123"]) is None  # a lone CO-45 is not a denial
    assert content.provider_adjustment_total == Decimal("-1.27")


def test_an_invalid_payment_date_falls_back_to_the_production_date() -> None:
    found = events("835/lfh__835_005010X221A1__managed-care.835")  # BPR16 20002316
    assert set(found["received_date"]) == {"2002-03-14"}  # DTM*405
    assert list(found["carc_codes"]) == ["CO-A2;PR-1", "CO-A2;PR-1;CO-45"]


def test_several_reasons_in_one_cas() -> None:
    found = events("835/lfh__835_005010X221A1__secondary-payment.835").set_index("claim_id")
    assert found.loc["0001000053", "carc_codes"] == "OA-23;PR-1;PR-2;CO-42"


@pytest.mark.parametrize(
    "name",
    [
        "edi835parser__blue_cross_nc_sample",
        "edi835parser__emedny_sample",
        "edi835parser__united_healthcare_legacy_sample",
    ],
)
def test_agrees_with_edi_835_parser_output(name: str) -> None:
    """Claim ids, dates, each adjustment code and the claim payment (the sum of the line
    payments edi-835-parser reports) agree with that parser's CSV."""
    expected = pd.read_csv(fixture(f"835_expected/{name}.csv"), dtype=str)
    found = events(f"835/{name}.835")
    assert set(expected["marker"]) == set(found["claim_id"])
    assert set(expected["transaction_date"]) == set(found["received_date"])
    ours = {code for codes in found["carc_codes"] for code in codes.split(";") if code}
    for index in range(2):
        if f"adj_{index}_group" in expected:
            theirs = expected[[f"adj_{index}_group", f"adj_{index}_code"]].dropna()
            assert {f"{group}-{code}" for group, code in theirs.to_numpy()} <= ours
    if name != "edi835parser__emedny_sample":  # one account number for three claims there
        line_paid = expected.groupby("marker")["paid_amount"].apply(
            lambda paid: round(paid.astype(float).sum(), 2)
        )
        claim_paid = found.set_index("claim_id")["paid_amount"].astype(float)
        assert line_paid.to_dict() == claim_paid.to_dict()


def test_remark_codes_without_appeal_rights_are_carried(write) -> None:
    """MA130 and N211 reach the remit row, where the work queue keeps such claims from appeal."""
    path = write(
        "no-appeal.835",
        remittance(
            "CLP*A1*4*100*0*0*12*ICN1~CAS*CO*16*100~MOA***MA130",
            "CLP*A2*1*100*0*0*12*ICN2~SVC*HC:90837*100*0**1~CAS*CO*50*100~LQ*HE*N211",
        ),
    )
    first, second = read_file(path).events
    assert (first["status"], first["rarc_codes"]) == ("denied", "MA130")
    assert (second["status"], second["rarc_codes"]) == ("denied", "N211")
    assert category(pd.Series(first)) == "missing_info"  # CO-16 with MA130
    assert category(pd.Series(second)) == "medical_necessity"


@pytest.mark.parametrize(
    ("claim_status", "allowed", "codes", "status"),
    [
        ("4", "100", ["CO-45"], "denied"),
        ("1", "0", ["CO-50"], "denied"),
        ("1", "0", [], "denied"),
        ("1", "0", ["PR-1"], "paid"),
        ("1", "50", ["CO-45", "PR-2"], "paid"),
        ("1", "50", ["CO-97", "CO-45"], "partial"),
        ("2", "50", [], "paid"),
    ],
)
def test_remit_status(claim_status: str, allowed: str, codes: list[str], status: str) -> None:
    assert mapping.remit_status(claim_status, Decimal(allowed), codes) == status


# ---------------------------------------------------------------- 837


def claims(name: str) -> tuple[pd.DataFrame, pd.DataFrame, list[X12Problem]]:
    """Every claim of a sample mapped, set aside or not (most samples are ICD-9), and the
    problems that would set them aside."""
    source = str(fixture(name))
    document = tokenize(decode(fixture(name).read_bytes()), source)
    mapped, problems = [], []
    for transaction in loops.envelope(document.segments).transactions:
        for claim in loops.claims(transaction, source):
            try:
                rows = mapping.claim_rows(claim)
            except mapping.UnmappableError as error:
                problems.append(error.problem)
                continue
            mapped.append(rows)
            problems += rows.problems
    lines = pd.DataFrame([line for rows in mapped for line in rows.lines])
    found = pd.DataFrame([rows.claim for rows in mapped]).set_index("claim_id")
    return found, lines, problems


def test_professional_claim_with_a_dependant() -> None:
    found, lines, problems = claims("837p/lfh__837_005010X222A2__demo.example1.837")
    claim = found.loc["26463774"]
    digest = hashlib.sha256(b"SMITH|TED|19730501").hexdigest()[:10]
    assert claim["patient_id"] == f"JS00111223333-{digest}"  # no name stored
    assert claim["payer_id"] == "999996666"
    assert claim["rendering_provider_id"] == claim["facility_id"] == "1912301953"
    assert (claim["plan_type"], claim["network_status"]) == ("commercial", "in")
    assert (claim["place_of_service"], claim["frequency_code"]) == ("11", "1")
    assert claim["service_date"] == "2006-10-03"  # the earliest of the lines' DTP*472
    assert claim["submission_date"] == "2006-10-15"  # BHT04
    assert claim["total_charge"] == "100.00"
    assert list(lines["procedure_code"]) == ["99213", "87070", "99214", "86663"]
    assert list(lines["line_charge"]) == ["40.00", "15.00", "35.00", "10.00"]
    assert list(lines["units"]) == ["1"] * 4
    assert list(lines["line_number"]) == ["1", "2", "3", "4"]
    assert [problem.segment for problem in problems] == [29]
    assert "ICD-9-CM diagnosis (HI qualifier BK) on 26463774" in problems[0].reason


def test_the_same_claims_under_other_separators_map_the_same() -> None:
    plain = claims("837p/imsweb__x12_valid.837")
    other = claims("837p/imsweb__x12_valid_different_separators.837")
    pd.testing.assert_frame_equal(plain[0], other[0])
    pd.testing.assert_frame_equal(plain[1], other[1])
    lines = plain[1].set_index("claim_id")
    assert lines.loc["A37YH556", "modifiers"] == "25"
    assert lines.loc["A37YH667", "line_number"] == "2"  # LX*2 is that claim's only line
    assert plain[0].loc["A37YH556", "service_date"] == "2005-03-14"  # start of an RD8


def test_institutional_claims() -> None:
    found, lines, _ = claims("837i/lfh__837_005010X223A3__two-claims-single-provider.837i")
    first, second = found.loc["756048Q"], found.loc["756049Q"]
    assert (first["plan_type"], first["payer_id"], first["patient_id"]) == (
        "tricare",
        "99999",
        "030005074",
    )
    assert first["place_of_service"] == "22"  # facility type 13: hospital outpatient
    assert first["rendering_provider_id"] == "1122334455"  # attending NM1*71
    assert (first["service_date"], first["submission_date"]) == ("2005-03-15", "2005-06-30")
    assert first["total_charge"] == "89.95"
    assert second["provider_credential"] == "NP"  # PRV*AT*PXC*363LP0200N
    by_claim = lines.set_index(["claim_id", "line_number"])
    assert by_claim.loc[("756048Q", "2"), "revenue_code"] == "0730"
    assert by_claim.loc[("756048Q", "2"), "units"] == "3"
    assert by_claim.loc[("756048Q", "2"), "line_charge"] == "76.56"


def test_repricer_says_out_of_network() -> None:
    found, _, _ = claims("837i/lfh__837_005010X223A3__out-of-network-repriced-claim.837i")
    assert found.loc["W392-49141", "network_status"] == "out"  # HCP*00 ... T1
    found, lines, _ = claims("837i/lfh__837_005010X223A3__ppo-repriced-claim.837i")
    assert found.loc["456DFH43", "network_status"] == "in"  # HCP*03: priced under contract
    assert found.loc["456DFH43", "payer_id"] == "7452723"  # not the 2330B other payer
    assert list(lines["procedure_code"]) == ["92557", "92567"]


def test_a_claim_without_clm05_is_reported() -> None:
    _, _, problems = claims("malformed/imsweb__x12_missing_elements.837")
    assert [(problem.segment, problem.reason) for problem in problems][1] == (
        31,
        "CLM05 (place of service or facility type, frequency) is empty on A37YH667",
    )


# ---------------------------------------------------------------- code tables, both ways


@pytest.mark.parametrize(
    ("taxonomy", "credential"),
    [
        ("2084P0800X", "MD"),
        ("2084P0804X", "MD"),
        ("363LP0808X", "PMHNP"),
        ("363LP0200N", "NP"),
        ("103TC2200X", "PhD"),
        ("1041C0700X", "LCSW"),
        ("101YM0800X", "LMHC"),
        ("261QM0801X", "other"),
        ("", "other"),
    ],
)
def test_credential_from_taxonomy(taxonomy: str, credential: str) -> None:
    assert mapping.credential(taxonomy) == credential


@pytest.mark.parametrize(
    ("procedures", "revenues", "program"),
    [
        ({"90837", "90785"}, set(), "OP"),
        ({"S9480"}, {"0905"}, "IOP"),
        ({"H0010", "S9480"}, set(), "DETOX"),
        ({"99999"}, {"1002"}, "RES"),
        ({"85025"}, {"0305"}, "other"),
    ],
)
def test_program_from_codes(procedures: set, revenues: set, program: str) -> None:
    assert mapping.program(procedures, revenues) == program


def test_plan_types_and_places_of_service() -> None:
    assert [mapping.plan_type(code) for code in ("CI", "MC", "16", "CH", "09", "")] == [
        "commercial",
        "medicaid",
        "medicare_advantage",
        "tricare",
        "self_pay",
        "other",
    ]
    assert [mapping.pos_of_facility_type(code) for code in ("13", "76", "86", "XX")] == [
        "22",
        "53",
        "55",
        "99",
    ]


@pytest.mark.parametrize(
    ("changes", "institutional", "extensions"),
    [
        ({}, False, {}),
        ({"provider_credential": "DO"}, False, {"provider_credential": "DO"}),
        ({"plan_type": "medicaid_mco"}, False, {"plan_type": "medicaid_mco"}),
        ({"network_status": "out"}, False, {"network_status": "out"}),
        ({"place_of_service": "52", "program": "PHP"}, True, {"place_of_service": "52"}),
    ],
)
def test_k3_only_where_the_standard_elements_fall_short(
    changes: dict, institutional: bool, extensions: dict
) -> None:
    row = {
        "plan_type": "commercial",
        "network_status": "in",
        "provider_credential": "LCSW",
        "program": "OP",
        "place_of_service": "11",
    } | changes
    procedures = ["H0035"] if institutional else ["90837"]
    encoding = mapping.encode_claim(row, institutional, procedures, [])
    assert encoding.extensions == extensions
