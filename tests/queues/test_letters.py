"""Appeal letters: drafts filled from the templates with the claim's facts, the parity rule,
RevOps' override folder, saved versions with their trail, and the PDF."""

from __future__ import annotations

import dataclasses
import re
import zlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.reader import ContractData, check_table, empty_table
from queues import letters
from queues.letters import LetterStore, LetterTemplateError, draft_letter, letter_pdf
from queues.store import InvalidValueError, UnknownItemError, WorkItem, WorkQueue
from storage.tenants import add_tenant

TODAY = date(2026, 3, 2)
CLAIM = "CLM-7"


def claim_data(
    primary_dx: str = "F33.1",
    codes: tuple[str, ...] = ("90837",),
    prior_auth_id: str | None = "AUTH-9",
    frequency_code: str = "1",
    original_claim_id: str | None = None,
) -> ContractData:
    """One denied claim of patient P-1 with payer PY-A, served 2026-01-05, submitted
    2026-01-20, with its lines, remit and an authorization covering January."""
    raw = {
        "claims": {
            "claim_id": CLAIM,
            "patient_id": "P-1",
            "payer_id": "PY-A",
            "plan_type": "commercial",
            "network_status": "in",
            "rendering_provider_id": "PRV-3",
            "provider_credential": "LCSW",
            "facility_id": "FAC-1",
            "program": "IOP",
            "place_of_service": "11",
            "service_date": "2026-01-05",
            "submission_date": "2026-01-20",
            "primary_dx": primary_dx,
            "secondary_dx": "F41.1",
            "prior_auth_id": prior_auth_id,
            "total_charge": "250.00",
            "frequency_code": frequency_code,
            "original_claim_id": original_claim_id,
        },
        "claim_lines": [
            {
                "claim_id": CLAIM,
                "line_number": str(number),
                "procedure_code": code,
                "modifiers": "95",
                "units": "1",
                "minutes": "53",
                "line_charge": "250.00",
                "revenue_code": None,
            }
            for number, code in enumerate(codes, 1)
        ],
        "remits": {
            "claim_id": CLAIM,
            "received_date": "2026-02-10",
            "status": "denied",
            "billed_amount": "250.00",
            "allowed_amount": "0",
            "paid_amount": "0",
            "patient_responsibility": "0",
            "carc_codes": "CO-197",
            "rarc_codes": "N54",
        },
        "authorizations": {
            "auth_id": "AUTH-9",
            "patient_id": "P-1",
            "payer_id": "PY-A",
            "procedure_codes": "90837",
            "program": "IOP",
            "start_date": "2026-01-01",
            "end_date": "2026-01-31",
            "units_approved": "12",
        },
    }
    tables = {}
    for name, rows in raw.items():
        frame = pd.DataFrame(rows if isinstance(rows, list) else [rows], dtype=object)
        tables[name], problems = check_table(name, frame)
        assert not problems, problems
    tables["eligibility"] = empty_table("eligibility")
    tables["appeals"] = empty_table("appeals")
    return ContractData(**tables)


def work_item(category: str = "missing_auth", **changes) -> WorkItem:
    """The queue item of CLAIM, as the queue keeps it."""
    values = {field.name: None for field in dataclasses.fields(WorkItem)}
    values.update(
        id=1,
        claim_id=CLAIM,
        payer_id="PY-A",
        denial_category=category,
        action="appeal",
        patient_id="P-1",
        program="IOP",
        clinician_id="PRV-3",
        carc_codes="CO-197",
        rarc_codes="N54",
        billed_amount=250.0,
    )
    return WorkItem(**{**values, **changes})


