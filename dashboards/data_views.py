"""Open-data routes (blueprint `opendata`): the /data page (dictionary, licence, how to cite),
downloads of any filtered case list (CSV, XLSX, JSON; our columns or the OMB 2025 layout), the
public dump, the crosswalk table, the Atom feeds and the human page of the API. Thin views."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime
from importlib.resources import files

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from sqlmodel import func, select

from cases import vocabularies as vocab
from cases.models import Case
from cases.search import FACETS, CaseQuery
from cases.services import PUBLIC_STATES
from dashboards import crosswalk, dictionary, exports, feeds, publishing
from dashboards.api import case_link, openapi_document
from dashboards.dump import write_dump
from observatory.db import data_version, get_session
from observatory.i18n import _, current_language

bp = Blueprint("opendata", __name__, template_folder="templates")

FEED_LIMIT = 50
# The parameters of /cases that shape the list (every page of it is exported).
LIST_PARAMETERS = {"q", *(facet.param for facet in FACETS), "year_from", "year_to", "sort", "lang"}
EXAMPLES = {
    "/": "/api/v1/",
    "/cases": "/api/v1/cases?country=BRA&branch=judicial&per_page=5",
    "/stats": "/api/v1/stats?group_by=country,branch",
    "/vocabularies": "/api/v1/vocabularies",
    "/vocabularies/{name}": "/api/v1/vocabularies/sector",
    "/frameworks": "/api/v1/frameworks",
    "/openapi.json": "/api/v1/openapi.json",
}


@bp.app_template_global("opendata_export_url")
def opendata_export_url(fmt: str, layout: str | None = None) -> str:
    """Download address of the current /cases list (its filters and order, every page)."""
    args = {
        name: values
        for name, values in request.args.to_dict(flat=False).items()
        if name in LIST_PARAMETERS
    }
    if layout:
        args["layout"] = [layout]
    return url_for("opendata.export_cases", fmt=fmt, **args)


def _tag(*parts: object) -> str:
    """An ETag for content that changes only with the data version and these parameters."""
    text = json.dumps([data_version(get_session()), *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _download(content: bytes, mimetype: str, filename: str, etag: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "public, no-cache"
    response.set_etag(etag)
    return response.make_conditional(request)


def _not_modified(etag: str) -> Response | None:
    """304 before any work when the client already holds this version."""
    if etag in request.if_none_match:
        response = Response(status=304)
        response.set_etag(etag)
        return response
    return None


@bp.route("/data")
def data_page():
    """What is published, under which licence, how to cite it, and every field explained."""
    session = get_session()
    total = session.exec(
        select(func.count()).select_from(Case).where(Case.state.in_(PUBLIC_STATES))
    ).one()
    url = url_for("opendata.data_page", _external=True)
    today = date.today()
    lang = current_language()
    countries = [
        (code, vocab.country_name(code, lang))
        for code, _name in vocab.country_choices(lang, only=vocab.LAC_COUNTRIES)
    ]
    return render_template(
        "opendata/data.html",
        total=total,
        fields=[dictionary.ALL_SPECS[name] for name in dictionary.EXPORT_COLUMNS],
        vocabularies=[
            (name, dictionary.vocabulary_entries(name)) for name in dictionary.RECORD_VOCABULARIES
        ],
        countries=dictionary.country_entries(),
        feed_countries=countries,
        crosswalk=crosswalk.crosswalk(),
        languages=vocab.LANGUAGES,
        cite_text=dictionary.cite_dataset(url=url, accessed=today, lang=lang),
        cite_bibtex=dictionary.cite_dataset_bibtex(url=url, accessed=today),
        licence_name=dictionary.LICENCE_NAME,
        licence_url=dictionary.LICENCE_URL,
        vocabulary_titles=dictionary.VOCABULARY_TITLES,
    )


@bp.route("/cases/export.<any(csv, xlsx, json):fmt>")
def export_cases(fmt: str):
    """Every row of the /cases list for the same parameters (all pages), as a file."""
    layout = request.args.get("layout") or "default"
    if layout not in exports.LAYOUTS:
        abort(400)
    query = CaseQuery.from_args(request.args)
    lang = current_language()
    etag = _tag("export", fmt, layout, query.to_args(), lang)
    unchanged = _not_modified(etag)
    if unchanged is not None:
        return unchanged
    session = get_session()
    total, cases = publishing.all_search_results(session, query, lang=lang)
    records = publishing.public_records(session, cases, link=case_link)
    meta = {
        "title": _("Case library of the LAC AI Observatory"),
        "source": url_for("cases.index", _external=True, **query.at_page(1).to_args()),
        "licence": dictionary.LICENCE_NAME,
        "licence_url": dictionary.LICENCE_URL,
        "citation": dictionary.cite_dataset(
            url=url_for("opendata.data_page", _external=True), accessed=date.today(), lang=lang
        ),
        "generated_at": publishing.iso_utc(datetime.now(UTC)),
        "query": query.at_page(1).to_args(),
    }
    file = exports.export_records(records, fmt, layout=layout, meta=meta)
    suffix = "-omb-2025" if layout == crosswalk.OMB_LAYOUT else ""
    name = f"observatory-cases{suffix}-{date.today():%Y%m%d}.{file.extension}"
    return _download(file.content, file.mimetype, name, etag)


@bp.route("/data/dump.json")
def dump():
    """Every public case with every published version and its provenance, for archivists."""
    etag = _tag("dump")
    unchanged = _not_modified(etag)
    if unchanged is not None:
        return unchanged
    buffer = io.BytesIO()
    write_dump(
        get_session(),
        buffer,
        scope="public",
        source=url_for("opendata.data_page", _external=True),
    )
    name = f"observatory-dump-{date.today():%Y%m%d}.json"
    return _download(buffer.getvalue(), "application/json", name, etag)


@bp.route("/data/crosswalk.csv")
def crosswalk_csv():
    """The crosswalk table (our fields to OMB 2025, UK ATRS, PSTW / AI Watch, Algoritmeregister)."""
    data = (files("dashboards") / "data" / crosswalk.CROSSWALK_FILE).read_bytes()
    etag = hashlib.sha256(data).hexdigest()
    return _download(data, "text/csv; charset=utf-8", "observatory-crosswalk.csv", etag)


def _entry(publication: publishing.Publication, lang: str) -> feeds.FeedEntry:
    case, record = publication.case, publication.record
    scheme = url_for("opendata.data_page", _external=True)
    categories = [
        feeds.Category(case.country, vocab.country_name(case.country, lang), f"{scheme}#country"),
        feeds.Category(case.branch, vocab.label("branch", case.branch, lang), f"{scheme}#branch"),
        feeds.Category(case.sector, vocab.label("sector", case.sector, lang), f"{scheme}#sector"),
    ]
    title = f"{case.name} — {case.institution} ({vocab.country_name(case.country, lang)})"
    return feeds.FeedEntry(
        id=record["url"],
        title=title,
        link=record["url"],
        json_link=url_for("api.case", ref=case.ref, _external=True),
        updated=publication.updated,
        published=publication.first_published,
        summary=case.purpose,
        lang=case.record_language if case.record_language in vocab.LANGUAGES else "",
        categories=categories,
    )


def _feed(country: str | None) -> Response:
    lang = current_language()
    etag = _tag("feed", country, lang)
    unchanged = _not_modified(etag)
    if unchanged is not None:
        return unchanged
    publications = publishing.recent_publications(
        get_session(), country=country, limit=FEED_LIMIT, link=case_link
    )
    if country:
        name = vocab.country_name(country, lang)
        title = _("LAC AI Observatory: new and updated cases in %(country)s", country=name)
        self_link = url_for("opendata.country_feed", iso3=country, _external=True)
        page = url_for("cases.index", country=country, _external=True)
    else:
        title = _("LAC AI Observatory: new and updated cases")
        self_link = url_for("opendata.cases_feed", _external=True)
        page = url_for("cases.index", _external=True)
    updated = max((p.updated for p in publications), default=datetime.now(UTC))
    feed = feeds.Feed(
        id=self_link,
        title=title,
        subtitle=_("Government AI use cases published or updated in the case library."),
        self_link=self_link,
        link=page,
        updated=updated,
        author=_("LAC AI Observatory"),
        rights=_("Data licence: CC BY 4.0. Cite the observatory and the sources of each case."),
        lang=lang,
        entries=[_entry(publication, lang) for publication in publications],
    )
    response = Response(feeds.atom_xml(feed), mimetype=feeds.MIMETYPE)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, no-cache"
    return response


@bp.route("/feeds/cases.atom")
def cases_feed():
    """Atom feed of the cases most recently published or updated."""
    return _feed(None)


@bp.route("/feeds/countries/<iso3>.atom")
def country_feed(iso3: str):
    """Atom feed of one country's newly published or updated cases."""
    code = iso3.upper()
    if not vocab.is_known_country(code):
        abort(404)
    return _feed(code)


@bp.route("/api")
def api_docs():
    """The API for people: every endpoint, its parameters and an example."""
    session = get_session()
    ref = session.exec(
        select(Case.ref).where(Case.state.in_(PUBLIC_STATES)).order_by(Case.ref).limit(1)
    ).first()
    examples = dict(EXAMPLES)
    if ref:
        for suffix in ("", "/history", "/assessments"):
            examples["/cases/{ref}" + suffix] = f"/api/v1/cases/{ref}{suffix}"
    document = openapi_document()
    return render_template(
        "opendata/api.html",
        document=document,
        parameters=document["components"]["parameters"],
        examples=examples,
        rate_limit=current_app.config.get("API_RATE_LIMIT", 120),
    )
