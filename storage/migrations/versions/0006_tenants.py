"""Tenants: every stored row belongs to one, and the database isolates them.

- `tenants` (name, created_at, data_dir, model_name, audit_unbound_through), seeded with
  `default`, which every existing row moves into: nothing is copied elsewhere or lost.
- A NOT NULL `tenant` column (foreign key to tenants.name) on queue_items, queue_audit,
  policy_versions, api_keys and scoring_audit. Uniqueness is per tenant: one item per
  (tenant, claim_id); policy versions numbered per tenant (primary key (tenant, version));
  each tenant's audit trail is its own chain, ids per tenant (primary key (tenant, id)),
  one successor per (tenant, prev_hash). API keys stay unique across tenants (a key
  names its tenant).
- scoring_audit comes under the migrations: created here where serving had not created it
  yet (with its append-only triggers, now on PostgreSQL too), else given its tenant.
- The trail takes the event `tenant_created` (a tenant's trail starts with it).
- The trail's existing rows were hashed without a tenant: `default`'s
  `audit_unbound_through` is the last of them, so they verify as written, and rows after it
  bind their tenant into the hash (storage/audit.py).
- PostgreSQL: row-level security on every tenant table, ENABLEd and FORCEd (the owner
  too), a row visible and writable only when its tenant is the transaction's
  `denialops.tenant` setting, or when that setting is `*` (migrations and admin
  commands, `Database.admin()`). Unset, nothing is visible.

SQLite copies queue_items, queue_audit and policy_versions to change their keys (batch
mode): the partial indexes and the append-only triggers, which a copy does not carry, are
dropped first and re-created after, as in revision 0004. The UPDATE that moves existing
trail rows into `default` runs with the triggers lifted (SQLite: dropped; PostgreSQL:
disabled in this transaction), as revision 0003 did to chain them; nothing else changes.

Revision ID: 0006_tenants
Revises: 0005_deadlines
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006_tenants"
down_revision = "0005_deadlines"
branch_labels = None
depends_on = None

DEFAULT = "default"
TABLES = ("queue_items", "queue_audit", "policy_versions", "api_keys", "scoring_audit")
APPEND_ONLY_TABLES = ("queue_audit", "scoring_audit")
SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s", "pk": "%(table_name)s_pkey"}
"""Names for SQLite's unnamed constraints, so batch mode can drop them."""
OLD_PARTIAL_INDEXES = (
    ("queue_items_open_by_priority", [sa.text("priority DESC"), "id"], "status = 'open'"),
    ("queue_items_leased", ["lease_holder"], "lease_holder IS NOT NULL"),
)
NEW_PARTIAL_INDEXES = (
    ("queue_items_open_by_priority", ["tenant", sa.text("priority DESC"), "id"], "status = 'open'"),
    ("queue_items_leased", ["tenant", "lease_holder"], "lease_holder IS NOT NULL"),
)
SETTING = "current_setting('denialops.tenant', true)"
OLD_EVENTS = (
    "'loaded', 'refreshed', 'leased', 'renewed', 'released', 'resolved', 'outcome', "
    "'outcome_corrected', 'policy_saved', 'model_reloaded', 'key_created', 'key_revoked', "
    "'reconciled', 'reopened'"
)
NEW_EVENTS = f"{OLD_EVENTS}, 'tenant_created'"


def _sqlite_append_only(table: str) -> tuple[str, ...]:
    """The triggers revisions 0001 (queue_audit) and serving (scoring_audit) created."""
    return tuple(
        f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for verb in ("update", "delete")
    )


