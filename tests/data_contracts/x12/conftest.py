"""The public X12 samples copied beside these tests, and small builders for hand-made files."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Path:
    """A sample by its path under fixtures/, e.g. '835/tigershark__835-example.835'."""
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {path}"
    return path
