"""What X12 ingestion reports: problems that set a claim or transaction aside, and flags.

Real files carry a few bad records among many good ones, and a clearinghouse
posts what is good and says exactly what it did not post. So a problem names
how much it sets aside: a claim (`claim_id` set), a transaction set (only
`transaction` set), or, for a file that cannot be read at all, the file
(`X12Error`). A flag (`severity` "flagged") sets nothing aside: the record
posts, and the flag says what looked wrong (an unknown code, a payment that
does not balance, a wrong segment count).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LISTED_PROBLEMS = 20
SET_ASIDE = "set_aside"
FLAGGED = "flagged"


@dataclass(frozen=True)
class X12Problem:
    """One problem; `segment` counts segments from 1 in the file (ISA is 1), `transaction` is
    the ST02 control number of the transaction set it is in."""

    segment: int | None
    reason: str
    claim_id: str = ""
    transaction: str = ""
    severity: str = SET_ASIDE
    category: str = "malformed"

    def describe(self) -> str:
        where = [f"segment {self.segment}"] if self.segment else []
        where += [f"claim {self.claim_id}"] if self.claim_id else []
        return f"{', '.join(where)}: {self.reason}" if where else self.reason

    def about(self, claim_id: str, transaction: str) -> X12Problem:
        """The same problem, named with the claim and transaction it sets aside."""
        return X12Problem(
            self.segment,
            self.reason,
            self.claim_id or claim_id,
            self.transaction or transaction,
            self.severity,
            self.category,
        )


class X12Error(ValueError):
    """A file, or a part of one, that cannot be read, with every problem that stopped it."""

    def __init__(self, source: str, problems: list[X12Problem]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: not ingested, {len(problems)} problem(s)"]
        lines += [f"  - {problem.describe()}" for problem in problems[:MAX_LISTED_PROBLEMS]]
        if len(problems) > MAX_LISTED_PROBLEMS:
            lines.append(f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more")
        super().__init__("\n".join(lines))

    @classmethod
    def at(
        cls, source: str, segment: int | None, reason: str, category: str = "structure"
    ) -> X12Error:
        return cls(source, [X12Problem(segment, reason, category=category)])
