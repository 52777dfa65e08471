"""Tenant isolation, enforced in one place: every statement on a tenant table is scoped here.

Each billing practice (a tenant) sees only its own rows. Rather than trusting every query
to remember a `WHERE tenant = ...`, the `Database`'s engine runs `scope_statement` before
each Core statement (a `before_execute` hook) with the tenant the connection was opened
for (`Database.scope(tenant)`, the execution option `TENANT`):

- SELECT, UPDATE and DELETE get `<table>.tenant = :tenant` for every tenant table they
  read, subqueries and CTEs included (each SELECT filters the tables in its own FROM);
- INSERT rows get the tenant (a row that names a tenant itself is refused);
- any statement on a tenant table from a connection with no tenant is refused
  (`TenancyError`), and so is textual SQL naming a tenant table from a scoped one, since
  it cannot be rewritten.

`ALL_TENANTS` is the explicit unscoped mode: the migrations and cross-tenant admin
commands (`tenants add|list`) open `Database.admin()`; nothing is rewritten or refused.

Rewritten statements are cached per original statement (the stores build their hot
statements once), with the tenant as a bound parameter, so a cached rewrite and
SQLAlchemy's compiled cache serve every tenant.

On PostgreSQL, row-level security (migration 0006) is the second wall: each transaction
begins with `set_config('denialops.tenant', <tenant>, true)` (`Database`), so even SQL this
hook never sees (`exec_driver_sql`) returns no other tenant's rows.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import visitors
from sqlalchemy.sql.ddl import ExecutableDDLElement
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.selectable import Alias, Join, Select, TableClause

from storage.schema import TENANT_COLUMNS

TENANT = "denialops_tenant"
"""Execution option naming the tenant a connection acts for (or `ALL_TENANTS`)."""
ALL_TENANTS = "*"
"""The unscoped mode of migrations and admin commands: every tenant's rows."""
DEFAULT_TENANT = "default"
"""The tenant of a fresh installation, and of every row stored before tenants existed."""
PARAMETER = "denialops_scope_tenant"
"""The bound parameter the rewritten statements compare the tenant column with."""
_TENANT_VALUE = sa.bindparam(PARAMETER, type_=sa.String())
_NAMED = re.compile(r"\b(" + "|".join(map(re.escape, TENANT_COLUMNS)) + r")\b", re.IGNORECASE)
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_CACHE_SIZE = 512


class TenancyError(RuntimeError):
    """A statement on tenant data without a tenant, or one the scoping cannot vouch for."""


def check_tenant(name: object) -> str:
    """`name` if it is a tenant name: a slug of lowercase letters, digits, - and _,
    1 to 64 characters, starting with a letter or digit."""
    if not isinstance(name, str) or not _SLUG.fullmatch(name):
        raise ValueError(
            f"a tenant name is 1 to 64 lowercase letters, digits, '-' or '_' (starting with a "
            f"letter or digit), not {name!r}"
        )
    return name


def tenant_of(connection: sa.Connection) -> str:
    """The one tenant `connection` acts for; refuses an unscoped or admin connection."""
    tenant = connection.get_execution_options().get(TENANT)
    if tenant is None or tenant == ALL_TENANTS:
        raise TenancyError(
            "this needs a connection scoped to one tenant (Database.scope(tenant)), "
            f"not {'an unscoped' if tenant is None else 'an all-tenants admin'} one"
        )
    return tenant


def install(engine: sa.Engine) -> None:
    """Scope every statement `engine` executes (see the module docstring)."""
    sa.event.listen(engine, "before_execute", _before_execute, retval=True)


class _Rewrites:
    """Scoped versions of statements, by identity of the original, least recently used out."""

    def __init__(self, size: int):
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, tuple[object, sa.Executable | None]] = OrderedDict()

    def get(self, statement: sa.Executable) -> sa.Executable | None:
        key = id(statement)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is statement:
                self._entries.move_to_end(key)
                return entry[1]
        scoped = scope_statement(statement)
        with self._lock:
            # The original is kept with its rewrite, so its id cannot be reused meanwhile.
            self._entries[key] = (statement, scoped)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return scoped


_REWRITES = _Rewrites(_CACHE_SIZE)


