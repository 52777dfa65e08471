"""Contract tables as 837P, 837I and 835 files, the way a clinic's systems would send them.

`synth --format x12` writes its claims and remits through here so that the path
from X12 files to a data directory can be run on any amount of realistic data,
and checked: ingesting what this writes gives the same tables back
(`mapping.encode_claim` adds a K3 only where the standard elements cannot say a
value). A claim with revenue codes on its lines is institutional (837I); one
without, professional (837P); a claim mixing both cannot be written. Files hold
one month each (by submission date for claims, by received date for remits),
one transaction per day (per payer and day for remits), and are written
atomically.

Every 835 balances at claim level: the first patient-responsibility CAS carries
the patient's share, the first other CAS the rest of what was not allowed, later
codes 0.00 (the contract keeps codes, not their amounts). Service lines share
the payment in proportion to their charges.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import pandas as pd

from data_contracts.x12 import mapping

log = logging.getLogger(__name__)

SENDER = "DENIALOPS"
RECEIVER = "PAYERS"
_SEGMENT_END = "~\n"
_RESERVED = set("*:^~\n")
_MAX_REMARKS_ON_MOA = 5
_MAX_DIAGNOSES_PER_HI = 12
_VERSIONS = {"837P": "005010X222A1", "837I": "005010X223A2", "835": "005010X221A1"}


@dataclass(frozen=True)
class _Line:
    number: int
    procedure: str
    modifiers: list[str]
    units: int
    minutes: int | None
    charge: float
    revenue_code: str | None


def write_x12(directory: str | Path, tables: Mapping[str, pd.DataFrame]) -> list[Path]:
    """837P/837I files of `claims` and `claim_lines`, and 835 files of `remits` (if given)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    claims = tables["claims"]
    lines = _lines_by_claim(tables["claim_lines"])
    kinds = [
        "837I" if _institutional(lines[claim_id]) else "837P" for claim_id in claims["claim_id"]
    ]
    claim_records = _records(
        claims.assign(_kind=kinds),
        "submission_date",
        ["_kind", "_month", "submission_date", "facility_id"],
    )
    written = []
    for (kind, month), in_file in groupby(claim_records, key=itemgetter("_kind", "_month")):
        batch = list(in_file)
        text = _interchange(
            kind, _claim_transactions(kind, batch, lines), batch[-1]["submission_date"]
        )
        written.append(_write(directory / f"{kind}-{month}.x12", text))
    if "remits" not in tables or tables["remits"].empty:
        return written
    remits = tables["remits"].merge(
        claims[["claim_id", "payer_id", "plan_type", "patient_id", "service_date"]],
        on="claim_id",
        how="inner",
        validate="one_to_one",
    )
    remit_records = _records(remits, "received_date", ["_month", "received_date", "payer_id"])
    for month, in_file in groupby(remit_records, key=itemgetter("_month")):
        batch = list(in_file)
        text = _interchange("835", _remit_transactions(batch, lines), batch[-1]["received_date"])
        written.append(_write(directory / f"835-{month}.x12", text))
    return written


def _records(frame: pd.DataFrame, date: str, order: list[str]) -> list[dict]:
    """Rows as dicts in file order: by month of `date`, then `order`, then claim id."""
    months = frame[date].dt.strftime("%Y-%m")
    return frame.assign(_month=months).sort_values([*order, "claim_id"]).to_dict("records")


def _lines_by_claim(claim_lines: pd.DataFrame) -> dict[str, list[_Line]]:
    by_claim: dict[str, list[_Line]] = {}
    columns = ["claim_id", "line_number", "procedure_code", "modifiers", "units", "minutes"]
    rows = claim_lines[[*columns, "line_charge", "revenue_code"]]
    for claim_id, number, procedure, modifiers, units, minutes, charge, revenue in rows.itertuples(
        index=False
    ):
        by_claim.setdefault(claim_id, []).append(
            _Line(
                int(number),
                _clean(procedure),
                [_clean(code) for code in _items(modifiers)],
                int(units),
                None if pd.isna(minutes) else int(minutes),
                float(charge),
                None if pd.isna(revenue) else _clean(revenue),
            )
        )
    return by_claim


def _institutional(lines: list[_Line]) -> bool:
    with_revenue = {line.revenue_code is not None for line in lines}
    if len(with_revenue) > 1:
        raise ValueError("a claim mixes lines with and without revenue codes")
    return with_revenue == {True}


def _items(cell: object) -> list[str]:
    return [item for item in str(cell).split(";") if item] if isinstance(cell, str) else []


def _clean(value: object) -> str:
    """A value as X12 text; our separators inside a value would corrupt the file."""
    text = str(value)
    if _RESERVED & set(text):
        raise ValueError(f"{text!r} contains an X12 separator (* : ^ ~ or a newline)")
    return text