def _postgresql_append_only(table: str) -> tuple[str, ...]:
    return (
        f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{table} is append-only: % refused', TG_OP; END $$",
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()",
    )


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_dir", sa.Text, nullable=True),
        sa.Column("model_name", sa.String(128), nullable=True),
        sa.Column("audit_unbound_through", sa.BigInteger, nullable=True),
    )
    last_row = bind.execute(sa.text("SELECT max(id) FROM queue_audit")).scalar()
    now = datetime.now(UTC)
    tenants = sa.table(
        "tenants",
        sa.column("name", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("audit_unbound_through", sa.BigInteger),
    )
    op.bulk_insert(
        tenants,
        [
            {
                "name": DEFAULT,
                "created_at": now if _postgresql() else now.replace(tzinfo=None),
                "audit_unbound_through": last_row,
            }
        ],
    )
    if "scoring_audit" not in sa.inspect(bind).get_table_names():
        _create_scoring_audit()
    for table in APPEND_ONLY_TABLES:
        _append_only(table, on=False)
    for table in TABLES:
        op.add_column(table, sa.Column("tenant", sa.String(64), nullable=True))
        op.execute(f"UPDATE {table} SET tenant = '{DEFAULT}'")
    _partial_indexes(OLD_PARTIAL_INDEXES, drop=True)
    with _batch("queue_items") as batch:
        _tenant_required(batch, "queue_items")
        batch.drop_constraint(_claim_unique(), type_="unique")
        batch.create_unique_constraint("queue_items_tenant_claim", ["tenant", "claim_id"])
    _partial_indexes(NEW_PARTIAL_INDEXES)
    op.drop_index("queue_audit_one_successor", "queue_audit")
    with _batch("queue_audit") as batch:
        _tenant_required(batch, "queue_audit")
        _primary_key(batch, "queue_audit", ["tenant", "id"])
        batch.drop_constraint("queue_audit_event", type_="check")
        batch.create_check_constraint("queue_audit_event", f"event IN ({NEW_EVENTS})")
    op.create_index(
        "queue_audit_one_successor", "queue_audit", ["tenant", "prev_hash"], unique=True
    )
    with _batch("policy_versions") as batch:
        _tenant_required(batch, "policy_versions")
        _primary_key(batch, "policy_versions", ["tenant", "version"])
    for table in ("api_keys", "scoring_audit"):
        with _batch(table) as batch:
            _tenant_required(batch, table)
    for table in APPEND_ONLY_TABLES:
        _append_only(table, on=True)
    if _postgresql():
        for table, column in (("tenants", "name"), *((table, "tenant") for table in TABLES)):
            _row_level_security(table, column)


def downgrade() -> None:
    """Back to 0005, refused once a second tenant or a tenant-bound trail row exists: 0005
    has no tenants to keep them apart, and cannot verify a row whose hash binds one (so no
    `tenant_created` row is left either)."""
    bind = op.get_bind()
    others = bind.execute(
        sa.text("SELECT count(*) FROM tenants WHERE name <> :name"), {"name": DEFAULT}
    ).scalar()
    bound = bind.execute(
        sa.text(
            "SELECT count(*) FROM queue_audit WHERE id > coalesce("
            "(SELECT audit_unbound_through FROM tenants WHERE name = :name), 0)"
        ),
        {"name": DEFAULT},
    ).scalar()
    if others or bound:
        raise RuntimeError(
            f"the store holds {others} tenant(s) besides {DEFAULT} and {bound} audit row(s) "
            "chained with their tenant, which revision 0005 cannot keep: not downgrading"
        )
    if _postgresql():
        for table in ("tenants", *TABLES):
            op.execute(f"DROP POLICY {table}_tenant ON {table}")
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for table in APPEND_ONLY_TABLES:
        _append_only(table, on=False)
    _partial_indexes(NEW_PARTIAL_INDEXES, drop=True)
    with _batch("queue_items") as batch:
        batch.drop_constraint("queue_items_tenant_claim", type_="unique")
        batch.create_unique_constraint(_claim_unique(), ["claim_id"])
        _tenant_dropped(batch, "queue_items")
    _partial_indexes(OLD_PARTIAL_INDEXES)
    op.drop_index("queue_audit_one_successor", "queue_audit")
    with _batch("queue_audit") as batch:
        _primary_key(batch, "queue_audit", ["id"])
        _tenant_dropped(batch, "queue_audit")
        batch.drop_constraint("queue_audit_event", type_="check")
        batch.create_check_constraint("queue_audit_event", f"event IN ({OLD_EVENTS})")
    op.create_index("queue_audit_one_successor", "queue_audit", ["prev_hash"], unique=True)
    with _batch("policy_versions") as batch:
        _primary_key(batch, "policy_versions", ["version"])
        _tenant_dropped(batch, "policy_versions")
    with _batch("api_keys") as batch:
        _tenant_dropped(batch, "api_keys")
    _append_only("queue_audit", on=True)
    if bind.execute(sa.text("SELECT count(*) FROM scoring_audit")).scalar():
        with _batch("scoring_audit") as batch:
            _tenant_dropped(batch, "scoring_audit")
        _append_only("scoring_audit", on=True)
    else:  # made by this revision, or empty: serving's old code makes it again
        op.drop_table("scoring_audit")
        if _postgresql():
            op.execute("DROP FUNCTION scoring_audit_append_only()")
    op.drop_table("tenants")


def _claim_unique() -> str:
    """queue_items' unique claim_id of revision 0001 (PostgreSQL's name; SQLite's left it
    unnamed, `SQLITE_NAMES` names it)."""
    return "queue_items_claim_id_key" if _postgresql() else "uq_queue_items_claim_id"


def _batch(table: str):
    return op.batch_alter_table(table, naming_convention=SQLITE_NAMES)


def _tenant_required(batch, table: str) -> None:
    batch.alter_column("tenant", existing_type=sa.String(64), nullable=False)
    batch.create_foreign_key(f"{table}_tenant_fkey", "tenants", ["tenant"], ["name"])


def _tenant_dropped(batch, table: str) -> None:
    batch.drop_constraint(f"{table}_tenant_fkey", type_="foreignkey")
    batch.drop_column("tenant")


def _primary_key(batch, table: str, columns: list[str]) -> None:
    batch.drop_constraint(f"{table}_pkey", type_="primary")
    batch.create_primary_key(f"{table}_pkey", columns)


def _partial_indexes(indexes: tuple, *, drop: bool = False) -> None:
    for name, columns, where in indexes:
        if drop:
            op.drop_index(name, "queue_items")
        else:
            op.create_index(
                name,
                "queue_items",
                columns,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )


def _create_scoring_audit() -> None:
    """As serving's AuditLog created it (create_all), before its tenant is added."""
    op.create_table(
        "scoring_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("p_denial", sa.Float, nullable=False),
        sa.Column("band", sa.String(8), nullable=False),
    )
    if _postgresql():
        for statement in _postgresql_append_only("scoring_audit"):
            op.execute(statement)


def _append_only(table: str, *, on: bool) -> None:
    """Lift (False) or restore (True) the triggers refusing UPDATE and DELETE on `table`.

    On PostgreSQL, scoring_audit had none before this revision: they are made here."""
    if _postgresql():
        # The trigger on this schema's table: pg_proc spans schemas, so asking it whether
        # the function exists answered yes for another schema's (tests share a database).
        exists = op.get_bind().execute(
            sa.text(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(:table) "
                "AND tgname = :trigger"
            ),
            {"table": table, "trigger": f"{table}_no_change"},
        )
        if not exists.scalar():
            if on:
                for statement in _postgresql_append_only(table):
                    op.execute(statement)
            return
        op.execute(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER {table}_no_change")
        return
    if on:
        for statement in _sqlite_append_only(table):
            op.execute(statement)
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def _row_level_security(table: str, column: str) -> None:
    """The second wall: rows of the transaction's tenant only, or all for `*` (admin)."""
    rule = f"({column} = {SETTING} OR {SETTING} = '*')"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_tenant ON {table} USING {rule} WITH CHECK {rule}")