def _before_execute(
    connection: sa.Connection,
    statement: Any,
    multiparams: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    _execution_options: Mapping[str, Any],
) -> tuple[Any, Sequence[Mapping[str, Any]], Mapping[str, Any]]:
    # The connection's tenant only: a statement cannot widen its own scope.
    tenant = connection.get_execution_options().get(TENANT)
    if (
        tenant == ALL_TENANTS
        or not isinstance(statement, sa.sql.ClauseElement)
        or isinstance(statement, ExecutableDDLElement)  # DDL touches no rows
    ):
        return statement, multiparams, params
    scoped = _REWRITES.get(statement)
    if scoped is None:
        return statement, multiparams, params
    if tenant is None:
        raise TenancyError(
            f"a statement on tenant data ({', '.join(sorted(tenant_tables(statement)))}) on a "
            "connection with no tenant: open it with Database.scope(tenant), or "
            "Database.admin() for migrations and cross-tenant admin work"
        )
    for row in (*multiparams, params):
        if "tenant" in row:
            raise TenancyError(
                "a row names its own tenant: the tenant comes from the scope of the connection"
            )
    if multiparams:
        return scoped, [{**row, PARAMETER: tenant} for row in multiparams], {}
    return scoped, multiparams, {**params, PARAMETER: tenant}


def tenant_tables(statement: sa.ClauseElement) -> set[str]:
    """The names of the tenant tables `statement` reads or writes, at any depth."""
    return {
        element.name
        for element in _reach(statement)
        if isinstance(element, TableClause) and element.name in TENANT_COLUMNS
    }


def _reach(statement: sa.ClauseElement) -> Iterator[sa.ClauseElement]:
    """Every element of `statement`, once, following columns to the tables, subqueries and
    CTEs they belong to (which SQLAlchemy's own traversals do not)."""
    seen, stack = set(), [statement]
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        yield element
        if isinstance(element, TableClause):
            continue  # its columns hold nothing more
        stack.extend(element.get_children())
        table = getattr(element, "table", None)
        if isinstance(element, sa.ColumnClause) and isinstance(table, sa.FromClause):
            stack.append(table)


def _textual(statement: sa.ClauseElement) -> str | None:
    """A tenant table named in text the rewrite cannot read (sa.text, literal columns)."""
    for element in _reach(statement):
        text = element.text if isinstance(element, sa.TextClause) else None
        if isinstance(element, sa.ColumnClause) and element.is_literal:
            text = element.name
        named = _NAMED.search(text) if text else None
        if named:
            return named.group(1)
    return None


def scope_statement(statement: sa.Executable) -> sa.Executable | None:
    """`statement` with every tenant table it touches filtered (or filled, for INSERT) by
    the bound parameter `PARAMETER`; None when it touches no tenant table."""
    named = _textual(statement)
    if named:
        raise TenancyError(
            f"textual SQL on the tenant table {named} cannot be scoped: build it with "
            "SQLAlchemy Core, or run it as an admin (Database.admin())"
        )
    if not tenant_tables(statement):
        return None
    if isinstance(statement, Insert) and statement._multi_values:
        raise TenancyError("multi-VALUES inserts on tenant tables are not scoped: executemany")
    scoped = visitors.cloned_traverse(
        statement,
        {},
        {"select": _scope_select, "update": _scope_dml, "delete": _scope_dml, "insert": _fill},
    )
    missed = _unscoped(scoped)
    if missed:
        # Cloning does not follow a column to its table: a CTE or subquery reached only
        # through its columns (`cte.c.id`) stays as it was. Refused, not run unscoped.
        raise TenancyError(
            f"the tenant scoping cannot reach {', '.join(missed)} in this statement (a CTE or "
            "subquery used through its columns): put the subquery in the WHERE clause"
        )
    return scoped


def _unscoped(statement: sa.Executable) -> list[str]:
    """Tenant tables a SELECT, UPDATE or DELETE anywhere in `statement` reads without the
    tenant filter, following columns to their tables (which the rewrite does not)."""
    missed = set()
    for element in _reach(statement):
        if isinstance(element, Select):
            sources = [s for f in _froms(element) for s in _tables_of(f)]
        elif isinstance(element, Update | Delete):
            sources = [element.table]
        else:
            sources = []
        for source in sources:
            if not any(_filters(c, source) for c in element._where_criteria):
                missed.add(_table(source).name)
    return sorted(missed)


