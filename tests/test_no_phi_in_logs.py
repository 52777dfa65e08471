"""No PHI in logs: a workload runs in-process with every logger at DEBUG, and neither a log
record nor what the CLI prints may carry a patient's or member's identifier of its data.

Operators read logs and the console and ship them to places not cleared for PHI. The
data files the commands write (exceptions.csv, the quarantine folder, scored and ranked
CSVs) and the HTTP answers to the caller are the data itself, so they may carry them.

The workload: `synth --format x12` (5,000 claims: enough closed appeals for the recovery
model) plus three public X12 samples with names and dates of birth, one synthetic claim
spoiled, one made a dependant's, and one file that is not X12 (a member list), `ingest
x12`, bad eligibility and authorization rows (one with a patient id that breaks the
contract), `validate` (strict and set-aside), `train`, `score`, `queue rank`, `queue
load`, `request --out`, then the service on the registered model: scoring with a valid
body and invalid ones, the queue and policy routes.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from data_contracts.reader import read_data_dir
from data_contracts.records import records_from_tables
from denialops.cli import app
from serving.api.app import create_app
from settings import Settings
from tests.data_contracts.x12.conftest import fixture

runner = CliRunner()
SAMPLES = (  # subscribers' and patients' names (NM103, NM104) and birth dates (DMG02)
    "837p/lfh__837_005010X222A2__demo.example1.837",
    "837p/imsweb__x12_valid.837",
    "835/lfh__835_005010X221A1__managed-care.835",
)
# Libraries whose loggers may not propagate to the root: mlflow's does not, and once it is
# imported neither do alembic's and sqlalchemy.engine's (which logs SQL parameters).
LIBRARIES = ("uvicorn", "uvicorn.access", "uvicorn.error", "mlflow", "alembic", "sqlalchemy")
# The synthetic writer's stand-in name: a word of the messages, not a person's name.
STAND_IN_NAMES = {"PATIENT"}
MIN_NAME = 4
KEYS = {"scrubber": "scrub-key", "biller": "bill-key", "revops": "revops-key"}
PEOPLE = ("IL", "QC")  # NM101: the subscriber (member) and the patient
SUBSCRIBER = ("HOLLOWAY", "MARGARET", "19610923")  # last and first name, date of birth
DEPENDANT = ("HOLLOWAY", "REGINALD", "20090214")


class _Records(logging.Handler):
    """Every record once, however many of the watched loggers it passes through."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: dict[int, logging.LogRecord] = {}  # held, so ids stay unique

    def emit(self, record: logging.LogRecord) -> None:
        self.records.setdefault(id(record), record)

    def texts(self) -> list[tuple[str, str]]:
        """(logger, message with its exception and stack) of every record."""
        formatter = logging.Formatter()
        found = []
        for record in self.records.values():
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + formatter.formatException(record.exc_info)
            if record.stack_info:
                text += "\n" + record.stack_info
            found.append((record.name, text))
        return found


@dataclass
class Workload:
    records: _Records = field(default_factory=_Records)
    console: list[tuple[str, str]] = field(default_factory=list)
    """(command, what it printed on stdout and stderr)"""
    exit_codes: dict[str, int] = field(default_factory=dict)
    http: dict[str, int] = field(default_factory=dict)
    identifiers: set[str] = field(default_factory=set)


def _configured_loggers() -> list[logging.Logger]:
    """The libraries' loggers, and every logger given a level or kept from the root: each
    gets the capturing handler and DEBUG, whatever a library set."""
    known = logging.Logger.manager.loggerDict.values()
    configured = {
        logger.name
        for logger in known
        if isinstance(logger, logging.Logger) and (logger.level or not logger.propagate)
    }
    return [logging.getLogger(name) for name in sorted(configured | set(LIBRARIES))]


def _people_in_x12(path: Path) -> set[str]:
    """Member ids, names and birth dates (as written and as ISO dates) in one X12 file."""
    text = path.read_text()
    element, terminator = text[3], text[105]
    found: set[str] = set()
    for raw in text.split(terminator):
        segment = raw.strip().split(element)
        if segment[0] == "NM1" and len(segment) > 1 and segment[1] in PEOPLE:
            # A name of three letters or fewer (TED, DOE) is also a piece of ordinary text
            # cut by the console's wrapping or SQLAlchemy's truncation ("crea ... ted_by").
            found |= {value for value in segment[3:5] if len(value) >= MIN_NAME}
            found |= {segment[9]} if len(segment) > 9 and segment[9] else set()
        elif segment[0] == "DMG" and len(segment) > 2 and len(segment[2]) == 8:
            day = segment[2]
            found |= {day, f"{day[:4]}-{day[4:6]}-{day[6:]}"}
    return found - STAND_IN_NAMES


