"""Time the import of a CSV in the observatory's own format into a fresh database.

    .venv/bin/python bench/import_csv.py [--rows N] [--file PATH] [--backend sqlite|postgresql]
                                         [--profile OUT.prof] [--twice]

The file defaults to bench/data/cases-<N>.csv, written by bench/run.py's `write_csv` when
missing. The database is new and dropped afterwards: a SQLite file in a temporary folder, or a
PostgreSQL database `observatory_import_csv_<pid>` created on --pg-server. It prints one JSON
line: the seconds of `run_import` (as bench/run.py measures them), when the first cases were
written, the CPU seconds of this process and, on PostgreSQL, of its server process (both less
sensitive than the wall clock to a busy machine), the rows written and the load average
before the run. `--profile` writes cProfile statistics of the import and prints the 25
costliest functions; `--twice` also times the re-import (which must write nothing).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

from cases.importing import run_import  # noqa: E402
from observatory.app import create_app  # noqa: E402
from observatory.db import get_engine, session_scope, upgrade_schema  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def fresh_database(backend: str, server: str, folder: str) -> tuple[str, object]:
    """A URL to an empty database and a function that removes it."""
    if backend == "sqlite":
        path = Path(folder) / "import.sqlite3"
        return f"sqlite:///{path}", lambda: None
    name = f"observatory_import_csv_{os.getpid()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    url = sa.engine.make_url(server).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False), drop


def backend_cpu(pid: int) -> float:
    """CPU seconds used so far by a PostgreSQL backend on this machine (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_import(app, file: Path, profile: cProfile.Profile | None) -> dict:
    data = file.read_bytes()
    phases: dict[str, float] = {}
    marks = {"started": 0.0}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in phases:
            phases[phase] = time.perf_counter() - marks["started"]

    with app.app_context(), session_scope(app) as session:
        backend = None
        if session.connection().dialect.name == "postgresql":
            backend = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            server_cpu = backend_cpu(backend)
        cpu = time.process_time()
        marks["started"] = started = time.perf_counter()
        if profile:
            profile.enable()
        report = run_import(
            session, actor=None, data=data, file_name=file.name, via="bench", progress=progress
        )
        if profile:
            profile.disable()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        if backend is not None:
            server_cpu = backend_cpu(backend) - server_cpu
    # "write" is first reported after the first chunk: checking ends shortly before.
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "server_cpu_seconds": round(server_cpu, 2) if backend is not None else None,
        "first_write_progress_at": round(phases.get("write", seconds), 2),
        "rows": report.counts["rows"],
        "new": report.counts["new"],
        "unchanged": report.counts["unchanged"],
        "errors": report.counts["errors"],
        "written": report.written,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-server", default=PG_SERVER)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--twice", action="store_true")
    args = parser.parse_args()
    file = args.file or ROOT / "bench" / "data" / f"cases-{args.rows}.csv"
    if not file.exists():
        from run import write_csv

        write_csv(file, args.rows, seed=1)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        url, drop = fresh_database(args.backend, args.pg_server, folder)
        try:
            app = create_app(
                {"TESTING": True, "ENV": "production", "SECRET_KEY": "bench", "DATABASE_URL": url}
            )
            engine = get_engine(app)
            upgrade_schema(engine)
            profile = cProfile.Profile() if args.profile else None
            result = {"backend": args.backend, "file": file.name, "loadavg": load[:2]}
            result["first"] = timed_import(app, file, profile)
            if args.twice:
                result["again"] = timed_import(app, file, None)
            with engine.connect() as connection:
                result["cases"] = connection.exec_driver_sql(
                    "SELECT count(*) FROM ai_case"
                ).scalar()
            engine.dispose()
        finally:
            drop()
    if profile:
        profile.dump_stats(args.profile)
        pstats.Stats(str(args.profile), stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        pstats.Stats(str(args.profile), stream=sys.stderr).sort_stats("tottime").print_stats(25)
    print(json.dumps(result))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
