"""Whole-database backup and restore: every table of the schema, streamed to one gzipped file.

The file is gzipped JSON lines (UTF-8), written and read in chunks so that millions of score
rows never sit in one Python list:

1. a header object: format, format version, creation time, Alembic revision, source database
   dialect, whether password hashes are included, and the table names in dependency order;
2. per table, a `{"table": name, "columns": [...]}` object, then one JSON array per row (values
   in column order, primary-key order), then `{"end_table": name, "rows": n}`;
3. a trailer `{"end": true, "counts": {table: rows}, "sha256": ...}`: the checksum covers every
   byte of the (uncompressed) lines before it, so a truncated or altered file is refused.

Tables come from `SQLModel.metadata` after the app's `import_models()`, so a new table model is
backed up and restored without touching this module. Tables outside the metadata are derived:
the full-text index of migration 0003 (`ai_case_fts*`) is rebuilt after a restore.

Password hashes are left out unless asked for; a restored account without one gets
`UNUSABLE_PASSWORD`, which no password matches, until an admin sets a password
(`observatory set-password`).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel

from observatory.db import current_revision
from observatory.models import AuditEvent, DataVersion, User

FORMAT = "lac-ai-observatory/backup"
FORMAT_VERSION = 1
CHUNK = 1000
# Not a werkzeug hash ("method$salt$hash"), so check_password_hash is False for every password.
UNUSABLE_PASSWORD = "!restored-without-password"  # nosec B105 # a marker, not a password
PASSWORD_TABLE, PASSWORD_COLUMN = User.__tablename__, "password_hash"
# Tables `observatory init` fills from shipped files (frameworks, regulations) and the data
# version row: a database holding only these counts as empty; a restore replaces their rows.
SEEDED_TABLES = frozenset({"framework_version", "regulatory_instrument", "data_version"})

# progress(table, rows written or loaded so far in that table)
Progress = Callable[[str, int], None] | None


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why (nothing was written)."""


@dataclass
class BackupSummary:
    """What a backup file holds or what a restore wrote."""

    path: Path
    revision: str | None
    include_password_hashes: bool
    counts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""

    @property
    def rows(self) -> int:
        """Rows over all tables."""
        return sum(self.counts.values())


def backup_tables() -> list[sa.Table]:
    """Every table of the application's schema, parents before children."""
    from observatory.app import import_models

    import_models()
    return list(SQLModel.metadata.sorted_tables)


# --- values -----------------------------------------------------------------------------------


def _encoder(column: sa.Column) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return _encode_datetime
    if isinstance(kind, sa.Date):
        return lambda value: None if value is None else value.isoformat()
    if isinstance(kind, sa.LargeBinary):
        return lambda value: None if value is None else base64.b64encode(value).decode("ascii")
    return lambda value: value


def _encode_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    # SQLite hands back naive datetimes; the app stores every time in UTC.
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()


def _decoder(column: sa.Column) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return lambda value: None if value is None else datetime.fromisoformat(value)
    if isinstance(kind, sa.Date):
        return lambda value: None if value is None else date.fromisoformat(value)
    if isinstance(kind, sa.LargeBinary):
        return lambda value: None if value is None else base64.b64decode(value)
    return lambda value: value


# --- writing ----------------------------------------------------------------------------------


class _Writer:
    """JSON lines into a gzip stream, hashing every uncompressed byte."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def line(self, value: Any) -> None:
        data = (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self.digest.update(data)
        self.stream.write(data)


def _snapshot(connection: Connection) -> None:
    """Make every following read see one consistent state of the database."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
    elif connection.dialect.name == "sqlite":
        # pysqlite opens no transaction for reads; an explicit one pins a WAL snapshot.
        connection.exec_driver_sql("BEGIN")


def _ordered(table: sa.Table) -> sa.Select:
    key = list(table.primary_key.columns) or list(table.columns)
    return sa.select(table).order_by(*key)


