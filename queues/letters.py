"""Appeal letters: a draft filled from editable templates with the claim's facts, the
biller's saved versions (kept with the queue item, each save audited), and the PDF sent.

Templates are Jinja2 text files in `queues/letter_templates/` (its README lists the
variables): `letter.txt` frames every letter and includes the denial category's template
(`<category>.txt`, else `generic.txt`) and, where `parity_applies`, `parity.txt`. RevOps edit
their own copies in `settings.letter_templates_dir`: a file there wins over the bundled one
of the same name, so a practice overrides only what it changed. Templates run sandboxed
(Jinja2's `SandboxedEnvironment`): an edited file can fill text, not run code.

A fact the data does not give (the tenant has no data directory, or the claim is not in
it) is written as a bracketed placeholder, e.g. `[service date]`, for the biller to fill,
and named in `Draft.missing`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import fpdf
import pandas as pd
import sqlalchemy as sa
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from data_contracts.codes import behavioral_health_procedures, carc_descriptions
from data_contracts.denials import split_list
from data_contracts.enums import DENIAL_CATEGORIES
from data_contracts.reader import ContractData
from queues.store import InvalidValueError, UnknownItemError, WorkItem
from storage import audit
from storage.database import Database, utc_now
from storage.schema import APPEAL_LETTERS, ITEMS

log = logging.getLogger(__name__)

BUNDLED_TEMPLATES = Path(__file__).parent / "letter_templates"
"""The templates shipped with the package; `settings.letter_templates_dir` overrides them."""
FRAME = "letter.txt"
GENERIC = "generic.txt"
PARITY = "parity.txt"
LETTER_LENGTH = 20_000
"""The longest letter a biller may save (characters): a few pages, well under the body limit."""

PARITY_CATEGORIES = frozenset(
    {"missing_auth", "auth_exhausted", "visit_limit", "medical_necessity", "credential_not_covered"}
)
"""Denial categories that rest on non-quantitative treatment limits (prior authorization,
concurrent review and unit caps, visit limits, medical-necessity criteria, provider
credentialing and network admission), which MHPAEA (29 CFR 2590.712(c)(4)) requires be no
more stringent for mental-health and substance-use services than for medical/surgical ones,
and which plans most often apply more strictly to behavioral health. A behavioral-health
claim denied for one of these gets the parity paragraph (`parity_applies`); denials that
are about the claim form itself (timely filing, duplicates, codes) do not."""
NOT_BEHAVIORAL_FAMILIES = frozenset({"em"})
"""Families of `behavioral_health_procedures()` that are not behavioral services by
themselves: an E/M visit (99212-99215) is billed by medical practices as well."""


class LetterTemplateError(ValueError):
    """A template that cannot be read or filled; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A filled letter, and what the data could not fill."""

    text: str
    category: str
    parity: bool
    """The MHPAEA paragraph is in it (`parity_applies`)."""
    missing: tuple[str, ...]
    """Facts written as [placeholders], for the biller to fill in."""


@dataclass(frozen=True, slots=True)
class SavedLetter:
    """One saved version of a claim's appeal letter."""

    claim_id: str
    version: int
    category: str
    body: str
    saved_by: str
    saved_at: datetime


def is_behavioral(primary_dx: str | None, procedure_codes: list[str]) -> bool:
    """A behavioral-health service: the primary diagnosis is in ICD-10-CM chapter F (mental,
    behavioral and neurodevelopmental disorders, F01-F99) or a line bills a psychiatric,
    psychotherapy or substance-use code (`behavioral_health_procedures`, E/M visits aside)."""
    if primary_dx and primary_dx.strip().upper().startswith("F"):
        return True
    known = behavioral_health_procedures()
    return any(
        code in known and known[code]["family"] not in NOT_BEHAVIORAL_FAMILIES
        for code in procedure_codes
    )


def parity_applies(category: str, primary_dx: str | None, procedure_codes: list[str]) -> bool:
    """Whether the letter argues parity: a behavioral-health service (`is_behavioral`)
    denied in one of `PARITY_CATEGORIES`."""
    return category in PARITY_CATEGORIES and is_behavioral(primary_dx, procedure_codes)