def _spoil_x12(folder: Path) -> None:
    """One synthetic claim with an impossible date of service, the next a dependant's, and
    a member list that is not X12 (a wrong file dropped into the folder)."""
    first = sorted(folder.glob("837P-*.x12"))[0]
    text = first.read_text()
    date = re.search(r"DTP\*472\*D8\*(\d{8})", text)
    assert date, first
    first.write_text(_with_a_dependant(text.replace(date.group(0), "DTP*472*D8*20240230", 1)))
    eligibility = pd.read_csv(folder.parent / "eligibility.csv", dtype=str)
    members = eligibility.head(3).to_csv(index=False, header=False)
    (folder / "members-export.x12").write_text(members)


def _with_a_dependant(text: str) -> str:
    """The file's second claim as a dependant's (HL 23): the subscriber and the patient
    named, with birth dates, so ingest derives the patient's id from them."""
    segments = text.split("~\n")
    st = [i for i, segment in enumerate(segments) if segment.startswith("ST*837*")][1]
    hl = segments.index("HL*2*1*22*0", st)
    segments[hl] = "HL*2*1*22*1"
    il = next(i for i in range(hl, len(segments)) if segments[i].startswith("NM1*IL*"))
    member = segments[il].split("*")[9]
    segments[il : il + 2] = [
        f"NM1*IL*1*{SUBSCRIBER[0]}*{SUBSCRIBER[1]}****MI*{member}",
        f"DMG*D8*{SUBSCRIBER[2]}*F",
        segments[il + 1],  # NM1*PR
        "HL*3*2*23*0",
        "PAT*19",
        f"NM1*QC*1*{DEPENDANT[0]}*{DEPENDANT[1]}",
        f"DMG*D8*{DEPENDANT[2]}*M",
    ]
    se = next(i for i in range(st, len(segments)) if segments[i].startswith("SE*"))
    _, count, control = segments[se].split("*")
    segments[se] = f"SE*{int(count) + 5}*{control}"
    return "~\n".join(segments)


def _spoil_tables(data: Path) -> None:
    """An eligibility span and an authorization that end before they start, and an
    authorization whose patient id runs into its payer id (an export's unit separator)."""
    for name, start, end in (
        ("eligibility", "coverage_start", "coverage_end"),
        ("authorizations", "start_date", "end_date"),
    ):
        frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.loc[0, end] = "1995-01-01"
        assert frame.loc[0, start] > "1995-01-01"
        if name == "authorizations":
            frame.loc[1, "patient_id"] += "\x1f" + frame.loc[1, "payer_id"]
        frame.to_csv(data / f"{name}.csv", index=False)


def _patient_ids(data: Path) -> set[str]:
    return {
        value
        for name in ("claims", "eligibility", "authorizations")
        for value in pd.read_csv(data / f"{name}.csv", dtype=str, usecols=["patient_id"])[
            "patient_id"
        ].dropna()
    }


def _cli(work: Workload, name: str, *args: str, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["--verbose", *args], env=env)
    work.exit_codes[name] = result.exit_code
    work.console.append((name, result.output))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception


def _serve(work: Workload, data: Path, folder: Path) -> None:
    """The service on the champion just trained: scoring, right and wrong, and the queue."""
    settings = Settings(
        api_keys=",".join(f"{key}:{role}" for role, key in KEYS.items()),
        key_store=folder / "keys.json",
        database_url=f"sqlite:///{folder / 'queue.db'}",
        policy_path=folder / "policy.yaml",
        queue_data_dir=data,
    )
    loaded = read_data_dir(data, 0.05)
    claims = loaded.claims
    pending = claims[~claims["claim_id"].isin(loaded.remits["claim_id"])].head(3)
    lines = loaded.claim_lines[loaded.claim_lines["claim_id"].isin(pending["claim_id"])]
    valid = records_from_tables(pending, lines)
    last, first, born = DEPENDANT
    person = {
        "patient_name": f"{first} {last}",
        "birth_date": f"{born[:4]}-{born[4:6]}-{born[6:]}",
        "member_id": valid[0]["patient_id"],
    }
    bad_bodies = {
        "extra fields": {"claims": [{**valid[0], **person}]},
        "patient_id a number": {"claims": [{**valid[0], "patient_id": 12345678}]},
        "patient_id too long": {
            "claims": [{**valid[0], "patient_id": valid[0]["patient_id"] * 20}]
        },
        "no lines": {"claims": [{**valid[0], "lines": []}]},
        "charges do not add up": {"claims": [{**valid[0], "total_charge": 1.0}]},
        "bad service date": {"claims": [{**valid[0], "service_date": "1973-02-30"}]},
    }
    scrub = {"Authorization": f"Bearer {KEYS['scrubber']}"}
    bill = {"Authorization": f"Bearer {KEYS['biller']}"}
    revops = {"Authorization": f"Bearer {KEYS['revops']}"}
    with TestClient(create_app(settings)) as client:
        score = "/v1/claims/score"
        work.http["score"] = client.post(score, json={"claims": valid}, headers=scrub).status_code
        for name, body in bad_bodies.items():
            work.http[name] = client.post(score, json=body, headers=scrub).status_code
        broken = '{"claims": [{"patient_id": "' + valid[0]["patient_id"] + '", '
        work.http["not JSON"] = client.post(
            score, content=broken, headers={**scrub, "Content-Type": "application/json"}
        ).status_code
        work.http["items"] = client.get("/v1/queue/items", headers=bill).status_code
        leased = client.post("/v1/queue/next", headers=bill)
        work.http["next"] = leased.status_code
        claim_id = leased.json()["claim_id"]
        item = f"/v1/queue/items/{claim_id}"
        work.http["item"] = client.get(item, headers=bill).status_code
        work.http["resolve, bad body"] = client.post(
            f"{item}/resolve", json={"action": "appeal", "note": person}, headers=bill
        ).status_code
        work.http["resolve"] = client.post(
            f"{item}/resolve",
            json={"action": "appeal", "effort_minutes": 20, "note": "called the payer"},
            headers=bill,
        ).status_code
        work.http["outcome, too much"] = client.post(
            f"{item}/outcome",
            json={"outcome": "overturned", "recovered_amount": 9e9, "closed_date": "2025-07-01"},
            headers=bill,
        ).status_code
        work.http["unknown item"] = client.get(
            "/v1/queue/items/CLM-UNKNOWN", headers=bill
        ).status_code
        work.http["policy"] = client.get("/v1/policy", headers=revops).status_code
        work.http["simulate"] = client.post(
            "/v1/policy/simulate", json={"budget_hours": 20}, headers=revops
        ).status_code


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> Workload:
    import mlflow  # noqa: F401  (configures its loggers, so they are watched as configured)

    folder = tmp_path_factory.mktemp("no-phi")
    data = folder / "data"
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "DENIALOPS_DATABASE_URL": f"sqlite:///{folder / 'queue.db'}",
        "DENIALOPS_POLICY_PATH": str(folder / "policy.yaml"),
        "DENIALOPS_KEY_STORE": str(folder / "keys.json"),
        "DENIALOPS_MAX_BOOST_ROUNDS": "30",  # logs, not accuracy
        "DENIALOPS_SHAP_SAMPLE_ROWS": "100",
        "DENIALOPS_QUARANTINE_CEILING": "0.05",
    }
    work = Workload()
    watched = [logging.getLogger(), *_configured_loggers()]
    levels = [logger.level for logger in watched]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for name, value in env.items():
            patch.setenv(name, value)
        for logger in watched:
            logger.addHandler(work.records)
            logger.setLevel(logging.DEBUG)
        try:
            x12 = data / "x12"
            _cli(
                work,
                "synth",
                "synth",
                "--claims",
                "5000",
                "--format",
                "x12",
                "--out",
                str(data),
                env=env,
            )
            for sample in SAMPLES:
                shutil.copy(fixture(sample), x12)
            _spoil_x12(x12)
            for path in x12.iterdir():
                if path.suffix != ".x12" or path.name.startswith(("835", "837")):
                    work.identifiers |= _people_in_x12(path)
            _cli(work, "ingest", "ingest", "x12", str(x12), "--out", str(data), env=env)
            _spoil_tables(data)
            work.identifiers |= _patient_ids(data)
            _cli(work, "validate", "validate", "--data", str(data), env=env)
            _cli(
                work,
                "validate set-aside",
                "validate",
                "--data",
                str(data),
                "--on-bad-rows",
                "quarantine",
                env=env,
            )
            _cli(work, "train", "train", "--data", str(data), env=env)
            _cli(
                work,
                "score",
                "score",
                "--data",
                str(data),
                "--out",
                str(folder / "scored.csv"),
                env=env,
            )
            _cli(
                work,
                "queue rank",
                "queue",
                "rank",
                "--data",
                str(data),
                "--out",
                str(folder / "ranked.csv"),
                env=env,
            )
            _cli(work, "queue load", "queue", "load", "--data", str(data), env=env)
            body = str(folder / "request.json")  # the data itself: a file, not the console
            _cli(work, "request", "request", "--data", str(data), "--out", body, env=env)
            _serve(work, data, folder)
        finally:
            for logger, level in zip(watched, levels, strict=True):
                logger.removeHandler(work.records)
                logger.setLevel(level)
    return work