def write_backup(
    engine: Engine,
    path: str | Path,
    *,
    include_password_hashes: bool = False,
    progress: Progress = None,
) -> BackupSummary:
    """Write every row of every table to `path` (gzipped JSON lines, see the module docstring).

    Reads one consistent snapshot, streaming each table in chunks of `CHUNK` rows. The file is
    written next to `path` and moved into place only when complete, so a failure never leaves a
    partial backup behind. Password hashes are written as null unless `include_password_hashes`.
    Raises BackupError when the database has no schema.
    """
    path = Path(path)
    revision = current_revision(engine)
    if revision is None:
        raise BackupError("the database has no schema (run `observatory init` first)")
    tables = backup_tables()
    summary = BackupSummary(path, revision, include_password_hashes)
    handle, temporary = tempfile.mkstemp(prefix=".backup-", dir=path.parent or Path.cwd())
    try:
        with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as stream:
            writer = _Writer(stream)
            writer.line(
                {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created_at": datetime.now(UTC).isoformat(),
                    "alembic_revision": revision,
                    "dialect": engine.dialect.name,
                    "include_password_hashes": include_password_hashes,
                    "tables": [table.name for table in tables],
                }
            )
            with engine.connect() as connection:
                _snapshot(connection)
                for table in tables:
                    summary.counts[table.name] = _write_table(
                        connection, writer, table, include_password_hashes, progress
                    )
                connection.rollback()
            summary.sha256 = writer.digest.hexdigest()
            writer.line({"end": True, "counts": summary.counts, "sha256": summary.sha256})
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return summary


def _write_table(
    connection: Connection,
    writer: _Writer,
    table: sa.Table,
    include_password_hashes: bool,
    progress: Progress,
) -> int:
    columns = list(table.columns)
    encoders = [_encoder(column) for column in columns]
    if table.name == PASSWORD_TABLE and not include_password_hashes:
        hidden = [column.name for column in columns].index(PASSWORD_COLUMN)
        encoders[hidden] = lambda _value: None
    writer.line({"table": table.name, "columns": [column.name for column in columns]})
    rows = 0
    result = connection.execute(_ordered(table), execution_options={"yield_per": CHUNK})
    for chunk in result.partitions(CHUNK):
        for row in chunk:
            writer.line([encode(value) for encode, value in zip(encoders, row, strict=True)])
        rows += len(chunk)
        if progress:
            progress(table.name, rows)
    writer.line({"end_table": table.name, "rows": rows})
    return rows


# --- reading ----------------------------------------------------------------------------------


@dataclass
class _Section:
    """One table's rows as they are read from the file."""

    table: str
    columns: list[str]
    rows: Iterator[list[Any]]


class _Reader:
    """Parses a backup file line by line and checks its structure and checksum as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.header: dict[str, Any] = {}
        self.trailer: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def _lines(self) -> Iterator[Any]:
        number = 0
        try:
            with gzip.open(self.path, "rb") as stream:
                for number, data in enumerate(stream, start=1):  # noqa: B007 - used after the loop
                    if not data.endswith(b"\n"):
                        raise BackupError(f"the backup file is truncated (line {number})")
                    if self.trailer:
                        raise BackupError("the backup file has data after its end marker")
                    try:
                        value = json.loads(data)
                    except ValueError as error:
                        raise BackupError(f"line {number} of the backup is not JSON") from error
                    if isinstance(value, dict) and value.get("end") is True:
                        self.trailer = value
                        continue
                    self.digest.update(data)
                    yield value
        except (OSError, EOFError, zlib.error) as error:
            # gzip.BadGzipFile is an OSError; a cut-off stream raises EOFError.
            raise BackupError(
                f"the backup file is damaged or truncated near line {number + 1}: {error}"
            ) from error

    def sections(self) -> Iterator[_Section]:
        """The header is read first; then each table's section in order; then the trailer."""
        lines = self._lines()
        try:
            header = next(lines)
        except StopIteration:
            raise BackupError("the backup file is empty") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise BackupError("this is not an observatory backup file")
        if header.get("format_version") != FORMAT_VERSION:
            raise BackupError(
                f"backup format version {header.get('format_version')!r} is not supported "
                f"(this version reads {FORMAT_VERSION})"
            )
        self.header = header
        expected = list(header.get("tables") or [])
        for name in expected:
            opening = next(lines, None)
            if not isinstance(opening, dict) or opening.get("table") != name:
                raise BackupError(f"the backup file is truncated or damaged (table {name})")
            columns = opening.get("columns")
            if not isinstance(columns, list):
                raise BackupError(f"table {name}: no column list in the backup")
            rows = self._rows(lines, name, len(columns))
            yield _Section(name, columns, rows)
            for _rest in rows:  # a caller that stopped early still consumes the section
                pass
        if next(lines, None) is not None:
            raise BackupError("the backup file holds more tables than its header lists")
        self._check_trailer()

    def _rows(self, lines: Iterator[Any], name: str, width: int) -> Iterator[list[Any]]:
        rows = 0
        for value in lines:
            if isinstance(value, list):
                if len(value) != width:
                    raise BackupError(f"table {name}: row {rows + 1} has the wrong width")
                rows += 1
                yield value
                continue
            if isinstance(value, dict) and value.get("end_table") == name:
                if value.get("rows") != rows:
                    raise BackupError(f"table {name}: the backup is missing rows")
                self.counts[name] = rows
                return
            raise BackupError(f"table {name}: unexpected content in the backup")
        raise BackupError(f"the backup file is truncated (inside table {name})")

    def _check_trailer(self) -> None:
        if not self.trailer:
            raise BackupError("the backup file is truncated (no end marker)")
        if self.trailer.get("sha256") != self.digest.hexdigest():
            raise BackupError("the backup file's checksum does not match: it was altered")
        if self.trailer.get("counts") != self.counts:
            raise BackupError("the backup file's row counts do not match its content")


