"""What a request meets before a route reads it: the key, the size limit, and errors that
repeat no more than a prefix of what was sent; NaN and Infinity are 422s, not 500s."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from serving.api.app import create_app
from serving.api.guard import INPUT_PREFIX
from tests.serving.conftest import auth, scorer_for
from tests.serving.test_queue_routes import ranked_items

SCORE_LIMIT = 5_000
DEFAULT_LIMIT = 1_000


@pytest.fixture
def small_limits(settings, bundle):
    limited = settings.model_copy(
        update={
            "max_body_bytes": DEFAULT_LIMIT,
            "max_body_routes": {"POST /v1/claims/score": SCORE_LIMIT},
        }
    )
    with TestClient(create_app(limited, loader=lambda _s: scorer_for(bundle))) as client:
        yield client


def post_chunks(
    app, path: str, chunks: list[bytes], headers: dict[str, str]
) -> tuple[int, int, bytes]:
    """POST `chunks` to `app` over raw ASGI (a chunked body unless Content-Length is given):
    the status, how many chunks the app read, and the answer's body."""
    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        if read == len(chunks):
            return {"type": "http.disconnect"}
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], read, body


CHUNKS = [b"x" * 1_000] * 20


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-key"}])
def test_no_valid_key_is_a_401_without_reading_the_body(small_limits, headers) -> None:
    status, read, body = post_chunks(small_limits.app, "/v1/claims/score", CHUNKS, headers)
    assert status == 401
    assert read == 0, "the body of a caller without a key must not be read"
    assert "API key" in json.loads(body)["detail"]


def test_a_declared_length_over_the_limit_is_a_413_before_reading(small_limits) -> None:
    headers = {**auth("scrubber"), "Content-Length": str(SCORE_LIMIT + 1)}
    status, read, body = post_chunks(small_limits.app, "/v1/claims/score", CHUNKS, headers)
    assert (status, read) == (413, 0)
    assert f"{SCORE_LIMIT:,} bytes" in json.loads(body)["detail"]


def test_a_chunked_body_stops_being_read_at_the_limit(small_limits) -> None:
    status, read, _ = post_chunks(small_limits.app, "/v1/claims/score", CHUNKS, auth("scrubber"))
    assert status == 413
    assert read == SCORE_LIMIT // 1_000 + 1, "reading stops at the chunk passing the limit"


def test_the_role_is_still_checked_per_route(small_limits) -> None:
    status, read, _ = post_chunks(small_limits.app, "/v1/claims/score", [b"{}"], auth("biller"))
    assert (status, read) == (403, 0)


def test_routes_have_their_own_limits(small_limits, pending) -> None:
    scored = small_limits.post(
        "/v1/claims/score", json={"claims": pending[:4]}, headers=auth("scrubber")
    )
    assert scored.status_code == 200, "the score route's own limit is above the default"
    assert len(scored.request.content) > DEFAULT_LIMIT
    policy = small_limits.get("/v1/policy", headers=auth("revops")).json()
    padded = {**policy, "extra": "x" * DEFAULT_LIMIT}
    assert small_limits.put("/v1/policy", json=padded, headers=auth("revops")).status_code == 413


def test_public_paths_need_no_key(client) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/metrics"):
        assert client.get(path).status_code == 200, path
    assert client.get("/v1/policy").status_code == 401


def test_a_rejected_value_is_echoed_only_as_a_short_prefix(client, pending) -> None:
    claim = {**pending[0], "claim_id": "Z" * 200_000}
    answer = client.post("/v1/claims/score", json={"claims": [claim]}, headers=auth("scrubber"))
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["loc"] == ["body", "claims", 0, "claim_id"]
    assert problem["type"] == "string_too_long"
    assert len(problem["input"]) <= INPUT_PREFIX
    assert len(answer.content) < 1_000


def with_literal(payload: dict, literal: str) -> bytes:
    """`payload` as JSON with each "@@" replaced by the bare literal NaN, Infinity or -Infinity
    (which Python's json module reads)."""
    return json.dumps(payload).replace('"@@"', literal).encode()


LITERALS = ["NaN", "Infinity", "-Infinity"]


@pytest.mark.parametrize("literal", LITERALS)
def test_nan_or_infinity_in_a_claim_is_a_422_naming_the_field(client, pending, literal) -> None:
    answer = client.post(
        "/v1/claims/score",
        content=with_literal({"claims": [{**pending[0], "total_charge": "@@"}]}, literal),
        headers={**auth("scrubber"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert [p["loc"] for p in answer.json()["detail"]] == [["body", "claims", 0, "total_charge"]]


@pytest.mark.parametrize("literal", LITERALS)
def test_nan_or_infinity_in_an_outcome_is_a_422_naming_the_field(client, literal) -> None:
    client.app.state.queue.load(ranked_items(1), actor="test", policy_version="1")
    answer = client.post(
        "/v1/queue/items/D0/outcome",
        content=with_literal({"outcome": "overturned", "recovered_amount": "@@"}, literal),
        headers={**auth("biller"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert [p["loc"] for p in answer.json()["detail"]] == [["body", "recovered_amount"]]


@pytest.mark.parametrize("literal", LITERALS)
def test_nan_or_infinity_in_a_simulation_is_a_422_naming_the_field(client, literal) -> None:
    headers = {**auth("revops"), "Content-Type": "application/json"}
    draft = client.get("/v1/policy", headers=headers).json()
    for body, loc in [
        ({"budget_hours": "@@"}, ["body", "budget_hours"]),
        (
            {"budget_hours": 10, "policy": {**draft, "min_expected_net": "@@"}},
            ["body", "policy", "min_expected_net"],
        ),
    ]:
        answer = client.post(
            "/v1/policy/simulate", content=with_literal(body, literal), headers=headers
        )
        assert answer.status_code == 422, answer.text
        assert [p["loc"] for p in answer.json()["detail"]] == [loc]
