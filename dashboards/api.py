"""The read-only JSON API under /api/v1: cases (the same search as /cases), one case, its history
and published assessments, vocabularies, frameworks, counts, and the OpenAPI document.

Every answer carries an ETag (SHA-256 of the body; If-None-Match gives 304), allows cross-origin
GET, and counts against a per-client fixed-window rate limit (`API_RATE_LIMIT` requests a
minute; 429 beyond): in Redis when `REDIS_URL` is set, shared by every worker, else in-process.
Errors are JSON with a message (observatory.errors)."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import replace
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request, url_for

from cases import history as history_service
from cases import services as case_services
from cases import vocabularies as vocab
from cases.search import MAX_PAGE, CaseQuery, search_cases
from criteria import services as criteria_services
from dashboards import dictionary, publishing
from dashboards.cache import get_cache
from dashboards.openapi import API_PREFIX, API_VERSION, MAX_PER_PAGE, build_document
from observatory.db import data_version, get_session
from observatory.errors import render_error
from observatory.i18n import _, current_language

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)

DEFAULT_RATE_LIMIT = 120
WINDOW_SECONDS = 60
LIMITER_KEY = "dashboards.api_rate_limiter"
OPENAPI_KEY = "dashboards.openapi_document"
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_RETRY_AFTER_SECONDS = 10.0
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
    "Access-Control-Expose-Headers": (
        "ETag, Link, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining"
    ),
    "Access-Control-Max-Age": "86400",
}


class ApiError(Exception):
    """A request the API refuses, with the HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return render_error(error.status, error.message)


# --- rate limit ------------------------------------------------------------------------------


class RateLimiter:
    """Fixed-window request counter per client: Redis (INCR with expiry) when configured,
    else an in-process dict. A Redis failure falls back to the in-process count for a while."""

    def __init__(
        self, *, redis_url: str | None, namespace: str, window: int = WINDOW_SECONDS
    ) -> None:
        self.window = window
        self.namespace = namespace
        self._local: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._redis = None
        self._redis_down_until = 0.0
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(
                redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )

    def hit(self, client: str, limit: int, now: float | None = None) -> tuple[bool, int, int]:
        """Count one request of `client`: (allowed, requests left, seconds until the window
        resets)."""
        now = time.time() if now is None else now
        window = int(now // self.window)
        reset = max(1, int((window + 1) * self.window - now))
        count = self._redis_count(client, window)
        if count is None:
            count = self._local_count(client, window)
        return count <= limit, max(0, limit - count), reset

    def _local_count(self, client: str, window: int) -> int:
        with self._lock:
            current, count = self._local.get(client, (window, 0))
            count = count + 1 if current == window else 1
            self._local[client] = (window, count)
            if len(self._local) > 10_000:  # forget clients of past windows
                self._local = {k: v for k, v in self._local.items() if v[0] == window}
            return count

    def _redis_count(self, client: str, window: int) -> int | None:
        if self._redis is None or time.monotonic() < self._redis_down_until:
            return None
        key = f"{self.namespace}:{window}:{client}"
        try:
            pipeline = self._redis.pipeline()
            pipeline.incr(key)
            pipeline.expire(key, self.window + 5)
            count, _ = pipeline.execute()
        except Exception as error:  # noqa: BLE001 - counting in-process beats failing requests
            self._redis_down_until = time.monotonic() + REDIS_RETRY_AFTER_SECONDS
            log.warning("API rate limit: Redis failed, counting in-process: %s", error)
            return None
        return int(count)


def get_limiter(app: Flask) -> RateLimiter:
    """The app's rate limiter (one per app, so test apps never share counts)."""
    limiter = app.extensions.get(LIMITER_KEY)
    if limiter is None:
        database = str(app.config.get("DATABASE_URL") or "")
        digest = hashlib.sha256(database.encode("utf-8")).hexdigest()[:12]
        limiter = RateLimiter(
            redis_url=app.config.get("REDIS_URL") or None,
            namespace=f"observatory:api-rate:{digest}",
        )
        app.extensions[LIMITER_KEY] = limiter
    return limiter


@bp.before_request
def _rate_limit() -> Response | None:
    if request.method == "OPTIONS":
        return None
    limit = int(current_app.config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT) or 0)
    if limit <= 0:
        return None
    client = request.remote_addr or "unknown"
    allowed, remaining, reset = get_limiter(current_app).hit(client, limit)
    g.api_rate = (limit, remaining)
    if allowed:
        return None
    response = render_error(
        429, _("Too many requests: at most %(n)s a minute. Try again shortly.", n=limit)
    )
    response.headers["Retry-After"] = str(reset)
    return response


