"""Claims as records (one dict per claim with its `lines`, as the HTTP API carries them)
to the contract's typed `claims` and `claim_lines` tables, through the contract's checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from data_contracts.denials import split_list
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


def records_from_tables(claims: pd.DataFrame, claim_lines: pd.DataFrame) -> list[dict[str, Any]]:
    """The inverse of `tables_from_records`: typed tables to JSON-ready claim records with
    their `lines`, in the order of `claims` (what the scoring API takes, e.g. to re-score
    or to show a first request)."""
    lines_by_claim = {
        claim_id: group.astype(object).where(group.notna(), None).to_dict("records")
        for claim_id, group in claim_lines.groupby("claim_id", sort=False)
    }
    records = []
    for claim in claims.astype(object).where(claims.notna(), None).to_dict("records"):
        claim["service_date"] = claim["service_date"].date().isoformat()
        claim["submission_date"] = claim["submission_date"].date().isoformat()
        claim["secondary_dx"] = split_list(claim["secondary_dx"])
        claim["total_charge"] = float(claim["total_charge"])
        claim["lines"] = [
            {
                "line_number": int(line["line_number"]),
                "procedure_code": line["procedure_code"],
                "modifiers": split_list(line["modifiers"]),
                "units": int(line["units"]),
                "minutes": None if line["minutes"] is None else int(line["minutes"]),
                "line_charge": float(line["line_charge"]),
                "revenue_code": line["revenue_code"],
            }
            for line in lines_by_claim.get(claim["claim_id"], [])
        ]
        records.append(claim)
    return records
