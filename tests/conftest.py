"""Shared fixtures: an app per test on a fresh database (SQLite, or PostgreSQL when asked)."""

from __future__ import annotations

import gc
import os
import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from observatory import accounts
from observatory.app import create_app
from observatory.db import get_engine, make_engine, session_scope, upgrade_schema
from observatory.models import Role

# `make test` runs the suite twice: on SQLite, then with OBSERVATORY_TEST_BACKEND=postgresql on
# a fresh database created on the server named by TEST_DATABASE_URL (and dropped afterwards).
BACKEND = os.environ.get("OBSERVATORY_TEST_BACKEND", "sqlite")
PASSWORD = "correct horse battery"


def _postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        pytest.exit("OBSERVATORY_TEST_BACKEND=postgresql needs TEST_DATABASE_URL", returncode=4)
    return url


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database made once per run (a file for SQLite, a database for PG).

    On PostgreSQL each run creates its own database next to TEST_DATABASE_URL's and drops it at
    the end, so two test runs on one server never wipe each other's data.
    """
    if BACKEND == "postgresql":
        server_url = sa.make_url(_postgres_url())
        name = f"observatory_test_{os.getpid()}"
        admin = make_engine(server_url.render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = server_url.set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade_schema(engine)
        engine.dispose()
        yield url
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    yield str(path)


def _fresh_database(template: str, tmp_path: Path) -> str:
    if BACKEND == "postgresql":
        engine = make_engine(template)
        with engine.begin() as connection:
            tables = [
                name
                for name in sa.inspect(connection).get_table_names()
                if name != "alembic_version"
            ]
            connection.execute(
                sa.text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
            connection.execute(sa.text("INSERT INTO data_version (id, version) VALUES (1, 0)"))
        engine.dispose()
        return template
    target = tmp_path / "test.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    """URL of an empty, migrated database for this test."""
    return _fresh_database(database_template, tmp_path)


def unclosed_files_after(action: Callable[[], object]) -> list[str]:
    """The "unclosed file" warnings of what `action()` left to the garbage collector (with
    `filterwarnings = error` they would otherwise fail whichever test runs when it collects)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


class BodyClosingClient(FlaskClient):
    """Flask's test client, closing each request's body once its response is in.

    werkzeug's test client encodes a multipart body of more than 500 KB into a temporary file
    that it never closes; collected later, its ResourceWarning ("unclosed file
    <_io.BufferedRandom>") failed whichever test was running then. (The app closes the files it
    parses itself.) tests/test_test_client.py checks this client, and that werkzeug's leaks."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        for answered in (*response.history, response):
            body = answered.request.environ.get("wsgi.input")
            if body is not None:
                body.close()
        return response


def make_app(database_url: str, instance: Path, **config) -> Flask:
    """An app in testing mode with CSRF on and production settings, on `database_url` with
    its instance folder at `instance`; `config` adds or overrides settings."""
    application = create_app(
        {
            "TESTING": True,
            "ENV": "production",
            "SECRET_KEY": "test-secret-key-not-for-production",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(instance),
        }
        | config
    )
    application.test_client_class = BodyClosingClient
    return application


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app in testing mode with CSRF on, on a fresh database."""
    application = make_app(database_url, tmp_path / "instance", LOGIN_MAX_FAILURES=5)
    yield application
    get_engine(application).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def cli_env(monkeypatch, database_url: str, tmp_path: Path) -> str:
    """The environment of the `observatory` command on this test's database; its URL."""
    monkeypatch.setenv("OBSERVATORY_ENV", "development")
    monkeypatch.setenv("OBSERVATORY_DATABASE_URL", database_url)
    monkeypatch.setenv("OBSERVATORY_INSTANCE_PATH", str(tmp_path))
    return database_url


@pytest.fixture
def db_session(app: Flask):
    """A session on the test database, outside any request."""
    with app.app_context(), session_scope(app) as session:
        yield session


def make_user(app: Flask, role: str = "submitter", *, email: str | None = None, **fields):
    """Create an account through the accounts service (real validation)."""
    with app.app_context(), session_scope(app) as session:
        return accounts.create_user(
            session,
            email=email or f"{role}@example.org",
            password=PASSWORD,
            role=Role(role),
            actor=None,
            bootstrap=True,
            name=fields.pop("name", f"Test {role}"),
            **fields,
        )


def fast_hash(password: str) -> str:
    """A cheap password hash for accounts made in bulk (scrypt is tested elsewhere); signing in
    still checks it."""
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


@pytest.fixture
def fast_password_hashing(monkeypatch):
    """Accounts created during the test are hashed with `fast_hash`. Modules that make many
    accounts ask for it with `pytestmark = pytest.mark.usefixtures("fast_password_hashing")`."""
    monkeypatch.setattr("observatory.accounts.hash_password", fast_hash)


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str, where: str = "the page") -> str:
    """The CSRF token of the first form in `html`; an AssertionError when there is none."""
    match = CSRF_PATTERN.search(html)
    assert match, f"no CSRF token on {where}"
    return match.group(1)


def csrf_token(client: FlaskClient, path: str = "/account/login") -> str:
    """A valid CSRF token for the client's current session, read from a rendered form."""
    return csrf_from(client.get(path).get_data(as_text=True), path)


def post(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """POST with a valid CSRF token, as the browser would."""
    payload = dict(data or {})
    payload.setdefault("csrf_token", csrf_token(client))
    return client.post(path, data=payload, **kwargs)


def login(client, email: str, password: str = PASSWORD, *, base: str = "", **request):
    """Sign in through the real form (the sign-in page's CSRF token, then the credentials);
    the response. `client` is a Flask test client, or a `requests.Session` with `base` the live
    server's URL and `request` its options (allow_redirects=False, a timeout)."""
    path = base + "/account/login"
    token = csrf_from(client.get(path, **request).text, path)
    data = {"csrf_token": token, "email": email, "password": password}
    return client.post(path, data=data, **request)


def switch_user(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    """Sign the test client out, then in again as `email` through the form."""
    post(client, "/account/logout")
    response = login(client, email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]


@pytest.fixture
def login_as(app: Flask, client: FlaskClient):
    """`login_as("editor")` creates that account and signs the test client in; returns the user."""

    def _login(role: str, **fields):
        user = make_user(app, role, **fields)
        response = login(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return _login
