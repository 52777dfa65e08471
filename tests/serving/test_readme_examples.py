"""The README's "The API by example" section, run as written against a live service.

A newcomer copies these commands; they must work, and every route must have one. The
service runs in a thread (uvicorn on a free loopback port) on a small synthetic data
directory laid out as `make demo` leaves it (`data/demo/request.json`, `admin.key`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from data_contracts.reader import read_data_dir
from data_contracts.records import records_from_tables
from queues.build import build_queue
from queues.store import WorkQueue
from serving.api.app import create_app
from settings import Settings
from synthetic import generate, write_synthetic
from tests.serving.conftest import KEYS, scorer_for
from tests.serving.live import serving
from training.recovery import fit_recovery

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## The API by example"
DEMO_URL = "http://127.0.0.1:8000"


def examples() -> list[str]:
    """The section's bash blocks, in order."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)


def commands() -> list[str]:
    """Each command on one line (continuation backslashes joined)."""
    return [
        line
        for block in examples()
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_every_route_of_the_service_has_an_example(settings, bundle) -> None:
    """Built from the app's published routes (its OpenAPI document: FastAPI includes routers
    lazily, so `app.routes` does not list them), so a new route without an example fails."""
    app = create_app(settings, loader=lambda _s: scorer_for(bundle))
    lines = commands()
    routes = {path: set(item) for path, item in app.openapi()["paths"].items()}
    assert "/v1/claims/score" in routes
    for path, methods in routes.items():
        url = re.escape("$URL" + path.replace("{claim_id}", "$CLAIM"))
        calls = [line for line in lines if re.search(url + r"(?=[\s\"?|]|$)", line)]
        for method in (m.upper() for m in methods):
            sent = [
                c for c in calls if (" -X " not in c if method == "GET" else f"-X {method} " in c)
            ]
            assert sent, f"README.md has no example of {method} {path}"


@pytest.fixture
def demo_service(
    settings: Settings, bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Settings]]:
    """A live service over a directory laid out as `make demo` leaves it."""
    demo = tmp_path / "data" / "demo"
    write_synthetic(generate(8_000, seed=41), demo)  # the data the `bundle` fixture learnt
    data = read_data_dir(demo)
    recovery = fit_recovery(data, Settings(max_boost_rounds=60)).bundle
    # The registry is not what this test is about: the simulation ranks with this model.
    monkeypatch.setattr("queues.build.load_recovery", lambda _settings: (recovery, "1"))
    settings = settings.model_copy(
        update={
            "queue_data_dir": demo,
            # As the README starts the service: sign-in on, over plain http.
            "session_secret": SecretStr("r" * 40),
            "session_cookie_secure": False,
        }
    )
    pending = data.claims[~data.claims["claim_id"].isin(data.remits["claim_id"])].tail(1)
    lines = data.claim_lines[data.claim_lines["claim_id"].isin(pending["claim_id"])]
    body = {"claims": records_from_tables(pending, lines)}
    (demo / "request.json").write_text(json.dumps(body), encoding="utf-8")
    (demo / "admin.key").write_text(KEYS["admin"] + "\n", encoding="utf-8")
    ranked = build_queue(data, settings)
    with WorkQueue.from_settings(settings) as queue:
        queue.load(ranked.ranked, actor="demo", policy_version=str(ranked.policy.version))

    with serving(create_app(settings, loader=lambda _s: scorer_for(bundle))) as url:
        yield url, settings


def test_the_readme_examples_run_as_written(demo_service, tmp_path: Path) -> None:
    url, settings = demo_service
    script = "\n".join(examples())
    assert f"URL={DEMO_URL}" in script, "the examples start by naming the service's URL"
    script = script.replace(f"URL={DEMO_URL}", f"URL={url}")
    script = script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DENIALOPS_DATABASE_URL": settings.database_url,
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    # What the examples did is what a reader expects to see.
    assert '"band"' in done.stdout
    assert "denialops_queue_open_items" in done.stdout
    assert '"outcome":"upheld"' in done.stdout.replace(" ", "")
    assert '"strategies"' in done.stdout
    assert '"denial_rate"' in done.stdout
    assert "audit rows verified" in done.stdout
    assert '"via":"session"' in done.stdout.replace(" ", "")
