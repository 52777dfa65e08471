"""The queue's Alembic migrations: they build what the store queries, and share a database."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from queues.migrate import alembic_config
from queues.schema import AUDIT, ITEMS, METADATA, VERSION_TABLE
from queues.store import WorkQueue
from serving.audit import AuditLog
from settings import Settings


def test_the_migrations_build_the_tables_the_store_queries(database_url: str) -> None:
    queue = WorkQueue.from_settings(Settings(database_url=database_url))
    with queue, queue.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, METADATA) == []
        assert context.get_current_revision() == "0002"


def test_the_queue_shares_a_database_with_the_scoring_audit(database_url: str) -> None:
    AuditLog(database_url).engine.dispose()
    for _ in range(2):  # opening again finds nothing to migrate
        WorkQueue.from_settings(Settings(database_url=database_url)).close()
    engine = sa.create_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"scoring_audit", "queue_items", "queue_audit", VERSION_TABLE} <= tables
    assert "alembic_version" not in tables


def test_the_migrations_downgrade_to_nothing_and_back(database_url: str) -> None:
    WorkQueue.from_settings(Settings(database_url=database_url)).close()
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "base")
        assert set(sa.inspect(connection).get_table_names()) == {VERSION_TABLE}
        command.upgrade(alembic_config(connection=connection), "head")
        assert {"queue_items", "queue_audit"} <= set(sa.inspect(connection).get_table_names())
    engine.dispose()


def test_revision_0002_keeps_a_store_filled_at_0001_and_its_append_only_trail(
    database_url: str, clock
) -> None:
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "0001")
        _fill_at_0001(connection, clock.now)
        before = connection.execute(sa.select(AUDIT).order_by(AUDIT.c.id)).all()
        command.upgrade(alembic_config(connection=connection), "head")
    engine.dispose()

    with WorkQueue.from_settings(Settings(database_url=database_url), clock=clock) as queue:
        with queue.engine.connect() as connection:
            assert connection.execute(sa.select(AUDIT).order_by(AUDIT.c.id)).all() == before
        done = queue.item("OLD-1")
        assert (done.status, done.resolved_by, done.billed_amount) == ("resolved", "ana", None)
        queue.record_outcome("OLD-1", "ana", "overturned", 80.0, clock.now.date())
        assert queue.next("ben").claim_id == "OLD-2"
        queue.renew("OLD-2", "ben")
        queue.correct_outcome("OLD-1", "lee", "upheld", 0.0, clock.now.date(), reason="misread")
        assert [event.event for event in queue.audit()][len(before) :] == [
            "outcome",
            "leased",
            "renewed",
            "outcome_corrected",
        ]
        for statement in ("UPDATE queue_audit SET actor = 'x'", "DELETE FROM queue_audit"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), queue.engine.begin() as db:
                db.exec_driver_sql(statement)
        assert len(queue.audit()) == len(before) + 4


def _fill_at_0001(connection: sa.Connection, now: datetime) -> None:
    """What a store at revision 0001 holds: a resolved item, an open one, their trail."""
    ranking = {
        "payer_id": "P01",
        "denial_category": "missing_auth",
        "action": "appeal",
        "p_recover": 0.5,
        "recoverable_amount": 250.0,
        "expected_recovery": 125.0,
        "effort_minutes": 30.0,
        "deadline": None,
        "reason": "r",
        "policy_version": "1",
        "loaded_at": now,
        "updated_at": now,
    }
    for item in (
        {
            **ranking,
            "claim_id": "OLD-1",
            "priority": 2.0,
            "rank": 1,
            "status": "resolved",
            "resolved_by": "ana",
            "resolved_at": now,
            "resolved_action": "appeal",
            "action_date": now.date(),
            "resolved_effort_minutes": 20,
            "outcome": "pending",
            "recovered_amount": 0.0,
        },
        {**ranking, "claim_id": "OLD-2", "priority": 1.0, "rank": 2, "status": "open"},
    ):
        connection.execute(ITEMS.insert(), item)
    trail = [
        ("OLD-1", "loaded", {}),
        ("OLD-2", "loaded", {}),
        ("OLD-1", "leased", {"priority": 2.0}),
        ("OLD-1", "resolved", {"action": "appeal"}),
    ]
    connection.execute(
        AUDIT.insert(),
        [
            {"at": now, "actor": "ana", "claim_id": claim, "event": event, "detail": detail}
            for claim, event, detail in trail
        ],
    )