def verify_backup(path: str | Path) -> BackupSummary:
    """Read a whole backup file and check it (structure, row counts, checksum) without writing.

    Returns what it holds; raises BackupError on anything wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no such file: {path}")
    reader = _Reader(path)
    for _section in reader.sections():
        pass
    return BackupSummary(
        path,
        reader.header.get("alembic_revision"),
        bool(reader.header.get("include_password_hashes")),
        dict(reader.counts),
        reader.trailer["sha256"],
    )


# --- restoring --------------------------------------------------------------------------------


def _non_empty_tables(connection: Connection, tables: list[sa.Table]) -> list[str]:
    return [
        table.name
        for table in tables
        if table.name not in SEEDED_TABLES
        and connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
    ]


def _clear(connection: Connection, tables: list[sa.Table]) -> None:
    if connection.dialect.name == "postgresql":
        # CASCADE also empties the derived full-text table (it references ai_case).
        names = ", ".join(connection.dialect.identifier_preparer.quote(t.name) for t in tables)
        connection.exec_driver_sql(f"TRUNCATE {names} CASCADE")
        return
    for table in reversed(tables):
        connection.execute(table.delete())


def _reset_sequences(connection: Connection, tables: list[sa.Table]) -> None:
    """PostgreSQL: make each serial primary key continue after the restored rows."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        key = table.autoincrement_column
        if key is None:
            continue
        sequence = connection.execute(
            sa.select(sa.func.pg_get_serial_sequence(table.name, key.name))
        ).scalar()
        if sequence:
            highest = connection.execute(sa.select(sa.func.max(key))).scalar()
            connection.execute(
                sa.select(sa.func.setval(sequence, highest or 1, highest is not None))
            )


def rebuild_full_text(connection: Connection) -> None:
    """Rebuild the full-text index of migration 0003 from `ai_case.search_text`."""
    if not sa.inspect(connection).has_table("ai_case_fts"):
        return
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("INSERT INTO ai_case_fts(ai_case_fts) VALUES ('rebuild')")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DELETE FROM ai_case_fts")
        connection.exec_driver_sql(
            "INSERT INTO ai_case_fts (case_id, document) "
            "SELECT id, to_tsvector('simple'::regconfig, search_text) FROM ai_case"
        )


