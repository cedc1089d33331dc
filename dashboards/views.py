"""Routes of the public dashboards, starting with the home page's live figures."""

from __future__ import annotations

from flask import Blueprint, render_template

from dashboards import queries
from observatory.db import get_session

bp = Blueprint(
    "dashboards",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/dashboards/static",
)


@bp.route("/")
def home():
    """What the observatory is, with live counts and the ways in."""
    session = get_session()
    return render_template(
        "dashboards/home.html",
        headline=queries.headline_counts(session),
        by_branch=queries.cases_by_branch(session),
    )