def template_folders(templates_dir: Path | None, tenant: str | None = None) -> list[Path]:
    """Where a tenant's templates are looked for, first to last: `templates_dir/<tenant>/`
    (one practice's letterhead and wording never reach another's letters), then
    `templates_dir`, then the bundled ones."""
    if templates_dir is None:
        return [BUNDLED_TEMPLATES]
    own = [templates_dir / tenant] if tenant else []
    return [*own, templates_dir, BUNDLED_TEMPLATES]


def environment(folders: Sequence[Path] = (BUNDLED_TEMPLATES,)) -> SandboxedEnvironment:
    """The templates of `folders` (`template_folders`), the first holding a file winning."""
    return SandboxedEnvironment(
        loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]),
        autoescape=False,  # plain text for a textarea and a PDF, never HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def template_for(category: str, folders: Sequence[Path] = (BUNDLED_TEMPLATES,)) -> str:
    """The category's template file name: `<category>.txt` where one exists in `folders`,
    else `generic.txt`."""
    if category not in DENIAL_CATEGORIES:
        return GENERIC
    name = f"{category}.txt"
    return name if any((folder / name).is_file() for folder in folders) else GENERIC


def draft_letter(
    item: WorkItem,
    data: ContractData | None,
    practice: str,
    today: date,
    templates_dir: Path | None = None,
    tenant: str | None = None,
) -> Draft:
    """The appeal letter for `item`, filled from the templates (`template_folders` of
    `templates_dir` and `tenant`) with the claim's facts in `data` (None: the tenant has no
    data, so only the queue item's facts are known). Raises LetterTemplateError when a
    template is broken."""
    folders = template_folders(templates_dir, tenant)
    facts = claim_facts(item, data)
    category = item.denial_category
    parity = parity_applies(category, facts.primary_dx, facts.codes)
    values = {
        **facts.values,
        "practice": practice,
        "today": long_date(today),
        "category": category,
        "category_label": category.replace("_", " "),
        "body_template": template_for(category, folders),
        "parity": parity,
    }
    env = environment(folders)
    try:
        text = env.get_template(FRAME).render(values)
    except TemplateError as error:
        raise LetterTemplateError(f"letter template {_where(error)}: {error}") from error
    return Draft(_tidy(text), category, parity, facts.missing)


def _where(error: TemplateError) -> str:
    """The template file and line an error arose in: a syntax error names them; an error
    while filling is found in the traceback, whose frames Jinja2 names after the templates."""
    filename, line = getattr(error, "filename", None), getattr(error, "lineno", None)
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename.endswith(".txt"):
            filename, line = trace.tb_frame.f_code.co_filename, trace.tb_lineno
        trace = trace.tb_next
    return f"{Path(filename or FRAME).name}{f' line {line}' if line else ''}"


@dataclass(frozen=True)
class Facts:
    """What the templates are filled with (see the templates' README)."""

    values: dict[str, Any]
    primary_dx: str | None
    codes: list[str]
    missing: tuple[str, ...]


def claim_facts(item: WorkItem, data: ContractData | None) -> Facts:
    """The claim's facts as the templates use them: text, with [placeholders] for the
    unknown ones, named in `missing`."""
    claim = _row(data.claims, item.claim_id) if data is not None else None
    lines = _rows(data.claim_lines, item.claim_id) if data is not None else []
    remit = _row(data.remits, item.claim_id) if data is not None else None
    missing: list[str] = []

    def known(value: Any, placeholder: str) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
            missing.append(placeholder)
            return f"[{placeholder}]"
        if isinstance(value, pd.Timestamp | date):
            return long_date(value)
        return str(value)

    get = (claim or {}).get
    carc = split_list(item.carc_codes) or split_list(remit.get("carc_codes") if remit else None)
    rarc = split_list(item.rarc_codes) or split_list(remit.get("rarc_codes") if remit else None)
    codes = [str(line["procedure_code"]) for line in lines]
    billed = item.billed_amount
    if billed is None and remit is not None:
        billed = remit.get("billed_amount")
    authorization = _authorization(data, claim) if claim is not None else None
    values = {
        "claim_id": item.claim_id,
        "patient_id": known(item.patient_id or get("patient_id"), "patient id"),
        "payer_id": item.payer_id,
        "plan_type": known(get("plan_type"), "plan type"),
        "program": known(item.program or get("program"), "program"),
        "provider_id": known(item.clinician_id or get("rendering_provider_id"), "provider"),
        "provider_credential": known(get("provider_credential"), "provider credential"),
        "service_date": known(get("service_date"), "service date"),
        "submission_date": known(get("submission_date"), "submission date"),
        "remit_date": known(remit.get("received_date") if remit else None, "remittance date"),
        "primary_dx": known(get("primary_dx"), "primary diagnosis"),
        "secondary_dx": split_list(get("secondary_dx")),
        "procedure_codes": codes or [known(None, "procedure codes")],
        "lines": [_line(line) for line in lines],
        "carc_codes": carc,
        "carc_described": [_described(code) for code in carc],
        "rarc_codes": rarc,
        "billed_amount": known(None if billed is None else f"${billed:,.2f}", "billed amount"),
        "prior_auth_id": get("prior_auth_id") or None,
        "authorization": authorization,
        "frequency_code": get("frequency_code") or None,
        "original_claim_id": get("original_claim_id") or None,
    }
    if data is not None and claim is None:
        missing.insert(0, f"claim {item.claim_id} is not in the practice's data")
    return Facts(values, get("primary_dx"), codes, tuple(missing))


