"""Writing many cases at once inside one transaction: rows, the full-text index, search text.

The import writes tens of thousands of rows in a single transaction. These make that fast
without changing what ends up in the database:

- `insert_rows` sends the rows with COPY on PostgreSQL and one executemany on SQLite, with no
  ORM object per row.
- `SearchIndexWriter` takes the per-row full-text triggers of migration 0003 out of the way for
  the length of the transaction and indexes the written cases with one statement per batch;
  the triggers are back before the commit, and a rollback (or a crash) undoes it all.
- `SearchText` builds `cases.services.build_search_text` while folding each distinct part once.
- `roomy_page_cache` gives SQLite room for the pages the transaction touches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from cases.text import fold

INDEX_BATCH = 5000  # case ids per indexing statement (below SQLite's limit on parameters)


@contextmanager
def roomy_page_cache(session: Session, kib: int = 256 * 1024) -> Iterator[None]:
    """On SQLite, let this connection cache up to `kib` KiB of pages while the block runs, then
    go back to its setting: with the default 2 MB a large transaction spills its index pages to
    the WAL again and again. SQLite takes the memory only as pages are used. Set and reset on
    the driver connection, so the reset works whatever state an error left the session in."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    before = int(driver.execute("PRAGMA cache_size").fetchone()[0])
    driver.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {before}")


def insert_rows(session: Session, model: type, rows: list[dict]) -> None:
    """INSERT the rows (all with the same keys) in the session's transaction; nothing for no
    rows. PostgreSQL gets a COPY (several times faster than a pipelined executemany), SQLite one
    driver-level executemany. No RETURNING: it makes SQLAlchemy send one statement per row on
    SQLite and multi-row VALUES on PostgreSQL, both slower; callers read the ids back."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = model.__table__
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    if dialect.name == "sqlite":
        # The statement compiled once and each value through its column type's own bind
        # processor (JSON, dates, booleans), as SQLAlchemy would do, without its per-row work.
        processors = [
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
        ]
        pairs = list(zip(names, processors, strict=True))
        marks = ", ".join("?" for _ in names)
        # Names are the model's own columns (table.c[name] above refuses any other).
        statement = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})"  # nosec B608
        connection.exec_driver_sql(
            statement,
            [tuple(row[n] if p is None else p(row[n]) for n, p in pairs) for row in rows],
        )
        return
    if dialect.name != "postgresql":
        session.execute(sa.insert(table), rows)
        return
    from psycopg.types.json import Json

    json_columns = [isinstance(table.c[name].type, sa.JSON) for name in names]
    statement = f"COPY {quote(table.name)} ({columns}) FROM STDIN"
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    Json(row[name]) if is_json else row[name]
                    for name, is_json in zip(names, json_columns, strict=True)
                ]
            )


def among(session: Session, column: sa.ColumnElement, values: list) -> sa.ColumnElement:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`: one parameter instead of
    thousands (PostgreSQL takes at most 65,535 per statement, and psycopg would parse them out
    of the statement's text each time)."""
    if session.connection().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


