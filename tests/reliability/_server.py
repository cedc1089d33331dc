"""A real `observatory serve` (gunicorn) in its own process group, the `observatory` CLI, and
throwaway databases: a PostgreSQL database on the test server, or a private PostgreSQL cluster
that a test may stop and start (never the shared one)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests
import sqlalchemy as sa

from observatory.db import make_engine
from tests.conftest import csrf_from, login, make_app
from tests.factories import case_form

ROOT = Path(__file__).resolve().parents[2]
OBSERVATORY = str(Path(sys.executable).with_name("observatory"))
PASSWORD = "reliability-test-password"
REF_IN_LOCATION = re.compile(r"/cases/([A-Z]{3}-\d+)/edit")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a production-like observatory on the given database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OBSERVATORY_") or key == "OBSERVATORY_TEST_BACKEND"
    }
    env.update(
        OBSERVATORY_ENV="production",
        OBSERVATORY_SECRET_KEY="reliability-tests-secret-" + "x" * 32,
        OBSERVATORY_DATABASE_URL=database_url,
        OBSERVATORY_INSTANCE_PATH=str(instance),
        OBSERVATORY_API_RATE_LIMIT="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run `observatory ARGS`; its output, or an AssertionError with it."""
    result = subprocess.run(
        [OBSERVATORY, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    assert result.returncode == 0, f"observatory {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def create_users(env: dict[str, str], users: list[tuple[str, str, str, str]]) -> None:
    """Accounts (e-mail, role, institution, country) with PASSWORD, through the CLI."""
    for email, role, institution, country in users:
        args = ["create-user", "--email", email, "--role", role, "--name", email.split("@")[0]]
        if institution:
            args += ["--institution", institution]
        if country:
            args += ["--country", country]
        cli(env | {"OBSERVATORY_NEW_PASSWORD": PASSWORD}, *args)


class Server:
    """`observatory serve --workers N` on a free loopback port, in its own process group."""

    def __init__(self, env: dict[str, str], workers: int = 2, log: Path | None = None) -> None:
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or Path(tempfile.mkstemp(prefix="observatory-serve-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Server:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [OBSERVATORY, "serve", "--workers", str(self.workers), "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: kill -9 reaches every worker
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.log.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise AssertionError(f"the server did not answer:\n{self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL the whole server (arbiter and workers) at once, as a power cut would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def sign_in(base: str, email: str, timeout: float = 60) -> requests.Session:
    """A signed-in browser-like session (real form, CSRF token)."""
    session = requests.Session()
    response = login(session, email, PASSWORD, base=base, allow_redirects=False, timeout=timeout)
    assert response.status_code == 302, response.text[:1000]
    return session


def submit_case(session: requests.Session, base: str, name: str, country: str) -> str | None:
    """Submit one case through the form; its ref when the server acknowledged it (a redirect
    to the case), None otherwise. Raises for a 5xx."""
    page = session.get(f"{base}/cases/new", timeout=60)
    page.raise_for_status()
    data = case_form(
        name=name,
        country=country,
        institution="Ministerio de Pruebas de Carga",  # the submitters' institution
        not_a_duplicate="y",
        save="submit",
        csrf_token=csrf_from(page.text),
    )
    response = session.post(f"{base}/cases/new", data=data, allow_redirects=False, timeout=60)
    if response.status_code >= 500:
        raise AssertionError(f"{response.status_code} on submit: {response.text[:500]}")
    match = REF_IN_LOCATION.search(response.headers.get("Location", ""))
    return match.group(1) if response.status_code == 302 and match else None


# --- databases --------------------------------------------------------------------------------


@contextmanager
def postgres_database(server_url: str, label: str):
    """A new, empty database on the PostgreSQL server of `server_url`, dropped afterwards."""
    url = sa.make_url(server_url)
    name = f"observatory_{label}_{os.getpid()}"
    admin = make_engine(url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server binaries (newest version), if installed."""
    folders = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    for folder in reversed(folders):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a temporary folder (trust auth, loopback, its own
    port and socket folder) that a test may stop and start without touching anyone else's."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="observatory-pg-"))
        self.data = self.folder / "data"
        self.as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"

    def init(self) -> PrivateCluster:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=50"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except AssertionError:
            pass  # not running
        shutil.rmtree(self.folder, ignore_errors=True)


def add_accounts(database_url: str, users: list[tuple[str, str, str, str]]) -> None:
    """Accounts (e-mail, role, institution, country) with PASSWORD, through the accounts
    service in this process (faster than one `observatory create-user` per account)."""
    from observatory import accounts
    from observatory.db import get_engine, session_scope
    from observatory.models import Role

    app = make_app(database_url, Path(tempfile.mkdtemp(prefix="observatory-accounts-")))
    try:
        with app.app_context(), session_scope(app) as session:
            for email, role, institution, country in users:
                accounts.create_user(
                    session,
                    email=email,
                    password=PASSWORD,
                    role=Role(role),
                    actor=None,
                    bootstrap=True,
                    name=email.split("@")[0],
                    institution=institution,
                    country=country or None,
                )
    finally:
        get_engine(app).dispose()
