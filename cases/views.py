"""Routes of the case library: the public list and case pages, and a submitter's own cases."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from cases import services
from cases import vocabularies as vocab
from observatory.auth import role_required
from observatory.db import get_session
from observatory.i18n import current_language
from observatory.models import Role

bp = Blueprint("cases", __name__, template_folder="templates")


@bp.app_template_global("label")
def label(vocabulary: str, key: str | None) -> str:
    """Label of a controlled value in the UI language (templates: `label('branch', c.branch)`)."""
    if key is None or key == "":
        return ""
    return vocab.label(vocabulary, key, current_language())


@bp.app_template_global("country_name")
def country_name(iso3: str | None) -> str:
    """Country name in the UI language."""
    return vocab.country_name(iso3, current_language()) if iso3 else ""


@bp.route("/cases")
def index():
    """The published library, a page at a time."""
    page = request.args.get("page", default=1, type=int) or 1
    result = services.list_published(get_session(), page=page)
    return render_template("cases/list.html", result=result)


@bp.route("/cases/mine")
@role_required(Role.SUBMITTER)
def mine():
    """The signed-in submitter's own cases and their states."""
    items = services.cases_of_submitter(get_session(), actor_id=g.user.id)
    return render_template("cases/mine.html", items=items)


@bp.route("/cases/<ref>")
def detail(ref: str):
    """A published case (its permalink)."""
    session = get_session()
    case = services.get_published_case(session, ref)
    techniques = services.case_techniques(session, case.id)
    return render_template("cases/detail.html", case=case, techniques=techniques)
