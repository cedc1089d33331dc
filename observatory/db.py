"""Database engine per app, a session per request, Alembic migrations and the data version."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine, select

MIGRATIONS_PATH = Path(__file__).parent / "migrations"
ENGINE_KEY = "observatory.engine"
log = logging.getLogger(__name__)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    options: dict = {"echo": echo}
    if url.startswith("sqlite"):
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if url in ("sqlite://", "sqlite:///:memory:"):
            options["poolclass"] = StaticPool
    else:
        # Survive a database restart: test each pooled connection before use.
        options["pool_pre_ping"] = True
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_app(app: Flask) -> None:
    """Attach an engine to the app and close the request session at teardown."""
    app.extensions[ENGINE_KEY] = make_engine(
        app.config["DATABASE_URL"], echo=bool(app.config.get("SQL_ECHO"))
    )
    app.teardown_appcontext(_close_session)


def get_engine(app: Flask | None = None) -> Engine:
    """Return the engine of the given (or current) app."""
    return (app or current_app).extensions[ENGINE_KEY]


def get_session() -> Session:
    """Return the session of the current request or app context, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def _close_session(exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return
    try:
        if exc is not None:
            session.rollback()
        session.close()
    except sa.exc.DBAPIError as error:
        # The database went away after the response was ready (a restart): drop the dead
        # connection rather than turn a finished request into a 500; the pool reconnects.
        log.warning("closing the request's database session failed: %s", error)
        session.invalidate()


@contextmanager
def session_scope(app: Flask | None = None) -> Iterator[Session]:
    """A session outside a request (CLI, scripts); rolls back on error, always closes."""
    with Session(get_engine(app), expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine) -> AlembicConfig:
    """Alembic configuration pointing at the shipped migrations and the given engine."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


_DATA_VERSION_QUERY: sa.Select | None = None


def data_version(session: Session) -> int:
    """The number every write bumps; caches key on it so they stay right across workers."""
    global _DATA_VERSION_QUERY
    if _DATA_VERSION_QUERY is None:
        from observatory.models import DataVersion

        table = DataVersion.__table__
        _DATA_VERSION_QUERY = sa.select(table.c.version).where(table.c.id == 1)
    # A Core statement built once, on the session's connection (same transaction): every
    # cached page asks, and the ORM's machinery costs several times the query itself here.
    return session.connection().execute(_DATA_VERSION_QUERY).scalar() or 0


def bump_data_version(session: Session) -> None:
    """Increment the data version inside the caller's transaction (no commit)."""
    from observatory.models import DataVersion

    result = session.execute(
        sa.update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1)
    )
    if result.rowcount == 0:
        session.add(DataVersion(id=1, version=1))


def count(session: Session, statement) -> int:
    """Run a SELECT COUNT(...) statement and return the integer."""
    return int(session.exec(statement).one())


__all__ = [
    "bump_data_version",
    "count",
    "data_version",
    "get_engine",
    "get_session",
    "init_app",
    "make_engine",
    "select",
    "session_scope",
    "upgrade_schema",
]
