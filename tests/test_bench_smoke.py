"""The benchmark runs: quick mode on a tiny library, SQLite only (no Datasette, no PostgreSQL,
no load test), results in a temporary folder. Not a timed test: only the shape is checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "home", "search", "case_detail", "region_warm", "region_cold", "compare", "api_list",
    "search_cold", "case_detail_cold", "case_detail_repeat",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "sqlite", reason="the smoke run uses its own SQLite file")
def test_bench_quick_run_writes_latest_json_and_markdown(tmp_path):
    out, data = tmp_path / "results", tmp_path / "data"
    command = [
        sys.executable,
        str(ROOT / "bench" / "run.py"),
        "--cases",
        "40",
        "--quick",
        "--requests",
        "3",
        "--backends",
        "sqlite",
        "--no-datasette",
        "--no-load",
        "--out-dir",
        str(out),
        "--data-dir",
        str(data),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]

    results = json.loads((out / "latest.json").read_text())
    assert results["meta"]["cases"] == 40 and results["meta"]["quick"] is True
    assert results["meta"]["machine"]["cpus"] >= 1
    sqlite = results["backends"]["sqlite"]
    assert sqlite["database"]["case_rows"] == 260 + 40
    assert set(sqlite["pages"]) == PAGES
    for name, page in sqlite["pages"].items():
        assert page["n"] >= 3, name
        assert page["errors"] == 0, (name, page["statuses"])
        assert 0 < page["p50_ms"] <= page["p95_ms"], name
    for name, floor in sqlite["sql_floors"].items():
        assert floor["statements"] >= 1 and floor["p50_ms"] is not None, name
    assert sqlite["sql_floors"]["region_cold"]["kind"] == "cold"
    assert sqlite["framework_floor"]["p50_ms"] > 0
    assert sqlite["memory"]["max_worker_rss_mb"] > 0
    transfer = sqlite["transfer"]
    assert transfer["first_visit_bytes"] > transfer["repeat_visit_bytes"] > 0
    assert any(".js" in asset["url"] for asset in transfer["assets"])
    assert sqlite["imports"]["csv"]["new"] == 40
    assert "datasette" not in sqlite and "load" not in sqlite
    assert "postgresql" not in results["backends"]

    targets = {(t["target"], t["backend"]) for t in results["targets"]}
    for key in ("region_warm", "region_cold", "case_detail", "worker_rss", "dashboard_first"):
        assert (key, "sqlite") in targets
    assert all("not the 100k run" in t["note"] for t in results["targets"])

    report = (out / "latest.md").read_text()
    assert "| search |" in report and "## Targets" in report
    assert not list(out.glob("*.tmp"))
