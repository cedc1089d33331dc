"""First-run and upgrade steps shared by `observatory init` and the tests."""

from __future__ import annotations

from flask import Flask

from observatory.db import current_revision, get_engine, upgrade_schema
from observatory.hooks import INIT_HOOKS


def initialise(app: Flask) -> list[str]:
    """Upgrade the schema to the newest migration and load the shipped frameworks; idempotent.

    Returns human-readable lines describing what was done.
    """
    engine = get_engine(app)
    before = current_revision(engine)
    upgrade_schema(engine)
    after = current_revision(engine)
    lines = [
        f"Database: {engine.url.render_as_string(hide_password=True)}",
        f"Schema: {'already at' if before == after else 'upgraded to'} revision {after}.",
    ]
    for hook in app.extensions.get(INIT_HOOKS, []):
        lines.extend(hook(app))
    return lines