def long_date(value: date | pd.Timestamp) -> str:
    """A date as a letter writes it: March 4, 2026."""
    return f"{value:%B} {value.day}, {value:%Y}"


def _row(frame: pd.DataFrame, claim_id: str) -> dict[str, Any] | None:
    rows = _rows(frame, claim_id)
    return rows[0] if rows else None


def _rows(frame: pd.DataFrame, claim_id: str) -> list[dict[str, Any]]:
    found = frame[frame["claim_id"] == claim_id]
    if "line_number" in found:
        found = found.sort_values("line_number")
    return [
        {key: (None if _missing(value) else value) for key, value in row.items()}
        for row in found.to_dict("records")
    ]


def _missing(value: Any) -> bool:
    return not isinstance(value, list | tuple) and bool(pd.isna(value))


def _described(carc: str) -> str:
    """CO-197 (Precertification/authorization absent.): the reason's official text, when
    the bundled list has it."""
    description = carc_descriptions().get(carc.split("-", 1)[-1])
    return f"{carc} ({description.rstrip('.')})" if description else carc


def _line(line: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "line_number": int(line["line_number"]),
        "procedure_code": str(line["procedure_code"]),
        "modifiers": split_list(line.get("modifiers")),
        "units": int(line["units"]),
        "minutes": None if line.get("minutes") is None else int(line["minutes"]),
        "charge": f"${float(line['line_charge']):,.2f}",
    }


def _authorization(data: ContractData | None, claim: Mapping[str, Any]) -> dict[str, str] | None:
    """The authorization the claim names, else one of the patient's with this payer in force
    on the service date (a retro authorization obtained after the denial)."""
    if data is None or data.authorizations.empty:
        return None
    auths = data.authorizations
    if claim.get("prior_auth_id"):
        found = auths[auths["auth_id"] == claim["prior_auth_id"]]
    else:
        served = claim.get("service_date")
        found = auths[
            (auths["patient_id"] == claim.get("patient_id"))
            & (auths["payer_id"] == claim.get("payer_id"))
            & (auths["start_date"] <= served)
            & (auths["end_date"] >= served)
        ]
    if found.empty:
        return None
    auth = found.iloc[0]
    return {
        "auth_id": str(auth["auth_id"]),
        "start_date": long_date(auth["start_date"]),
        "end_date": long_date(auth["end_date"]),
        "units_approved": str(auth["units_approved"]),
    }


def _tidy(text: str) -> str:
    """At most one blank line in a row, one final newline: templates' optional parts leave
    gaps."""
    out: list[str] = []
    for line in text.strip().splitlines():
        line = line.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out) + "\n"