EXPECTED = {
    "medical_necessity": "were not medically necessary",
    "missing_auth": "authorization AUTH-9 covers January 1, 2026 to January 31, 2026",
    "timely_filing": "first submitted on January 20, 2026",
    "credential_not_covered": "a licensed LCSW",
    "time_code_mismatch": "line 1: 90837 (95), 1 unit(s), 53 minutes documented",
    "duplicate": "no other claim of ours for this member billed",
    "bundling": "appeal the denial of the claim above (bundling)",
}
"""A sentence of each category's own template, filled with the claim's facts (bundling has
no template of its own: generic.txt)."""


@pytest.mark.parametrize("category", EXPECTED)
def test_each_category_drafts_its_letter_with_the_claims_facts(category: str) -> None:
    draft = draft_letter(work_item(category), claim_data(), "Sunrise Clinic", TODAY)
    assert EXPECTED[category] in draft.text
    for fact in (
        "Sunrise Clinic",
        "March 2, 2026",
        f"Claim number: {CLAIM}",
        "Member / patient ID: P-1",
        "PY-A",
        "Date of service: January 5, 2026",
        "Procedure codes: 90837",
        "Primary diagnosis: F33.1; also F41.1",
        "Billed amount: $250.00",
        "CO-197 (Precertification/authorization/notification absent)",
        "Remark codes (RARC): N54",
    ):
        assert fact in draft.text, (category, fact)
    assert draft.missing == ()
    assert "[" not in draft.text, "no placeholder left when the data has every fact"
    assert "\n\n\n" not in draft.text


def test_a_missing_authorization_with_none_in_force_asks_for_a_retro_authorization() -> None:
    data = claim_data(prior_auth_id=None)
    data = dataclasses.replace(data, authorizations=empty_table("authorizations"))
    text = draft_letter(work_item("missing_auth"), data, "Sunrise", TODAY).text
    assert "We request a retroactive authorization" in text
    assert "AUTH-9" not in text


def test_a_missing_authorization_finds_the_one_in_force_on_the_service_date() -> None:
    """The claim names none, but one covering the date was obtained (retro): it is cited."""
    text = draft_letter(
        work_item("missing_auth"), claim_data(prior_auth_id=None), "Sunrise", TODAY
    ).text
    assert "authorization AUTH-9 covers" in text


def test_a_corrected_claim_denied_as_duplicate_names_the_claim_it_replaces() -> None:
    data = claim_data(frequency_code="7", original_claim_id="CLM-6")
    text = draft_letter(work_item("duplicate"), data, "Sunrise", TODAY).text
    assert "corrected (replacement) claim, frequency code 7, for original claim CLM-6" in text


@pytest.mark.parametrize(
    ("category", "primary_dx", "codes", "included"),
    [
        ("medical_necessity", "F33.1", ("90837",), True),
        ("missing_auth", "F10.20", ("H0015",), True),
        ("credential_not_covered", "F41.1", ("99213",), True),  # the diagnosis is enough
        ("visit_limit", "M54.50", ("90834",), True),  # a psychotherapy code is enough
        ("auth_exhausted", "M54.50", ("H0035",), True),
        ("medical_necessity", "M54.50", ("99213",), False),  # E/M for back pain: medical
        ("timely_filing", "F33.1", ("90837",), False),  # not a treatment limitation
        ("duplicate", "F33.1", ("90837",), False),
        ("time_code_mismatch", "F33.1", ("90837",), False),
    ],
)
def test_the_parity_paragraph_follows_the_rule(
    category: str, primary_dx: str, codes: tuple[str, ...], included: bool
) -> None:
    assert letters.parity_applies(category, primary_dx, list(codes)) is included
    data = claim_data(primary_dx=primary_dx, codes=codes)
    draft = draft_letter(work_item(category), data, "Sunrise", TODAY)
    assert draft.parity is included
    assert ("Mental Health Parity and Addiction Equity Act" in draft.text) is included


