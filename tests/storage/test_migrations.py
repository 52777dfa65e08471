"""The queue's Alembic migrations: they build what the store queries, and share a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from queues.policy import PolicyStore, default_policy
from queues.store import WorkQueue
from serving.keys import KeyStore
from settings import Settings
from storage.audit import link_hash, verify
from storage.migrate import alembic_config
from storage.schema import ITEMS, METADATA, VERSION_TABLE, UTCDateTime

_RANKED = {
    "payer_id": "P01",
    "denial_category": "missing_auth",
    "action": "appeal",
    "p_recover": 0.5,
    "recoverable_amount": 100.0,
    "expected_recovery": 50.0,
    "effort_minutes": 20.0,
    "deadline": None,
    "priority": 2.5,
    "rank": 1,
    "reason": "test",
    "billed_amount": 300.0,
}


def test_the_migrations_build_the_tables_the_store_queries(database_url: str) -> None:
    queue = WorkQueue.from_settings(Settings(database_url=database_url))
    with queue, queue.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, METADATA) == []
        assert context.get_current_revision() == "0014_kept_scores"


def test_the_queue_shares_a_database_with_the_scoring_audit(database_url: str) -> None:
    for _ in range(2):  # opening again finds nothing to migrate
        WorkQueue.from_settings(Settings(database_url=database_url)).close()
    engine = sa.create_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"scoring_audit", "queue_items", "queue_audit", "tenants", VERSION_TABLE} <= tables
    assert "alembic_version" not in tables


_OLD_SCORING_AUDIT = sa.Table(
    "scoring_audit",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("claim_id", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("p_denial", sa.Float, nullable=False),
    sa.Column("band", sa.String(8), nullable=False),
)
"""serving's scoring audit as its AuditLog created it (create_all) before revision 0006."""


def test_revision_0006_moves_a_store_filled_at_0005_into_default_losing_nothing(
    database_url: str, clock
) -> None:
    engine = sa.create_engine(database_url)
    tables = ("queue_items", "queue_audit", "policy_versions", "api_keys", "scoring_audit")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "0001")
        _fill_at_0001(connection, clock.now)
        command.upgrade(alembic_config(connection=connection), "0005_deadlines")
        _OLD_SCORING_AUDIT.create(connection)
        connection.execute(
            _OLD_SCORING_AUDIT.insert(),
            [
                {
                    "at": clock.now,
                    "key_id": "k1",
                    "claim_id": f"C{index}",
                    "model_version": "3",
                    "p_denial": 0.25,
                    "band": "review",
                }
                for index in range(3)
            ],
        )
        policy = default_policy().model_copy(update={"version": 2, "note": "old"})
        connection.execute(
            sa.text(
                "INSERT INTO policy_versions (version, policy, saved_by, saved_at, note) "
                "VALUES (2, :policy, 'rita', '2026-11-20 10:00:00', 'old')"
            ),
            {"policy": yaml.safe_dump(policy.model_dump(mode="json"))},
        )
        connection.exec_driver_sql(
            "INSERT INTO api_keys (key_id, sha256, role, created_at, created_by) "
            "VALUES ('kid1', 'sha1', 'biller', '2026-11-20 10:00:00', 'admin')"
        )
        if connection.dialect.name == "sqlite":  # as serving's AuditLog made them
            for verb in ("UPDATE", "DELETE"):
                connection.exec_driver_sql(
                    f"CREATE TRIGGER scoring_audit_no_{verb.lower()} BEFORE {verb} ON "
                    "scoring_audit BEGIN SELECT RAISE(ABORT, 'scoring_audit is append-only'); END"
                )
        columns = {table: _columns(connection, table) for table in tables}
        before = {table: _rows(connection, table, columns[table]) for table in tables}
        command.upgrade(alembic_config(connection=connection), "head")
        # Later revisions add columns (NULL on old rows); the old columns keep every value.
        assert {table: _rows(connection, table, columns[table]) for table in tables} == before
        for table in tables:
            tenants = connection.exec_driver_sql(f"SELECT DISTINCT tenant FROM {table}")
            assert tenants.scalars().all() == ["default"]
        assert set(_indexes_with_where(connection)) == PARTIAL_INDEXES
        for table in ("queue_audit", "scoring_audit"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), connection.begin_nested():
                connection.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()
    assert len(before["queue_audit"]) == 4
    assert len(before["scoring_audit"]) == 3

    with WorkQueue.from_settings(Settings(database_url=database_url), clock=clock) as queue:
        with queue.engine.connect() as connection:
            assert verify(connection).rows == 4  # hashed without a tenant, as written
        queue.record_outcome("OLD-1", "ana", "overturned", 80.0, clock.now.date())
        with queue.engine.connect() as connection:
            result = verify(connection)
        assert (result.ok, result.rows, result.head_id) == (True, 5, 5)
        assert PolicyStore(queue.database).current().note == "old"
        assert [key.key_id for key in KeyStore(queue.database).list_keys()] == ["kid1"]
        # The new row binds its tenant: moved to another tenant's chain, it breaks there.
        assert link_hash(result.head_hash, {**_last(queue), "id": 5}, "default") != link_hash(
            result.head_hash, {**_last(queue), "id": 5}
        )


