"""The security checks' verdict on pip-audit reports, and case-page sections (bandit B704 fix):
what a section shows is escaped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from observatory.hooks import CASE_SECTIONS, case_sections, register_case_section

VERDICT = Path(__file__).resolve().parents[2] / ".ci" / "pip_audit_verdict.py"


def _verdict(tmp_path: Path, report: dict | None) -> subprocess.CompletedProcess:
    path = tmp_path / "report.json"
    if report is not None:
        path.write_text(json.dumps(report))
    return subprocess.run(
        [sys.executable, str(VERDICT), str(path), "pypi", "1"], capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("report", "status", "says"),
    [
        ({"dependencies": [{"name": "flask", "version": "3.1", "vulns": []}]}, 0, "1 dependencies"),
        (
            {
                "dependencies": [
                    {
                        "name": "jinja2",
                        "version": "3.0",
                        "vulns": [{"id": "GHSA-x", "fix_versions": ["3.1.5"]}],
                    }
                ]
            },
            1,
            "VULNERABLE: jinja2 3.0: GHSA-x (fixed in: 3.1.5)",
        ),
        ({"dependencies": [{"name": "flask", "skip_reason": "not found on PyPI"}]}, 2, "none of"),
        (None, 2, "unreachable"),
    ],
)
def test_pip_audit_verdict(tmp_path, report, status, says):
    result = _verdict(tmp_path, report)
    assert result.returncode == status and says in result.stdout


def test_case_sections_are_escaped_templates(app):
    app.extensions[CASE_SECTIONS] = []  # only this test's sections
    register_case_section(app, "admin/audit.html", lambda case: None)  # left out
    register_case_section(
        app, "admin/audit.html", lambda case: {"result": _Result(case), "action": case, "actor": ""}
    )
    with app.test_request_context("/?lang=en"):
        sections = case_sections('"><script>alert(1)</script>')
    (html,) = sections
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


class _Result:
    """Just enough of an audit page to render the audit template as a section."""

    def __init__(self, text: str) -> None:
        self.actions = [text]
        self.events = []
        self.actors = {}
        self.total = 0
        self.page = 1
        self.pages = 1


@pytest.mark.parametrize(
    ("env", "host", "says"),
    [
        ("production", "127.0.0.1", "OBSERVATORY_ENV=development"),
        ("development", "0.0.0.0", "--dev"),
    ],
)
def test_the_debugger_never_runs_outside_local_development(tmp_path, env, host, says):
    from click.testing import CliRunner

    from observatory.cli import main

    environment = {
        "OBSERVATORY_ENV": env,
        "OBSERVATORY_SECRET_KEY": "test-secret-key-not-for-production",
        "OBSERVATORY_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    result = CliRunner().invoke(main, ["serve", "--dev", "--host", host], env=environment)
    assert result.exit_code == 1 and says in result.output
