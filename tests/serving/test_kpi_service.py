"""The KPI service's cache: one computation per table and version of the data, however many
requests ask at once, and a date that is the data's own latest event is no new ledger; a
past date's table is kept, its ledger is not."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from analytics.ledger import data_as_of
from serving import kpis as service_module
from serving.kpis import KpiService
from settings import Settings
from tests.analytics.book import read_book


class Data:
    """A TenantData holding one version of the hand-made book."""

    def __init__(self, folder: Path) -> None:
        self.data = read_book(folder)

    def get(self, _tenant: str, _settings: Settings):
        return self.data


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many ledgers the service builds (each slowed, so concurrent asks overlap)."""
    built: list[int] = []
    real = service_module.claim_ledger

    def slow(data, as_of=None):
        built.append(1)
        time.sleep(0.2)
        return real(data, as_of)

    monkeypatch.setattr(service_module, "claim_ledger", slow)
    return built


def test_concurrent_requests_make_one_ledger(tmp_path: Path, counted: list[int]) -> None:
    service = KpiService(Data(tmp_path))
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(service.table("t", Settings(), "payer")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counted) == 1
    assert all(answer is answers[0] for answer in answers)


def test_the_datas_own_date_shares_the_ledger(tmp_path: Path, counted: list[int]) -> None:
    data = Data(tmp_path)
    service = KpiService(data)
    service.table("t", Settings())
    service.table("t", Settings(), "month", as_of=data_as_of(data.data))
    assert len(counted) == 1


def test_a_past_dates_tables_are_kept_but_not_its_ledger(
    tmp_path: Path, counted: list[int]
) -> None:
    data = Data(tmp_path)
    service = KpiService(data)
    earlier = data_as_of(data.data) - timedelta(days=30)
    first = service.table("t", Settings(), "payer", as_of=earlier)
    assert service.table("t", Settings(), "payer", as_of=earlier) is first
    assert len(counted) == 1
    service.table("t", Settings(), "month", as_of=earlier)
    assert len(counted) == 2


def test_a_tenant_without_claims_has_no_forecast_rather_than_a_crash(tmp_path: Path) -> None:
    data = Data(tmp_path)
    empty = data.data
    for name in ("claims", "claim_lines", "remits", "appeals"):
        setattr(empty, name, getattr(empty, name).head(0))
    cells = KpiService(data).forecast("t", Settings(), 8)
    assert (cells["expected"] == 0).all()
