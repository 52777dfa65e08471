"""Envelopes are closed, transactions are 835 or 837, and loops start where they must."""

from __future__ import annotations

import logging

import pytest

from data_contracts.x12 import loops
from data_contracts.x12.errors import X12Error
from data_contracts.x12.tokens import decode, tokenize
from tests.data_contracts.x12.conftest import fixture, remittance


def transactions(text: str) -> list[loops.Transaction]:
    return list(loops.transactions(tokenize(text, "f.x12").segments, "f.x12"))


def assembled(text: str, build=None) -> list:
    return [
        build(transaction, "f.x12") if build else transaction for transaction in transactions(text)
    ]


def refusal(text: str, build=None) -> X12Error:
    with pytest.raises(X12Error) as caught:
        assembled(text, build)
    return caught.value


def test_a_file_cut_short_is_refused() -> None:
    text = fixture("835/lfh__835_005010X221A1__managed-care.835").read_text()
    cut = text[: text.index("SE*26")]
    error = refusal(cut)
    assert error.problems[0].segment == 3  # the ST whose SE never came
    assert "has no SE at the end of the file" in str(error)
    without_trailer = text[: text.index("IEA")]
    assert "ISA has no IEA" in str(refusal(without_trailer))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("other/imsweb__x12_999_rejected.999", "999"),
        ("other/imsweb__x12_277CA_rejected.277", "277"),
    ],
)
def test_other_transaction_sets_are_refused(name: str, kind: str) -> None:
    error = refusal(decode(fixture(name).read_bytes()))
    assert error.problems[0].segment == 3
    assert f"transaction set '{kind}' is not ingested (only 835 and 837)" in str(error)


def test_a_wrong_segment_count_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    # Real files miscount; nothing in them is lost by it.
    with caplog.at_level(logging.WARNING):
        found = transactions(
            fixture("835/era835rb__example_3.835").read_text().replace("SE*33", "SE*31")
        )
    assert len(found) == 1
    assert "SE at segment 33 says 31 segments, the transaction has 33" in caplog.text


def test_segments_outside_a_transaction_are_refused() -> None:
    error = refusal("ST*835*1~SE*2*1~CLP*X*1*1*1~")
    assert "segment 3: CLP is outside a transaction set" in str(error)


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
