"""The policy editor's routes over HTTP (RevOps' API key): who may open it, a refused form
kept as typed, a save, a stale save, a restore, a diff, and the simulation with and
without what it needs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from data_contracts.reader import ContractData
from model_bundle.registered import ModelUnavailableError
from queues.policy import Policy, PolicyStore, default_policy
from serving.api.app import create_app
from serving.web.policy import Draft, field_id
from settings import Settings
from storage import audit
from tests.serving.conftest import auth, scorer_for
from training.recovery import fit_recovery

PAGE = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def recovery(web_data: tuple[Path, ContractData]):
    return fit_recovery(web_data[1], Settings(max_boost_rounds=40)).bundle


@pytest.fixture
def editor(
    settings: Settings, bundle, web_data, recovery, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The service on the web tests' practice, with a recovery model to simulate with."""
    monkeypatch.setattr("queues.build.load_recovery", lambda _settings: (recovery, "3"))
    settings = settings.model_copy(update={"queue_data_dir": web_data[0]})
    with TestClient(create_app(settings, loader=lambda _s: scorer_for(bundle))) as client:
        yield client


def form(policy: Policy | None = None, **changes: Any) -> dict[str, Any]:
    """What the page's form posts for `policy` (default: the shipped one), with `changes`."""
    policy = policy or default_policy()
    return {**Draft.of(policy).values, "patient_liable": policy.patient_liable, **changes}


def store(client: TestClient) -> PolicyStore:
    return client.app.state.tenant_stores("default").policies


def post(client: TestClient, path: str, data: dict[str, Any], role: str = "revops"):
    return client.post(path, data=data, headers={**auth(role), **PAGE}, follow_redirects=False)


def field(html: str, name: str) -> str:
    """The opening tag of the control of field `name`."""
    found = re.search(rf'<(?:input|select)[^>]*id="{field_id(name)}"[^>]*>', html)
    assert found, name
    return found.group(0)


def selected(html: str, name: str) -> str:
    """The value chosen in the select of field `name`."""
    options = html.split(field(html, name), 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="([^"]*)" selected>', options)
    return found.group(1) if found else ""


@pytest.mark.parametrize(("role", "code"), [("revops", 200), ("admin", 200), ("biller", 403)])
def test_revops_and_admins_edit_the_policy_others_are_refused(
    client: TestClient, role: str, code: int
) -> None:
    answer = client.get("/policy", headers={**auth(role), **PAGE})
    assert answer.status_code == code
    if code == 403:
        assert "Not allowed" in answer.text
        assert 'href="/policy"' not in answer.text
        return
    assert "<h1>Policy</h1>" in answer.text
    assert '<a href="/policy" aria-current="page">Policy</a>' in answer.text
    assert 'value="42"' in field(answer.text, "biller_hour_cost")
    assert selected(answer.text, "actions.duplicate") == "write_off"
    assert selected(answer.text, "categories.duplicate.action") == ""
    assert "checked" in field(answer.text, "patient_liable.visit_limit")
    assert "checked" not in field(answer.text, "patient_liable.duplicate")


def test_every_payer_of_the_practice_gets_a_row(editor: TestClient, web_data) -> None:
    answer = editor.get("/policy", headers=auth("revops"))
    for payer in web_data[1].claims["payer_id"].unique():
        assert 'value=""' in field(answer.text, f"payers.{payer}.filing_limit_days")
        assert f"Filing limit (days) for {payer}</label>" in answer.text


def test_a_refused_form_keeps_the_entries_and_saves_nothing(editor: TestClient, web_data) -> None:
    payer = str(web_data[1].claims["payer_id"].iloc[0])
    sent = form(
        biller_hour_cost="-5",
        min_expected_net="",
        comment="cheaper",
        **{f"payers.{payer}.appeal_window_days": "0", "categories.bundling.min_expected_net": "70"},
    )
    answer = post(editor, "/policy", sent)
    assert answer.status_code == 422
    cost = field(answer.text, "biller_hour_cost")
    assert 'value="-5"' in cost
    assert f'aria-describedby="{field_id("biller_hour_cost")}-error"' in cost
    assert 'aria-invalid="true"' in field(answer.text, f"payers.{payer}.appeal_window_days")
    assert 'aria-invalid="true"' in field(answer.text, "min_expected_net")
    assert 'value="70"' in field(answer.text, "categories.bundling.min_expected_net")
    assert 'value="cheaper"' in field(answer.text, "comment")
    assert "Not saved: 3 problems" in answer.text
    assert f'<a href="#{field_id("biller_hour_cost")}">Biller hour cost ($)</a>' in answer.text
    assert "Input should be greater than 0" in answer.text
    assert [v.version for v in store(editor).versions()] == [1]


def test_a_save_needs_its_comment(client: TestClient) -> None:
    answer = post(client, "/policy", form(comment=" "))
    assert answer.status_code == 422
    assert "Say what this version changes" in answer.text
    assert store(client).current().version == 1


