"""The public case search at `/cases`: parse the URL, search, render (state stays in the URL)."""

from __future__ import annotations

from flask import render_template, request, url_for

from cases.blueprint import bp
from cases.search import FACETS, CaseQuery, search_cases
from observatory.db import get_session
from observatory.i18n import current_language
from observatory.pagecache import anonymous_page


def search_url(query: CaseQuery, *, _external: bool = False) -> str:
    """The shareable URL of a search state."""
    return url_for("cases.index", _external=_external, **query.to_args())


@bp.route("/cases")
def index():
    """Published cases with facets, full-text search, sorting and pages; works without JS.

    Anonymous visitors are served from the page cache (keyed by the data version and the URL).
    """
    query = CaseQuery.from_args(request.args)

    def render() -> str:
        result = search_cases(get_session(), query, lang=current_language())
        return render_template(
            "cases/list.html", query=query, result=result, facets=FACETS, search_url=search_url
        )

    return anonymous_page("cases.index", render)