def _x12_date(value: pd.Timestamp) -> str:
    return value.strftime("%Y%m%d")


def _money(value: float) -> str:
    return f"{value:.2f}"


def _segment(*elements: object) -> str:
    return "*".join(str(element) for element in elements).rstrip("*") + _SEGMENT_END


# ---------------------------------------------------------------- envelopes


def _interchange(kind: str, transactions: list[str], day: pd.Timestamp) -> str:
    """One interchange dated by its last day of data, so the same data writes the same bytes."""
    functional = "HP" if kind == "835" else "HC"
    parts = [
        _segment(
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            f"{SENDER:<15}",
            "ZZ",
            f"{RECEIVER:<15}",
            day.strftime("%y%m%d"),
            "0000",
            "^",
            "00501",
            "000000001",
            "0",
            "P",
            ":",
        ),
        _segment(
            "GS", functional, SENDER, RECEIVER, _x12_date(day), "0000", "1", "X", _VERSIONS[kind]
        ),
        *transactions,
        _segment("GE", len(transactions), "1"),
        _segment("IEA", "1", "000000001"),
    ]
    return "".join(parts)


def _transaction(kind: str, control: int, body: list[str]) -> str:
    number = f"{control:04d}"
    st = _segment("ST", kind[:3], number, *([_VERSIONS[kind]] if kind != "835" else []))
    return st + "".join(body) + _segment("SE", len(body) + 2, number)


def _write(path: Path, text: str) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="ascii")
    partial.replace(path)
    log.info("wrote %s", path)
    return path


# ---------------------------------------------------------------- 837


def _claim_transactions(kind: str, claims: list[dict], lines: dict[str, list[_Line]]) -> list[str]:
    """One transaction per submission date, one billing-provider HL per facility in it."""
    transactions = []
    for control, (day, in_day) in enumerate(groupby(claims, key=itemgetter("submission_date")), 1):
        body = [
            _segment(
                "BHT", "0019", "00", f"{SENDER}{_x12_date(day)}", _x12_date(day), "1200", "CH"
            ),
            _segment("NM1", "41", "2", SENDER, "", "", "", "", "46", SENDER),
            _segment("PER", "IC", "BILLING OFFICE", "TE", "5555550100"),
            _segment("NM1", "40", "2", RECEIVER, "", "", "", "", "46", RECEIVER),
        ]
        hl = 0
        for facility, at_facility in groupby(in_day, key=itemgetter("facility_id")):
            hl += 1
            billing_hl = hl
            body += [
                _segment("HL", billing_hl, "", "20", "1"),
                _segment("NM1", "85", "2", _clean(facility), "", "", "", "", "XX", facility),
            ]
            for row in at_facility:
                hl += 1
                body += [_segment("HL", hl, billing_hl, "22", "0")]
                body += _claim(row, lines[row["claim_id"]], kind == "837I")
        transactions.append(_transaction(kind, control, body))
    return transactions


def _claim(row: dict, lines: list[_Line], institutional: bool) -> list[str]:
    encoding = mapping.encode_claim(
        row,
        institutional,
        (line.procedure for line in lines),
        (line.revenue_code for line in lines if line.revenue_code),
    )
    service_date = _x12_date(row["service_date"])
    facility = f"{encoding.facility_code}:{'A' if institutional else 'B'}:{row['frequency_code']}"
    segments = [
        _segment("SBR", "P", "18", "", "", "", "", "", "", encoding.filing_indicator),
        _segment("NM1", "IL", "1", "PATIENT", "", "", "", "", "MI", _clean(row["patient_id"])),
        _segment("NM1", "PR", "2", _clean(row["payer_id"]), "", "", "", "", "PI", row["payer_id"]),
        _segment("CLM", _clean(row["claim_id"]), _money(row["total_charge"]), "", "", facility,
                 "Y", "A", "Y", "Y"),
    ]  # fmt: skip
    if institutional:
        segments.append(_segment("DTP", "434", "RD8", f"{service_date}-{service_date}"))
    if row["frequency_code"] != "1":
        segments.append(_segment("REF", "F8", _clean(row["original_claim_id"])))
    if isinstance(row["prior_auth_id"], str):
        segments.append(_segment("REF", "G1", _clean(row["prior_auth_id"])))
    if encoding.extensions:
        segments.append(_segment("K3", mapping.extension_text(encoding.extensions)))
    segments += _diagnoses(row, institutional)
    provider = _clean(row["rendering_provider_id"])
    entity, role = ("71", "AT") if institutional else ("82", "PE")
    segments.append(_segment("NM1", entity, "1", provider, "", "", "", "", "XX", provider))
    if encoding.taxonomy:
        segments.append(_segment("PRV", role, "PXC", encoding.taxonomy))
    for line in lines:
        segments += _service_line(line, service_date, institutional)
    return segments


