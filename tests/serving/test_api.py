"""The scoring API as the scrubbing hook meets it: shapes, roles, errors, audit, reload."""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import threading

import pytest
import sqlalchemy as sa
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient
from pydantic import ValidationError

from data_contracts import codes, plausibility
from data_contracts.enums import DENIAL_CATEGORIES
from serving.api.app import create_app
from serving.api.claims import _collector_paused, _validate_in_steps
from serving.api.schemas import ClaimIn, ScoreRequest
from serving.api.security import digest
from serving.loading import ModelUnavailableError
from serving.scorer import ROW_PATH_MAX_CLAIMS
from tests.data_contracts.plausibility_cases import IMPLAUSIBLE, PLAUSIBLE_IDS, Implausible
from tests.serving.conftest import KEYS, auth, scorer_for


def test_health_and_readiness(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["model_version"] == "7"


def test_missing_model_is_a_clear_503_not_a_crash(settings) -> None:
    def no_model(_settings):
        raise ModelUnavailableError("cannot load models:/denial-risk@champion: not registered")

    with TestClient(create_app(settings, loader=no_model)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "not registered" in ready.json()["detail"]
        scored = client.post("/v1/claims/score", json={"claims": []}, headers=auth("scrubber"))
        assert scored.status_code in (422, 503)


def test_score_answers_in_request_order_with_the_contract_shape(client, pending) -> None:
    response = client.post("/v1/claims/score", json={"claims": pending}, headers=auth("scrubber"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == "7"
    assert [r["claim_id"] for r in body["results"]] == [c["claim_id"] for c in pending]
    for result in body["results"]:
        assert 0 <= result["p_denial"] <= 1
        assert result["band"] in ("pass", "review", "hold")
        for fix in result["fixes"]:
            assert fix["fix_code"] in DENIAL_CATEGORIES
            assert 0 <= fix["p_denial_after"] <= 1
        if result["band"] != "pass":
            assert result["drivers"]


def test_time_band_edit_names_the_right_code_and_lowers_the_risk(client, pending) -> None:
    claim = copy.deepcopy(pending[0])
    claim["lines"] = [
        {
            "line_number": 1,
            "procedure_code": "90837",
            "modifiers": [],
            "units": 1,
            "minutes": 45,
            "line_charge": 200.0,
            "revenue_code": None,
        }
    ]
    claim["program"], claim["place_of_service"], claim["total_charge"] = "OP", "11", 200.0
    result = client.post(
        "/v1/claims/score", json={"claims": [claim]}, headers=auth("scrubber")
    ).json()["results"][0]
    fix = next(f for f in result["fixes"] if f["fix_code"] == "time_code_mismatch")
    assert fix["rule_hit"]
    assert "90837 needs 53+ documented minutes; 45 are documented — bill 90834" in fix["text"]
    assert fix["p_denial_after"] < result["p_denial"]


@pytest.mark.parametrize(("role", "expected"), [("scrubber", 200), ("admin", 200), ("biller", 403)])
def test_only_scrubbers_and_admins_may_score(client, pending, role, expected) -> None:
    response = client.post("/v1/claims/score", json={"claims": pending[:1]}, headers=auth(role))
    assert response.status_code == expected


def test_missing_or_unknown_key_is_401(client, pending) -> None:
    assert client.post("/v1/claims/score", json={"claims": pending[:1]}).status_code == 401
    bad = {"Authorization": "Bearer not-a-key"}
    assert (
        client.post("/v1/claims/score", json={"claims": pending[:1]}, headers=bad).status_code
        == 401
    )


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("lines", 0, "procedure_code"), "9083", "procedure_code"),
        (("primary_dx",), "3F3.1", "primary_dx"),
        (("lines", 0, "minutes"), -5, "minutes"),
        (("plan_type",), "commerciall", "plan_type"),
        (("unexpected",), "x", "unexpected"),
        (("service_date",), "2024-02-30", "service_date"),
    ],
)
def test_bad_fields_are_422s_naming_the_field(client, pending, path, value, field) -> None:
    claim = copy.deepcopy(pending[0])
    target = claim
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    response = client.post("/v1/claims/score", json={"claims": [claim]}, headers=auth("scrubber"))
    assert response.status_code == 422
    assert field in response.text


def test_too_many_lines_or_claims_are_422(client, pending) -> None:
    claim = copy.deepcopy(pending[0])
    claim["lines"] = [dict(claim["lines"][0], line_number=i + 1) for i in range(51)]
    assert (
        client.post(
            "/v1/claims/score", json={"claims": [claim]}, headers=auth("scrubber")
        ).status_code
        == 422
    )
    many = [dict(pending[0], claim_id=f"C{i}") for i in range(1001)]
    assert (
        client.post("/v1/claims/score", json={"claims": many}, headers=auth("scrubber")).status_code
        == 422
    )


def test_a_request_past_the_row_path_size_answers_every_claim_in_order(client, pending) -> None:
    many = [
        dict(pending[i % len(pending)], claim_id=f"C{i}") for i in range(ROW_PATH_MAX_CLAIMS + 1)
    ]
    response = client.post("/v1/claims/score", json={"claims": many}, headers=auth("scrubber"))
    assert response.status_code == 200
    assert [r["claim_id"] for r in response.json()["results"]] == [c["claim_id"] for c in many]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"submission_date": "1999-01-01"}, "submission_date is before service_date"),
        ({"frequency_code": "7"}, "frequency_code 7 or 8 needs original_claim_id"),
        ({"lines": "repeat"}, "line_number repeats within the claim"),
    ],
)
def test_each_contract_rule_across_fields_is_a_422(client, pending, change, message) -> None:
    claim = copy.deepcopy(pending[0])
    claim.update(change)
    if change.get("lines") == "repeat":
        claim["lines"] = [pending[0]["lines"][0], pending[0]["lines"][0]]
    response = client.post("/v1/claims/score", json={"claims": [claim]}, headers=auth("scrubber"))
    assert response.status_code == 422
    assert message in response.text


