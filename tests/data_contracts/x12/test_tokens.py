"""The tokenizer reads what real files do to separators, envelopes and line breaks."""

from __future__ import annotations

import pytest

from data_contracts.x12 import loops
from data_contracts.x12.errors import X12Error
from data_contracts.x12.tokens import decode, tokenize
from tests.data_contracts.x12.conftest import fixture


def segments(text: str) -> list[str]:
    return [segment.canonical() for segment in tokenize(text, "test").segments]


def read(name: str) -> list[str]:
    return segments(decode(fixture(name).read_bytes()))


def test_separators_are_the_ones_the_isa_declares() -> None:
    # The same claims written with `*` `:` `~` and with `~` `^` `_` (and a newline after each).
    plain = read("837p/imsweb__x12_valid.837")
    other = read("837p/imsweb__x12_valid_different_separators.837")
    assert other == plain
    assert plain[21] == "CLM*A37YH556*500***11:B:1*Y*A*Y*I*P"


def test_pipes_and_terminators_at_line_starts() -> None:
    # TigerShark's 4010 835: `|` elements, `^` components, each line starting with `~`.
    found = read("835/tigershark__835-example.835")
    assert found[0].startswith("ISA*00*")
    assert found[17] == "CLP*001-DDDDDDDDDD*1*200.02*200.02**13*1234567890 0987654321*81"
    assert "SVC*HC:88888*200.02*200.02**1" in found
    assert found[-1] == "IEA*1*000015442"


def test_no_envelope_with_bom_crlf_indentation_and_wrapped_lines() -> None:
    original = read("835/era835rb__example_3.835")  # starts at ST, one segment a line
    text = fixture("835/era835rb__example_3.835").read_text()
    messy = "\ufeff" + "".join(f"   {line}\r\n" for line in text.splitlines())
    assert segments(decode(messy.encode("utf-8"))) == original
    one_line = text.replace("\n", "")
    wrapped = "\n".join(one_line[i : i + 80] for i in range(0, len(one_line), 80))
    assert segments(wrapped) == original
    assert original[0] == "ST*835*1234"
    assert original[15] == "CLP*200200964A52*1*2100*1922.86*142.54*15*94151100100"


def test_newlines_as_segment_terminators() -> None:
    text = fixture("835/lfh__835_005010X221A1__managed-care.835").read_text()
    assert segments(text.replace("~\n", "\n").replace("~", "\n")) == segments(text)


def test_several_interchanges_each_with_its_own_separators() -> None:
    document = tokenize(
        decode(fixture("837p/imsweb__x12_multiple_transactions.837").read_bytes()), "test"
    )
    assert document.interchanges == 312
    assert sum(segment.tag == "CLM" for segment in document.segments) == 624
    both = (
        fixture("837p/imsweb__x12_valid.837").read_text()
        + fixture("837p/imsweb__x12_valid_different_separators.837").read_text()
    )
    document = tokenize(both, "test")
    assert document.interchanges == 2
    assert [s.number for s in document.segments if s.tag == "ISA"] == [1, 39]
    assert sum(segment.tag == "CLM" for segment in document.segments) == 4


def test_isa_field_widths_are_not_enforced() -> None:
    # imsweb's bad_first_line: ISA02 has nine spaces instead of ten; nothing else differs.
    assert (
        read("malformed/imsweb__x12_bad_first_line.837")[1:]
        == read("837p/imsweb__x12_valid.837")[1:]
    )


def test_composites_read_with_the_separator_they_use() -> None:
    # The TR3 example says ISA16 ':' but writes its composites with '>'.
    document = tokenize(
        fixture("837i/lfh__837_005010X223A3__ppo-repriced-claim.837i").read_text(), "test"
    )
    clm = next(segment for segment in document.segments if segment.tag == "CLM")
    assert clm.components(5) == ["13", "A", "1"]


@pytest.mark.parametrize(
    ("text", "segment", "reason"),
    [
        ("hello world", 1, "not an X12 file"),
        ("ISA*00*00~", 1, "fewer than 16 elements"),
    ],
)
def test_what_cannot_be_read_is_refused_with_its_segment(
    text: str, segment: int, reason: str
) -> None:
    with pytest.raises(X12Error) as caught:
        tokenize(text, "file.x12")
    assert caught.value.problems[0].segment == segment
    assert reason in str(caught.value)
    assert "file.x12" in str(caught.value)


def test_a_file_that_is_not_x12_is_named_by_its_form_not_its_values() -> None:
    """The reason is logged: a member list dropped among the X12 must not put ids in it."""
    with pytest.raises(X12Error) as caught:
        tokenize("PAT0000001,Smith,1973-05-01\n", "members.x12")
    assert "'AAA9999999,A'" in str(caught.value)
    assert "PAT0000001" not in str(caught.value)
    assert "Smith" not in str(caught.value)


def test_a_segment_identifier_that_is_not_one_sets_aside_its_transaction_only() -> None:
    text = "ST*835*1~Nd4*X~SE*3*1~ST*835*2~CLP*A*1*1*1~SE*3*2~"
    document = tokenize(text, "file.x12")
    assert document.unreadable == {2}
    bad, good = loops.envelope(document.segments, document.unreadable).transactions
    assert [(problem.segment, problem.reason) for problem in bad.problems] == [
        (2, "'Nd4' is not a segment identifier")
    ]
    assert bad.set_aside
    assert not good.set_aside
    fixture_text = decode(fixture("malformed/imsweb__x12_bad_segment_identifier.837").read_bytes())
    assert sorted(tokenize(fixture_text, "f").unreadable) == [6, 11, 20]  # '', 'Nd4', 'Nd4'


UNITED = "835/edi835parser__united_healthcare_legacy_sample.835"


@pytest.mark.parametrize(
    "written",
    [
        pytest.param(lambda text: text.encode("utf-16"), id="utf-16 with BOM"),
        pytest.param(lambda text: text.encode("utf-16-le"), id="utf-16-le without BOM"),
        pytest.param(lambda text: text.encode("utf-16-be"), id="utf-16-be without BOM"),
        pytest.param(lambda text: text.encode("utf-8-sig"), id="utf-8 BOM"),
        pytest.param(
            lambda text: text.replace("~", "~\r\n    ").encode(), id="indented, one per line"
        ),
    ],
)
def test_what_windows_tools_write_reads_as_the_plain_file(written) -> None:
    text = fixture(UNITED).read_text()
    assert segments(decode(written(text))) == segments(text)


def test_one_character_as_repetition_and_component_separator() -> None:
    text = fixture(UNITED).read_text()
    assert "*^*00501*" in text
    assert text.split("~")[0].endswith("*>")
    same = text.replace("*^*00501*", "*>*00501*", 1)  # ISA11 == ISA16
    found = segments(same)
    assert found[27] == "SVC*HC:B4152*156.42*88.92**234"
    assert found[1:] == segments(text)[1:]
