"""The monitor on the generator's drift scenarios, four weeks after each change: it alerts
on every change, naming where it happened, and stays silent on the same world without it.

The champion was trained on what the day before the change knew (tests/drift_worlds.py),
so before the change every world is the one it learned.
"""

from __future__ import annotations

import pytest

from monitoring.monitor import MonitorResult, monitor
from settings import Settings
from synthetic.scenarios import AUTH_RULE_CODE, AUTH_RULE_PAYER
from synthetic.world import ENTRANT
from tests.drift_worlds import DriftWorlds

pytestmark = pytest.mark.slow


def watched(worlds: DriftWorlds, scenario: str | None) -> MonitorResult:
    return monitor(worlds.data(scenario), worlds.champion, "1", Settings())


def segments(result: MonitorResult) -> set[str]:
    return {alert.segment for alert in result.alerts}


def test_the_same_world_without_a_change_raises_no_alert(worlds: DriftWorlds) -> None:
    result = watched(worlds, None)
    assert result.alerts == []
    assert len(result.scored.adjudicated) > 5_000  # judged on plenty, not silent for want


def test_a_payer_requiring_authorization_for_a_code_is_named(worlds: DriftWorlds) -> None:
    result = watched(worlds, "auth_rule")
    payer = f"payer={AUTH_RULE_PAYER}"
    assert {s for s in segments(result) if s.startswith(payer)}, result.alerts
    assert f"{payer},code={AUTH_RULE_CODE}" in segments(result)
    assert {a.metric for a in result.alerts} == {"denial_rate_gap"}  # the claims look the same


def test_a_new_payer_moves_the_payer_mix(worlds: DriftWorlds) -> None:
    result = watched(worlds, "new_payer")
    assert "feature=payer_id" in segments(result)
    assert ENTRANT.payer_id in set(result.scored.claims["payer_id"])


def test_a_new_code_mix_moves_the_claims_codes_and_place_of_service(worlds: DriftWorlds) -> None:
    found = segments(watched(worlds, "code_mix"))
    assert {"feature=code_1", "feature=place_of_service"} <= found
