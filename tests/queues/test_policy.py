"""The policy file: RevOps' numbers, checked, versioned, never half-saved."""

from __future__ import annotations

import pytest
import yaml

from queues.policy import PolicyError, default_policy, load_policy, parse_policy, save_policy


def _yaml(**changes) -> str:
    raw = default_policy().model_dump(mode="json") | changes
    return yaml.safe_dump(raw)


def test_the_shipped_default_is_used_until_a_policy_is_saved(tmp_path) -> None:
    assert load_policy(tmp_path / "policy.yaml") == default_policy()


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


def test_every_category_needs_an_action() -> None:
    actions = dict(default_policy().actions)
    del actions["duplicate"]
    with pytest.raises(PolicyError, match="duplicate"):
        parse_policy(_yaml(actions=actions), "p.yaml")


def test_saving_makes_the_next_version_and_keeps_the_previous(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    first = save_policy(path, default_policy().model_copy(update={"min_expected_net": 30}), "ana")
    second = save_policy(path, first.model_copy(update={"min_expected_net": 50}), "raj")
    assert (first.version, second.version) == (2, 3)
    assert load_policy(path).min_expected_net == 50
    assert load_policy(path).updated_by == "raj"
    kept = load_policy(tmp_path / "policy.v2.yaml")
    assert (kept.version, kept.min_expected_net, kept.updated_by) == (2, 30, "ana")


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
