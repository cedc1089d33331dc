"""The layering rule: observatory ← cases ← criteria ← dashboards, and no pandas in views."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "observatory": set(),
    "cases": {"observatory"},
    "criteria": {"observatory", "cases"},
    "dashboards": {"observatory", "cases", "criteria"},
}
# The composition root wires features into the app and the command line; Alembic needs every
# model.
COMPOSITION_ROOTS = {
    Path("observatory/app.py"),
    Path("observatory/cli.py"),
    Path("observatory/migrations/env.py"),
}


def imported_packages(path: Path) -> set[str]:
    """Top-level package names a module imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_package_imports_only_lower_layers(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative in COMPOSITION_ROOTS:
            continue
        for name in imported_packages(path):
            if name in LAYERS and name != package and name not in LAYERS[package]:
                offenders.append(f"{relative} imports {name}")
    assert not offenders, offenders


def test_the_rule_catches_an_upward_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("from dashboards import views\n")
    assert "dashboards" in imported_packages(module)


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_views_do_not_use_pandas_or_plotly(package):
    for path in (ROOT / package).rglob("views.py"):
        assert not imported_packages(path) & {"pandas", "plotly"}, path


def test_pandas_and_plotly_only_in_dashboards_and_criteria_scoring():
    for package in ("observatory", "cases", "criteria"):
        for path in (ROOT / package).rglob("*.py"):
            assert not imported_packages(path) & {"pandas", "plotly"}, path