PARTIAL_INDEXES = {
    "queue_items_open_by_priority",
    "queue_items_leased",
    "queue_items_open_by_deadline",
    "queue_items_open_by_payer",
    "queue_items_open_by_clinician",
}
"""Every partial index of the head revision: a batch copy on SQLite must keep them all."""


def _last(queue: WorkQueue) -> dict:
    event = queue.audit()[-1]
    return {key: getattr(event, key) for key in ("at", "actor", "claim_id", "event", "detail")}


def _columns(connection: sa.Connection, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(connection).get_columns(table) if c["name"] != "tenant"]


def _rows(connection: sa.Connection, table: str, columns: list[str] | None = None) -> list[tuple]:
    columns = columns or _columns(connection, table)
    order = columns[0]
    return [
        tuple(row)
        for row in connection.exec_driver_sql(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"
        )
    ]


def test_the_migrations_downgrade_to_nothing_and_back(database_url: str) -> None:
    WorkQueue.from_settings(Settings(database_url=database_url)).close()
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "base")
        assert set(sa.inspect(connection).get_table_names()) == {VERSION_TABLE}
        command.upgrade(alembic_config(connection=connection), "head")
        tables = set(sa.inspect(connection).get_table_names())
        assert {"queue_items", "queue_audit", "policy_versions", "api_keys"} <= tables
    engine.dispose()


def test_upgrading_a_filled_0001_trail_chains_every_row_and_loses_none(database_url: str) -> None:
    """A store filled under revision 0001 (rows written the old way), then upgraded."""
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "0001")
        # As the store of revision 0001 wrote them: UTCDateTime and JSON columns, no hashes.
        old_audit = sa.table(
            "queue_audit",
            sa.column("at", UTCDateTime()),
            sa.column("actor"),
            sa.column("claim_id"),
            sa.column("event"),
            sa.column("detail", sa.JSON()),
        )
        connection.execute(
            old_audit.insert(),
            [
                {
                    "at": datetime(2026, 11, 1, 8, index, 5, 250_000 + index, tzinfo=UTC),
                    "actor": f"biller-{index}",
                    "claim_id": f"C{index % 3}",
                    "event": "leased",
                    "detail": {"priority": index / 7, "until": "2026-11-01"},
                }
                for index in range(7)
            ],
        )
        old = connection.exec_driver_sql(
            "SELECT id, actor, claim_id, event FROM queue_audit ORDER BY id"
        ).all()
    engine.dispose()

    with WorkQueue.from_settings(Settings(database_url=database_url)) as queue:
        trail = queue.audit()
        assert [(e.id, e.actor, e.claim_id, e.event) for e in trail] == [tuple(r) for r in old]
        assert trail[3].detail == {"priority": 3 / 7, "until": "2026-11-01"}
        assert trail[3].at == datetime(2026, 11, 1, 8, 3, 5, 250_003, tzinfo=UTC)
        with queue.engine.connect() as connection:
            assert verify(connection).rows == 7
        queue.load(
            pd.DataFrame([{**_RANKED, "claim_id": "NEW"}]), actor="ranker", policy_version="1"
        )
        with queue.engine.connect() as connection:
            result = verify(connection)
        assert (result.ok, result.rows, result.head_id) == (True, 8, 8)
        for statement in ("UPDATE queue_audit SET actor = 'x'", "DELETE FROM queue_audit"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), queue.engine.begin() as db:
                db.exec_driver_sql(statement)


