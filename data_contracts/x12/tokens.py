"""A lenient X12 tokenizer: text to numbered segments, read with each interchange's delimiters.

Real files break strict parsers in harmless ways, and this reader accepts them:
UTF-16 text, a byte-order mark, CR/LF line breaks and indentation between segments,
segments wrapped over several lines, any element/component/repetition/segment
separators the ISA declares (pipes, carets, newlines as terminators, the same
character as repetition and component separator), ISA fields
padded to the wrong width (the separators are found by counting, not by fixed
offsets), several interchanges in one file each with its own separators, and
files with no ISA/GS envelope at all (they start at GS or ST; the separators are
then read off the first segment, the component separator guessed from the first
procedure composite, falling back to `*` `:` `~`). What it refuses is what
cannot be read safely: a file that starts with neither ISA, GS nor ST, an ISA
that declares too few elements or the same character twice. A segment whose
identifier is not one (`Nd4`, an empty one) is kept and named in
`Document.unreadable`, so that only its transaction set is set aside.

Segments are numbered from 1 across the whole file (ISA is segment 1), the
numbers every error message uses.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from data_contracts.x12.errors import X12Error

log = logging.getLogger(__name__)

_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_ISA_ELEMENTS = 16
_DEFAULT_COMPONENT = ":"
_TRAILING_JUNK = "\x00\x1a \t\r\n"


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    segment: str = "~"


class Segment:
    """One segment: its number in the file, its identifier and its elements (1-based, as X12
    names them: `segment[1]` is CLP01)."""

    __slots__ = ("component", "elements", "number", "tag")

    def __init__(self, number: int, elements: list[str], component: str):
        self.number = number
        self.tag = elements[0]
        self.elements = elements
        self.component = component

    def __getitem__(self, position: int) -> str:
        """Element `position` stripped of padding; empty when the segment is shorter."""
        return self.elements[position].strip() if position < len(self.elements) else ""

    def __len__(self) -> int:
        return len(self.elements) - 1

    def components(self, position: int) -> list[str]:
        """The components of a composite element (`HC:90837:95` -> ['HC', '90837', '95'])."""
        return [part.strip() for part in self[position].split(self.component)]

    def canonical(self) -> str:
        """The segment written with `*` and `:`, so the same content compares equal whatever
        delimiters its file used."""
        return "*".join(element.replace(self.component, ":") for element in self.elements)

    def __repr__(self) -> str:
        return f"Segment({self.number}, {self.canonical()!r})"


@dataclass
class Document:
    segments: list[Segment]
    interchanges: int
    unreadable: set[int]
    """Segments whose identifier is not one (`Nd4`, an empty one): their transaction set is
    set aside (`loops.envelope`), not the file."""


def decode(raw: bytes) -> str:
    """Text of a file: UTF-16 when it has a UTF-16 byte-order mark or its first character
    (I, G or S of ISA/GS/ST) comes with a zero byte, as Windows tools write it; else UTF-8
    (with or without a byte-order mark), else Latin-1, which decodes any byte; X12's
    character sets are within all of them."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = raw.decode("utf-16", errors="replace")
    elif raw[1:2] == b"\x00" and raw[:1] != b"\x00":
        text = raw.decode("utf-16-le", errors="replace")
    elif raw[:1] == b"\x00" and raw[1:2] != b"\x00":
        text = raw.decode("utf-16-be", errors="replace")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    return text.lstrip("\ufeff").rstrip(_TRAILING_JUNK)


def tokenize(text: str, source: str) -> Document:
    """Every segment of every interchange in `text`, numbered from 1."""
    segments: list[Segment] = []
    unreadable: set[int] = set()
    interchanges = 0
    position = _skip_space(text, 0)
    delimiters: Delimiters | None = None
    while position < len(text):
        if text.startswith("ISA", position):
            delimiters = _isa_delimiters(text, position, len(segments) + 1, source)
            interchanges += 1
        elif delimiters is None:
            delimiters = _bare_delimiters(text, position, source)
            interchanges += 1
        end = _interchange_end(text, position, delimiters)
        if text.startswith("ISA", position):
            delimiters = _checked_component(text[position:end], delimiters, source)
        segments.extend(_split(text[position:end], delimiters, len(segments), unreadable))
        position = _skip_space(text, end)
    return Document(segments, interchanges, unreadable)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _isa_delimiters(text: str, start: int, number: int, source: str) -> Delimiters:
    element = text[start + 3 : start + 4]
    if not element or element.isalnum() or element.isspace():
        raise X12Error.at(source, number, "ISA is not followed by an element separator")
    separator = start + 3
    for _ in range(_ISA_ELEMENTS - 1):
        separator = text.find(element, separator + 1)
        if separator < 0:
            raise X12Error.at(source, number, f"ISA has fewer than {_ISA_ELEMENTS} elements")
    component = text[separator + 1 : separator + 2]
    terminator = _terminator_after(text, separator + 2)
    fields = text[start:separator].split(element)
    if len(fields) != _ISA_ELEMENTS or not component or terminator is None:
        raise X12Error.at(
            source, number, "ISA does not end with a component separator and a terminator"
        )
    declared = [element, component, terminator]
    repetition = fields[11].strip()
    if len(repetition) == 1 and not repetition.isalnum() and repetition != component:
        # 4010 has a standards identifier ("U") there instead; some senders repeat ISA16
        # there, which is harmless: the contract reads no repeated elements
        declared.append(repetition)
    if len(set(declared)) != len(declared) or component.isalnum():
        raise X12Error.at(source, number, f"ISA declares unusable separators {''.join(declared)!r}")
    return Delimiters(element, component, terminator)


