"""Database: migrations build exactly the models' schema, SQLite pragmas, the data version."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from observatory.db import (
    bump_data_version,
    data_version,
    get_engine,
    session_scope,
    upgrade_schema,
)


def _is_full_text_object(difference) -> bool:
    obj = difference[1]
    table = getattr(obj, "table", obj)
    return str(getattr(table, "name", "")).startswith("ai_case_fts")


def test_migrations_match_the_models(app):
    engine = get_engine(app)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    # The full-text index tables are created by hand in migrations (see env.include_object).
    differences = [d for d in differences if not _is_full_text_object(d)]
    assert differences == []


def test_upgrade_is_idempotent(app):
    upgrade_schema(get_engine(app))
    upgrade_schema(get_engine(app))


def test_sqlite_runs_with_wal_and_foreign_keys(app):
    engine = get_engine(app)
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_data_version_increases_with_each_bump(app):
    with session_scope(app) as session:
        before = data_version(session)
        bump_data_version(session)
        bump_data_version(session)
        session.commit()
        assert data_version(session) == before + 2
