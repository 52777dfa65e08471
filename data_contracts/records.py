"""Claims as records (one dict per claim with its `lines`, as the HTTP API carries them)
to the contract's typed `claims` and `claim_lines` tables, through the contract's checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from data_contracts.reader import check_tables


def tables_from_records(
    claims: Sequence[Mapping[str, Any]], source: str = "request"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed `claims` and `claim_lines`: lists joined with ';', dates as ISO text, then the
    contract's own coercion and checks (a `ContractError` names what is wrong)."""
    claim_rows, line_rows = [], []
    for claim in claims:
        row = {name: value for name, value in claim.items() if name != "lines"}
        row["secondary_dx"] = ";".join(row["secondary_dx"])
        row["service_date"] = row["service_date"].isoformat()
        row["submission_date"] = row["submission_date"].isoformat()
        claim_rows.append(row)
        for line in claim["lines"]:
            line_rows.append(
                {"claim_id": claim["claim_id"], **line, "modifiers": ";".join(line["modifiers"])}
            )
    tables = check_tables(
        source, {"claims": pd.DataFrame(claim_rows), "claim_lines": pd.DataFrame(line_rows)}
    )
    return tables["claims"], tables["claim_lines"]