def _finder(identifiers: set[str]) -> re.Pattern[str]:
    """Any of the identifiers as a whole token, whatever its case."""
    alternatives = "|".join(re.escape(i) for i in sorted(identifiers, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE)


def _masked(text: str, finder: re.Pattern[str]) -> str:
    """The text with each identifier found shown as its first character and stars."""
    return finder.sub(lambda m: m.group(0)[0] + "*" * (len(m.group(0)) - 1), text)


def _leaks(texts: list[tuple[str, str]], identifiers: set[str]) -> list[str]:
    finder = _finder(identifiers)
    return [
        f"{where}: {_masked(text, finder)[:400]!r}" for where, text in texts if finder.search(text)
    ]


def test_the_workload_ran_every_path_it_is_meant_to_cover(workload: Workload) -> None:
    """Without this, a workload that stopped early would pass the scans below."""
    assert workload.exit_codes == {
        "synth": 0,
        "ingest": 1,  # a file could not be read and claims were set aside
        "validate": 1,  # strict: the bad rows are listed
        "validate set-aside": 0,
        "train": 0,
        "score": 0,
        "queue rank": 0,
        "queue load": 0,
        "request": 0,
    }, dict(workload.console)
    assert workload.http == {
        "score": 200,
        **dict.fromkeys(
            ["extra fields", "patient_id a number", "patient_id too long", "no lines"], 422
        ),
        "charges do not add up": 422,
        "bad service date": 422,
        "not JSON": 422,
        "items": 200,
        "next": 200,
        "item": 200,
        "resolve, bad body": 422,
        "resolve": 200,
        "outcome, too much": 422,
        "unknown item": 404,
        "policy": 200,
        "simulate": 200,
    }
    names = {name for name, _ in workload.records.texts()}
    assert {"data_contracts.x12.ingest", "data_contracts.reader", "serving.api.claims"} <= names
    for library in ("mlflow.", "sqlalchemy.engine.", "alembic."):
        assert any(name.startswith(library) for name in names), library
    assert {"SMITH", "JANE", "19730501", *SUBSCRIBER, *DEPENDANT} <= workload.identifiers
    assert "TED" not in workload.identifiers, "three letters: too short to tell from text"
    assert any(re.fullmatch(r"PAT\d+-[0-9a-f]{10}", i) for i in workload.identifiers), (
        "the dependant's claim was ingested, with an id derived from name and birth date"
    )
    assert sum(i.startswith("PAT") for i in workload.identifiers) > 300


def test_no_log_record_carries_a_patient_or_member_identifier(workload: Workload) -> None:
    leaks = _leaks(workload.records.texts(), workload.identifiers)
    assert not leaks, "identifiers in log records:\n" + "\n".join(leaks[:20])


def test_no_command_prints_a_patient_or_member_identifier(workload: Workload) -> None:
    leaks = _leaks(workload.console, workload.identifiers)
    assert not leaks, "identifiers on the console:\n" + "\n".join(leaks[:20])


def test_the_scan_finds_an_identifier_as_a_token_and_masks_it() -> None:
    """The scans above pass on silence; this is what they would report."""
    found = _leaks(
        [("a", "claim CLM1 of smith, member PAT0000012"), ("b", "PAT00000123 SMITHSON")],
        {"PAT0000012", "SMITH"},
    )
    assert found == ["a: 'claim CLM1 of s****, member P*********'"]