def _diagnoses(row: dict, institutional: bool) -> list[str]:
    codes = [f"ABK:{_undotted(row['primary_dx'])}"]
    codes += [f"ABF:{_undotted(code)}" for code in _items(row["secondary_dx"])]
    if institutional:  # principal and other diagnoses sit in separate HI segments on an 837I
        others = codes[1:]
        step = _MAX_DIAGNOSES_PER_HI
        chunks = [others[i : i + step] for i in range(0, len(others), step)]
        return [_segment("HI", codes[0]), *(_segment("HI", *chunk) for chunk in chunks)]
    return [_segment("HI", *codes[:_MAX_DIAGNOSES_PER_HI])]


def _undotted(code: str) -> str:
    return _clean(code).replace(".", "")


def _procedure(line: _Line) -> str:
    return ":".join(["HC", line.procedure, *line.modifiers])


def _service_line(line: _Line, service_date: str, institutional: bool) -> list[str]:
    if institutional:
        service = _segment(
            "SV2", line.revenue_code, _procedure(line), _money(line.charge), "UN", line.units
        )
    else:
        service = _segment(
            "SV1", _procedure(line), _money(line.charge), "UN", line.units, "", "", "1"
        )
    segments = [_segment("LX", line.number), service, _segment("DTP", "472", "D8", service_date)]
    if line.minutes is not None:
        segments.append(_segment("K3", mapping.extension_text({"minutes": str(line.minutes)})))
    return segments


# ---------------------------------------------------------------- 835


def _remit_transactions(remits: list[dict], lines: dict[str, list[_Line]]) -> list[str]:
    """One transaction (one payment) per payer and received date."""
    transactions = []
    groups = groupby(remits, key=itemgetter("received_date", "payer_id"))
    for control, ((day, payer), in_payment) in enumerate(groups, 1):
        batch = list(in_payment)
        date = _x12_date(day)
        paid = sum(row["paid_amount"] for row in batch)
        method = ["I", _money(paid), "C", "CHK"] if paid > 0 else ["H", "0.00", "C", "NON"]
        body = [
            _segment("BPR", *method, *[""] * 11, date),
            _segment("TRN", "1", f"{_clean(payer)}{date}", SENDER),
            _segment("DTM", "405", date),
            _segment("N1", "PR", payer),
            _segment("REF", "2U", payer),
            _segment("N1", "PE", SENDER, "XX", SENDER),
            _segment("LX", "1"),
        ]
        for row in batch:
            body += _claim_payment(row, lines[row["claim_id"]])
        transactions.append(_transaction("835", control, body))
    return transactions


def _claim_payment(row: dict, lines: list[_Line]) -> list[str]:
    status = mapping.DENIED if row["status"] == "denied" else "1"
    filing = mapping.FILING_INDICATOR_FOR_PLAN[row["plan_type"]]
    segments = [
        _segment("CLP", row["claim_id"], status, _money(row["billed_amount"]),
                 _money(row["paid_amount"]), _money(row["patient_responsibility"]), filing,
                 row["claim_id"]),
    ]  # fmt: skip
    segments += _adjustments(row)
    segments.append(_segment("NM1", "QC", "1", "PATIENT", "", "", "", "", "MI", row["patient_id"]))
    remarks = [_clean(code) for code in _items(row["rarc_codes"])]
    if remarks:
        segments.append(_segment("MOA", "", "", *remarks[:_MAX_REMARKS_ON_MOA]))
    segments.append(_segment("AMT", "AU", _money(row["allowed_amount"])))
    service_date = _x12_date(row["service_date"])
    for index, (line, paid) in enumerate(
        zip(lines, _shares(row["paid_amount"], lines), strict=True)
    ):
        segments += [
            _segment("SVC", _procedure(line), _money(line.charge), _money(paid), "", line.units),
            _segment("DTM", "472", service_date),
        ]
        if index == 0:
            segments += [_segment("LQ", "HE", code) for code in remarks[_MAX_REMARKS_ON_MOA:]]
    return segments


def _adjustments(row: dict) -> list[str]:
    """One CAS per code, in the contract's order, with amounts that balance the claim."""
    owed = {
        "PR": row["patient_responsibility"],
        "other": row["billed_amount"] - row["allowed_amount"],
    }
    segments = []
    for code in _items(row["carc_codes"]):
        group, _, reason = _clean(code).partition("-")
        kind = "PR" if group == "PR" else "other"
        segments.append(_segment("CAS", group, reason, _money(owed[kind])))
        owed[kind] = 0.0
    return segments


def _shares(paid: float, lines: list[_Line]) -> list[float]:
    """The payment split over the lines by charge, in cents, the last line taking the rest."""
    total = sum(line.charge for line in lines)
    shares = [round(paid * line.charge / total, 2) if total else 0.0 for line in lines[:-1]]
    return [*shares, round(paid - sum(shares), 2)]