def test_a_claim_id_twice_in_one_request_is_a_422(client, pending) -> None:
    response = client.post(
        "/v1/claims/score", json={"claims": [pending[0], pending[0]]}, headers=auth("scrubber")
    )
    assert response.status_code == 422
    assert "claim_id repeats" in response.text


def test_unseen_payer_and_code_still_score(client, pending) -> None:
    claim = copy.deepcopy(pending[0])
    claim["payer_id"], claim["lines"][0]["procedure_code"] = "NEW-PAYER", "H2019"
    response = client.post("/v1/claims/score", json={"claims": [claim]}, headers=auth("scrubber"))
    assert response.status_code == 200
    assert 0 <= response.json()["results"][0]["p_denial"] <= 1


def test_every_decision_is_audited_and_the_trail_is_append_only(client, settings, pending) -> None:
    client.post("/v1/claims/score", json={"claims": pending[:3]}, headers=auth("scrubber"))
    engine = sa.create_engine(settings.database_url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT claim_id, model_version, key_id, band FROM scoring_audit"
        ).fetchall()
    assert [r[0] for r in rows] == [c["claim_id"] for c in pending[:3]]
    assert {r[1] for r in rows} == {"7"}
    assert all(r[2] and r[2] != "scrub-key" for r in rows)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.exec_driver_sql("UPDATE scoring_audit SET band = 'pass'")


def test_reload_swaps_the_model_for_later_requests(settings, bundle, pending) -> None:
    versions = iter(["1", "2"])
    app = create_app(settings, loader=lambda _s: scorer_for(bundle, next(versions)))
    score = {"json": {"claims": pending[:1]}, "headers": auth("scrubber")}
    with TestClient(app) as client:
        assert client.post("/v1/claims/score", **score).json()["model_version"] == "1"
        assert client.post("/v1/admin/reload", headers=auth("scrubber")).status_code == 403
        reloaded = client.post("/v1/admin/reload", headers=auth("admin"))
        assert reloaded.json() == {"model_version": "2"}
        assert client.post("/v1/claims/score", **score).json()["model_version"] == "2"
        trail = client.app.state.queue.audit()
    assert [(event.event, event.claim_id, event.detail) for event in trail] == [
        ("model_reloaded", None, {"from": "1", "to": "2"})
    ]
    assert trail[0].actor == digest(KEYS["admin"])[:12]


class _TrailDown:
    """A database whose writes fail, as when the disk is full or the server gone."""

    def scope(self, _tenant: str = "default") -> _TrailDown:
        return self

    @contextlib.contextmanager
    def writing(self):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is gone"))
        yield


def test_a_reload_that_cannot_be_audited_is_refused_and_not_done(settings, bundle, pending) -> None:
    versions = iter(["1", "2"])
    app = create_app(settings, loader=lambda _s: scorer_for(bundle, next(versions)))
    score = {"json": {"claims": pending[:1]}, "headers": auth("scrubber")}
    with TestClient(app) as client:
        client.app.state.database = _TrailDown()
        refused = client.post("/v1/admin/reload", headers=auth("admin"))
        assert refused.status_code == 503
        assert "audit" in refused.json()["detail"]
        assert client.post("/v1/claims/score", **score).json()["model_version"] == "1"


def test_reload_under_load_loses_no_request(settings, bundle, pending) -> None:
    """Four clients score continuously while the model is reloaded three times."""
    counter = iter(range(1, 100))
    app = create_app(settings, loader=lambda _s: scorer_for(bundle, str(next(counter))))
    statuses: list[int] = []
    versions: list[list[int]] = [[] for _ in range(4)]
    lock = threading.Lock()
    with TestClient(app) as client:

        def hammer(slot: int) -> None:
            for _ in range(10):
                response = client.post(
                    "/v1/claims/score", json={"claims": pending[:2]}, headers=auth("scrubber")
                )
                with lock:
                    statuses.append(response.status_code)
                versions[slot].append(int(response.json()["model_version"]))

        threads = [threading.Thread(target=hammer, args=(slot,)) for slot in range(4)]
        for thread in threads:
            thread.start()
        for _ in range(3):
            assert client.post("/v1/admin/reload", headers=auth("admin")).status_code == 200
        for thread in threads:
            thread.join()
    assert statuses == [200] * 40
    for seen in versions:
        assert seen == sorted(seen)