class SearchIndexWriter:
    """Keeps the full-text index (`ai_case_fts`, migration 0003) right during a bulk write.

    `suspend()` drops (SQLite) or disables (PostgreSQL) the per-row insert and update triggers
    inside the current transaction; `unindex(ids)` before and `index(ids)` after rewriting cases
    do what the triggers would have done, one statement per batch of ids; `restore()` puts the
    triggers back exactly as they were. All of it is transactional: a rollback or a crash
    before the commit leaves the triggers and the index untouched. Other connections never see
    the triggers missing (SQLite lets one writer at a time; on PostgreSQL the change is
    invisible until the commit and `ALTER TABLE` makes other writers of cases wait for it).
    Without the full-text objects (a database made by `create_all`) every method does nothing.
    """

    SQLITE_TRIGGERS = ("ai_case_fts_after_insert", "ai_case_fts_after_update")
    PG_TRIGGER = "ai_case_fts_sync"

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.connection().dialect.name
        self._saved: list[str] = []  # SQLite: the CREATE TRIGGER statements to run again
        self._disabled = False  # PostgreSQL

    def suspend(self) -> None:
        execute = self.session.execute
        if self.dialect == "sqlite":
            found = execute(
                sa.text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'ai_case' AND name IN :names"
                ).bindparams(sa.bindparam("names", expanding=True)),
                {"names": list(self.SQLITE_TRIGGERS)},
            ).all()
            for name, sql in found:
                execute(sa.text(f'DROP TRIGGER "{name}"'))
                self._saved.append(sql)
        elif self.dialect == "postgresql":
            # ALTER TABLE needs the table's owner: another role keeps the per-row trigger.
            enabled = execute(
                sa.text(
                    "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgrelid = 'ai_case'::regclass AND t.tgname = :name "
                    "AND t.tgenabled <> 'D' AND pg_has_role(c.relowner, 'USAGE')"
                ),
                {"name": self.PG_TRIGGER},
            ).first()
            if enabled:
                execute(sa.text(f"ALTER TABLE ai_case DISABLE TRIGGER {self.PG_TRIGGER}"))
                self._disabled = True

    def unindex(self, ids: list[int]) -> None:
        """Take these cases' current text out of the index (SQLite; before rewriting them)."""
        if self.dialect == "sqlite" and self._saved:
            self._each_batch(
                ids,
                "INSERT INTO ai_case_fts(ai_case_fts, rowid, search_text) "
                "SELECT 'delete', id, search_text FROM ai_case WHERE id IN :ids",
            )

    def index(self, ids: list[int]) -> None:
        """Index these cases' current text (as the triggers of migration 0003 do per row)."""
        if self.dialect == "sqlite" and self._saved:
            self._each_batch(
                ids,
                "INSERT INTO ai_case_fts(rowid, search_text) "
                "SELECT id, search_text FROM ai_case WHERE id IN :ids",
            )
        elif self._disabled:
            self._each_batch(
                ids,
                "INSERT INTO ai_case_fts (case_id, document) "
                "SELECT id, to_tsvector('simple'::regconfig, search_text) FROM ai_case "
                "WHERE id = ANY(:ids) "
                "ON CONFLICT (case_id) DO UPDATE SET document = EXCLUDED.document",
            )

    def restore(self) -> None:
        for sql in self._saved:
            self.session.execute(sa.text(sql))
        self._saved = []
        if self._disabled:
            self.session.execute(sa.text(f"ALTER TABLE ai_case ENABLE TRIGGER {self.PG_TRIGGER}"))
            self._disabled = False

    def _each_batch(self, ids: list[int], sql: str) -> None:
        """Run `sql` per batch of ids: `IN :ids` on SQLite, `= ANY(:ids)` (an array) on
        PostgreSQL, as `among` does for Core statements."""
        statement = sa.text(sql)
        if self.dialect != "postgresql":
            statement = statement.bindparams(sa.bindparam("ids", expanding=True))
        for start in range(0, len(ids), INDEX_BATCH):
            self.session.execute(statement, {"ids": ids[start : start + INDEX_BATCH]})


class SearchText:
    """`cases.services.build_search_text` for many records, folding each distinct part once.

    Folding the whole text equals joining the folds of its non-empty parts with a space (the
    space is a word boundary; case and accent folding go character by character), and imported
    records repeat their institutions and descriptions, so each part's fold is remembered.
    """

    PARTS = ("name", "acronym", "institution", "purpose")

    def __init__(self) -> None:
        self._folds: dict[str, str] = {}

    def __call__(self, values: dict[str, Any]) -> str:
        folds = self._folds
        parts = []
        for name in self.PARTS:
            text = values[name]
            folded = folds.get(text)
            if folded is None:
                folded = folds[text] = fold(text)
            if folded:
                parts.append(folded)
        return " ".join(parts)
