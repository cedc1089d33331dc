"""Routes of the public dashboards: home, region, compare, branches, criteria, country reports,
and each chart's CSV and embeddable view. Thin: parse the URL, call a service, render."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from dashboards import services
from dashboards.filters import DashboardFilters
from observatory.db import get_session
from observatory.i18n import current_language
from observatory.pagecache import anonymous_page
from observatory.security import CONTENT_SECURITY_POLICY

bp = Blueprint(
    "dashboards",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/dashboards/static",
)

PAGE_NAMES = "any(region, compare, branches, criteria)"
EMBED_CSP = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'self'", "frame-ancestors *")


class EmbeddableResponse(Response):
    """A response any site may frame: its own CSP (`frame-ancestors *`) is set by the view, and
    the app-wide X-Frame-Options default (added after the view) is dropped when sent."""

    def get_wsgi_headers(self, environ):
        headers = super().get_wsgi_headers(environ)
        headers.remove("X-Frame-Options")
        return headers


def _filters() -> DashboardFilters:
    return DashboardFilters.from_args(request.args)


def _render_page(template: str, page: services.DashboardPage) -> str:
    return render_template(f"dashboards/{template}.html", page=page)


@bp.route("/")
def home():
    """What the observatory is, with live counts and the ways in (anonymous visitors get the
    page cached per data version)."""

    def render() -> str:
        headline, by_branch = services.home_summary(get_session(), current_language())
        return render_template("dashboards/home.html", headline=headline, by_branch=by_branch)

    return anonymous_page("dashboards.home", render)


@bp.route("/dashboards")
def region():
    """The region: headline figures, map, branches, sectors, timeline, status, techniques."""
    page = services.region_page(get_session(), _filters(), current_language())
    return _render_page("region", page)


@bp.route("/dashboards/compare")
def compare():
    """Two to six countries compared criterion by criterion and branch by branch."""
    page = services.compare_page(get_session(), _filters(), current_language())
    return _render_page("compare", page)


@bp.route("/dashboards/branches")
def branches():
    """Branches of government compared across the region."""
    page = services.branches_page(get_session(), _filters(), current_language())
    return _render_page("branches", page)


@bp.route("/dashboards/criteria")
def criteria():
    """The weakest criteria across the region and each criterion's distribution."""
    page = services.criteria_page(get_session(), _filters(), current_language())
    return _render_page("criteria", page)


@bp.route("/dashboards/countries")
def countries():
    """Country reports: `?country=ISO3` goes to one (a form without JavaScript), else a list."""
    chosen = (request.args.get("country") or "").strip().upper()
    filters = _filters()
    if chosen:
        args = filters.with_(countries=()).url_args()
        return redirect(url_for("dashboards.country", iso3=chosen, **args))
    page = services.countries_index(get_session(), filters, current_language())
    return _render_page("countries", page)


@bp.route("/dashboards/countries/<iso3>")
def country(iso3: str):
    """A country report (prints cleanly): counts, timeline, instruments, scores, and its cases
    and high-risk systems a page at a time (`?page=`, `?risk_page=`)."""
    page = services.country_page(
        get_session(),
        iso3,
        _filters(),
        current_language(),
        cases_page=_page_number("page"),
        high_risk_page=_page_number("risk_page"),
    )
    return _render_page("country", page)


def _page_number(name: str) -> int:
    # Anything but a whole number means the first page, as on the case list.
    return request.args.get(name, default=1, type=int)


def _csv(page: str, chart: str, iso3: str = "") -> Response:
    found, _shell = services.chart_for(
        get_session(), page, chart, _filters(), current_language(), iso3=iso3
    )
    name = "-".join(part for part in ("observatory", page, iso3.upper(), chart) if part)
    return Response(
        "\ufeff" + found.table.to_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@bp.route(f"/dashboards/<{PAGE_NAMES}:page>/<chart>.csv")
def chart_csv(page: str, chart: str):
    """The numbers of one chart as CSV (the same filters as the page)."""
    return _csv(page, chart)


@bp.route("/dashboards/countries/<iso3>/<chart>.csv")
def country_chart_csv(iso3: str, chart: str):
    """The numbers of one chart of a country report as CSV."""
    return _csv("country", chart, iso3)


def _embed(page: str, chart: str, iso3: str = "") -> Response:
    found, shell = services.chart_for(
        get_session(), page, chart, _filters(), current_language(), iso3=iso3
    )
    response = EmbeddableResponse(
        render_template("dashboards/embed.html", chart=found, page=shell),
        mimetype="text/html",
    )
    response.headers["Content-Security-Policy"] = EMBED_CSP
    return response


@bp.route(f"/dashboards/embed/<{PAGE_NAMES}:page>/<chart>")
def embed(page: str, chart: str):
    """One chart with its table, read-only, for other sites to frame."""
    return _embed(page, chart)


@bp.route("/dashboards/embed/countries/<iso3>/<chart>")
def country_embed(iso3: str, chart: str):
    """One chart of a country report, for other sites to frame."""
    return _embed("country", chart, iso3)
