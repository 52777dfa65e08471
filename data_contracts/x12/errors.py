"""The one error X12 ingestion raises: which file, which segment, and why.

A file is ingested whole or not at all, so every problem found in it is kept
(capped in the message, all of them in `.problems`) and the caller decides
what to do with the file, never with part of it.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class X12Problem:
    """One reason a file cannot be ingested; `segment` counts segments from 1 (ISA is 1)."""

    segment: int | None
    reason: str

    def describe(self) -> str:
        return f"segment {self.segment}: {self.reason}" if self.segment else self.reason


class X12Error(ValueError):
    """A file that was not ingested, with every problem that stopped it."""

    def __init__(self, source: str, problems: list[X12Problem]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: not ingested, {len(problems)} problem(s)"]
        lines += [f"  - {problem.describe()}" for problem in problems[:MAX_LISTED_PROBLEMS]]
        if len(problems) > MAX_LISTED_PROBLEMS:
            lines.append(f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more")
        super().__init__("\n".join(lines))

    @classmethod
    def at(cls, source: str, segment: int | None, reason: str) -> X12Error:
        return cls(source, [X12Problem(segment, reason)])
