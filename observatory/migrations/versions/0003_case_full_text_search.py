"""full-text search over cases: `ai_case_fts` kept in step with ai_case by triggers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:30:00.000000

Both back ends index `ai_case.search_text`, which the services keep folded (lower-case, no
accents), so "decisión" and "decision" match alike.

- SQLite: `ai_case_fts` is an external-content FTS5 table (only the index is stored; the text
  stays in `ai_case`), tokenizer `unicode61 remove_diacritics 2`.
- PostgreSQL: `ai_case_fts(case_id, document)` holds `to_tsvector('simple', search_text)` under a
  GIN index. A side table rather than an expression index on `ai_case`, because an index the
  models do not declare makes `tests/observatory/test_db.py` (migrations == models) fail, while
  extra tables are expected; the stored vector also makes ranking cheap (no re-parsing).

Caution for later migrations: a SQLite batch migration that *recreates* `ai_case` drops the
triggers with the old table; such a migration must drop and recreate the FTS objects (run
`_drop_sqlite()` then `_create_sqlite()`) or searches go stale.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_UP = (
    """
    CREATE TABLE ai_case_fts (
        case_id integer PRIMARY KEY REFERENCES ai_case (id) ON DELETE CASCADE,
        document tsvector NOT NULL
    )
    """,
    "CREATE INDEX ix_ai_case_fts_document ON ai_case_fts USING gin (document)",
    """
    CREATE FUNCTION ai_case_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO ai_case_fts (case_id, document)
        VALUES (NEW.id, to_tsvector('simple'::regconfig, NEW.search_text))
        ON CONFLICT (case_id) DO UPDATE SET document = EXCLUDED.document;
        RETURN NULL;
    END
    $$
    """,
    # Deletes need no trigger: the foreign key cascades.
    """
    CREATE TRIGGER ai_case_fts_sync AFTER INSERT OR UPDATE OF search_text ON ai_case
    FOR EACH ROW EXECUTE FUNCTION ai_case_fts_sync()
    """,
    """
    INSERT INTO ai_case_fts (case_id, document)
    SELECT id, to_tsvector('simple'::regconfig, search_text) FROM ai_case
    """,
)

PG_DOWN = (
    "DROP TRIGGER IF EXISTS ai_case_fts_sync ON ai_case",
    "DROP FUNCTION IF EXISTS ai_case_fts_sync()",
    "DROP TABLE IF EXISTS ai_case_fts",
)

SQLITE_UP = (
    """
    CREATE VIRTUAL TABLE ai_case_fts USING fts5(
        search_text,
        content='ai_case',
        content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER ai_case_fts_after_insert AFTER INSERT ON ai_case BEGIN
        INSERT INTO ai_case_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
    """
    CREATE TRIGGER ai_case_fts_after_delete AFTER DELETE ON ai_case BEGIN
        INSERT INTO ai_case_fts(ai_case_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END
    """,
    # Only when the indexed column (or the id) is written: state changes do not re-index.
    """
    CREATE TRIGGER ai_case_fts_after_update AFTER UPDATE OF id, search_text ON ai_case BEGIN
        INSERT INTO ai_case_fts(ai_case_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO ai_case_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
    # Index the rows that exist already.
    "INSERT INTO ai_case_fts(ai_case_fts) VALUES ('rebuild')",
)

SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS ai_case_fts_after_update",
    "DROP TRIGGER IF EXISTS ai_case_fts_after_delete",
    "DROP TRIGGER IF EXISTS ai_case_fts_after_insert",
    "DROP TABLE IF EXISTS ai_case_fts",
)


def _run(statements: Sequence[str]) -> None:
    for statement in statements:
        op.execute(statement)


def _create_sqlite() -> None:
    _run(SQLITE_UP)


def _drop_sqlite() -> None:
    _run(SQLITE_DOWN)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _create_sqlite()
    elif dialect == "postgresql":
        _run(PG_UP)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _drop_sqlite()
    elif dialect == "postgresql":
        _run(PG_DOWN)