def restore_backup(
    engine: Engine, path: str | Path, *, replace: bool = False, progress: Progress = None
) -> BackupSummary:
    """Load a backup file into this database, all or nothing.

    The file is checked in full first (`verify_backup`) and must come from the schema revision
    the database is at. The database must be empty, apart from what `observatory init` loads
    (`SEEDED_TABLES`, replaced by the backup's rows), unless `replace` is set: then every row is
    deleted first. One transaction loads every table in chunks, then resets PostgreSQL's
    sequences, rebuilds the full-text index, records a `backup.restored` audit event and moves
    the data version past both the old and the restored one (so no cache serves old figures).
    Accounts without a password hash get `UNUSABLE_PASSWORD`. Raises BackupError; on any error
    nothing is written.
    """
    path = Path(path)
    checked = verify_backup(path)
    revision = current_revision(engine)
    if revision is None:
        raise BackupError("the database has no schema: run `observatory init` first")
    if checked.revision != revision:
        raise BackupError(
            f"the backup was made at schema revision {checked.revision}, but this database is "
            f"at {revision}: restore it with the observatory version that made it"
        )
    tables = backup_tables()
    by_name = {table.name: table for table in tables}
    reader = _Reader(path)
    try:
        with engine.begin() as connection:
            busy = _non_empty_tables(connection, tables)
            if busy and not replace:
                raise BackupError(
                    "the database is not empty (rows in: "
                    + ", ".join(busy)
                    + "); restore into a new database after `observatory init`, or use "
                    "--replace to delete every row first"
                )
            previous_version = connection.execute(
                sa.select(DataVersion.version).where(DataVersion.id == 1)
            ).scalar()
            _clear(connection, tables)
            sections = reader.sections()
            for section in sections:
                table = by_name.get(section.table)
                if table is None or section.columns != [c.name for c in table.columns]:
                    raise BackupError(
                        f"table {section.table} of the backup does not match this schema"
                    )
                _load_table(connection, table, section, progress)
            missing = set(by_name) - set(reader.counts)
            if missing:
                raise BackupError("the backup lacks tables: " + ", ".join(sorted(missing)))
            _reset_sequences(connection, tables)
            rebuild_full_text(connection)
            _finish(connection, path, reader, previous_version or 0)
    except (ValueError, TypeError) as error:
        raise BackupError(f"the backup holds a value this schema cannot take: {error}") from error
    except sa.exc.SQLAlchemyError as error:
        raise BackupError(
            f"the database refused the backup, nothing was restored: {error.__class__.__name__}:"
            f" {str(error.orig if hasattr(error, 'orig') else error).strip()[:500]}"
        ) from error
    return BackupSummary(
        path, revision, checked.include_password_hashes, dict(reader.counts), checked.sha256
    )


def _load_table(
    connection: Connection, table: sa.Table, section: _Section, progress: Progress
) -> None:
    columns = list(table.columns)
    decoders = [_decoder(column) for column in columns]
    names = [column.key for column in columns]
    hidden = (
        names.index(PASSWORD_COLUMN) if table.name == PASSWORD_TABLE else None
    )  # accounts restored without a hash
    batch: list[dict[str, Any]] = []
    loaded = 0
    for values in section.rows:
        row = {
            name: decode(value) for name, decode, value in zip(names, decoders, values, strict=True)
        }
        if hidden is not None and not row[PASSWORD_COLUMN]:
            row[PASSWORD_COLUMN] = UNUSABLE_PASSWORD
        batch.append(row)
        if len(batch) >= CHUNK:
            connection.execute(table.insert(), batch)
            loaded += len(batch)
            batch = []
            if progress:
                progress(table.name, loaded)
    if batch:
        connection.execute(table.insert(), batch)
        if progress:
            progress(table.name, loaded + len(batch))


def _finish(connection: Connection, path: Path, reader: _Reader, previous_version: int) -> None:
    restored = connection.execute(
        sa.select(DataVersion.version).where(DataVersion.id == 1)
    ).scalar()
    version = max(previous_version, restored or 0) + 1
    if restored is None:
        connection.execute(sa.insert(DataVersion).values(id=1, version=version))
    else:
        connection.execute(
            sa.update(DataVersion).where(DataVersion.id == 1).values(version=version)
        )
    connection.execute(
        sa.insert(AuditEvent).values(
            at=datetime.now(UTC),
            actor_id=None,
            action="backup.restored",
            target=path.name[:200],
            detail={
                "rows": sum(reader.counts.values()),
                "created_at": reader.header.get("created_at"),
                "revision": reader.header.get("alembic_revision"),
                "sha256": reader.trailer.get("sha256"),
                "password_hashes": bool(reader.header.get("include_password_hashes")),
            },
        )
    )


def set_password(session: Session, *, email: str, password: str) -> User:
    """Give an account a new password from the command line (e.g. after a restore without
    password hashes); records an audit event and commits.

    Raises BackupError for an unknown e-mail or a password shorter than the minimum.
    """
    from observatory.accounts import audit, get_user_by_email
    from observatory.security import MIN_PASSWORD_LENGTH, hash_password

    user = get_user_by_email(session, email)
    if user is None:
        raise BackupError(f"no account with the e-mail {email}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BackupError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    session.add(user)
    audit(session, actor=None, action="user.password_set", target=user.email, via="cli")
    session.commit()
    return user
