"""The observatory's benchmark: pages, their floors and a peer, imports, memory, transfer, load.

    .venv/bin/python bench/run.py                     # 100k cases, SQLite and PostgreSQL
    .venv/bin/python bench/run.py --cases 500 --quick # smoke run (what `make test` checks)

Builds (or reuses) a database per back end under bench/data/ with the starter library and
N synthetic cases (`observatory synth`), serves it with `observatory serve` (gunicorn) on a
loopback port and measures, in the same run, each page and what gives its number meaning:
the raw SQL the page runs (replayed on a bare DBAPI connection), a minimal Flask route doing
one primary-key query under the same gunicorn settings (bench/floor_app.py), and Datasette on
the same SQLite file for the faceted table page. Writes bench/results/latest.json and
latest.md. See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import http.client
import json
import os
import platform
import random
import re
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH = ROOT / "bench"
PYTHON = sys.executable
OBSERVATORY = str(Path(PYTHON).parent / "observatory")
DATASETTE_VENV = BENCH / ".venv-datasette"
OMB_FILE = (
    ROOT.parent / "shared" / "data" / "registers" / "us-omb-2025"
    / "2025_individually_reported_AI_use_cases.csv"
)  # fmt: skip
DEFAULT_PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SEARCH_WORD = "data"
SEARCH_FACETS = (("country", "BRA"), ("country", "MEX"), ("branch", "executive"))
SEARCH_SECTOR = "general_administration"
COMPARE = ("BRA", "MEX", "ARG")
# Single-column facets Datasette can compute like ours (techniques live in another table).
DATASETTE_FACETS = (
    "country",
    "branch",
    "level",
    "sector",
    "lifecycle_status",
    "decision_role",
    "year_started",
)

TARGETS_DOC = {
    "search_vs_datasette": "Faceted case search p50 ≤ 0.5 × Datasette's facet page p50",
    "region_warm": "Region dashboard warm p50 ≤ 50 ms",
    "region_cold": "Region dashboard cold p50 ≤ 2 × its raw SQL floor",
    "case_detail": "Case detail p50 ≤ 3 × the framework floor",
    "import_omb": "OMB 2025 import ≤ 10 s",
    "import_csv": "100k-row CSV import ≤ 60 s",
    "worker_rss": "One worker ≤ 300 MB resident",
    "dashboard_first": "Dashboard first visit ≤ 800 KB compressed",
    "dashboard_repeat": "Dashboard repeat visit ≤ 60 KB compressed",
    "load_errors": "32 clients × 60 s on 4 workers (PostgreSQL): zero errors",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


@dataclass
class Options:
    cases: int
    reviews: int
    seed: int
    quick: bool
    backends: list[str]
    datasette: bool
    load: bool
    imports: bool
    rebuild: bool
    build_only: bool
    out_dir: Path
    data_dir: Path
    pg_server: str
    workers: int
    requests: int
    page_seconds: float
    cold_samples: int
    load_seconds: float
    load_clients: int
    load_workers: int
    csv_rows: int

    @property
    def label(self) -> str:
        return f"{self.cases}"


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="synthetic cases (100000)")
    parser.add_argument("--reviews-per-case", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="few requests: a smoke run")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--no-datasette", action="store_true")
    parser.add_argument("--no-load", action="store_true", help="skip the 32-client load test")
    parser.add_argument("--no-imports", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the databases")
    parser.add_argument("--build-only", action="store_true", help="build the databases, stop")
    parser.add_argument("--out-dir", type=Path, default=BENCH / "results")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    parser.add_argument("--pg-server", default=DEFAULT_PG_SERVER, help="admin URL")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for pages")
    parser.add_argument("--requests", type=int, default=0, help="requests per page")
    parser.add_argument("--page-seconds", type=float, default=0, help="time cap per page")
    parser.add_argument("--load-seconds", type=float, default=0)
    parser.add_argument("--load-clients", type=int, default=32)
    parser.add_argument("--csv-rows", type=int, default=0, help="rows of the CSV import")
    args = parser.parse_args(argv)
    quick = args.quick
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for backend in backends:
        if backend not in ("sqlite", "postgresql"):
            parser.error(f"unknown back end {backend!r}")
    return Options(
        cases=args.cases,
        reviews=args.reviews_per_case,
        seed=args.seed,
        quick=quick,
        backends=backends,
        datasette=not args.no_datasette,
        load=not args.no_load,
        imports=not args.no_imports,
        rebuild=args.rebuild,
        build_only=args.build_only,
        out_dir=args.out_dir.resolve(),
        data_dir=args.data_dir.resolve(),
        pg_server=args.pg_server,
        workers=args.workers,
        requests=args.requests or (8 if quick else 200),
        page_seconds=args.page_seconds or (10 if quick else 45),
        cold_samples=3 if quick else 15,
        load_seconds=args.load_seconds or (5 if quick else 60),
        load_clients=args.load_clients,
        load_workers=4,
        csv_rows=args.csv_rows or (min(args.cases, 500) if quick else 100_000),
    )


# --------------------------------------------------------------------------------------------
# Processes and HTTP
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        for child in _children(queue.pop()):
            found.append(child)
            queue.append(child)
    return found


def rss_mb(pid: int) -> float | None:
    """Resident set size of a process (VmRSS), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Server:
    """A server process group started by the bench (and only stopped by it, by its id)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int, log: Path):
        self.name = name
        self.command = command
        self.env = env
        self.port = port
        self.log_path = log
        self.process: subprocess.Popen | None = None

    def start(self, ready_path: str, timeout: float = 120) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            with contextlib.suppress(OSError):
                status, _headers, _body, _seconds = get(self.port, ready_path, timeout=60)
                if status < 500:
                    return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout} s; see {self.log_path}")

    def workers(self) -> list[int]:
        """The leaf processes (gunicorn workers, or the single server process)."""
        if self.process is None:
            return []
        tree = [self.process.pid, *descendants(self.process.pid)]
        return [pid for pid in tree if not _children(pid)]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def get(
    port: int, path: str, *, headers: dict[str, str] | None = None, timeout: float = 120
) -> tuple[int, dict[str, str], bytes, float]:
    """GET on loopback: (status, headers, body, seconds from sending to the last byte)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        seconds = time.perf_counter() - started
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body, seconds
    finally:
        connection.close()


