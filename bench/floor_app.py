"""The framework floor: a minimal Flask app with one route doing one primary-key query on
`ai_case`, served by the same gunicorn settings as the observatory (see bench/run.py).

    OBSERVATORY_DATABASE_URL=... gunicorn --pythonpath bench floor_app:app

Whatever a real page costs above this is the observatory's own work (templates, services,
queries); what this costs is Flask + gunicorn + one round trip to the database.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, abort
from markupsafe import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from observatory.db import make_engine  # noqa: E402  (same engine options as the app)

app = Flask(__name__)
engine = make_engine(os.environ["OBSERVATORY_DATABASE_URL"])
STATEMENT = sa.text("SELECT id, ref, name FROM ai_case WHERE id = :id")


@app.route("/floor/<int:case_id>")
def floor(case_id: int):
    """One case's reference and name, by primary key."""
    with engine.connect() as connection:
        row = connection.execute(STATEMENT, {"id": case_id}).first()
    if row is None:
        abort(404)
    return f"<!doctype html><title>{escape(row.ref)}</title><p>{escape(row.name)}</p>"
