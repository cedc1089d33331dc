"""Extension points: a higher layer adds to a lower layer's pages without an upward import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from markupsafe import Markup

CASE_SECTIONS = "observatory.case_sections"
INIT_HOOKS = "observatory.init_hooks"


def register_case_section(app: Flask, render: Callable[[Any], str | Markup]) -> None:
    """Add a section to every public case page; `render(case)` returns safe HTML (or "")."""
    app.extensions.setdefault(CASE_SECTIONS, []).append(render)


def case_sections(case: Any) -> list[Markup]:
    """The extra sections of a case page, in registration order (empty ones left out)."""
    sections = []
    for render in current_app.extensions.get(CASE_SECTIONS, []):
        html = render(case)
        if html:
            sections.append(Markup(html))
    return sections


def register_init_hook(app: Flask, hook: Callable[[Flask], list[str]]) -> None:
    """Run `hook(app)` during `observatory init` (after migrations); it returns report lines."""
    app.extensions.setdefault(INIT_HOOKS, []).append(hook)
