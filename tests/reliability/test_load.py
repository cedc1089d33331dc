"""Load: `observatory serve --workers 4` on a fresh PostgreSQL database with the starter
library; 50 readers over the public pages and 5 signed-in submitters using the real forms for
OBSERVATORY_LOAD_SECONDS (default 60), loopback only, bounded loops.

Asserts zero 5xx and that every acknowledged submission is in the database; reports
requests/s and latency percentiles in tests/reliability/results/load.md (not asserted).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from observatory.db import make_engine
from tests.reliability._consistency import problems
from tests.reliability._server import (
    Server,
    add_accounts,
    cli,
    environment,
    postgres_database,
    sign_in,
    submit_case,
)

pytestmark = [pytest.mark.slow, pytest.mark.reliability]
RESULTS = Path(__file__).parent / "results"
READERS = 50
SUBMITTERS = 5
WORKERS = 4
MAX_REQUESTS_PER_THREAD = 5000  # a bound even if the clock misbehaves


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def public_paths(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        refs = (
            connection.execute(
                sa.text("SELECT ref FROM ai_case WHERE state = 'published' ORDER BY ref LIMIT 40")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert refs, "the starter library did not load"
    fixed = [
        "/",
        "/cases",
        "/cases?country=BRA&country=ARG",
        "/cases?q=justicia&lang=es",
        "/cases?branch=judicial&sort=newest&lang=pt",
        "/dashboards",
        "/dashboards/countries/BRA",
        "/frameworks",
        "/regulations",
        "/data?lang=en",
        "/api/v1/cases?country=MEX",
        "/feeds/cases.atom",
    ]
    return fixed + [f"/cases/{ref}" for ref in refs[:20]] + [f"/cases/{refs[0]}.json"]


def test_fifty_readers_and_five_submitters_for_a_minute(tmp_path):
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        pytest.skip("set TEST_DATABASE_URL (a PostgreSQL server): the load test runs on PostgreSQL")
    seconds = float(os.environ.get("OBSERVATORY_LOAD_SECONDS", "60"))
    with postgres_database(server_url, "load") as url:
        env = environment(url, tmp_path / "instance")
        cli(env, "init")
        cli(env, "load-starter")
        emails = [f"carga{n}@carga.example.org" for n in range(SUBMITTERS)]
        add_accounts(
            url, [(e, "submitter", "Ministerio de Pruebas de Carga", "ARG") for e in emails]
        )
        paths = public_paths(url)
        server = Server(env, workers=WORKERS, log=tmp_path / "serve.log").start()

        samples: list[tuple[str, float, int]] = []  # (kind, seconds, status)
        failures: list[str] = []
        acknowledged: list[tuple[str, str, str]] = []  # (ref, name, e-mail)
        lock = threading.Lock()
        start = threading.Event()
        deadline = [0.0]

        def record(kind: str, began: float, status: int) -> None:
            with lock:
                samples.append((kind, time.perf_counter() - began, status))

        def reader(index: int) -> None:
            client = requests.Session()
            order = random.Random(index)
            start.wait()
            for _ in range(MAX_REQUESTS_PER_THREAD):
                if time.monotonic() > deadline[0]:
                    return
                path = order.choice(paths)
                began = time.perf_counter()
                try:
                    response = client.get(server.url + path, timeout=60)
                except requests.RequestException as error:
                    with lock:
                        failures.append(f"GET {path}: {error!r}")
                    continue
                record("read", began, response.status_code)
                if response.status_code >= 500:
                    with lock:
                        failures.append(f"GET {path}: {response.status_code}")

        def submitter(email: str) -> None:
            client = sign_in(server.url, email)
            start.wait()
            for number in range(MAX_REQUESTS_PER_THREAD):
                if time.monotonic() > deadline[0]:
                    return
                name = f"Caso de carga {email.split('@')[0]} nº {number}"
                began = time.perf_counter()
                try:
                    ref = submit_case(client, server.url, name, "ARG")
                except (requests.RequestException, AssertionError) as error:
                    with lock:
                        failures.append(f"submit {name}: {error!r}")
                    continue
                record("submit", began, 302 if ref else 200)
                if ref:
                    with lock:
                        acknowledged.append((ref, name, email))

        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
        threads += [threading.Thread(target=submitter, args=(e,), daemon=True) for e in emails]
        try:
            for thread in threads:
                thread.start()
            time.sleep(2)  # submitters signed in
            began = time.monotonic()
            deadline[0] = began + seconds
            start.set()
            for thread in threads:
                thread.join(seconds + 120)
            elapsed = time.monotonic() - began
        finally:
            server.stop()

        report = summarise(samples, acknowledged, failures, elapsed, seconds)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "load.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / "load.md").write_text(markdown(report))
        print("\n" + markdown(report))  # noqa: T201 - the figures belong in the test output

        assert not any(t.is_alive() for t in threads), "a load thread did not stop"
        assert failures == [], failures[:10]
        assert not [s for _k, _t, s in samples if s >= 500]
        assert acknowledged, "no submission was acknowledged"

        engine = make_engine(url)
        with engine.connect() as connection:
            stored = {
                ref: (name, state, email)
                for ref, name, state, email in connection.execute(
                    sa.text(
                        "SELECT c.ref, c.name, c.state, u.email FROM ai_case c "
                        "JOIN user_account u ON u.id = c.submitter_id"
                    )
                )
            }
        engine.dispose()
        lost = [
            (ref, name)
            for ref, name, email in acknowledged
            if stored.get(ref) != (name, "submitted", email)
        ]
        assert lost == [], "acknowledged submissions missing from the database"
        assert problems(url) == []


def summarise(samples, acknowledged, failures, elapsed: float, seconds: float) -> dict:
    def figures(kind: str) -> dict:
        times = [t for k, t, _s in samples if k == kind]
        return {
            "requests": len(times),
            "per_second": round(len(times) / elapsed, 1) if elapsed else 0,
            "p50_ms": round(percentile(times, 0.50) * 1000),
            "p95_ms": round(percentile(times, 0.95) * 1000),
            "p99_ms": round(percentile(times, 0.99) * 1000),
            "mean_ms": round(statistics.fmean(times) * 1000) if times else 0,
        }

    statuses: dict[str, int] = {}
    for _k, _t, status in samples:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "setup": (
            f"observatory serve --workers {WORKERS} (gunicorn, sync) on PostgreSQL, starter "
            f"library; {READERS} readers, {SUBMITTERS} submitters, {seconds:.0f} s, loopback; "
            f"{os.cpu_count()} CPUs shared with other jobs"
        ),
        "elapsed_s": round(elapsed, 1),
        "all": {
            "requests": len(samples),
            "per_second": round(len(samples) / elapsed, 1) if elapsed else 0,
        },
        "read": figures("read"),
        "submit": figures("submit"),
        "statuses": statuses,
        "acknowledged_submissions": len(acknowledged),
        "failures": len(failures),
    }


def markdown(report: dict) -> str:
    lines = [
        "# Load test (tests/reliability/test_load.py)",
        "",
        f"{report['measured_at']} — {report['setup']}; measured over {report['elapsed_s']} s.",
        "",
        "| | requests | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("read", "submit"):
        f = report[kind]
        lines.append(
            f"| {kind} | {f['requests']} | {f['per_second']} | {f['p50_ms']} | {f['p95_ms']} "
            f"| {f['p99_ms']} |"
        )
    lines += [
        f"| all | {report['all']['requests']} | {report['all']['per_second']} | | | |",
        "",
        f"Statuses: {report['statuses']}; acknowledged submissions: "
        f"{report['acknowledged_submissions']} (all found in the database); "
        f"failures: {report['failures']}.",
        "",
    ]
    return "\n".join(lines)
