"""API keys in the database: added and revoked while the service runs, last use stamped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from serving.api.app import create_app
from serving.api.security import digest
from serving.keys import KeyRing, KeyStore, KeyStoreError
from settings import Settings
from storage.audit import events
from storage.database import Database
from storage.tenants import add_tenant
from tests.conftest import Clock
from tests.serving.conftest import auth, scorer_for

READY = "/v1/policy"  # any route a revops key may call


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    """The service's database, opened apart from the app (as the CLI would)."""
    with Database.from_settings(settings) as opened:
        yield opened


@pytest.fixture
def running(settings: Settings, bundle) -> Iterator[tuple[TestClient, Clock]]:
    """The service, its key ring on a clock the test moves (TTL 2 s, stamps once a minute)."""
    clock = Clock()
    with TestClient(create_app(settings, loader=lambda _s: scorer_for(bundle))) as client:
        client.app.state.keys.close()
        client.app.state.keys = KeyRing(
            settings.api_keys,
            KeyStore(client.app.state.database),
            cache_seconds=2,
            last_used_seconds=60,
            clock=clock,
        )
        yield client, clock


def _get(client: TestClient, key: str) -> int:
    return client.get(READY, headers={"Authorization": f"Bearer {key}"}).status_code


def test_a_key_added_or_revoked_elsewhere_takes_effect_within_the_cache_time(
    running, database: Database
) -> None:
    client, clock = running
    store = KeyStore(database)
    assert _get(client, "not-yet") == 401  # the ring has read the keys now
    key, key_id = store.add("revops", by="ops")
    assert _get(client, key) == 401
    clock.advance(1.9)
    assert _get(client, key) == 401
    clock.advance(0.1)
    assert _get(client, key) == 200
    store.revoke(key_id, by="ops")
    clock.advance(1)
    assert _get(client, key) == 200
    clock.advance(1)
    assert _get(client, key) == 401
    assert _get(client, "revops-key") == 200  # bootstrap keys are unaffected


def test_last_use_is_stamped_at_most_once_a_minute(running, database: Database) -> None:
    client, clock = running
    store = KeyStore(database)
    key, key_id = store.add("biller", by="ops")
    clock.advance(2)
    first_use = clock.now
    assert _get(client, key) == 200
    client.app.state.keys.flush()
    assert store.list_keys()[0].last_used_at == first_use
    clock.advance(59)
    assert _get(client, key) == 200
    client.app.state.keys.flush()
    assert store.list_keys()[0].last_used_at == first_use
    clock.advance(1)
    assert _get(client, key) == 200
    client.app.state.keys.close()
    assert store.list_keys()[0].last_used_at == clock.now
    assert store.list_keys()[0].key_id == key_id


def test_keys_are_listed_without_secrets_and_their_changes_audited(database: Database) -> None:
    store = KeyStore(database)
    key, key_id = store.add("admin", by="ana")
    _, other = store.add("biller", by="ana")
    store.revoke(key_id, by="raj")
    store.revoke(key_id, by="raj")  # again: nothing changes, nothing audited
    listed = {info.key_id: info for info in store.list_keys()}
    assert set(listed) == {key_id, other}
    assert (listed[key_id].role, listed[key_id].created_by) == ("admin", "ana")
    assert listed[key_id].revoked_at is not None
    assert listed[other].revoked_at is None
    assert digest(key) not in repr(store.list_keys())
    assert [caller.name for caller in store.active().values()] == [other]
    with database.scope().engine.connect() as connection:
        trail = [(e.event, e.actor, e.claim_id, e.detail["key_id"]) for e in events(connection)]
    assert trail == [
        ("key_created", "ana", None, key_id),
        ("key_created", "ana", None, other),
        ("key_revoked", "raj", None, key_id),
    ]


def test_bad_roles_and_unknown_ids_are_refused(database: Database) -> None:
    store = KeyStore(database)
    with pytest.raises(KeyStoreError, match="role must be one of"):
        store.add("janitor", by="ana")
    with pytest.raises(KeyStoreError, match="no API key with id 'nope'"):
        store.revoke("nope", by="ana")
    with pytest.raises(KeyStoreError, match="name"):
        store.add("biller", by="")