def test_without_the_practices_data_the_letter_has_placeholders_and_says_what_is_missing() -> None:
    draft = draft_letter(work_item("timely_filing"), None, "Sunrise", TODAY)
    assert "first submitted on [submission date]" in draft.text
    assert "Member / patient ID: P-1" in draft.text  # the queue item's own facts
    assert "Billed amount: $250.00" in draft.text
    assert {"submission date", "service date", "primary diagnosis"} <= set(draft.missing)
    assert draft.parity is False


def test_a_claim_missing_from_the_data_is_named() -> None:
    draft = draft_letter(work_item(claim_id="CLM-404"), claim_data(), "Sunrise", TODAY)
    assert draft.missing[0] == "claim CLM-404 is not in the practice's data"
    assert "Date of service: [service date]" in draft.text


def test_revops_templates_win_over_the_bundled_ones(tmp_path: Path) -> None:
    (tmp_path / "timely_filing.txt").write_text("Filed on {{ submission_date }}, in time.\n")
    (tmp_path / "bundling.txt").write_text("Not bundled: {{ procedure_codes | join(',') }}.\n")
    data = claim_data()
    text = draft_letter(work_item("timely_filing"), data, "Sunrise", TODAY, tmp_path).text
    assert "Filed on January 20, 2026, in time." in text
    assert "Proof of timely submission" not in text
    assert "Claim number: CLM-7" in text  # the frame is still the bundled one
    bundling = draft_letter(work_item("bundling"), data, "Sunrise", TODAY, tmp_path).text
    assert "Not bundled: 90837." in bundling  # a category gains its own template
    other = draft_letter(work_item("duplicate"), data, "Sunrise", TODAY, tmp_path).text
    assert "The claim was denied as a duplicate" in other


def test_a_practices_own_templates_reach_its_letters_only(tmp_path: Path) -> None:
    (tmp_path / "sunrise").mkdir()
    (tmp_path / "sunrise" / "duplicate.txt").write_text("Sunrise's own duplicate text.\n")
    (tmp_path / "duplicate.txt").write_text("Every practice's duplicate text.\n")
    data = claim_data()

    def letter(tenant: str) -> str:
        return draft_letter(work_item("duplicate"), data, tenant, TODAY, tmp_path, tenant).text

    assert "Sunrise's own duplicate text." in letter("sunrise")
    assert "Every practice's duplicate text." in letter("moonrise")
    assert "Sunrise's own" not in letter("moonrise")


def test_a_broken_template_is_named(tmp_path: Path) -> None:
    (tmp_path / "duplicate.txt").write_text("ok\n{{ no_such_fact }}\n")
    with pytest.raises(LetterTemplateError, match=r"duplicate\.txt line 2.*no_such_fact"):
        draft_letter(work_item("duplicate"), claim_data(), "Sunrise", TODAY, tmp_path)


def test_a_template_that_does_not_parse_is_named(tmp_path: Path) -> None:
    (tmp_path / "parity.txt").write_text("Parity.\n{% if parity %}never closed\n")
    with pytest.raises(LetterTemplateError, match=r"parity\.txt line 2: Unexpected end"):
        draft_letter(work_item("medical_necessity"), claim_data(), "Sunrise", TODAY, tmp_path)


def test_an_edited_template_cannot_reach_python(tmp_path: Path) -> None:
    (tmp_path / "duplicate.txt").write_text("{{ claim_id.__class__.__mro__ }}\n")
    with pytest.raises(LetterTemplateError, match=r"duplicate\.txt"):
        draft_letter(work_item("duplicate"), claim_data(), "Sunrise", TODAY, tmp_path)


def test_every_bundled_template_is_documented() -> None:
    readme = (letters.BUNDLED_TEMPLATES / "README.md").read_text()
    for template in letters.BUNDLED_TEMPLATES.glob("*.txt"):
        assert f"`{template.name}`" in readme
    for category in letters.PARITY_CATEGORIES:
        assert f"`{category}`" in readme


