"""/metrics: Prometheus text with requests by route template, the model, bands and queue depth;
never a claim id."""

from __future__ import annotations

import re

from tests.serving.conftest import auth
from tests.serving.test_queue_routes import ranked_items

SECRET_IDS = [f"PHI-CLAIM-{i}" for i in range(3)]


def test_metrics_expose_routes_model_bands_and_queue_depth(client, pending) -> None:
    client.app.state.queue.load(
        ranked_items(3).assign(claim_id=SECRET_IDS), actor="test", policy_version="1"
    )
    scored = client.post("/v1/claims/score", json={"claims": pending[:3]}, headers=auth("scrubber"))
    client.post("/v1/queue/next", headers=auth("biller"))
    client.post(f"/v1/queue/items/{SECRET_IDS[0]}/release", headers=auth("biller"))
    client.get(f"/v1/no-such-route/{SECRET_IDS[1]}", headers=auth("biller"))
    client.post(f"/v1/queue/items/{SECRET_IDS[2]}/resolve", headers={})  # refused: no key

    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert re.search(
        r'http_requests_total\{handler="/v1/claims/score",method="POST",status="2xx"\} 1\.0', text
    )
    assert 'handler="/v1/queue/items/{claim_id}/release"' in text
    assert 'handler="/v1/queue/items/{claim_id}/resolve",method="POST",status="4xx"' in text
    assert (
        'http_request_duration_seconds_count{handler="/v1/claims/score",method="POST"} 1.0' in text
    )
    assert 'denialops_model_info{version="7"} 1.0' in text
    bands = [r["band"] for r in scored.json()["results"]]
    for band in set(bands):
        assert f'denialops_scored_claims_total{{band="{band}"}} {float(bands.count(band))}' in text
    assert "denialops_queue_open_items 3.0" in text
    for claim_id in SECRET_IDS + [c["claim_id"] for c in pending[:3]]:
        assert claim_id not in text


def test_queue_depth_counts_open_items_only(client) -> None:
    client.app.state.queue.load(ranked_items(4), actor="test", policy_version="1")
    client.post("/v1/queue/next", headers=auth("biller"))
    resolved = client.post(
        "/v1/queue/items/D0/resolve",
        json={"action": "appeal", "effort_minutes": 10},
        headers=auth("biller"),
    )
    assert resolved.status_code == 200
    assert client.app.state.queue.count_open() == 3
    assert "denialops_queue_open_items 3.0" in client.get("/metrics").text
