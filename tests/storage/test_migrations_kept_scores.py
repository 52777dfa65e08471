"""Revision 0014_kept_scores on both databases: scores kept at 0013 stay as they were (answers,
no top fix), the trail stays append-only, and the downgrade is refused once a shadow score
exists, which 0013 would read as an answer."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from serving.audit import AuditLog, Decision
from settings import Settings
from storage.database import Database
from storage.migrate import alembic_config
from tests.storage.test_migrations import _columns, _rows

OLD = "0013_wide_code_lists"
NEW_COLUMNS = {"top_fix", "role"}


def _filled_at_0013(database_url: str, clock) -> None:
    """Scores written by the current code, then the store taken down to 0013 (nothing of
    0014's is in it yet: every row an answer)."""
    with Database.from_settings(Settings(database_url=database_url)) as database:
        log = AuditLog(database, clock=clock)
        log.record("k1", "7", [Decision("A", 0.1, "pass", "FIX_MOD"), Decision("B", 0.6, "hold")])
        clock.advance(60)
        log.record("k2", "8", [Decision("A", 0.3, "review")])
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), OLD)
        assert not NEW_COLUMNS & set(_columns(connection, "scoring_audit"))
    engine.dispose()


def test_a_store_filled_at_0013_upgrades_keeping_every_score(database_url: str, clock) -> None:
    _filled_at_0013(database_url, clock)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        old_columns = _columns(connection, "scoring_audit")
        before = _rows(connection, "scoring_audit")
        command.upgrade(alembic_config(connection=connection), "head")
        assert set(_columns(connection, "scoring_audit")) == {*old_columns, *NEW_COLUMNS}
        assert _rows(connection, "scoring_audit", old_columns) == before
        assert _rows(connection, "scoring_audit", ["id", "top_fix", "role"]) == [
            (1, None, "champion"),
            (2, None, "champion"),
            (3, None, "champion"),
        ]
        indexes = sa.inspect(connection).get_indexes("scoring_audit")
        assert {"scoring_audit_tenant_claim": ["tenant", "claim_id"]}.items() <= {
            index["name"]: index["column_names"] for index in indexes
        }.items()
        for statement in ("UPDATE scoring_audit SET band = 'pass'", "DELETE FROM scoring_audit"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), connection.begin_nested():
                connection.exec_driver_sql(statement)
        with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
            connection.exec_driver_sql(
                "INSERT INTO scoring_audit (tenant, at, key_id, claim_id, model_version, "
                "p_denial, band, role) VALUES "
                "('default', '2026-11-23 14:00:00', 'k', 'C', '7', 0.1, 'pass', 'other')"
            )
    engine.dispose()


def test_the_downgrade_is_refused_once_a_shadow_score_is_kept(database_url: str, clock) -> None:
    with Database.from_settings(Settings(database_url=database_url)) as database:
        log = AuditLog(database, clock=clock)
        log.record("k1", "9", [Decision("A", 0.2, "pass")], role="shadow")
    engine = sa.create_engine(database_url)
    with (
        pytest.raises(RuntimeError, match=r"1 shadow score\(s\).*not downgrading"),
        engine.begin() as connection,
    ):
        command.downgrade(alembic_config(connection=connection), OLD)
    with engine.connect() as connection:
        assert "role" in _columns(connection, "scoring_audit")
    engine.dispose()