# --- plausibility: the same rules as the reader (tests/data_contracts/test_reader.py) -------


def _post(client, claim: dict):
    return client.post("/v1/claims/score", json={"claims": [claim]}, headers=auth("scrubber"))


@pytest.mark.parametrize("case", IMPLAUSIBLE, ids=lambda case: f"{case.column}={case.value!r}")
def test_implausible_values_are_422s_naming_the_field(client, pending, case: Implausible) -> None:
    claim = copy.deepcopy(pending[0])
    target = claim
    for step in case.api_path[:-1]:
        target = target[step]
    target[case.api_path[-1]] = case.api_value

    response = _post(client, claim)

    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert case.column in [*error["loc"], *error["msg"].split()]
    if case.rule not in (plausibility.AMOUNT_RULE, plausibility.ID_LENGTH_RULE):
        assert case.rule in error["msg"]  # limits of length and size say it in pydantic's words


@pytest.mark.parametrize("identifier", PLAUSIBLE_IDS)
def test_printable_identifiers_with_inner_blanks_score(client, pending, identifier) -> None:
    claim = dict(pending[0], claim_id=identifier, patient_id=identifier)

    response = _post(client, claim)

    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["claim_id"] == identifier


def test_a_total_within_a_cent_of_its_lines_scores(client, pending) -> None:
    claim = dict(pending[0], total_charge=pending[0]["total_charge"] + 0.01)
    assert _post(client, claim).status_code == 200


def test_lower_case_and_undotted_icd10_codes_score_as_the_canonical_codes(client, pending) -> None:
    claim = copy.deepcopy(pending[0])
    claim["primary_dx"], claim["secondary_dx"] = "F33.1", ["F41.1", "Z63.0"]
    lenient = dict(claim, primary_dx="f331", secondary_dx=[" f411", "Z630"])

    parsed = ClaimIn.model_validate(lenient)
    assert (parsed.primary_dx, parsed.secondary_dx) == ("F33.1", ["F41.1", "Z63.0"])
    assert codes.normal_icd10("f331") == parsed.primary_dx
    canonical, normalised = _post(client, claim), _post(client, lenient)
    assert normalised.status_code == 200, normalised.text
    assert normalised.json()["results"] == canonical.json()["results"]


def test_what_no_normalisation_makes_a_code_is_still_a_422(client, pending) -> None:
    response = _post(client, dict(pending[0], primary_dx="f3"))
    assert response.status_code == 422
    assert "primary_dx" in response.json()["detail"][0]["loc"]


def _large_body(pending: list[dict], n: int = 120, **changes_at: dict) -> dict:
    """`n` claims (well past the size validated on the event loop), some changed by index."""
    claims = [dict(pending[i % len(pending)], claim_id=f"L{i}") for i in range(n)]
    for index, change in changes_at.items():
        claims[int(index.removeprefix("at"))].update(change)
    return {"claims": claims}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda p: _large_body(p), id="valid"),
        pytest.param(
            lambda p: _large_body(p, at60={"program": "SPA"}, at117={"units_x": 1}), id="claims"
        ),
        pytest.param(lambda p: _large_body(p, at99={"claim_id": "L3"}), id="repeated-id"),
        pytest.param(
            lambda p: {"claims": [dict(p[0], program="SPA")], "extra": 1}, id="every-claim-refused"
        ),
        pytest.param(
            lambda p: _large_body(p, at5={"claim_id": "L3"}, at7={"units": 0}), id="id-and-claim"
        ),
        pytest.param(lambda p: {**_large_body(p), "extra": 1}, id="extra-field"),
        pytest.param(lambda p: _large_body(p, n=1001), id="too-many"),
        pytest.param(lambda _p: {"claims": []}, id="empty"),
        pytest.param(lambda _p: [1, 2], id="not-an-object"),
    ],
)
def test_large_bodies_validated_in_steps_answer_as_one_pass_would(pending, body) -> None:
    """The large-body path validates a few claims per call (so /healthz keeps answering);
    it must accept and refuse exactly what one pass of the request model does."""
    raw = json.dumps(body(pending)).encode()
    try:
        expected = ScoreRequest.model_validate_json(raw)
    except ValidationError as error:
        with pytest.raises(RequestValidationError) as refused:
            _validate_in_steps(raw)
        located = {(("body", *e["loc"]), e["type"]) for e in error.errors()}
        assert {(tuple(e["loc"]), e["type"]) for e in refused.value.errors()} == located
    else:
        assert _validate_in_steps(raw) == expected


def test_the_collector_pauses_while_any_large_request_runs() -> None:
    """Its full passes stall the event loop; it must come back once the last one ends."""
    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
        with _collector_paused():  # a second large request, overlapping
            assert not gc.isenabled()
        assert not gc.isenabled(), "the first request still runs"
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("a failed request")
    assert gc.isenabled()
