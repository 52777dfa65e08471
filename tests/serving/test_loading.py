"""Start-up says what it is doing: each loading step is logged with its duration."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from serving import loading
from settings import Settings


def test_each_loading_step_is_logged_with_its_duration(monkeypatch, caplog, bundle) -> None:
    monkeypatch.setattr(loading, "resolve_version", lambda _uri, _t: ("models:/m/3", "3"))
    monkeypatch.setattr(loading, "load_model", lambda _uri: SimpleNamespace(bundle=bundle))
    monkeypatch.setattr(loading.gc, "freeze", lambda: None)  # keep the test process as it is
    with caplog.at_level(logging.INFO, logger=loading.__name__):
        scorer = loading.load_scorer(Settings(model_uri="models:/m@champion"))
    assert scorer.version == "3"
    steps = [record.getMessage() for record in caplog.records]
    for name in (
        "registry lookup of models:/m@champion",
        "bundle download and load of models:/m/3",
        "feature state lookups",
        "code lists warm-up",
        "garbage collector freeze",
    ):
        assert any(
            message.startswith(f"{name}: ") and message.endswith(" s") for message in steps
        ), name
