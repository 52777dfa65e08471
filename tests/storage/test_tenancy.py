"""Tenant isolation in the data layer: each store sees its tenant's rows only, statements on
tenant data without a tenant are refused, and PostgreSQL's row-level security hides other
tenants even from SQL that forgets the filter."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from queues.policy import PolicyStore, default_policy
from queues.store import UnknownItemError, WorkQueue
from serving.audit import AuditLog, Decision
from serving.keys import KeyStore, KeyStoreError
from settings import Settings
from storage.audit import verify
from storage.database import Database
from storage.schema import AUDIT, ITEMS, POLICY_VERSIONS, SCORING_AUDIT, TENANTS
from storage.tenancy import TenancyError, scope_statement
from storage.tenants import TenantError, add_tenant, list_tenants
from tests.queue_views import open_items
from tests.queues.test_store import load

NORTH, SOUTH = "north", "south"


@pytest.fixture
def queues(database_url: str, clock) -> Iterator[dict[str, WorkQueue]]:
    """The queues of two tenants on one database, loaded with overlapping claim ids."""
    with Database.from_settings(Settings(database_url=database_url)) as database:
        for name in (NORTH, SOUTH):
            add_tenant(database, name, by="admin", clock=clock)
    opened = {
        name: WorkQueue.from_settings(
            Settings(database_url=database_url, lease_seconds=600), clock=clock, tenant=name
        )
        for name in (NORTH, SOUTH)
    }
    load(opened[NORTH], {"SHARED": 2.0, "N1": 1.0})
    load(opened[SOUTH], {"SHARED": 9.0, "S1": 1.0})
    yield opened
    for queue in opened.values():
        queue.close()


def test_a_tenants_queue_holds_its_own_items_only(queues: dict[str, WorkQueue]) -> None:
    north, south = queues[NORTH], queues[SOUTH]
    assert [(i.claim_id, i.priority) for i in open_items(north)] == [("SHARED", 2.0), ("N1", 1.0)]
    assert [(i.claim_id, i.priority) for i in open_items(south)] == [("SHARED", 9.0), ("S1", 1.0)]
    with pytest.raises(UnknownItemError):
        north.item("S1")
    assert north.next("ana").claim_id == "SHARED"
    assert south.item("SHARED").lease_holder is None  # the same claim id, another item
    north.resolve("SHARED", "ana", "appeal", 20)
    assert south.export_appeals().empty
    assert (north.count_open(), south.count_open()) == (1, 2)
    # A load of north closes nothing of south's, though south's claims are not in it.
    load(north, {"SHARED": 2.0, "N1": 1.0})
    assert south.item("S1").status == "open"


def test_each_tenants_trail_is_its_own_verifiable_chain(queues: dict[str, WorkQueue]) -> None:
    north, south = queues[NORTH], queues[SOUTH]
    north.next("ana")
    for queue, own, other in ((north, "N1", "S1"), (south, "S1", "N1")):
        trail = queue.audit()
        assert trail[0].event == "tenant_created"
        assert trail[0].detail["tenant"] == queue.tenant
        assert [event.id for event in trail] == list(range(1, len(trail) + 1))
        claims = {event.claim_id for event in trail}
        assert own in claims
        assert other not in claims
        with queue.engine.connect() as connection:
            result = verify(connection)
        assert (result.ok, result.rows) == (True, len(trail))
    assert len(north.audit()) == len(south.audit()) + 1  # north's lease


def test_policy_versions_are_numbered_and_seen_per_tenant(queues: dict[str, WorkQueue]) -> None:
    database = queues[NORTH].database
    north = PolicyStore(database, tenant=NORTH)
    south = PolicyStore(database, tenant=SOUTH)
    saved = north.save(default_policy().model_copy(update={"note": "north's"}), "rita")
    assert (saved.version, north.current().note) == (2, "north's")
    assert south.current() == default_policy()
    again = south.save(default_policy().model_copy(update={"note": "south's"}), "sam")
    assert again.version == 2  # south's own version 2, beside north's
    assert (north.version(2).note, south.version(2).note) == ("north's", "south's")


def test_keys_belong_to_their_tenant(queues: dict[str, WorkQueue]) -> None:
    database = queues[NORTH].database
    north = KeyStore(database, tenant=NORTH)
    south = KeyStore(database, tenant=SOUTH)
    _key, key_id = north.add("biller", by="admin")
    assert [key.key_id for key in north.list_keys()] == [key_id]
    assert south.list_keys() == []
    assert south.active() == {}
    with pytest.raises(KeyStoreError, match=key_id):
        south.revoke(key_id, by="admin")
    assert north.list_keys()[0].revoked_at is None


def test_scoring_decisions_are_recorded_under_their_tenant(queues: dict[str, WorkQueue]) -> None:
    database = queues[NORTH].database
    AuditLog(database, tenant=NORTH).record("k1", "3", [Decision("SHARED", 0.4, "review")])
    query = sa.select(SCORING_AUDIT.c.claim_id)
    with database.scope(NORTH).engine.connect() as connection:
        assert connection.execute(query).scalars().all() == ["SHARED"]
    with database.scope(SOUTH).engine.connect() as connection:
        assert connection.execute(query).scalars().all() == []


def test_subqueries_aliases_and_joins_are_scoped_too(queues: dict[str, WorkQueue]) -> None:
    north = queues[NORTH]
    trail = AUDIT.alias("trail")
    # Items whose claims have a `loaded` event: south's SHARED row is filtered out on both
    # sides (in the subquery, and in the join's alias), so north's items come back once.
    audited = sa.select(AUDIT.c.claim_id).where(AUDIT.c.event == "loaded")
    query = (
        sa.select(ITEMS.c.claim_id, trail.c.event)
        .join(trail, trail.c.claim_id == ITEMS.c.claim_id)
        .where(ITEMS.c.claim_id.in_(audited.scalar_subquery()))
        .order_by(ITEMS.c.claim_id)
    )
    with north.engine.connect() as connection:
        assert connection.execute(query).all() == [("N1", "loaded"), ("SHARED", "loaded")]
    assert str(scope_statement(query)).count("tenant = :denialops_scope_tenant") == 3


def test_statements_on_tenant_data_without_a_tenant_are_refused(
    queues: dict[str, WorkQueue],
) -> None:
    database = queues[NORTH].database
    statements = [
        sa.select(ITEMS.c.claim_id),
        sa.select(sa.func.count()).select_from(AUDIT),
        ITEMS.update().values(note="x"),
        POLICY_VERSIONS.delete(),
        sa.text("SELECT claim_id FROM queue_items"),
        sa.select(sa.literal(1)).where(sa.exists(sa.select(TENANTS.c.name))),
    ]
    with database.engine.connect() as connection:
        for statement in statements:
            with pytest.raises(TenancyError, match="tenant"):
                connection.execute(statement)
        assert connection.execute(sa.select(sa.literal(1))).scalar() == 1  # no tenant data
    with database.admin().engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(ITEMS)).scalar() == 4


def test_a_row_cannot_name_another_tenant(queues: dict[str, WorkQueue]) -> None:
    row = {"version": 7, "policy": "", "saved_by": "x", "note": "", "tenant": SOUTH}
    with (
        pytest.raises(TenancyError, match="names its own tenant"),
        queues[NORTH].database.scope(NORTH).writing() as connection,
    ):
        connection.execute(POLICY_VERSIONS.insert(), {**row, "saved_at": datetime.now(UTC)})


def test_an_update_cannot_move_rows_to_another_tenant(queues: dict[str, WorkQueue]) -> None:
    """On SQLite (no row-level security) the scoping alone keeps rows in their tenant."""
    moves = (
        POLICY_VERSIONS.update().values(tenant=SOUTH),
        POLICY_VERSIONS.update().values({POLICY_VERSIONS.c.tenant: SOUTH}),
        POLICY_VERSIONS.update().ordered_values((POLICY_VERSIONS.c.tenant, SOUTH)),
        TENANTS.update().values(name=SOUTH),
    )
    for statement in moves:
        with (
            pytest.raises(TenancyError, match="sets the tenant column"),
            queues[NORTH].database.scope(NORTH).writing() as connection,
        ):
            connection.execute(statement)
    with queues[NORTH].database.scope(NORTH).engine.connect() as connection:
        assert connection.execute(sa.select(TENANTS.c.name)).scalars().all() == [NORTH]


def test_tenants_are_added_once_by_slug(database: Database, clock) -> None:
    add_tenant(database, "east-side_2", by="admin", model_name="east", clock=clock)
    with pytest.raises(TenantError, match="already"):
        add_tenant(database, "east-side_2", by="admin", clock=clock)
    for bad in ("", "East", "-x", "a b", "x" * 65):
        with pytest.raises(TenantError, match="lowercase"):
            add_tenant(database, bad, by="admin", clock=clock)
    assert [(t.name, t.model_name) for t in list_tenants(database)] == [
        ("default", None),
        ("east-side_2", "east"),
    ]


def test_row_level_security_hides_other_tenants_from_sql_without_the_filter(
    queues: dict[str, WorkQueue], database_url: str
) -> None:
    """The second wall, as the service's (non-superuser) role meets it: raw SQL, no filter."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")
    north = queues[NORTH]
    role = f"denialops_app_{uuid.uuid4().hex[:8]}"
    with north.database.admin().engine.begin() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
        connection.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        connection.exec_driver_sql(
            f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {role}"
        )
    raw = "SELECT claim_id FROM queue_items ORDER BY claim_id"
    try:
        # The scoped engine sets the tenant as each transaction begins; the raw SQL never
        # passes the rewriting hook (exec_driver_sql), so only RLS filters it.
        with north.engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL ROLE {role}")
            assert connection.exec_driver_sql(raw).scalars().all() == ["N1", "SHARED"]
            with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
                connection.exec_driver_sql(
                    "INSERT INTO policy_versions (tenant, version, policy, saved_by, saved_at, "
                    "note) VALUES ('south', 9, '', 'x', now(), '')"
                )
        engine = sa.create_engine(database_url, poolclass=sa.NullPool)
        with engine.begin() as connection:  # no tenant set: nothing at all
            connection.exec_driver_sql(f"SET LOCAL ROLE {role}")
            assert connection.exec_driver_sql(raw).all() == []
            assert connection.exec_driver_sql("SELECT count(*) FROM queue_audit").scalar() == 0
        engine.dispose()
    finally:
        with north.database.admin().engine.begin() as connection:
            connection.exec_driver_sql(f"DROP OWNED BY {role}")
            connection.exec_driver_sql(f"DROP ROLE {role}")


