"""The public X12 samples copied beside these tests, and small builders for hand-made files."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Path:
    """A sample by its path under fixtures/, e.g. '835/tigershark__835-example.835'."""
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {path}"
    return path


def remittance(*claim_loops: str, date: str = "20240301", trace: str = "TRACE1") -> str:
    """An 835 without envelope around hand-written CLP loops (segments joined by ~)."""
    body = [
        f"BPR*I*0*C*CHK************{date}",
        f"TRN*1*{trace}*PAYER",
        f"DTM*405*{date}",
        "N1*PR*TEST PAYER",
        "LX*1",
        *(segment for loop in claim_loops for segment in loop.split("~") if segment),
    ]
    return "~".join(["ST*835*0001", *body, f"SE*{len(body) + 2}*0001"]) + "~\n"