def test_downgrading_keeps_service_events_by_refusing(database_url: str) -> None:
    with WorkQueue.from_settings(Settings(database_url=database_url)) as queue:
        PolicyStore(queue.database).save(default_policy(), "revops")
    engine = sa.create_engine(database_url)
    with pytest.raises(RuntimeError, match="not downgrading"), engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "0001")
    engine.dispose()


def test_revision_0002_keeps_a_store_filled_at_0001_and_its_append_only_trail(
    database_url: str, clock
) -> None:
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "0001")
        _fill_at_0001(connection, clock.now)
        before = connection.execute(_TRAIL_AT_0001).all()
        command.upgrade(alembic_config(connection=connection), "head")
    engine.dispose()

    with WorkQueue.from_settings(Settings(database_url=database_url), clock=clock) as queue:
        with queue.engine.connect() as connection:
            assert connection.execute(_TRAIL_AT_0001).all() == before
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


_AUDIT_AT_0001 = sa.table(
    "queue_audit",
    sa.column("id", sa.Integer),
    sa.column("at", UTCDateTime()),
    sa.column("actor", sa.String),
    sa.column("claim_id", sa.String),
    sa.column("event", sa.String),
    sa.column("detail", sa.JSON()),
)
_TRAIL_AT_0001 = sa.select(_AUDIT_AT_0001).order_by(_AUDIT_AT_0001.c.id)
"""The trail's columns as revision 0001 has them."""


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
        _AUDIT_AT_0001.insert(),
        [
            {"at": now, "actor": "ana", "claim_id": claim, "event": event, "detail": detail}
            for claim, event, detail in trail
        ],
    )


def _indexes_with_where(connection: sa.Connection) -> dict[str, str]:
    """queue_items' index definitions as the database states them."""
    if connection.dialect.name == "postgresql":
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'queue_items'"
    else:
        query = (
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = 'queue_items' AND sql IS NOT NULL"
        )
    return {name: sql for name, sql in connection.exec_driver_sql(query) if "WHERE" in sql}


def test_revision_0004_reconciles_a_store_filled_at_0003_and_downgrades_until_it_has(
    database_url: str, clock
) -> None:
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "0001")
        _fill_at_0001(connection, clock.now)
        command.upgrade(alembic_config(connection=connection), "0003")
        at_0003 = connection.exec_driver_sql(
            "SELECT id, claim_id, status, priority FROM queue_items ORDER BY id"
        ).all()
        command.upgrade(alembic_config(connection=connection), "head")
        assert set(_indexes_with_where(connection)) == PARTIAL_INDEXES
        migrated = connection.exec_driver_sql(
            "SELECT id, claim_id, status, priority, closed_reason FROM queue_items ORDER BY id"
        ).all()
        assert [tuple(row) for row in migrated] == [(*row, None) for row in at_0003]
        # Down to 0003 and up again while nothing is reconciled: every row kept.
        command.downgrade(alembic_config(connection=connection), "0003")
        assert "closed_reason" not in {
            c["name"] for c in sa.inspect(connection).get_columns("queue_items")
        }
        command.upgrade(alembic_config(connection=connection), "head")
        assert set(_indexes_with_where(connection)) == PARTIAL_INDEXES
    engine.dispose()

    with WorkQueue.from_settings(Settings(database_url=database_url), clock=clock) as queue:
        assert queue.next("ben").claim_id == "OLD-2"
        queue.load(
            pd.DataFrame([{**_RANKED, "claim_id": "NEW"}]),
            actor="ranker",
            policy_version="2",
            force=True,  # it takes OLD-2 off: the only open item
        )
        assert (queue.item("OLD-2").status, queue.item("OLD-2").closed_reason) == (
            "stale",
            "not_in_ranking",
        )
        assert queue.item("OLD-1").status == "resolved"
        assert [event.event for event in queue.audit("OLD-2")][-2:] == ["leased", "reconciled"]
        with queue.engine.connect() as connection:
            assert verify(connection).ok
        for statement in ("UPDATE queue_audit SET actor = 'x'", "DELETE FROM queue_audit"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), queue.engine.begin() as db:
                db.exec_driver_sql(statement)
    engine = sa.create_engine(database_url)
    with (
        # 0006 refuses first: the rows written since bind their tenant.
        pytest.raises(RuntimeError, match=r"3 audit row\(s\) chained with their tenant"),
        engine.begin() as connection,
    ):
        command.downgrade(alembic_config(connection=connection), "0003")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM queue_items").scalar() == 3
    engine.dispose()