def test_unions_and_selects_from_subqueries_are_scoped(queues: dict[str, WorkQueue]) -> None:
    union = sa.union(sa.select(ITEMS.c.claim_id), sa.select(AUDIT.c.claim_id))
    open_claims = sa.select(ITEMS.c.claim_id).where(ITEMS.c.status == "open").subquery()
    with queues[SOUTH].engine.connect() as connection:
        # The trail's claimless tenant_created row gives the None.
        assert sorted(connection.execute(union).scalars(), key=str) == [None, "S1", "SHARED"]
        from_subquery = sa.select(open_claims.c.claim_id).order_by(open_claims.c.claim_id)
        assert connection.execute(from_subquery).scalars().all() == ["S1", "SHARED"]


def test_what_the_scoping_cannot_rewrite_is_refused_not_run_unscoped(
    queues: dict[str, WorkQueue],
) -> None:
    candidate = sa.select(ITEMS.c.id).where(ITEMS.c.status == "open").limit(1).cte("candidate")
    refused = {
        "cannot reach queue_items": ITEMS.update()
        .where(ITEMS.c.id == candidate.c.id)
        .values(note="x"),
        "textual SQL on the tenant table queue_audit": sa.select(ITEMS.c.id).where(
            sa.text("claim_id IN (SELECT claim_id FROM queue_audit)")
        ),
        "textual SQL on the tenant table api_keys": sa.select(
            sa.literal_column("count(*)")
        ).select_from(sa.text("api_keys")),
    }
    with queues[NORTH].engine.begin() as connection:
        for message, statement in refused.items():
            with pytest.raises(TenancyError, match=message):
                connection.execute(statement)