@pytest.fixture
def loaded(queue: WorkQueue) -> WorkQueue:
    items = pd.DataFrame(
        {
            "claim_id": [CLAIM, "CLM-8"],
            "payer_id": "PY-A",
            "denial_category": "missing_auth",
            "action": "appeal",
            "p_recover": 0.5,
            "recoverable_amount": 200.0,
            "billed_amount": 250.0,
            "expected_recovery": 100.0,
            "effort_minutes": 20.0,
            "deadline": pd.Timestamp("2026-12-31"),
            "priority": [2.0, 1.0],
            "rank": [1, 2],
            "reason": "appeal",
        }
    )
    queue.load(items, actor="test", policy_version="1")
    return queue


def test_saves_are_versions_each_audited_without_the_text(loaded: WorkQueue, clock) -> None:
    store = LetterStore(loaded.database, loaded.tenant, clock=clock)
    assert store.latest(CLAIM) is None
    first = store.save(CLAIM, "Dear payer,\r\nplease pay.\n", "missing_auth", "ana")
    clock.advance(60)
    second = store.save(CLAIM, "Dear payer, please pay now.", "missing_auth", "ben")
    other = store.save("CLM-8", "Another letter.", "missing_auth", "ana")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.body == "Dear payer,\nplease pay."
    assert store.latest(CLAIM) == second
    assert [letter.version for letter in store.versions(CLAIM)] == [1, 2]
    assert store.versions(CLAIM)[0] == first
    saved = [event for event in loaded.audit(CLAIM) if event.event == "letter_saved"]
    assert [(event.actor, event.detail) for event in saved] == [
        ("ana", {"version": 1, "category": "missing_auth", "chars": 23}),
        ("ben", {"version": 2, "category": "missing_auth", "chars": 27}),
    ]
    assert saved[1].at == clock.now


def test_a_letter_is_kept_with_a_queue_item_of_the_tenant_only(loaded: WorkQueue) -> None:
    store = LetterStore(loaded.database, loaded.tenant)
    with pytest.raises(UnknownItemError):
        store.save("CLM-404", "Dear payer", "missing_auth", "ana")
    store.save(CLAIM, "Dear payer", "missing_auth", "ana")
    with pytest.raises(InvalidValueError, match="1 to 20000 characters"):
        store.save(CLAIM, "  \n", "missing_auth", "ana")
    with pytest.raises(InvalidValueError, match="1 to 20000 characters"):
        store.save(CLAIM, "x" * 20_001, "missing_auth", "ana")
    add_tenant(loaded.database, "other", by="test")
    elsewhere = LetterStore(loaded.database, "other")
    assert elsewhere.latest(CLAIM) is None
    with pytest.raises(UnknownItemError):
        elsewhere.save(CLAIM, "Dear payer", "missing_auth", "eve")
    assert [letter.version for letter in store.versions(CLAIM)] == [1]


def pdf_text(pdf: bytes) -> str:
    """The text drawn in the PDF's (deflated) content streams."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL)
    shown = []
    for stream in streams:
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        shown += re.findall(rb"\((.*?)\) ?Tj", content)
    return b" ".join(shown).decode("latin-1").replace("\\(", "(").replace("\\)", ")")


def test_the_pdf_holds_the_letter_in_latin1() -> None:
    text = "Dear payer,\n\n\u201cPlease\u201d reconsider \u2014 claim CLM-7 (\u2713 enclosed).\n"
    pdf = letter_pdf(text, "Appeal \u2013 CLM-7")
    assert pdf.startswith(b"%PDF-")
    shown = pdf_text(pdf)
    assert "Dear payer," in shown
    assert '"Please" reconsider -- claim CLM-7 (? enclosed).' in shown


def test_a_long_letter_wraps_onto_more_pages() -> None:
    one = letter_pdf("A short letter.", "Appeal")
    long = letter_pdf(" ".join(["word"] * 4000), "Appeal")
    assert one.count(b"/Type /Page\n") == 1
    assert long.count(b"/Type /Page\n") > 2