def test_a_save_is_the_next_version_audited_and_confirmed(client: TestClient) -> None:
    sent = form(
        biller_hour_cost="55",
        comment="the new pay scale",
        patient_liable=["visit_limit", "duplicate"],
        **{"payers.PY-X.filing_limit_days": "90", "categories.bundling.action": "appeal"},
    )
    answer = post(client, "/policy", sent)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/policy?saved=2"
    saved = store(client).current()
    assert (saved.version, saved.biller_hour_cost, saved.note) == (2, 55, "the new pay scale")
    assert saved.patient_liable == ["visit_limit", "duplicate"]
    assert (saved.filing_limit("PY-X"), saved.window_days("PY-X")) == (90, None)
    assert saved.action_for("bundling") == "appeal"
    with client.app.state.database.scope().engine.connect() as connection:
        trail = [e for e in audit.events(connection) if e.event == "policy_saved"]
    assert [(e.detail["version"], e.detail["note"]) for e in trail] == [(2, "the new pay scale")]
    shown = client.get("/policy?saved=2", headers=auth("revops")).text
    assert '<p class="notice" role="status">Saved version 2.</p>' in shown
    assert 'value="55"' in field(shown, "biller_hour_cost")
    assert "the new pay scale" in shown


def test_a_save_from_a_stale_version_keeps_the_entries_and_links_to_the_current(
    client: TestClient,
) -> None:
    assert post(client, "/policy", form(comment="first")).status_code == 303
    answer = post(client, "/policy", form(biller_hour_cost="61", comment="second"))
    assert answer.status_code == 409
    assert "you edited version 1, but version 2 was saved since" in answer.text
    assert '<a href="/policy">Open version 2</a>' in answer.text
    assert 'href="/policy/diff?a=1&amp;b=2"' in answer.text
    assert 'value="61"' in field(answer.text, "biller_hour_cost")
    assert store(client).current().note == "first"


def test_the_diff_lists_the_changed_fields_old_and_new(client: TestClient) -> None:
    post(client, "/policy", form(biller_hour_cost="55", comment="pay"))
    for address in ("/policy/diff?a=1&b=2", "/policy/diff"):
        answer = client.get(address, headers=auth("revops"))
        assert answer.status_code == 200
        rows = re.findall(
            r"<tr><th scope=\"row\"><code>(.*?)</code></th><td>(.*?)</td><td>(.*?)</td>",
            answer.text,
        )
        assert rows == [("biller_hour_cost", "42", "55")]
    assert "No differences" in client.get("/policy/diff?a=2&b=2", headers=auth("revops")).text
    missing = client.get("/policy/diff?a=1&b=7", headers={**auth("revops"), **PAGE})
    assert missing.status_code == 404
    assert "there is no policy version 7" in missing.text


def test_restoring_saves_the_old_content_as_the_next_version(client: TestClient) -> None:
    post(client, "/policy", form(biller_hour_cost="55", comment="pay"))
    answer = post(client, "/policy/restore", {"version": "1", "base_version": "2"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/policy?saved=3"
    restored = store(client).current()
    assert (restored.version, restored.biller_hour_cost) == (3, 42)
    assert restored.note == "restored from version 1"
    with client.app.state.database.scope().engine.connect() as connection:
        notes = [e.detail["note"] for e in audit.events(connection) if e.event == "policy_saved"]
    assert notes == ["pay", "restored from version 1"]
    stale = post(client, "/policy/restore", {"version": "2", "base_version": "2"})
    assert stale.status_code == 409
    assert "Not restored:</strong> the page showed version 2 in force, but version 3" in stale.text
    assert 'value="42"' in field(stale.text, "biller_hour_cost")  # the form shows version 3
    assert post(client, "/policy/restore", {"version": "9", "base_version": "3"}).status_code == 404
    assert store(client).current().version == 3


def total_row(html: str) -> list[int]:
    """Appealed and accepted now, then in the draft, over all payers."""
    row = re.search(r'<tr class="total"><th scope="row">All payers</th>(.*?)</tr>', html)
    assert row, html[:2000]
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row.group(1))]


def test_simulate_shows_the_draft_beside_the_policy_in_force(editor: TestClient) -> None:
    answer = post(editor, "/policy/simulate", form(min_expected_net="1000000", budget_hours="25"))
    assert answer.status_code == 200, answer.text[:3000]
    assert "Simulation: the draft beside version 1" in answer.text
    assert answer.text.count('<th scope="colgroup" colspan="2">Draft</th>') == 2
    assert "a budget of 25 biller hours" in answer.text
    appeal_now, accept_now, appeal_draft, accept_draft = total_row(answer.text)
    assert appeal_now > 0
    assert (appeal_draft, accept_draft) == (0, appeal_now + accept_now)  # nothing is worth it
    assert 'value="1000000"' in field(answer.text, "min_expected_net")
    assert 'value="25"' in field(answer.text, "budget_hours")
    assert [v.version for v in store(editor).versions()] == [1]


def test_simulate_checks_the_draft_and_the_budget(editor: TestClient) -> None:
    answer = post(editor, "/policy/simulate", form(urgency_weight="-1", budget_hours="0"))
    assert answer.status_code == 422
    assert "Not simulated: 2 problems" in answer.text
    assert 'aria-invalid="true"' in field(answer.text, "budget_hours")
    assert "Simulation:" not in answer.text


def test_without_data_the_page_says_how_to_give_it(client: TestClient) -> None:
    no_data = post(client, "/policy/simulate", form(budget_hours="10"))
    assert no_data.status_code == 409
    assert "Cannot simulate: tenant &#39;default&#39; has no data directory" in no_data.text
    assert "Only payers already overridden are listed" in no_data.text


def test_without_a_recovery_model_the_page_says_so(
    editor: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(_settings):
        raise ModelUnavailableError("no recovery model registered")

    monkeypatch.setattr("queues.build.load_recovery", unavailable)
    no_model = post(editor, "/policy/simulate", form(budget_hours="10"))
    assert no_model.status_code == 503
    assert "Cannot simulate: no recovery model to value the denials with" in no_model.text
    assert 'value="10"' in field(no_model.text, "budget_hours")