class LetterStore:
    """A tenant's saved appeal letters: versions per claim, 1, 2, ...; the latest is the one
    sent. Each save is audited (`letter_saved`) in its transaction, with the version,
    category and length, never the text: a letter holds the patient's health information."""

    def __init__(
        self, database: Database, tenant: str, clock: Callable[[], datetime] = utc_now
    ) -> None:
        scope = database.scope(tenant)
        self._engine, self._writing, self._clock = scope.engine, scope.writing, clock

    def save(self, claim_id: str, body: str, category: str, saved_by: str) -> SavedLetter:
        """A new version of the claim's letter. Raises UnknownItemError when the claim has
        no queue item in this tenant, InvalidValueError for an empty or too long letter."""
        body = body.replace("\r\n", "\n").strip()
        if not body or len(body) > LETTER_LENGTH:
            raise InvalidValueError(f"a letter is 1 to {LETTER_LENGTH} characters, not {len(body)}")
        if category not in DENIAL_CATEGORIES:
            raise InvalidValueError(f"denial category {category!r} is not one we know")
        now = self._clock()
        with self._writing() as connection:
            # Locks the item on PostgreSQL, so two saves of one claim take turns for a version.
            found = connection.execute(
                sa.select(ITEMS.c.id).where(ITEMS.c.claim_id == claim_id).with_for_update()
            ).one_or_none()
            if found is None:
                raise UnknownItemError(f"no queue item for claim {claim_id}")
            last = connection.execute(
                sa.select(sa.func.max(APPEAL_LETTERS.c.version)).where(
                    APPEAL_LETTERS.c.claim_id == claim_id
                )
            ).scalar()
            letter = SavedLetter(claim_id, (last or 0) + 1, category, body, saved_by, now)
            connection.execute(APPEAL_LETTERS.insert().values(**_columns(letter)))
            detail = {"version": letter.version, "category": category, "chars": len(body)}
            audit.append(
                connection,
                [
                    {
                        "at": now,
                        "actor": saved_by,
                        "claim_id": claim_id,
                        "event": "letter_saved",
                        "detail": detail,
                    }
                ],
            )
        log.info("%s saved version %d of the letter of %s", saved_by, letter.version, claim_id)
        return letter

    def versions(self, claim_id: str) -> list[SavedLetter]:
        """The claim's saved letters, oldest first."""
        return list(self._select(claim_id))

    def latest(self, claim_id: str) -> SavedLetter | None:
        """The claim's last saved letter, or None."""
        found = list(self._select(claim_id, latest=True))
        return found[0] if found else None

    def _select(self, claim_id: str, latest: bool = False) -> Iterator[SavedLetter]:
        columns = [APPEAL_LETTERS.c[name] for name in SavedLetter.__slots__]
        query = sa.select(*columns).where(APPEAL_LETTERS.c.claim_id == claim_id)
        if latest:
            query = query.order_by(APPEAL_LETTERS.c.version.desc()).limit(1)
        else:
            query = query.order_by(APPEAL_LETTERS.c.version)
        with self._engine.connect() as connection:
            for row in connection.execute(query):
                yield SavedLetter(**row._mapping)


def _columns(letter: SavedLetter) -> dict[str, Any]:
    return {name: getattr(letter, name) for name in SavedLetter.__slots__}


LATIN1_SUBSTITUTES = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2013": "-",
        "\u2014": "--",
        "\u2026": "...",
        "\u2022": "*",
        "\u2192": "->",
        "\u00a0": " ",
        "\t": "    ",
    }
)
"""Typographic characters a pasted letter often holds, as the ASCII the PDF's core font has."""


def latin1(text: str) -> str:
    """`text` as the PDF's core font (Helvetica, Latin-1) can show it: typographic quotes and
    dashes as ASCII (`LATIN1_SUBSTITUTES`), anything else outside Latin-1 as '?'."""
    return text.translate(LATIN1_SUBSTITUTES).encode("latin-1", "replace").decode("latin-1")


def letter_pdf(text: str, title: str) -> bytes:
    """The letter as a PDF of Letter-size pages in Helvetica 11 pt, wrapped at the margins
    (`multi_cell`). Helvetica is a core font, so no font file ships and the PDF embeds none,
    but it has Latin-1 only: other characters are replaced (`latin1`)."""
    pdf = fpdf.FPDF(format="letter", unit="pt")
    pdf.set_title(latin1(title))
    pdf.set_creator("DenialOps")
    pdf.set_margins(72, 72, 72)
    pdf.set_auto_page_break(True, margin=72)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 15, latin1(text), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
