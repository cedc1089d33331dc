"""Faults: kill -9 in the middle of an import and of submissions, then restart; PostgreSQL
restarted under load. Slow: run with `pytest -m reliability` (on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from observatory.db import make_engine
from tests.reliability._consistency import problems, snapshot
from tests.reliability._files import write_register
from tests.reliability._server import (
    OBSERVATORY,
    ROOT,
    PrivateCluster,
    Server,
    add_accounts,
    cli,
    environment,
    postgres_bin,
    postgres_database,
    sign_in,
    submit_case,
)

pytestmark = [pytest.mark.slow, pytest.mark.reliability]
BACKENDS = ["sqlite", "postgresql"]
IMPORT_ROWS = 600


@contextmanager
def fresh_database(backend: str, folder: Path, label: str):
    """An empty database: a SQLite file in `folder`, or a new database on TEST_DATABASE_URL."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{label}.sqlite3'}"
        return
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("set TEST_DATABASE_URL (a PostgreSQL server) for the PostgreSQL run")
    with postgres_database(server, label) as url:
        yield url


def imported(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text("SELECT count(*) FROM ai_case WHERE provenance = 'import'")
            ).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill9_in_the_middle_of_an_import_leaves_all_or_nothing(backend, tmp_path):
    register = write_register(tmp_path / "register.csv", IMPORT_ROWS)
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(backend, tmp_path, "killed"))
        clean_url = stack.enter_context(fresh_database(backend, tmp_path, "clean"))
        env = environment(url, tmp_path / "instance")
        cli(env, "init")
        # The import prints "Writing cases" once its single transaction has inserted the cases
        # and before the versions, techniques and events: that is when the power goes.
        process = subprocess.Popen(
            [OBSERVATORY, "import", str(register)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = []
        for line in process.stdout:
            output.append(line)
            if "Writing cases" in line:
                os.kill(process.pid, signal.SIGKILL)
                break
        process.wait(60)
        process.stdout.close()
        assert process.returncode == -signal.SIGKILL, "".join(output)
        assert not any("Imported as" in line for line in output)

        assert problems(url) == []
        assert imported(url) == 0, "a killed import left part of its rows"

        cli(env, "import", str(register))  # run again after the crash
        assert imported(url) == IMPORT_ROWS
        assert problems(url) == []

        clean_env = environment(clean_url, tmp_path / "clean-instance")
        cli(clean_env, "init")
        cli(clean_env, "import", str(register))
        after_crash, clean = snapshot(url), snapshot(clean_url)
        assert after_crash["cases"] == clean["cases"]
        assert after_crash["counts"] == clean["counts"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill9_in_the_middle_of_submissions_keeps_every_acknowledged_case(backend, tmp_path):
    with fresh_database(backend, tmp_path, "submissions") as url:
        env = environment(url, tmp_path / "instance")
        cli(env, "init")
        emails = [f"sub{n}@carga.example.org" for n in range(3)]
        add_accounts(
            url, [(e, "submitter", "Ministerio de Pruebas de Carga", "ARG") for e in emails]
        )
        server = Server(env, workers=2, log=tmp_path / "serve.log").start()
        acknowledged: list[tuple[str, str]] = []
        failures: list[str] = []
        lock = threading.Lock()

        def submitter(email: str) -> None:
            session = sign_in(server.url, email)
            for number in range(1000):
                name = f"Caso {email.split('@')[0]} {number}"
                try:
                    ref = submit_case(session, server.url, name, "ARG")
                except requests.RequestException:
                    return  # the server is gone
                except AssertionError as error:
                    with lock:
                        failures.append(str(error))
                    return
                if ref:
                    with lock:
                        acknowledged.append((ref, name))

        threads = [threading.Thread(target=submitter, args=(e,), daemon=True) for e in emails]
        try:
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 60
            while len(acknowledged) < 6 and time.monotonic() < deadline:
                time.sleep(0.1)
            server.kill9()  # mid-stream: requests are in flight in both workers
            for thread in threads:
                thread.join(60)
        finally:
            server.kill9()
        assert failures == []
        assert len(acknowledged) >= 6, server.log_text()[-2000:]

        assert problems(url) == []
        engine = make_engine(url)
        with engine.connect() as connection:
            stored = dict(
                connection.execute(
                    sa.text("SELECT ref, name FROM ai_case WHERE state = 'submitted'")
                ).all()
            )
        engine.dispose()
        missing = [(ref, name) for ref, name in acknowledged if stored.get(ref) != name]
        assert missing == [], "acknowledged submissions lost by the crash"

        restarted = Server(env, workers=2, log=tmp_path / "serve.log").start()
        try:
            ref = submit_case(
                sign_in(restarted.url, emails[0]), restarted.url, "Tras el reinicio", "ARG"
            )
            assert ref is not None
        finally:
            restarted.stop()
        assert problems(url) == []


def test_postgresql_restart_under_load_gives_503_then_recovers(tmp_path):
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed")
    cluster = PrivateCluster(bindir)
    try:
        cluster.init().start()
        admin = make_engine(cluster.url)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("CREATE DATABASE observatory"))
        admin.dispose()
        url = cluster.url.rsplit("/", 1)[0] + "/observatory"
        env = environment(url, tmp_path / "instance")
        cli(env, "init")
        server = Server(env, workers=2, log=tmp_path / "serve.log").start()
        seen: list[tuple[float, int, str]] = []
        errors: list[str] = []
        stop = threading.Event()

        def reader(path: str) -> None:
            client = requests.Session()
            while not stop.is_set():
                try:
                    response = client.get(server.url + path, timeout=30)
                    seen.append((time.monotonic(), response.status_code, response.text))
                except requests.RequestException as error:
                    errors.append(repr(error))
                time.sleep(0.05)

        paths = [
            "/cases?lang=pt",
            "/cases?q=justica&lang=pt",
            "/frameworks?lang=pt",
            "/data?lang=pt",
        ]
        threads = [threading.Thread(target=reader, args=(p,), daemon=True) for p in paths]
        try:
            for thread in threads:
                thread.start()
            time.sleep(2)
            down = time.monotonic()
            cluster.stop("immediate")
            time.sleep(4)
            cluster.start()
            up = time.monotonic()
            time.sleep(7)
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
            server.stop()
        assert errors == [], errors[:5]
        statuses = {status for _at, status, _body in seen}
        assert statuses <= {200, 503}, (statuses, server.log_text()[-3000:])
        outage = [(s, body) for at, s, body in seen if down + 0.5 < at < up]
        assert any(s == 503 for s, _body in outage), "no request saw the outage"
        for status, body in outage:
            if status == 503:
                assert "Temporariamente indisponível" in body and "Traceback" not in body
        recovered = [s for at, s, _body in seen if at > up + 3]
        assert recovered and set(recovered) == {200}, "the app did not recover by itself"
    finally:
        cluster.destroy()
