"""Read a pip-audit JSON report and give the verdict for .ci/security-checks.

Usage: pip_audit_verdict.py REPORT SERVICE EXIT_STATUS. Exits 0 when the dependencies were
audited and none has a known vulnerability, 1 when some have (listed), 2 when the vulnerability
database could not be reached (no report, or no dependency could be looked up).
"""

from __future__ import annotations

import json
import sys


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def verdict(path: str, service: str, status: int) -> int:
    """Print what the report says and return the exit status (0, 1 or 2, see above)."""
    try:
        with open(path, encoding="utf-8") as stream:
            report = json.load(stream)
    except (OSError, ValueError):
        _say(f"pip-audit ({service}): no report (exit {status}): the service was unreachable")
        return 2
    deps = report.get("dependencies", [])
    found = [
        (dep["name"], dep.get("version", "?"), vuln["id"], ", ".join(vuln.get("fix_versions", [])))
        for dep in deps
        for vuln in dep.get("vulns", [])
    ]
    for name, version, vuln, fix in found:
        _say(f"VULNERABLE: {name} {version}: {vuln} (fixed in: {fix or 'no fix yet'})")
    if found:
        return 1
    audited = [dep for dep in deps if "skip_reason" not in dep]
    if deps and not audited:
        _say(f"pip-audit ({service}): none of {len(deps)} dependencies could be looked up")
        return 2
    _say(f"pip-audit ({service}): {len(audited)} dependencies audited, no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(verdict(sys.argv[1], sys.argv[2], int(sys.argv[3])))
