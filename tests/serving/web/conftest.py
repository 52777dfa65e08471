"""Browser tests of the web pages: the service runs in a thread on a free port, with a
queue ranked from synthetic data, and Debian's Chromium (driven by pytest-playwright)
works it as people would, finding controls by role and label.

Chromium is Debian's (`make test` installs it where missing); Playwright cannot download
its own browser here. Screenshots go to artifacts/screenshots/ (the test artifacts).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr

from data_contracts.reader import ContractData, read_data_dir
from queues.build import build_queue
from queues.store import WorkQueue
from serving.api.app import create_app
from settings import Settings
from synthetic import generate, write_synthetic
from tests.serving.conftest import scorer_for
from tests.serving.live import serving
from training.recovery import fit_recovery

CHROMIUM = Path(os.environ.get("DENIALOPS_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"
TODAY = date.today()
PEOPLE = {"ana": "biller", "ben": "biller", "lena": "billing_lead"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright launches Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM} (make test installs it)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """The size the pages are made for."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="package")
def web_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ContractData]:
    """A small synthetic practice whose extract ends today, so deadlines lie ahead."""
    out = tmp_path_factory.mktemp("web-data")
    write_synthetic(generate(6_000, seed=23, ends_on=TODAY), out)
    return out, read_data_dir(out)


@dataclass(frozen=True)
class Site:
    url: str
    settings: Settings
    app: object

    @property
    def queue(self) -> WorkQueue:
        return self.app.state.queue


@pytest.fixture(scope="package")
def site(
    web_data: tuple[Path, ContractData],
    bundle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    """The service with sign-in on over plain http, the tenant's queue loaded, and three
    people: `ana` and `ben` (billers) and `lena` (billing lead)."""
    folder, data = web_data
    tmp = tmp_path_factory.mktemp("web-site")
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'web.db'}",
        policy_path=tmp / "policy.yaml",
        key_store=tmp / "keys.json",
        queue_data_dir=folder,
        session_secret=SecretStr("w" * 40),
        session_cookie_secure=False,
        max_boost_rounds=60,
    )
    recovery = fit_recovery(data, settings).bundle
    mp = pytest.MonkeyPatch()
    mp.setattr("queues.build.load_recovery", lambda _settings: (recovery, "1"))
    ranked = build_queue(data, settings)
    with WorkQueue.from_settings(settings) as queue:
        queue.load(ranked.ranked, actor="test", policy_version=str(ranked.policy.version))
    app = create_app(settings, loader=lambda _s: scorer_for(bundle))
    try:
        with serving(app) as url:
            for username, role in PEOPLE.items():
                app.state.people.add("default", username, role, PASSWORD, by="test")
            yield Site(url, settings, app)
    finally:
        mp.undo()


def sign_in(page, site: Site, username: str = "ana", then: str = "/queue") -> None:
    """Sign in through the sign-in page, as a person does."""
    page.goto(f"{site.url}{then}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}{then}*")


def screenshot(page, name: str) -> Path:
    """A full-page PNG of what the person sees, kept as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
