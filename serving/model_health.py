"""The champion's health as the Model health page reads it: `monitoring.monitor` over the
tenant's data directory, with the tenant's loaded champion and the scores the service kept
(the scoring audit: the champion's, and the shadow challenger's beside them), kept per
version of the data and of the model.

A run scores the claims without a kept score and builds their point-in-time features: tens
of seconds on a large tenant, so it is made once per tenant, data version (`TenantData`'s
object) and model, and requests that ask meanwhile wait for that one run. Scores kept after
it show at the next version of the data or of the model: the page judges a period of
submissions, which a few claims scored since do not change.
"""

from __future__ import annotations

from monitoring.monitor import MonitorResult, monitor
from serving.audit import AuditLog
from serving.kept import KeptPerData
from serving.loading import TenantScorer
from serving.tenant_data import TenantData
from settings import Settings
from storage.schema import SHADOW

MAX_KEPT = 2
"""Runs kept per tenant: the champion's, and the one before a reload replaced it."""


class MonitorService:
    """`app.state.monitor`: each tenant's latest monitoring run of its champion."""

    def __init__(self, tenant_data: TenantData) -> None:
        self._tenant_data = tenant_data
        self._kept = KeptPerData(MAX_KEPT)

    def result(
        self, tenant: str, settings: Settings, champion: TenantScorer, audit: AuditLog
    ) -> MonitorResult:
        """`monitoring.monitor.monitor` of the tenant's data (its default period) with
        `champion` and the tenant's kept scores, the champion's and the shadow
        challenger's (`audit`, the tenant's scoring audit), as `denialops monitor` runs it;
        NoDataError or ContractError when the data cannot be had."""
        data = self._tenant_data.get(tenant, settings)
        scorer = champion.scorer
        key = ("monitor", champion.model_tenant, champion.model_name, scorer.version)

        def run() -> MonitorResult:
            kept, shadow = audit.scores(), audit.scores(role=SHADOW)
            return monitor(data, scorer.bundle, scorer.version, settings, kept=kept, shadow=shadow)

        return self._kept.kept_or_made(tenant, key, run, data)