@bp.after_app_request
def _api_headers(response: Response) -> Response:
    """CORS (also on errors, so browsers can read them) and the rate-limit headers."""
    if request.path.startswith(API_PREFIX + "/") or request.path == API_PREFIX:
        for name, value in CORS_HEADERS.items():
            response.headers.setdefault(name, value)
        rate = g.get("api_rate")
        if rate is not None:
            response.headers["X-RateLimit-Limit"] = str(rate[0])
            response.headers["X-RateLimit-Remaining"] = str(rate[1])
    return response


# --- answers ---------------------------------------------------------------------------------


def json_response(payload: Any, *, links: str | None = None) -> Response:
    """A JSON answer with a strong ETag (SHA-256 of the body), conditional on If-None-Match."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.headers["Cache-Control"] = "public, no-cache"
    if links:
        response.headers["Link"] = links
    return response.make_conditional(request)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ApiError(
            400,
            _(
                "%(name)s must be a whole number from %(low)s to %(high)s.",
                name=name,
                low=low,
                high=high,
            ),
        )
    return value


def _case_links(ref: str) -> dict[str, str]:
    return {
        "api_url": url_for("api.case", ref=ref, _external=True),
        "history_url": url_for("api.case_history", ref=ref, _external=True),
        "assessments_url": url_for("api.case_assessments", ref=ref, _external=True),
    }


def case_link(ref: str) -> str:
    """The public page of a case (the `url` of its record)."""
    return url_for("cases.detail", ref=ref, _external=True)


def _with_links(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, **_case_links(record["ref"])}


@bp.get("/")
def index():
    """What the API offers."""
    endpoints = {
        "cases": url_for("api.cases", _external=True),
        "case": url_for("api.case", ref="{ref}", _external=True),
        "vocabularies": url_for("api.vocabularies", _external=True),
        "frameworks": url_for("api.frameworks", _external=True),
        "stats": url_for("api.stats", group_by="country", _external=True),
        "openapi": url_for("api.openapi", _external=True),
    }
    return json_response(
        {
            "name": "LAC AI Observatory API",
            "version": API_VERSION,
            "licence": dictionary.LICENCE_NAME,
            "openapi_url": endpoints["openapi"],
            "documentation_url": url_for("opendata.api_docs", _external=True),
            "endpoints": {
                key: value.replace("%7Bref%7D", "{ref}") for key, value in endpoints.items()
            },
        }
    )


def _page_url(query: CaseQuery, page: int, per_page: int) -> str:
    args: dict[str, Any] = dict(query.at_page(page).to_args())
    args["page"] = str(page)
    if per_page != _default_per_page():
        args["per_page"] = str(per_page)
    if request.args.get("lang"):
        args["lang"] = request.args["lang"]
    return url_for("api.cases", _external=True, **args)


def _default_per_page() -> int:
    """Cases per API page when `per_page` is not given (as on /cases)."""
    return CaseQuery().per_page


@bp.get("/cases")
def cases():
    """Public cases with the filters, order and pages of /cases."""
    query = CaseQuery.from_args(request.args)
    per_page = _int_arg("per_page", _default_per_page(), 1, MAX_PER_PAGE)
    page = _int_arg("page", 1, 1, MAX_PAGE)
    query = replace(query, page=page, per_page=per_page)
    session = get_session()
    result = search_cases(session, query, lang=current_language(), with_facets=False)
    items = [
        _with_links(record)
        for record in publishing.public_records(session, result.items, link=case_link)
    ]
    links = {
        "self": _page_url(query, result.page, per_page),
        "first": _page_url(query, 1, per_page),
        "last": _page_url(query, result.pages, per_page),
        "prev": _page_url(query, result.page - 1, per_page) if result.page > 1 else None,
        "next": _page_url(query, result.page + 1, per_page) if result.page < result.pages else None,
        "html": url_for("cases.index", _external=True, **query.at_page(result.page).to_args()),
    }
    header = ", ".join(
        f'<{url}>; rel="{rel}"'
        for rel, url in links.items()
        if url and rel in ("first", "last", "prev", "next")
    )
    payload = {
        "total": result.total,
        "page": result.page,
        "per_page": per_page,
        "pages": result.pages,
        "items": items,
        "links": links,
    }
    return json_response(payload, links=header)


@bp.get("/cases/<ref>")
def case(ref: str):
    """One public case (its published version)."""
    session = get_session()
    found = case_services.get_published_case(session, ref)
    (record,) = publishing.public_records(session, [found], link=case_link)
    return json_response(_with_links(record))


def _change(change: history_service.FieldChange) -> dict[str, Any]:
    return {
        "field": change.field,
        "kind": change.kind,
        "old": change.old,
        "new": change.new,
        "added": list(change.added),
        "removed": list(change.removed),
        "changed": [list(pair) for pair in change.changed],
    }


@bp.get("/cases/<ref>/history")
def case_history(ref: str):
    """The published versions of a case, newest first, with what changed."""
    session = get_session()
    found = case_services.get_published_case(session, ref)
    snapshots = {v.number: v.data for v in publishing.published_versions(session, found)}
    versions = [
        {
            "number": view.number,
            "created_at": publishing.iso_utc(view.created_at),
            "comment": view.comment,
            "author": view.author_role,
            "previous": view.previous,
            "changes": [_change(change) for change in view.changes],
            "data": snapshots.get(view.number, {}),
        }
        for view in history_service.public_history(session, found)
    ]
    return json_response({"ref": found.ref, "versions": versions})


@bp.get("/cases/<ref>/assessments")
def case_assessments(ref: str):
    """The published assessments of a case (never drafts or reviews)."""
    session = get_session()
    found = case_services.get_published_case(session, ref)
    items = [item.as_dict() for item in criteria_services.published_assessments(session, found.id)]
    return json_response({"ref": found.ref, "total": len(items), "items": items})


@bp.get("/vocabularies")
def vocabularies():
    """Every controlled list with labels in es, pt and en, and the LAC countries."""
    return json_response(
        {"languages": list(vocab.LANGUAGES), "vocabularies": dictionary.all_vocabularies()}
    )


@bp.get("/vocabularies/<name>")
def vocabulary(name: str):
    """One controlled list."""
    lists = dictionary.all_vocabularies()
    if name not in lists:
        raise ApiError(404, _("There is no list called %(name)s.", name=name))
    return json_response({"name": name, "items": lists[name]})


def _framework_summary(row) -> dict[str, Any]:
    return {
        "key": row.key,
        "version": row.version,
        "status": row.status,
        "method": row.method,
        "title": dict(row.title),
        "loaded_at": publishing.iso_utc(row.loaded_at),
        "api_url": url_for("api.framework", key=row.key, version=row.version, _external=True),
        "html_url": url_for("criteria.framework", key=row.key, version=row.version, _external=True),
    }


@bp.get("/frameworks")
def frameworks():
    """Evaluation framework versions (published and retired; never drafts)."""
    rows = criteria_services.list_frameworks(get_session(), actor=None)
    items = [_framework_summary(row) for row in rows]
    return json_response({"total": len(items), "items": items})


@bp.get("/frameworks/<key>/<version>")
def framework(key: str, version: str):
    """One framework version with its whole document."""
    row = criteria_services.get_framework_version(get_session(), key, version, actor=None)
    return json_response({**_framework_summary(row), "document": row.document})


def _group_by() -> list[str]:
    names = [
        part.strip()
        for value in request.args.getlist("group_by")
        for part in value.split(",")
        if part.strip()
    ]
    unknown = [name for name in names if name not in publishing.STAT_DIMENSIONS]
    if not names or unknown or len(set(names)) != len(names):
        raise ApiError(
            400,
            _(
                "group_by needs one or more of %(names)s, each once.",
                names=", ".join(publishing.STAT_DIMENSIONS),
            ),
        )
    return names


@bp.get("/stats")
def stats():
    """Counts of the public cases the filters select, grouped by the chosen dimensions."""
    group_by = _group_by()
    query = CaseQuery.from_args(request.args)
    session = get_session()
    lang = current_language()
    params = json.dumps([query.to_args(), group_by], sort_keys=True)
    counts = get_cache().get_or_compute(
        data_version(session),
        "api.stats",
        params,
        lambda: publishing.case_counts(session, query, group_by, lang=lang),
    )
    return json_response(counts)


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, built once (it depends on code and vocabularies only)."""
    document = current_app.extensions.get(OPENAPI_KEY)
    if document is None:
        document = current_app.extensions[OPENAPI_KEY] = build_document()
    return document


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return json_response(openapi_document())
