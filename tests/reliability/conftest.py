"""Reliability tests: true simultaneity (default suite), load and faults (`-m reliability`)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml lists it (the suite runs with --strict-markers).
    config.addinivalue_line(
        "markers",
        "reliability: load and fault scenarios against a live server (slow; -m reliability)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The load and fault scenarios take minutes: they run only when asked for by marker."""
    if "reliability" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="load/fault scenario: run with `pytest -m reliability`")
    for item in items:
        if item.get_closest_marker("reliability"):
            item.add_marker(skip)
