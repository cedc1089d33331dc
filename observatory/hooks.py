"""Extension points: a higher layer adds to a lower layer's pages without an upward import."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, render_template
from markupsafe import Markup

CASE_SECTIONS = "observatory.case_sections"
INIT_HOOKS = "observatory.init_hooks"


def register_case_section(
    app: Flask, template: str, context: Callable[[Any], Mapping[str, Any] | None]
) -> None:
    """Add a section to every public case page: `template` rendered with `context(case)`.

    `context` returns the template's variables, or None to leave the section out. The section
    is only ever HTML produced by an autoescaped template, never a string marked safe.
    """
    app.extensions.setdefault(CASE_SECTIONS, []).append((template, context))


def case_sections(case: Any) -> list[Markup]:
    """The extra sections of a case page, in registration order (left-out ones skipped)."""
    sections = []
    for template, context in current_app.extensions.get(CASE_SECTIONS, []):
        values = context(case)
        if values is not None:
            # render_template autoescapes every value (.html templates), so its output is safe.
            sections.append(Markup(render_template(template, **values)))
    return sections


def register_init_hook(app: Flask, hook: Callable[[Flask], list[str]]) -> None:
    """Run `hook(app)` during `observatory init` (after migrations); it returns report lines."""
    app.extensions.setdefault(INIT_HOOKS, []).append(hook)