def test_a_json_key_store_is_imported_once_and_revocations_stick(
    database: Database, tmp_path
) -> None:
    legacy = tmp_path / "keys.json"
    entries = [
        {"key_id": digest(key)[:12], "sha256": digest(key), "role": role}
        for key, role in (("old-one", "biller"), ("old-two", "revops"))
    ]
    legacy.write_text(json.dumps(entries))
    store = KeyStore(database, legacy_file=legacy)
    assert {c.role for c in store.active().values()} == {"biller", "revops"}
    store.revoke(digest("old-one")[:12], by="ops")
    # Written into the file after the upgrade: history, not a way to make a key.
    entries.append({"key_id": digest("planted")[:12], "sha256": digest("planted"), "role": "admin"})
    legacy.write_text(json.dumps(entries))
    again = KeyStore(database, legacy_file=legacy)
    assert len(again.list_keys()) == 2
    assert set(again.active()) == {digest("old-two")}
    with database.scope().engine.connect() as connection:
        assert [e.event for e in events(connection)] == ["key_created"] * 2 + ["key_revoked"]


def test_a_bad_json_key_store_is_an_error_naming_it(database: Database, tmp_path) -> None:
    legacy = tmp_path / "keys.json"
    legacy.write_text(json.dumps([{"key_id": "x", "sha256": "y", "role": "janitor"}]))
    with pytest.raises(KeyStoreError, match=r"keys\.json, entry 0"):
        KeyStore(database, legacy_file=legacy)


def test_the_service_imports_the_json_key_store_on_start(settings: Settings, bundle) -> None:
    settings.key_store.write_text(
        json.dumps([{"key_id": "legacy", "sha256": digest("legacy-key"), "role": "revops"}])
    )
    with TestClient(create_app(settings, loader=lambda _s: scorer_for(bundle))) as client:
        assert _get(client, "legacy-key") == 200
        assert client.get(READY, headers=auth("biller")).status_code == 200


def test_the_key_check_reads_the_table_off_the_event_loop(
    running, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow or locked database must not hold up every request, /healthz included: the
    table is re-read in the thread pool, never on the event loop."""
    client, clock = running
    key, _ = KeyStore(database).add("revops", by="ops")
    on_the_loop: list[bool] = []
    read = KeyStore.active_in_every_tenant

    def watched(store: KeyStore) -> dict:
        try:
            asyncio.get_running_loop()
            on_the_loop.append(True)
        except RuntimeError:
            on_the_loop.append(False)
        return read(store)

    monkeypatch.setattr(KeyStore, "active_in_every_tenant", watched)
    for _ in range(3):
        clock.advance(2)
        assert _get(client, key) == 200
    assert on_the_loop == [False, False, False]


def test_bootstrap_keys_name_their_tenant_or_act_on_default() -> None:
    ring = KeyRing("k1:biller, k2:revops:north", None, cache_seconds=2, last_used_seconds=60)
    plain, north = ring.caller("k1"), ring.caller("k2")
    assert (plain.role, plain.tenant, north.role, north.tenant) == (
        "biller",
        "default",
        "revops",
        "north",
    )
    assert ring.caller("k3") is None
    for bad in ("k:janitor", "k:biller:North Clinic", "k:biller:north:extra", ":biller"):
        with pytest.raises(ValueError, match="need key:role or key:role:tenant") as refused:
            KeyRing(bad, None, cache_seconds=2, last_used_seconds=60)
        assert "k:" not in str(refused.value)  # the key itself is never repeated
    secret = "Zq9xW7vB4tN2mK"  # an entry without a colon: all of it is the key
    with pytest.raises(ValueError, match="entry #2: need") as refused:
        KeyRing(f"k1:biller,{secret}", None, cache_seconds=2, last_used_seconds=60)
    message = str(refused.value)
    assert not any(secret[i : i + 3] in message for i in range(len(secret) - 2)), message


def test_a_stored_key_resolves_to_its_tenant(database: Database) -> None:
    add_tenant(database, "north", by="test")
    key, key_id = KeyStore(database, tenant="north").add("scrubber", by="ops")
    ring = KeyRing("", KeyStore(database), cache_seconds=2, last_used_seconds=60)
    found = ring.caller(key)
    assert (found.name, found.role, found.tenant) == (key_id, "scrubber", "north")
    assert digest(key) not in KeyStore(database).active()  # not the default tenant's key
    ring.close()


def test_a_bootstrap_key_of_an_unknown_tenant_stops_the_start(settings: Settings, bundle) -> None:
    settings = settings.model_copy(update={"api_keys": "k1:biller:nowhere"})
    app = create_app(settings, loader=lambda _s: scorer_for(bundle))
    with pytest.raises(ValueError, match=r"tenant\(s\) nowhere that do not exist"), TestClient(app):
        pass