def _tables_of(source: sa.FromClause) -> list[sa.FromClause]:
    """The tenant tables (or aliases of them) of one FROM entry."""
    if isinstance(source, Join):
        return [*_tables_of(source.left), *_tables_of(source.right)]
    table = _table(source)
    return [source] if isinstance(table, TableClause) and table.name in TENANT_COLUMNS else []


def _table(source: sa.FromClause) -> sa.FromClause:
    return source.element if isinstance(source, Alias) else source


def _filters(criterion: sa.ColumnElement[bool], source: sa.FromClause) -> bool:
    """Whether `criterion` is the tenant filter this module put on `source` (told by name:
    FROM entries of one SELECT have distinct names, and cloning may copy an alias)."""
    if getattr(criterion, "right", None) is not _TENANT_VALUE:
        return False
    table = criterion.left.table
    return table.name == source.name and _table(table).name == _table(source).name


def _froms(select: Select) -> list[sa.FromClause]:
    """What `select` reads FROM (explicit, and implied by its columns and WHERE clause).

    `Select.get_final_froms()` says the same but compiles the whole statement to find
    out, which made scoping a statement cost ten times running it; the compile state
    SQLAlchemy builds before compiling holds the list (tests/storage/test_tenancy.py
    would show it moving in a new SQLAlchemy).
    """
    return select._compile_state_factory(select, None)._get_display_froms()


def _scope_select(select: Select) -> None:
    criteria = [_criterion(source) for source in _froms(select)]
    select._where_criteria += tuple(c for group in criteria for c in group)


def _scope_dml(statement: Update | Delete) -> None:
    if isinstance(statement, Update) and _sets_tenant(statement):
        raise TenancyError(
            f"an UPDATE of {statement.table} sets the tenant column: rows stay in the "
            "tenant of the connection (the filter decides which rows, not where they go)"
        )
    other = _other_tables(statement)
    if other:
        raise TenancyError(
            f"an UPDATE or DELETE of {statement.table} that also reads {', '.join(other)} "
            "(UPDATE ... FROM) is not scoped: read the other table in a subquery"
        )
    statement._where_criteria += tuple(_criterion(statement.table))


def _sets_tenant(statement: Update) -> bool:
    """Whether the UPDATE's SET names its table's tenant column (which would move the
    filtered rows to another tenant where no row-level security stops it)."""
    column = TENANT_COLUMNS[_table(statement.table).name]
    # `values(...)` and `ordered_values(...)` both land in `_values` (strings or columns).
    return any(
        (target if isinstance(target, str) else getattr(target, "key", None)) == column
        for target in statement._values or {}
    )


def _other_tables(statement: Update | Delete) -> list[str]:
    """Tenant tables the statement's WHERE names outside subqueries, but its target."""
    found, stack = set(), list(statement._where_criteria)
    while stack:
        element = stack.pop()
        if isinstance(element, Select):
            continue  # a subquery is scoped on its own
        table = getattr(element, "table", None)
        if (
            isinstance(element, sa.ColumnClause)
            and isinstance(table, TableClause)
            and table is not statement.table
            and table.name in TENANT_COLUMNS
        ):
            found.add(table.name)
        stack.extend(element.get_children())
    return sorted(found)


def _fill(insert: Insert) -> None:
    table = insert.table
    if isinstance(table, TableClause) and table.name in TENANT_COLUMNS:
        if insert.select is not None:
            raise TenancyError(f"INSERT ... SELECT into {table.name} is not scoped")
        column = TENANT_COLUMNS[table.name]
        values = dict(insert._values or {})
        values[column] = _TENANT_VALUE
        insert._values = sa.util.immutabledict(values)


def _criterion(source: sa.FromClause) -> list[sa.ColumnElement[bool]]:
    """The tenant filters for one FROM entry: a tenant table or an alias of one, each table
    of a join; a subquery filters itself (its own SELECT is scoped)."""
    criteria = []
    for table in _tables_of(source):
        name = TENANT_COLUMNS[_table(table).name]
        # A lightweight sa.table() may not list the column; the database's table has it.
        column = table.c[name] if name in table.c else sa.column(name, _selectable=table)
        criteria.append(column == _TENANT_VALUE)
    return criteria
