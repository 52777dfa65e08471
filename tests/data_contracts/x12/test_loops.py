"""Envelopes are closed, transactions are 835 or 837, and loops start where they must."""

from __future__ import annotations

import pytest

from data_contracts.x12 import loops
from data_contracts.x12.errors import FLAGGED, SET_ASIDE, X12Error
from data_contracts.x12.tokens import decode, tokenize
from tests.data_contracts.x12.conftest import fixture, remittance


def transactions(text: str) -> list[loops.Transaction]:
    return loops.envelope(tokenize(text, "f.x12").segments).transactions


def refusal(text: str, build) -> X12Error:
    (transaction,) = transactions(text)
    with pytest.raises(X12Error) as caught:
        build(transaction, "f.x12")
    return caught.value


def reasons(transaction: loops.Transaction, severity: str = SET_ASIDE) -> list[str]:
    return [problem.reason for problem in transaction.problems if problem.severity == severity]


def test_a_transaction_cut_short_is_set_aside() -> None:
    text = fixture("835/lfh__835_005010X221A1__managed-care.835").read_text()
    (cut,) = transactions(text[: text.index("SE*26")])
    assert cut.set_aside
    assert cut.problems[0].segment == 3  # the ST whose SE never came
    assert "has no SE at the end of the file" in cut.problems[0].reason
    (without_trailer,) = transactions(text[: text.index("IEA")])
    assert reasons(without_trailer) == [
        "ISA at segment 1 has no IEA at the end of the file: cut short?"
    ]
    assert not transactions(text)[0].set_aside


def test_a_control_number_mismatch_sets_aside_what_it_encloses() -> None:
    text = fixture("835/lfh__835_005010X221A1__managed-care.835").read_text()
    assert "SE*26*112233" in text
    assert "IEA*1*000000907" in text
    (wrong_se,) = transactions(text.replace("SE*26*112233", "SE*26*112234"))
    assert reasons(wrong_se) == ["SE02 '112234' is not the control number of its ST ('112233')"]
    (wrong_iea,) = transactions(text.replace("IEA*1*000000907", "IEA*1*000000908"))
    assert "IEA02 '000000908' is not the control number of its ISA" in reasons(wrong_iea)[0]
    (wrong_ge,) = transactions(text.replace("GE*1*1~", "GE*1*2~"))
    assert "GE02 '2' is not the control number of its GS" in reasons(wrong_ge)[0]
    (no_ge,) = transactions(text.replace("GE*1*1~", ""))
    assert reasons(no_ge) == ["GS at segment 2 has no GE before segment 29: cut short?"]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("other/imsweb__x12_999_rejected.999", "999"),
        ("other/imsweb__x12_277CA_rejected.277", "277"),
    ],
)
def test_other_transaction_sets_are_set_aside(name: str, kind: str) -> None:
    (transaction,) = transactions(decode(fixture(name).read_bytes()))
    assert transaction.problems[0].segment == 3
    assert reasons(transaction) == [f"transaction set '{kind}' is not ingested (only 835 and 837)"]


def test_a_wrong_segment_count_is_only_flagged() -> None:
    # Real files miscount; nothing in them is lost by it.
    text = fixture("835/era835rb__example_3.835").read_text().replace("SE*33", "SE*31")
    (found,) = transactions(text)
    assert not found.set_aside
    assert reasons(found, FLAGGED) == ["SE01 says 31 segments, the transaction set has 33"]
    assert found.problems[0].segment == 33


def test_segments_outside_a_transaction_are_reported() -> None:
    found = loops.envelope(tokenize("ST*835*1~SE*2*1~CLP*X*1*1*1~", "f").segments)
    assert [transaction.set_aside for transaction in found.transactions] == [False]
    (outside,) = found.problems
    assert (outside.segment, outside.reason) == (
        3,
        "CLP is outside a transaction set (no ST before it)",
    )


def test_835_loops_keep_claim_and_line_adjustments_apart() -> None:
    (transaction,) = transactions(fixture("835/edi835parser__emedny_sample.835").read_text())
    remit = loops.remittance(transaction, "f")
    assert [claim.clp[2] for claim in remit.claims] == ["1", "2", "2"]
    denied = remit.claims[1]
    assert denied.adjustments == []
    assert [[cas.canonical() for cas in s.adjustments] for s in denied.services] == [
        ["CAS*CO*29*12"],
        ["CAS*CO*29*22"],
    ]
    assert [lq.canonical() for lq in remit.claims[2].services[2].remarks] == ["LQ*HE*N206"]


def test_plb_ends_the_last_claim() -> None:
    (transaction,) = transactions(
        fixture("835/lfh__835_005010X221A1__medicare-part-a.835").read_text()
    )
    remit = loops.remittance(transaction, "f")
    assert [plb[3] for plb in remit.provider_adjustments] == ["CV:CP"]
    assert [segment.tag for segment in remit.claims[-1].segments()] == ["CLP", "CAS", "MOA"]


def test_adjustments_outside_a_claim_are_refused() -> None:
    error = refusal(remittance("CAS*CO*45*10"), loops.remittance)
    assert "CAS is outside a loop (CLP before it)" in str(error)


@pytest.mark.parametrize(
    ("name", "entity"),
    [
        ("malformed/imsweb__x12_bad_valid_code.837", "117"),
        ("malformed/imsweb__x12_loop_errors3_missing_loops.837", "87"),
    ],
)
def test_a_billing_provider_loop_must_start_with_nm1_85(name: str, entity: str) -> None:
    error = refusal(fixture(name).read_text(), loops.claims)
    assert error.problems[0].segment == 9
    assert f"NM1*{entity} where the billing provider loop (HL at segment 8) must start" in str(
        error
    )


def test_837_claims_sit_under_their_billing_provider_subscriber_and_patient() -> None:
    (transaction,) = transactions(
        fixture("837i/lfh__837_005010X223A3__ppo-repriced-claim.837i").read_text()
    )
    (claim,) = loops.claims(transaction, "f")
    assert claim.billing.name[9] == "1257234346"
    assert claim.subscriber.insured[9] == "345U8423H"
    assert claim.subscriber.payer[9] == "7452723"  # not the other payer of the 2320 loop
    assert claim.patient is not None
    assert claim.patient.name[3] == "JONES"
    assert set(claim.providers) == {"71"}
    assert [line.service[1] for line in claim.lines] == ["0471", "0471"]
