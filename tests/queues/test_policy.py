"""The policy: RevOps' numbers, checked, versioned in the database, never lost to a race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import yaml

from queues.policy import (
    Change,
    Policy,
    PolicyConflictError,
    PolicyError,
    PolicyStore,
    PolicyVersion,
    default_policy,
    diff_policies,
    parse_policy,
)
from storage.audit import verify
from storage.database import Database


def _yaml(**changes) -> str:
    raw = default_policy().model_dump(mode="json") | changes
    return yaml.safe_dump(raw)


def test_the_shipped_default_is_in_force_until_a_policy_is_saved(database: Database) -> None:
    store = PolicyStore(database)
    assert store.current() == default_policy()
    assert store.current().version == 1


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"biller_hour_cost": -5}, "biller_hour_cost"),
        ({"actions": {"missing_auth": "pray"}}, "actions.missing_auth"),
        ({"patient_liable": ["visit_limits"]}, "visit_limits"),
        ({"surprise": 1}, "surprise"),
        ({"payers": {"PY-1": {"appeal_window_days": 0}}}, "payers.PY-1.appeal_window_days"),
    ],
)
def test_a_bad_field_is_an_error_naming_file_and_field(changes, names) -> None:
    with pytest.raises(PolicyError, match=r"my\.yaml") as error:
        parse_policy(_yaml(**changes), "my.yaml")
    assert names in str(error.value)


def test_an_old_blanket_appeal_window_is_dropped_with_a_warning(caplog) -> None:
    """Saved before deadlines were learned: still loads, but no payer gets an invented window."""
    policy = parse_policy(_yaml(appeal_window_days=90), "v3 in the database")
    assert policy.window_days("PY-A") is None
    assert "appeal_window_days (90) is no longer used" in caplog.text
    assert "v3 in the database" in caplog.text


def test_a_payers_configured_deadlines_are_its_own() -> None:
    payers = {"PY-A": {"appeal_window_days": 45, "filing_limit_days": 120}}
    policy = parse_policy(_yaml(payers=payers), "p.yaml")
    assert (policy.window_days("PY-A"), policy.filing_limit("PY-A")) == (45, 120)
    assert (policy.window_days("PY-B"), policy.filing_limit("PY-B")) == (None, None)


def test_every_category_needs_an_action() -> None:
    actions = dict(default_policy().actions)
    del actions["duplicate"]
    with pytest.raises(PolicyError, match="duplicate"):
        parse_policy(_yaml(actions=actions), "p.yaml")


def test_saving_makes_the_next_version_and_keeps_the_previous(database: Database) -> None:
    store = PolicyStore(database)
    first = store.save(default_policy().model_copy(update={"min_expected_net": 30}), "ana")
    second = store.save(first.model_copy(update={"min_expected_net": 50}), "raj")
    assert (first.version, second.version) == (2, 3)
    assert store.current() == second
    assert (store.current().min_expected_net, store.current().updated_by) == (50, "raj")
    kept = store.version(2)
    assert (kept.version, kept.min_expected_net, kept.updated_by) == (2, 30, "ana")
    assert store.version(1) == default_policy()


def test_a_save_from_an_old_version_is_refused_naming_the_current(database: Database) -> None:
    store = PolicyStore(database)
    store.save(default_policy().model_copy(update={"min_expected_net": 30}), "ana")
    stale = default_policy().model_copy(update={"min_expected_net": 99})
    with pytest.raises(PolicyConflictError, match="version 2 is in force") as refused:
        store.save(stale, "raj")
    assert refused.value.current_version == 2
    assert store.current().min_expected_net == 30


def _race(store: PolicyStore, editors: int, round_: int) -> list[Policy | int]:
    """`editors` threads save their own draft of the version in force at the same moment;
    each outcome is the saved policy or, when refused, the version the refusal names."""
    base = store.current()
    start = threading.Barrier(editors)

    def save(editor: int) -> Policy | int:
        draft = base.model_copy(
            update={"min_expected_net": float(100 * round_ + editor), "note": f"editor {editor}"}
        )
        start.wait()
        try:
            return store.save(draft, f"editor-{editor}")
        except PolicyConflictError as error:
            return error.current_version

    with ThreadPoolExecutor(editors) as pool:
        return list(pool.map(save, range(editors)))


def test_concurrent_saves_from_one_base_one_wins_and_nothing_is_lost(database: Database) -> None:
    """Three rounds of ten RevOps editors saving at once from the version in force."""
    store = PolicyStore(database)
    winners: list[Policy] = []
    for round_ in range(3):
        outcomes = _race(store, 10, round_)
        saved = [outcome for outcome in outcomes if isinstance(outcome, Policy)]
        assert len(saved) == 1, outcomes
        refused = [outcome for outcome in outcomes if not isinstance(outcome, Policy)]
        assert refused == [saved[0].version] * 9
        winners.append(saved[0])

    assert [winner.version for winner in winners] == [2, 3, 4]
    for round_, winner in enumerate(winners):
        stored = store.version(winner.version)
        assert stored == winner
        editor = int(stored.updated_by.removeprefix("editor-"))
        assert stored.note == f"editor {editor}"
        assert stored.min_expected_net == 100 * round_ + editor
    with database.scope().engine.connect() as connection:
        trail = verify(connection)
    assert (trail.ok, trail.rows) == (True, 3)


def test_the_old_policy_file_is_imported_once_as_the_starting_version(
    database: Database, tmp_path
) -> None:
    legacy = tmp_path / "policy.yaml"
    legacy.write_text(_yaml(version=7, min_expected_net=45.0, updated_by="old-cli"))
    assert PolicyStore(database, legacy_file=legacy).current().version == 7
    legacy.write_text(_yaml(version=9, min_expected_net=1.0))
    store = PolicyStore(database, legacy_file=legacy)
    assert (store.current().version, store.current().min_expected_net) == (7, 45.0)
    assert store.save(store.current(), "ana").version == 8


def test_a_bad_old_policy_file_is_an_error_naming_it(database: Database, tmp_path) -> None:
    legacy = tmp_path / "policy.yaml"
    legacy.write_text(_yaml(biller_hour_cost=-1))
    with pytest.raises(PolicyError, match=r"policy\.yaml.*biller_hour_cost"):
        PolicyStore(database, legacy_file=legacy)


def test_overrides_take_the_stricter_threshold() -> None:
    policy = parse_policy(
        _yaml(
            min_expected_net=10,
            payers={"PY-A": {"min_expected_net": 40}},
            categories={"medical_necessity": {"min_expected_net": 60, "action": "write_off"}},
        ),
        "p.yaml",
    )
    assert policy.min_net("PY-B", "bundling") == 10
    assert policy.min_net("PY-A", "bundling") == 40
    assert policy.min_net("PY-A", "medical_necessity") == 60
    assert policy.action_for("medical_necessity") == "write_off"


def test_only_the_default_tenant_imports_the_old_policy_file(database: Database, tmp_path) -> None:
    legacy = tmp_path / "policy.yaml"
    legacy.write_text(_yaml(version=7, min_expected_net=45.0))
    assert PolicyStore(database, tenant="acme", legacy_file=legacy).current().version == 1
    assert PolicyStore(database, legacy_file=legacy).current().version == 7
    assert PolicyStore(database, tenant="acme", legacy_file=legacy).current().version == 1


def test_the_versions_list_the_shipped_default_then_each_save(database: Database) -> None:
    at = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    store = PolicyStore(database, clock=lambda: at)
    shipped = default_policy()
    assert store.versions() == [PolicyVersion(1, shipped.updated_by, None, shipped.note)]
    first = store.save(shipped.model_copy(update={"note": "cheaper hour"}), "ana")
    store.save(first.model_copy(update={"note": "stricter"}), "raj")
    listed = store.versions()
    assert [(v.version, v.saved_by, v.note) for v in listed] == [
        (1, shipped.updated_by, shipped.note),
        (2, "ana", "cheaper hour"),
        (3, "raj", "stricter"),
    ]
    assert [v.saved_at for v in listed[1:]] == [at, at]
    assert PolicyStore(database, tenant="acme").versions()[-1].version == 1


def test_a_stored_version_one_is_listed_once(database: Database, tmp_path) -> None:
    legacy = tmp_path / "policy.yaml"
    legacy.write_text(_yaml(version=1, note="from the file", updated_by="old-cli"))
    listed = PolicyStore(database, legacy_file=legacy).versions()
    assert [(v.version, v.saved_by, v.note) for v in listed] == [(1, "old-cli", "from the file")]
    assert listed[0].saved_at is not None


def test_the_diff_names_each_changed_field_by_its_dotted_name() -> None:
    old = default_policy()
    new = old.model_copy(
        update={
            "version": 5,
            "note": "bookkeeping is not a change",
            "biller_hour_cost": 55.0,
            "patient_liable": ["visit_limit", "duplicate"],
            "actions": {**old.actions, "bundling": "appeal"},
            "payers": {"PY-A": {"filing_limit_days": 90}},
        }
    )
    new = Policy.model_validate(new.model_dump())
    assert diff_policies(old, new) == [
        Change("biller_hour_cost", 42.0, 55.0),
        Change("actions.bundling", "corrected_claim", "appeal"),
        Change("patient_liable", ["visit_limit"], ["visit_limit", "duplicate"]),
        Change("payers.PY-A.filing_limit_days", None, 90),
    ]
    assert diff_policies(new, old)[-1] == Change("payers.PY-A.filing_limit_days", 90, None)
    assert diff_policies(old, old.model_copy(update={"version": 9})) == []