def _terminator_after(text: str, position: int) -> str | None:
    """The segment terminator that follows ISA16 (or the first segment of a bare file).

    A newline right there is the terminator unless the next visible character is
    punctuation, as in files that put the terminator at the start of each line.
    """
    if position >= len(text):
        return None
    char = text[position]
    if not char.isspace():
        return None if char.isalnum() else char
    following = _skip_space(text, position)
    if following < len(text) and not text[following].isalnum():
        return text[following]
    return "\n"


def _shape(text: str) -> str:
    """The text's form without its values: a wrong file (a member list, a report) dropped
    among the X12 may start with a patient's id or name, and this reason is logged.
    The punctuation stays, which tells CSV, HTML, JSON or a PDF apart."""
    return re.sub(r"[0-9]", "9", re.sub(r"[a-z]", "a", re.sub(r"[A-Z]", "A", text)))


def _bare_delimiters(text: str, start: int, source: str) -> Delimiters:
    """Delimiters of a file with no ISA: read off its first segment (GS or ST)."""
    match = re.match(r"(GS|ST)([^A-Za-z0-9\s])", text[start : start + 3])
    if match is None:
        raise X12Error.at(
            source,
            1,
            f"not an X12 file: it starts with {_shape(text[start : start + 12])!r} "
            "(letters as A or a, digits as 9), not ISA/GS/ST",
        )
    element = match.group(2)
    position = start + 3
    while position < len(text) and (
        text[position].isalnum() or text[position] in (element, " ", ".", "-")
    ):
        position += 1
    terminator = _terminator_after(text, position) or "~"
    component = _used_component(text[start:], element, terminator) or _DEFAULT_COMPONENT
    return Delimiters(element, component, terminator)


def _used_component(text: str, element: str, terminator: str) -> str | None:
    """The component separator the composites of `text` actually use: the character after
    the qualifier of the first procedure (SV1/SV2/SVC) or diagnosis (HI) composite."""
    e = re.escape(element)
    found = re.search(
        rf"(?:(?:SVC|SV1){e}[A-Z]{{2}}|SV2{e}[0-9]*{e}[A-Z]{{2}}|HI{e}A?B[KF])"
        rf"([^A-Za-z0-9\s{e}])",
        text,
    )
    if found is None or found.group(1) == terminator:
        return None
    return found.group(1)


def _checked_component(text: str, delimiters: Delimiters, source: str) -> Delimiters:
    """An interchange whose composites use another separator than its ISA16 declares (a TR3
    example's `>` under an ISA that says `:`) is read with the one it uses."""
    body = text[text.find(delimiters.segment) + 1 :]
    if delimiters.component in body:
        return delimiters
    used = _used_component(body, delimiters.element, delimiters.segment)
    if used is None:
        return delimiters
    log.warning(
        "%s: ISA16 declares %r but the composites use %r; reading them with %r",
        source,
        delimiters.component,
        used,
        used,
    )
    return Delimiters(delimiters.element, used, delimiters.segment)


def _interchange_end(text: str, start: int, delimiters: Delimiters) -> int:
    """Index just past this interchange's IEA segment, or the end of the text."""
    trailer = re.compile(
        rf"{re.escape(delimiters.segment)}\s*IEA{re.escape(delimiters.element)}"
        if not delimiters.segment.isspace()
        else rf"\n\s*IEA{re.escape(delimiters.element)}"
    )
    found = trailer.search(text, start)
    if found is None:
        return len(text)
    end = text.find(delimiters.segment, found.end())
    return len(text) if end < 0 else end + 1


def _split(text: str, delimiters: Delimiters, before: int, unreadable: set[int]) -> list[Segment]:
    """The segments of one interchange; the numbers of those whose identifier is not one go
    to `unreadable`."""
    if delimiters.segment not in "\r\n":
        text = text.replace("\r", "").replace("\n", "")  # lines wrapped inside segments
    segments = []
    for piece in text.split(delimiters.segment):
        piece = piece.strip()
        if not piece:
            continue
        number = before + len(segments) + 1
        elements = piece.split(delimiters.element)
        if not _TAG.fullmatch(elements[0]):
            unreadable.add(number)
        segments.append(Segment(number, elements, delimiters.component))
    return segments