def summary(samples: list[float]) -> dict[str, Any]:
    """p50/p95/mean/min/max in milliseconds, and how far the two halves' medians drift."""
    if not samples:
        return {"n": 0, "p50_ms": None, "p95_ms": None}
    ordered = sorted(samples)
    n = len(ordered)

    def pct(q: float) -> float:
        return ordered[min(n - 1, max(0, round(q * (n - 1))))] * 1000

    half = n // 2
    drift = None
    if half >= 3:
        first, second = statistics.median(samples[:half]), statistics.median(samples[half:])
        drift = round(abs(first - second) / max(first, second) * 100, 1)
    return {
        "n": n,
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "p95_ms": round(pct(0.95), 2),
        "mean_ms": round(statistics.fmean(samples) * 1000, 2),
        "min_ms": round(ordered[0] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "halves_drift_pct": drift,
    }


def measure(
    port: int,
    paths: list[str],
    *,
    requests: int,
    seconds: float,
    warmup: int = 3,
    before: Callable[[], None] | None = None,
    minimum: int = 5,
) -> dict[str, Any]:
    """Time GETs of `paths` (cycled) one at a time: at most `requests`, stopping after
    `seconds` once `minimum` are done. `before` runs (untimed) before each timed request."""
    for index in range(warmup):
        get(port, paths[index % len(paths)])
    samples: list[float] = []
    statuses: dict[int, int] = {}
    size = 0
    deadline = time.monotonic() + seconds
    index = 0
    while len(samples) < requests and (time.monotonic() < deadline or len(samples) < minimum):
        if before:
            before()
        status, _headers, body, elapsed = get(port, paths[index % len(paths)])
        statuses[status] = statuses.get(status, 0) + 1
        samples.append(elapsed)
        size = len(body)
        index += 1
    result = summary(samples)
    result.update(
        path=paths[0],
        paths=len(paths),
        statuses={str(k): v for k, v in statuses.items()},
        bytes=size,
        errors=sum(v for k, v in statuses.items() if k >= 400),
    )
    return result


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------


def pg_database_name(opts: Options) -> str:
    return "observatory_bench" if opts.cases == 100_000 else f"observatory_bench_{opts.cases}"


def database_url(backend: str, opts: Options, name: str | None = None) -> str:
    if backend == "sqlite":
        return f"sqlite:///{opts.data_dir / f'observatory-{opts.cases}.sqlite3'}"
    import sqlalchemy as sa

    url = sa.make_url(opts.pg_server).set(database=name or pg_database_name(opts))
    return url.render_as_string(hide_password=False)


def server_env(url: str, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OBSERVATORY_") and key not in ("PYTHONPATH",)
    }
    env.update(
        OBSERVATORY_DATABASE_URL=url,
        OBSERVATORY_SECRET_KEY=secrets.token_hex(32),
        OBSERVATORY_ENV="production",
        OBSERVATORY_API_RATE_LIMIT="0",
        **extra,
    )
    return env


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [OBSERVATORY, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"observatory {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout.strip()


def _admin_engine(opts: Options):
    from observatory.db import make_engine

    return make_engine(opts.pg_server)


def recreate_pg_database(opts: Options, name: str) -> None:
    import sqlalchemy as sa

    engine = _admin_engine(opts)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def drop_pg_database(opts: Options, name: str) -> None:
    import sqlalchemy as sa

    engine = _admin_engine(opts)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def count_cases(url: str) -> int | None:
    import sqlalchemy as sa

    from observatory.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM ai_case")).scalar())
    except Exception:  # noqa: BLE001 - no database or no schema: build it
        return None
    finally:
        engine.dispose()


def ensure_database(backend: str, opts: Options) -> dict[str, Any]:
    """The bench database of this back end: reused when its record matches, else rebuilt with
    `observatory init`, `load-starter` and `synth` (each timed)."""
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url(backend, opts)
    record_path = opts.data_dir / f"{backend}-{opts.cases}.json"
    wanted = {"cases": opts.cases, "reviews_per_case": opts.reviews, "seed": opts.seed}
    if not opts.rebuild and record_path.exists():
        record = json.loads(record_path.read_text())
        if {k: record.get(k) for k in wanted} == wanted and count_cases(url) == record.get(
            "case_rows"
        ):
            log(f"{backend}: reusing {url} ({record['case_rows']} cases)")
            if migrate_reused(backend, url):
                record["migrated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
                record_path.write_text(json.dumps(record, indent=2))
            return {**record, "reused": True, "url": url}
    log(f"{backend}: building {url} with {opts.cases} synthetic cases")
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        recreate_pg_database(opts, pg_database_name(opts))
    env = server_env(url)
    init_seconds, _ = run_cli(["init"], env)
    starter_seconds, _ = run_cli(["load-starter"], env)
    synth_seconds, synth_output = run_cli(
        [
            "synth",
            "--cases",
            str(opts.cases),
            "--reviews-per-case",
            str(opts.reviews),
            "--seed",
            str(opts.seed),
        ],
        env,
    )
    log(f"{backend}: synth took {synth_seconds:.1f} s")
    tidy_seconds = tidy_after_load(backend, url)
    record = {
        **wanted,
        "backend": backend,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "init_seconds": round(init_seconds, 2),
        "starter_seconds": round(starter_seconds, 2),
        "synth_seconds": round(synth_seconds, 2),
        "synth_summary": synth_output.splitlines()[-1] if synth_output else "",
        "tidy_seconds": round(tidy_seconds, 2),
        "case_rows": count_cases(url),
    }
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        record["file_mb"] = round(path.stat().st_size / 2**20, 1)
    record_path.write_text(json.dumps(record, indent=2))
    return {**record, "reused": False, "url": url}


def migrate_reused(backend: str, url: str) -> bool:
    """Bring a reused database to the newest migration, as an operator upgrading would (then
    tidy it as after a load); True when a migration ran."""
    from observatory.db import current_revision, make_engine, upgrade_schema

    engine = make_engine(url)
    try:
        before = current_revision(engine)
        upgrade_schema(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        return False
    log(f"{backend}: migrated {before} -> {after}")
    tidy_after_load(backend, url)
    return True


def tidy_after_load(backend: str, url: str) -> float:
    """What an operator does after a bulk load, so the measurements do not depend on when
    background maintenance runs: SQLite folds the write-ahead log into the file; PostgreSQL
    vacuums (visibility map, for index-only scans) and analyzes."""
    import sqlalchemy as sa

    from observatory.db import make_engine

    started = time.perf_counter()
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if backend == "sqlite":
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                connection.execute(sa.text("VACUUM (ANALYZE)"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


def sample_refs(url: str, n: int) -> list[tuple[int, str]]:
    """(id, ref) of `n` synthetic cases spread over the library."""
    import sqlalchemy as sa

    from observatory.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT id, ref FROM ai_case WHERE provenance = 'import' ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    step = max(1, len(rows) // n)
    return [(row[0], row[1]) for row in rows[::step][:n]]


def bump_data_version(url: str) -> Callable[[], None]:
    """A function that writes (bumps the data version) on its own connection."""
    import sqlalchemy as sa

    from observatory.db import make_engine

    engine = make_engine(url)

    def bump() -> None:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE data_version SET version = version + 1"))

    bump.engine = engine  # type: ignore[attr-defined]
    return bump


# --------------------------------------------------------------------------------------------
# Raw SQL floors: the statements a page runs, replayed on a bare DBAPI connection
# --------------------------------------------------------------------------------------------


class StatementRecorder:
    """Records every statement (with its DBAPI parameters) an app's engine runs."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.engine = engine
        self.statements: list[tuple[str, Any]] = []
        self.active = False
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:
        if self.active and not executemany:
            self.statements.append((statement, parameters))

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[str, Any]]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


def capture_statements(url: str, paths: dict[str, str]) -> dict[str, dict[str, list]]:
    """For each page: the statements of a cold request (empty caches) and of a warm one."""
    from dashboards.cache import get_cache
    from observatory.app import create_app
    from observatory.db import get_engine

    app = create_app(
        {
            "TESTING": True,
            "ENV": "production",
            "SECRET_KEY": "bench",
            "DATABASE_URL": url,
            "API_RATE_LIMIT": 0,
        }
    )
    recorder = StatementRecorder(get_engine(app))
    client = app.test_client()
    captured: dict[str, dict[str, list]] = {}
    try:
        for name, path in paths.items():
            get_cache(app).clear()
            with recorder.recording() as cold:
                client.get(path).close()
            with recorder.recording() as warm:
                client.get(path).close()
            captured[name] = {"cold": list(cold), "warm": list(warm)}
    finally:
        get_engine(app).dispose()
    return captured


def replay(
    url: str,
    statements: list[tuple[str, Any]],
    *,
    repeat: int,
    seconds: float,
    keep_samples: bool = False,
) -> dict:
    """Time the statements run back to back on one DBAPI connection (all rows fetched);
    `keep_samples` adds them under `_samples`, for combine_floor (which removes them)."""
    from observatory.db import make_engine

    engine = make_engine(url)
    raw = engine.raw_connection()
    samples = []
    try:
        cursor = raw.cursor()
        deadline = time.monotonic() + seconds
        for index in range(repeat + 1):
            started = time.perf_counter()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            elapsed = time.perf_counter() - started
            raw.rollback()
            if index:  # the first run warms the page cache
                samples.append(elapsed)
            if time.monotonic() > deadline and len(samples) >= 3:
                break
    finally:
        raw.close()
        engine.dispose()
    result = summary(samples)
    result["statements"] = len(statements)
    if keep_samples:
        result["_samples"] = samples
    return result


def combine_floor(before: dict, after: dict) -> dict:
    """One floor from replays before and after the page's own samples: the machine's load
    drifts over a run, and the cold floor of a dashboard swung by a third between runs."""
    samples = before.pop("_samples", []) + after.pop("_samples", [])
    result = summary(samples)
    result.update(statements=before.get("statements"), kind=before.get("kind"))
    result["p50_ms_before_and_after_the_page"] = [before.get("p50_ms"), after.get("p50_ms")]
    return result


# --------------------------------------------------------------------------------------------
# Transfer: what a browser downloads for a dashboard
# --------------------------------------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.topojson: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and (values.get("rel") or "") in ("stylesheet", "icon", "preload"):
            self.urls.append(values.get("href") or "")
        elif tag in ("script", "img") and values.get("src"):
            self.urls.append(values["src"] or "")
        if values.get("data-topojson-url"):
            self.topojson = values["data-topojson-url"]


def dashboard_transfer(port: int, path: str = "/dashboards") -> dict[str, Any]:
    """Bytes a browser transfers for `path`, gzip-compressed (as a compressing proxy would
    send them unless the app compresses itself): on a first visit the HTML and every asset
    it references, including the map's TopoJSON that plotly fetches; on a repeat visit the
    HTML and the assets not marked cache-immutable (revalidated ones with 304 count 0 bytes
    of body and are listed)."""
    headers = {"Accept-Encoding": "gzip"}
    status, page_headers, html, _seconds = get(port, path, headers=headers)
    page_text = (
        gzip.decompress(html) if page_headers.get("content-encoding") == "gzip" else html
    ).decode("utf-8", "replace")
    parser = _Assets()
    parser.feed(page_text)
    urls = [url for url in parser.urls if url and not url.startswith(("data:", "http"))]
    geo = re.search(r'"geo":\{[^{}]*?"resolution":(\d+)', page_text) or re.search(
        r'"resolution":(\d+)', page_text
    )
    scope = re.search(r'"scope":"(\w+)"', page_text)
    if parser.topojson and geo and ("choropleth" in page_text or "scattergeo" in page_text):
        urls.append(
            urljoin(parser.topojson, f"{scope.group(1) if scope else 'world'}_{geo.group(1)}m.json")
        )

    def compressed(body: bytes, response_headers: dict[str, str]) -> int:
        if response_headers.get("content-encoding") in ("gzip", "br", "deflate"):
            return len(body)
        return len(gzip.compress(body, compresslevel=6))

    assets = []
    for url in dict.fromkeys(urls):
        asset_status, asset_headers, body, _ = get(
            port,
            urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else ""),
            headers=headers,
        )
        cache = asset_headers.get("cache-control", "")
        assets.append(
            {
                "url": url,
                "status": asset_status,
                "bytes": len(body),
                "gzip_bytes": compressed(body, asset_headers),
                "cache_control": cache,
                "immutable": "immutable" in cache,
                "validator": bool(asset_headers.get("etag") or asset_headers.get("last-modified")),
            }
        )
    html_gzip = compressed(html, page_headers)
    first = html_gzip + sum(asset["gzip_bytes"] for asset in assets)
    must_fetch = [a for a in assets if not a["immutable"] and not a["validator"]]
    revalidated = [a["url"] for a in assets if not a["immutable"] and a["validator"]]
    repeat = html_gzip + sum(asset["gzip_bytes"] for asset in must_fetch)
    return {
        "path": path,
        "status": status,
        "compressed_by": "server" if page_headers.get("content-encoding") else "bench (gzip -6)",
        "html_bytes": len(html),
        "html_gzip_bytes": html_gzip,
        "assets": assets,
        "first_visit_bytes": first,
        "repeat_visit_bytes": repeat,
        "repeat_revalidations": revalidated,
    }


# --------------------------------------------------------------------------------------------
# Load: bounded concurrent clients
# --------------------------------------------------------------------------------------------


def load_test(port: int, paths: list[str], *, clients: int, seconds: float) -> dict[str, Any]:
    """`clients` threads GET the paths in a shuffled loop until `seconds` have passed (each
    request has a 30 s timeout); returns requests per second, latencies and errors."""
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    samples: list[float] = []
    errors: dict[str, int] = {}

    def client(number: int) -> None:
        rng = random.Random(number)
        order = list(paths)
        local: list[float] = []
        local_errors: dict[str, int] = {}
        while time.monotonic() < deadline:
            rng.shuffle(order)
            for path in order:
                if time.monotonic() >= deadline:
                    break
                try:
                    status, _headers, _body, elapsed = get(port, path, timeout=30)
                except OSError as error:
                    key = type(error).__name__
                    local_errors[key] = local_errors.get(key, 0) + 1
                    continue
                if status != 200:
                    local_errors[str(status)] = local_errors.get(str(status), 0) + 1
                local.append(elapsed)
        with lock:
            samples.extend(local)
            for key, value in local_errors.items():
                errors[key] = errors.get(key, 0) + value

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    result = summary(samples)
    result.update(
        clients=clients,
        seconds=round(elapsed, 1),
        requests=len(samples),
        rps=round(len(samples) / elapsed, 1) if elapsed else None,
        errors=sum(errors.values()),
        error_kinds=errors,
        client_cpu_seconds=round(
            cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 1
        ),
    )
    return result


# --------------------------------------------------------------------------------------------
# Imports (each in its own process, on a fresh database)
# --------------------------------------------------------------------------------------------


def write_csv(path: Path, rows: int, seed: int) -> None:
    """A CSV in the observatory's own format with `rows` synthetic cases."""
    from dashboards.synth import sample_records

    columns = (
        "id name institution country level branch sector purpose techniques decision_role "
        "lifecycle_status year_started year_ended developer_type developer_name "
        "affected_groups known_concerns sources record_language confidence"
    ).split()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for number, record in enumerate(sample_records(rows, seed=seed), start=1):
            values = dict(record, id=f"SYN-{number:06d}")
            values["techniques"] = "; ".join(record["techniques"])
            values["sources"] = record["sources"][0]["url"]
            values["name"] = record["name"].replace("Synthetic case", "Imported synthetic case")
            writer.writerow(["" if values[c] is None else values[c] for c in columns])
    temporary.replace(path)


def import_one(url: str, file: Path) -> dict[str, Any]:
    """Run one import (in this process) into the database at `url`; what the bench records."""
    from cases.importing import run_import
    from observatory.app import create_app
    from observatory.db import get_engine, session_scope, upgrade_schema

    app = create_app(
        {"TESTING": True, "ENV": "production", "SECRET_KEY": "bench", "DATABASE_URL": url}
    )
    engine = get_engine(app)
    upgrade_schema(engine)
    data = file.read_bytes()
    with app.app_context(), session_scope(app) as session:
        started = time.perf_counter()
        report = run_import(session, actor=None, data=data, file_name=file.name, via="bench")
        seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "file": file.name,
        "file_mb": round(len(data) / 2**20, 1),
        "seconds": round(seconds, 2),
        "rows": report.counts.get("rows"),
        "new": report.counts.get("new"),
        "written": report.written,
        "errors": report.counts.get("errors", 0),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_import_process(backend: str, opts: Options, file: Path, tag: str) -> dict[str, Any]:
    if backend == "sqlite":
        path = opts.data_dir / f"import-{tag}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        name = f"observatory_bench_import_{tag}"
        recreate_pg_database(opts, name)
        url = database_url(backend, opts, name)
    try:
        done = subprocess.run(
            [PYTHON, __file__, "import-one", "--database-url", url, "--file", str(file)],
            cwd=ROOT,
            env=server_env(url),
            capture_output=True,
            text=True,
            check=False,
        )
    finally:  # the imported copy is not needed afterwards
        if backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            drop_pg_database(opts, name)
    if done.returncode != 0:
        return {"file": file.name, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Datasette (the peer), in its own virtualenv
# --------------------------------------------------------------------------------------------


def datasette_binary(opts: Options) -> Path | None:
    binary = DATASETTE_VENV / "bin" / "datasette"
    if binary.exists():
        return binary
    log("installing datasette into bench/.venv-datasette (never into the project venv)")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
        subprocess.run(
            [str(DATASETTE_VENV / "bin" / "pip"), "install", "--quiet", "datasette"],
            check=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as error:
        log(f"datasette not available: {error}")
        return None
    return binary if binary.exists() else None


def datasette_version(binary: Path) -> str:
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def search_path() -> str:
    args = [("q", SEARCH_WORD), *SEARCH_FACETS, ("sector", SEARCH_SECTOR)]
    return "/cases?" + "&".join(f"{k}={quote(v)}" for k, v in args)


def datasette_path(database: str) -> str:
    countries = ",".join(v for k, v in SEARCH_FACETS if k == "country")
    branches = [v for k, v in SEARCH_FACETS if k == "branch"]
    args = [
        ("_search", f'"{SEARCH_WORD}"*'),
        ("_searchmode", "raw"),
        ("state__in", "published,update_proposed"),
        ("country__in", countries),
        ("branch", branches[0]),
        ("sector", SEARCH_SECTOR),
        *(("_facet", name) for name in DATASETTE_FACETS),
        ("_size", "20"),
    ]
    return f"/{quote(database)}/ai_case?" + "&".join(f"{k}={quote(v)}" for k, v in args)


def measure_datasette(opts: Options, sqlite_path: Path, logs: Path) -> dict[str, Any]:
    binary = datasette_binary(opts)
    if binary is None:
        return {"available": False, "reason": "datasette could not be installed"}
    metadata = logs / "datasette-metadata.json"
    metadata.write_text(
        json.dumps({"databases": {sqlite_path.stem: {"tables": {"ai_case": {
            "fts_table": "ai_case_fts", "fts_pk": "id"}}}}})
    )  # fmt: skip
    port = free_port()
    command = [
        str(binary),
        "serve",
        str(sqlite_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--metadata",
        str(metadata),
        "--setting",
        "sql_time_limit_ms",
        "120000",
        "--setting",
        "facet_time_limit_ms",
        "120000",
        "--setting",
        "suggest_facets",
        "off",
    ]
    path = datasette_path(sqlite_path.stem)
    with Server("datasette", command, dict(os.environ), port, logs / "datasette.log") as server:
        server.start("/-/versions.json")
        status, _h, body, _s = get(port, path.replace("/ai_case?", "/ai_case.json?", 1))
        check = json.loads(body) if status == 200 else {}
        facets = check.get("facet_results") or {}  # 0.65: {name: …}; 1.0: {"results": {…}}
        result = measure(port, [path], requests=opts.requests, seconds=opts.page_seconds, warmup=2)
        rss = [rss_mb(pid) for pid in server.workers()]
    return {
        "available": True,
        "version": datasette_version(binary),
        "page": result,
        "facets": sorted(facets.get("results", facets)),
        "facets_timed_out": check.get("facets_timed_out", []),
        "filtered_rows": check.get("filtered_table_rows_count"),
        "rss_mb": max((r for r in rss if r), default=None),
    }


# --------------------------------------------------------------------------------------------
# One back end
# --------------------------------------------------------------------------------------------


def public_paths(refs: list[tuple[int, str]]) -> dict[str, list[str]]:
    compare = "&".join(f"country={c}" for c in COMPARE)
    return {
        "home": ["/"],
        "search": [search_path()],
        "case_detail": [f"/cases/{ref}" for _id, ref in refs],
        "region_warm": ["/dashboards"],
        "compare": [f"/dashboards/compare?{compare}"],
        "api_list": ["/api/v1/cases"],
        "region_cold": ["/dashboards"],
    }


def bench_backend(backend: str, opts: Options, logs: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"load_average_start": list(os.getloadavg())}
    database = ensure_database(backend, opts)
    url = database["url"]
    result["database"] = {k: v for k, v in database.items() if k != "url"}
    result["database"]["url"] = url.split("@")[-1] if backend == "postgresql" else url
    refs = sample_refs(url, 5 if opts.quick else 200)
    paths = public_paths(refs)

    # Raw SQL floors (captured in-process, replayed on a bare DBAPI connection).
    log(f"{backend}: capturing the SQL of each page")
    captured = capture_statements(url, {name: values[0] for name, values in paths.items()})
    repeat, cap = (3, 10.0) if opts.quick else (20, 60.0)
    floors: dict[str, Any] = {}
    for name, statements in captured.items():
        # The floor a page is compared with: what a warm request runs (for region_cold, what
        # a request after a write runs); cached pages also get their cold floor, for context.
        kind = "cold" if name == "region_cold" else "warm"
        floors[name] = replay(
            url, statements[kind], repeat=repeat, seconds=cap, keep_samples=kind == "cold"
        )
        floors[name]["kind"] = kind
        if kind == "warm" and statements["cold"] != statements["warm"] and name != "region_warm":
            floors[name]["cold"] = replay(url, statements["cold"], repeat=repeat, seconds=cap)
    floors["region_warm"]["cold"] = floors["region_cold"]
    result["sql_floors"] = floors

    # The app under `observatory serve` (gunicorn), one request at a time.
    app_port = free_port()
    command = [
        OBSERVATORY, "serve", "--workers", str(opts.workers), "--host", "127.0.0.1",
        "--port", str(app_port),
    ]  # fmt: skip
    pages: dict[str, Any] = {}
    with Server(
        f"app-{backend}", command, server_env(url), app_port, logs / f"app-{backend}.log"
    ) as app:
        app.start("/")
        warmup = 2 * opts.workers + 1
        for name in ("home", "search", "case_detail", "region_warm", "compare", "api_list"):
            log(f"{backend}: {name}")
            pages[name] = measure(
                app_port,
                paths[name],
                requests=opts.requests,
                seconds=opts.page_seconds,
                warmup=warmup,
            )
        # The same few case pages again and again (a popular case): the page cache's hits.
        log(f"{backend}: case_detail_repeat")
        pages["case_detail_repeat"] = measure(
            app_port,
            paths["case_detail"][:5],
            requests=opts.requests,
            seconds=opts.page_seconds,
            warmup=warmup,
        )
        log(f"{backend}: region_cold (a write before each request)")
        bump = bump_data_version(url)
        try:
            pages["region_cold"] = measure(
                app_port,
                paths["region_cold"],
                requests=opts.cold_samples,
                seconds=opts.page_seconds * 2,
                warmup=0,
                before=bump,
                minimum=3,
            )
            # Pages cached per data version: also measured as the first request after a write.
            for name in ("search", "case_detail"):
                log(f"{backend}: {name}_cold (a write before each request)")
                pages[f"{name}_cold"] = measure(
                    app_port,
                    paths[name],
                    requests=opts.cold_samples * 2,
                    seconds=opts.page_seconds,
                    warmup=0,
                    before=bump,
                    minimum=3,
                )
        finally:
            bump.engine.dispose()  # type: ignore[attr-defined]
        # The cold floor again, now that the page's samples are taken (see combine_floor).
        log(f"{backend}: region_cold raw SQL floor again")
        again = replay(
            url, captured["region_cold"]["cold"], repeat=repeat, seconds=cap, keep_samples=True
        )
        floors["region_cold"] = floors["region_warm"]["cold"] = combine_floor(
            floors["region_cold"], again
        )
        # Re-warm both workers, then read their memory and the dashboard's transfer size.
        for _ in range(warmup):
            for name in ("home", "region_warm", "compare", "search"):
                get(app_port, paths[name][0])
        workers = app.workers()
        result["memory"] = {
            "workers": len(workers),
            "worker_rss_mb": [round(r, 1) for r in map(rss_mb, workers) if r],
        }
        result["memory"]["max_worker_rss_mb"] = max(result["memory"]["worker_rss_mb"] or [0])
        result["transfer"] = dashboard_transfer(app_port)
    result["pages"] = pages

    # The framework floor under the same gunicorn settings.
    floor_port = free_port()
    floor_command = [
        PYTHON, "-m", "gunicorn", "--workers", str(opts.workers), "--bind",
        f"127.0.0.1:{floor_port}", "--access-logfile", "-", "--graceful-timeout", "10",
        "--pythonpath", str(BENCH), "floor_app:app",
    ]  # fmt: skip
    floor_paths = [f"/floor/{case_id}" for case_id, _ref in refs]
    with Server(f"floor-{backend}", floor_command, server_env(url), floor_port,
                logs / f"floor-{backend}.log") as floor:  # fmt: skip
        floor.start(floor_paths[0])
        log(f"{backend}: framework floor")
        result["framework_floor"] = measure(
            floor_port, floor_paths, requests=opts.requests, seconds=opts.page_seconds,
            warmup=2 * opts.workers + 1,
        )  # fmt: skip

    if backend == "sqlite" and opts.datasette:
        log("sqlite: datasette")
        result["datasette"] = measure_datasette(opts, Path(url.removeprefix("sqlite:///")), logs)

    if opts.imports:
        result["imports"] = bench_imports(backend, opts)

    if backend == "postgresql" and opts.load:
        result["load"] = bench_load(url, opts, refs, logs)
    result["load_average_end"] = list(os.getloadavg())
    return result


def bench_imports(backend: str, opts: Options) -> dict[str, Any]:
    imports: dict[str, Any] = {}
    if opts.quick:
        imports["omb_2025"] = {"skipped": "quick mode"}
    elif OMB_FILE.exists():
        log(f"{backend}: importing the OMB 2025 file")
        imports["omb_2025"] = run_import_process(backend, opts, OMB_FILE, "omb")
    else:
        imports["omb_2025"] = {"skipped": f"not available: {OMB_FILE} is missing"}
    csv_path = opts.data_dir / f"cases-{opts.csv_rows}.csv"
    if not csv_path.exists():
        write_csv(csv_path, opts.csv_rows, opts.seed)
    log(f"{backend}: importing a {opts.csv_rows}-row CSV")
    imports["csv"] = run_import_process(backend, opts, csv_path, "csv")
    imports["csv"]["rows_in_file"] = opts.csv_rows
    return imports


def bench_load(url: str, opts: Options, refs: list[tuple[int, str]], logs: Path) -> dict:
    """32 clients for 60 s over the public pages under `observatory serve --workers 4`, then
    the same load on the framework floor under the same gunicorn settings."""
    rng = random.Random(opts.seed)
    sample = rng.sample(refs, min(20, len(refs)))
    compare = "&".join(f"country={c}" for c in COMPARE)
    paths = [
        "/",
        "/cases",
        search_path(),
        "/cases?q=court",
        *(f"/cases/{ref}" for _id, ref in sample[:10]),
        *(f"/api/v1/cases/{ref}" for _id, ref in sample[10:15]),
        "/dashboards",
        f"/dashboards/compare?{compare}",
        "/dashboards/branches",
        "/dashboards/criteria",
        "/dashboards/countries",
        "/api/v1/cases",
        "/frameworks",
    ]
    port = free_port()
    command = [
        OBSERVATORY, "serve", "--workers", str(opts.load_workers), "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    result: dict[str, Any] = {"paths": paths, "workers": opts.load_workers}
    with Server("app-load", command, server_env(url), port, logs / "app-load.log") as server:
        server.start("/")
        for path in paths:  # warm every worker's caches a little, untimed
            for _ in range(2):
                get(port, path)
        log(f"load: {opts.load_clients} clients for {opts.load_seconds:.0f} s (observatory)")
        result["app"] = load_test(port, paths, clients=opts.load_clients, seconds=opts.load_seconds)
        result["app"]["worker_rss_mb"] = [round(r, 1) for r in map(rss_mb, server.workers()) if r]
    port = free_port()
    floor_command = [
        PYTHON, "-m", "gunicorn", "--workers", str(opts.load_workers), "--bind",
        f"127.0.0.1:{port}", "--access-logfile", "-", "--graceful-timeout", "10",
        "--pythonpath", str(BENCH), "floor_app:app",
    ]  # fmt: skip
    floor_paths = [f"/floor/{case_id}" for case_id, _ref in refs]
    with Server(
        "floor-load", floor_command, server_env(url), port, logs / "floor-load.log"
    ) as server:
        server.start(floor_paths[0])
        log(f"load: {opts.load_clients} clients for {opts.load_seconds:.0f} s (framework floor)")
        result["floor"] = load_test(
            port, floor_paths, clients=opts.load_clients, seconds=opts.load_seconds
        )
    return result


# --------------------------------------------------------------------------------------------
# Targets and report
# --------------------------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, 2)


def targets(results: dict[str, Any], opts: Options) -> list[dict[str, Any]]:
    """Each target per back end: the measured value, the limit, met or not and by how much."""
    found = []

    def add(key: str, backend: str, value, limit, unit: str, detail: str = "") -> None:
        met = None if value is None or limit is None else value <= limit
        miss = None
        if met is False:
            miss = f"{value / limit:.2f}× the limit" if limit else "over"
        found.append(
            {
                "target": key,
                "backend": backend,
                "description": TARGETS_DOC[key],
                "value": value,
                "limit": limit,
                "unit": unit,
                "met": met,
                "miss": miss,
                "detail": detail,
            }
        )

    for backend, data in results["backends"].items():
        pages = data.get("pages", {})
        floors = data.get("sql_floors", {})
        p50 = {name: page.get("p50_ms") for name, page in pages.items()}
        if "datasette" in data and data["datasette"].get("available"):
            peer = data["datasette"]["page"]["p50_ms"]
            add(
                "search_vs_datasette", backend, _ratio(p50.get("search"), peer), 0.5, "× Datasette",
                f"search {p50.get('search')} ms, Datasette {peer} ms; first request after a "
                f"write {p50.get('search_cold')} ms "
                f"({_ratio(p50.get('search_cold'), peer)} × Datasette)",
            )  # fmt: skip
        add("region_warm", backend, p50.get("region_warm"), 50, "ms")
        cold_floor = floors.get("region_cold", {}).get("p50_ms")
        add(
            "region_cold", backend, _ratio(p50.get("region_cold"), cold_floor), 2, "× SQL floor",
            f"cold {p50.get('region_cold')} ms, raw SQL {cold_floor} ms",
        )  # fmt: skip
        framework = data.get("framework_floor", {}).get("p50_ms")
        add(
            "case_detail", backend, _ratio(p50.get("case_detail"), framework), 3,
            "× framework floor", f"detail {p50.get('case_detail')} ms, floor {framework} ms; "
            f"first request after a write {p50.get('case_detail_cold')} ms "
            f"({_ratio(p50.get('case_detail_cold'), framework)} × floor); the same 5 cases "
            f"again and again {p50.get('case_detail_repeat')} ms "
            f"({_ratio(p50.get('case_detail_repeat'), framework)} × floor)",
        )  # fmt: skip
        imports = data.get("imports", {})
        omb = imports.get("omb_2025", {})
        if "seconds" in omb:
            add("import_omb", backend, omb["seconds"], 10, "s", f"{omb.get('rows')} rows")
        csv_import = imports.get("csv", {})
        if "seconds" in csv_import:
            limit = 60 if csv_import.get("rows_in_file") == 100_000 else None
            add("import_csv", backend, csv_import["seconds"], limit, "s",
                f"{csv_import.get('rows_in_file')} rows")  # fmt: skip
        memory = data.get("memory", {})
        add("worker_rss", backend, memory.get("max_worker_rss_mb"), 300, "MB")
        transfer = data.get("transfer", {})
        if transfer:
            add("dashboard_first", backend, round(transfer["first_visit_bytes"] / 1000, 1), 800,
                "KB")  # fmt: skip
            add("dashboard_repeat", backend, round(transfer["repeat_visit_bytes"] / 1000, 1), 60,
                "KB")  # fmt: skip
        load = data.get("load")
        if load:
            add(
                "load_errors", backend, load["app"]["errors"], 0, "errors",
                f"{load['app']['rps']} req/s vs framework floor {load['floor']['rps']} req/s",
            )  # fmt: skip
    if opts.quick or opts.cases < 100_000:
        for target in found:
            target["note"] = (
                f"{opts.cases} cases{' (quick)' if opts.quick else ''}: not the 100k run"
            )
    return found


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"# Benchmark — {meta['cases']} synthetic cases ({meta['started']})",
        "",
        f"Machine: {meta['machine']['cpus']} CPUs, {meta['machine']['memory_gb']} GB; "
        f"Python {meta['python']}; load average at start {meta['load_average_start']}. "
        "Times are measured on loopback, one request at a time; ratios compare numbers "
        "measured in this same run.",
        "",
    ]
    for backend, data in results["backends"].items():
        db = data.get("database", {})
        lines += [
            f"## {backend}",
            "",
            f"Database: {db.get('case_rows')} cases; synth {db.get('synth_seconds')} s"
            f"{' (reused)' if db.get('reused') else ''}; load average "
            f"{data.get('load_average_start')} → {data.get('load_average_end')}.",
            "",
            "| Page | n | p50 ms | p95 ms | raw SQL floor p50 ms (statements) | × SQL floor | "
            "cold SQL floor p50 ms | × framework floor | bytes |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        framework = data.get("framework_floor", {}).get("p50_ms")
        for name, page in data.get("pages", {}).items():
            floor = data.get("sql_floors", {}).get(name, {})
            cold = floor.get("cold", {})
            lines.append(
                f"| {name} | {page['n']} | {_fmt(page['p50_ms'])} | {_fmt(page['p95_ms'])} | "
                f"{_fmt(floor.get('p50_ms'), 2)} ({floor.get('statements', '–')}, "
                f"{floor.get('kind', '')}) | {_fmt(_ratio(page['p50_ms'], floor.get('p50_ms')))} "
                f"| {_fmt(cold.get('p50_ms'), 2)} "
                f"| {_fmt(_ratio(page['p50_ms'], framework))} | {page.get('bytes')} |"
            )
        ff = data.get("framework_floor", {})
        lines.append(
            f"| framework floor (1 PK query) | {ff.get('n')} | {_fmt(ff.get('p50_ms'), 2)} | "
            f"{_fmt(ff.get('p95_ms'), 2)} | | | | 1.0 | {ff.get('bytes')} |"
        )
        ds = data.get("datasette")
        if ds and ds.get("available"):
            page = ds["page"]
            lines.append(
                f"| Datasette {ds.get('version', '').split(',')[-1].strip()} facet page | "
                f"{page['n']} | {_fmt(page['p50_ms'])} | {_fmt(page['p95_ms'])} | | | | "
                f"{_fmt(_ratio(page['p50_ms'], framework))} | {page.get('bytes')} |"
            )
        lines.append("")
        memory = data.get("memory", {})
        transfer = data.get("transfer", {})
        lines += [
            f"- Worker RSS (MB): {memory.get('worker_rss_mb')}",
            f"- Dashboard transfer: first visit {transfer.get('first_visit_bytes')} B, repeat "
            f"{transfer.get('repeat_visit_bytes')} B (compressed by "
            f"{transfer.get('compressed_by')}; revalidated on repeat: "
            f"{len(transfer.get('repeat_revalidations', []))})",
        ]
        for name, item in data.get("imports", {}).items():
            lines.append(f"- Import {name}: {json.dumps(item)}")
        load = data.get("load")
        if load:
            app, floor = load["app"], load["floor"]
            lines.append(
                f"- Load ({app['clients']} clients, {app['seconds']} s, {load['workers']} "
                f"workers): {app['rps']} req/s, p50 {app['p50_ms']} ms, p95 {app['p95_ms']} ms, "
                f"errors {app['errors']}; framework floor {floor['rps']} req/s "
                f"(p50 {floor['p50_ms']} ms, errors {floor['errors']}); client CPU "
                f"{app['client_cpu_seconds']} s / {floor['client_cpu_seconds']} s"
            )
        lines.append("")
    lines += ["## Targets", "", "| Target | Back end | Value | Limit | Met | Detail |",
              "|---|---|---:|---:|---|---|"]  # fmt: skip
    for target in results["targets"]:
        met = {True: "yes", False: f"no ({target['miss']})", None: "–"}[target["met"]]
        lines.append(
            f"| {target['description']} | {target['backend']} | {_fmt(target['value'], 2)} "
            f"{target['unit']} | {_fmt(target['limit'])} | {met} | {target['detail']} |"
        )
    lines.append("")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    memory = 0.0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 2**20
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory, 1),
        "platform": platform.platform(),
    }


def git_revision() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["import-one"]:
        parser = argparse.ArgumentParser()
        parser.add_argument("--database-url", required=True)
        parser.add_argument("--file", type=Path, required=True)
        args = parser.parse_args(argv[1:])
        print(json.dumps(import_one(args.database_url, args.file)))  # noqa: T201
        return 0
    opts = parse_options(argv)
    if opts.build_only:
        for backend in opts.backends:
            record = ensure_database(backend, opts)
            log(f"{backend}: {json.dumps({k: v for k, v in record.items() if k != 'url'})}")
        return 0
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    logs = opts.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "meta": {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "cases": opts.cases,
            "reviews_per_case": opts.reviews,
            "seed": opts.seed,
            "quick": opts.quick,
            "backends": opts.backends,
            "requests_per_page": opts.requests,
            "page_seconds_cap": opts.page_seconds,
            "gunicorn_workers": opts.workers,
            "machine": machine(),
            "python": platform.python_version(),
            "git": git_revision(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
            "search_path": search_path(),
        },
        "backends": {},
    }
    started = time.monotonic()
    for backend in opts.backends:
        try:
            results["backends"][backend] = bench_backend(backend, opts, logs)
        except Exception as error:  # noqa: BLE001 - record it and go on with the next back end
            log(f"{backend}: failed: {error}")
            results["backends"][backend] = {"error": f"{type(error).__name__}: {error}"}
    results["meta"]["seconds"] = round(time.monotonic() - started, 1)
    results["meta"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = targets(results, opts)
    temporary = opts.out_dir / "latest.json.tmp"
    temporary.write_text(json.dumps(results, indent=2, default=str))
    temporary.replace(opts.out_dir / "latest.json")
    (opts.out_dir / "latest.md").write_text(markdown(results))
    log(f"wrote {opts.out_dir / 'latest.json'} and latest.md in {results['meta']['seconds']} s")
    failed = [name for name, data in results["backends"].items() if "error" in data]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
