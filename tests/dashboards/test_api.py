"""The read-only API: every endpoint, the same totals as /cases, paging links, ETag, CORS, the
rate limit, JSON errors, and nothing unpublished ever coming out."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases.models import Case
from cases.services import PUBLIC_STATES, load_starter_library
from dashboards.api import RateLimiter
from observatory.db import bump_data_version, session_scope
from tests.dashboards._opendata import (
    SECRET,
    add_assessment,
    add_case,
    add_framework,
    hidden_material,
    page_refs,
    page_total,
)

SEARCHES = [
    "",
    "country=BRA",
    "branch=judicial&branch=legislative",
    "country=ARG&country=CHL&sector=justice",
    "q=tribunal",
    "technique=nlp&year_from=2018&year_to=2022",
    "status=pilot&sort=name",
    "country=ZZZ&branch=nonsense",  # unknown values are ignored, as on /cases
]


@pytest.fixture
def library(app):
    with session_scope(app) as session:
        load_starter_library(session)
    return app


@pytest.fixture
def hidden(library):
    with session_scope(library) as session:
        refs = hidden_material(session)
        bump_data_version(session)
        session.commit()
    return refs


def _all_pages(client, url: str) -> tuple[list[str], list[dict]]:
    """Follow `links.next` from `url`; the refs of every page and every page's payload."""
    refs, payloads = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        payload = response.get_json()
        payloads.append(payload)
        refs.extend(item["ref"] for item in payload["items"])
        url = payload["links"]["next"]
    return refs, payloads


def test_index_lists_the_endpoints(client):
    response = client.get("/api/v1/")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["openapi_url"].endswith("/api/v1/openapi.json")
    assert body["endpoints"]["case"].endswith("/api/v1/cases/{ref}")


@pytest.mark.parametrize("search", SEARCHES)
def test_cases_total_and_rows_are_those_of_the_cases_page(library, client, db_session, search):
    response = client.get(f"/api/v1/cases?lang=en&{search}")
    assert response.status_code == 200
    payload = response.get_json()
    assert payload["total"] == page_total(client, search)
    params = {}
    for pair in filter(None, search.split("&")):
        name, value = pair.split("=")
        params.setdefault(name, []).append(value)
    refs, _pages = _all_pages(client, f"/api/v1/cases?lang=en&per_page=37&{search}")
    assert refs == page_refs(db_session, **params)
    assert len(refs) == payload["total"]


def test_paging_links_walk_every_page_once(library, client):
    first = client.get("/api/v1/cases?country=BRA&per_page=10").get_json()
    assert first["page"] == 1 and first["per_page"] == 10 and first["links"]["prev"] is None
    assert first["pages"] == -(-first["total"] // 10)
    refs, payloads = _all_pages(client, first["links"]["first"])
    assert len(payloads) == first["pages"] and len(set(refs)) == first["total"]
    last = client.get(first["links"]["last"]).get_json()
    assert last["page"] == first["pages"] and last["links"]["next"] is None
    assert last["links"]["prev"].endswith(f"page={first['pages'] - 1}&per_page=10")
    assert first["links"]["html"].endswith("/cases?country=BRA")
    header = client.get("/api/v1/cases?country=BRA&per_page=10").headers["Link"]
    assert 'rel="next"' in header and 'rel="last"' in header and 'rel="prev"' not in header
    # A page past the end gives the last page, as /cases does.
    beyond = client.get("/api/v1/cases?country=BRA&per_page=10&page=999").get_json()
    assert beyond["page"] == first["pages"]


def test_items_are_the_public_records_with_links(library, client):
    item = client.get("/api/v1/cases?country=URY&per_page=1").get_json()["items"][0]
    record = client.get(f"/cases/{item['ref']}.json").get_json()
    for key, value in record.items():
        if key not in ("history_url", "published_at"):
            assert item[key] == value, key
    # Same instant; the API always writes it in UTC with its zone (the page's JSON may not).
    assert item["published_at"].endswith("Z")
    assert item["published_at"][:19] == record["published_at"][:19]
    assert item["api_url"].endswith(f"/api/v1/cases/{item['ref']}")
    assert client.get(item["history_url"]).status_code == 200
    assert client.get(item["assessments_url"]).status_code == 200
    assert client.get(item["api_url"]).get_json() == item


def test_case_history_lists_published_versions_with_changes(app, client):
    with session_scope(app) as session:
        add_case(
            session,
            ref="PER-0001",
            name="Primera versión",
            versions=[{"published": True}, {"published": True, "name": "Segunda versión"}],
        )
        session.commit()
    body = client.get("/api/v1/cases/PER-0001/history").get_json()
    assert [v["number"] for v in body["versions"]] == [2, 1]
    newest = body["versions"][0]
    assert newest["previous"] == 1 and newest["data"]["name"] == "Segunda versión"
    assert {"field": "name", "old": "Primera versión", "new": "Segunda versión"}.items() <= (
        newest["changes"][0].items()
    )
    assert newest["author"] == "editorial"


def test_assessments_only_published_ones(app, client):
    with session_scope(app) as session:
        case = add_case(session, ref="PER-0002", name="Caso evaluado")
        framework = add_framework(session)
        add_assessment(session, case, framework, status="published", common_tier="high")
        other = add_case(session, ref="PER-0003", name="Caso en revisión")
        add_assessment(session, other, framework, status="draft", common_tier="high")
        session.commit()
    body = client.get("/api/v1/cases/PER-0002/assessments").get_json()
    assert body["total"] == 1
    assert body["items"][0]["framework"]["key"] == framework.key
    assert body["items"][0]["common_tier"] == "high"
    assert client.get("/api/v1/cases/PER-0003/assessments").get_json() == {
        "ref": "PER-0003",
        "total": 0,
        "items": [],
    }


def test_vocabularies_in_three_languages(client):
    body = client.get("/api/v1/vocabularies").get_json()
    assert body["languages"] == ["en", "es", "pt"]
    branch = {entry["key"]: entry for entry in body["vocabularies"]["branch"]}
    assert branch["judicial"]["pt"] == "Judiciário" and branch["executive"]["es"] == "Ejecutivo"
    assert {e["key"] for e in body["vocabularies"]["country"]} >= {"BRA", "HTI", "TTO"}
    sector = client.get("/api/v1/vocabularies/sector").get_json()
    assert sector["name"] == "sector" and all(entry["cofog"] for entry in sector["items"])


def test_frameworks_published_ones_never_drafts(app, client):
    with session_scope(app) as session:
        published = add_framework(session)
        add_framework(session, status="draft")
        session.commit()
    body = client.get("/api/v1/frameworks").get_json()
    assert [(i["key"], i["version"]) for i in body["items"]] == [(published.key, published.version)]
    one = client.get(body["items"][0]["api_url"]).get_json()
    assert one["document"]["key"] == published.key
    draft = client.get(f"/api/v1/frameworks/{published.key}/{published.version}-draft")
    assert draft.status_code == 404 and draft.mimetype == "application/json"


def test_stats_add_up_to_the_cases_total(library, client, db_session):
    body = client.get("/api/v1/stats?group_by=country,branch").get_json()
    assert body["group_by"] == ["country", "branch"]
    assert sum(group["count"] for group in body["groups"]) == body["total"] == 260
    rows = db_session.exec(
        select(Case.country, Case.branch, sa.func.count())
        .where(Case.state.in_(PUBLIC_STATES))
        .group_by(Case.country, Case.branch)
    ).all()
    expected = {(country, branch): n for country, branch, n in rows}
    assert {(g["country"], g["branch"]): g["count"] for g in body["groups"]} == expected
    counts = [group["count"] for group in body["groups"]]
    assert counts == sorted(counts, reverse=True)


def test_stats_take_the_filters_of_cases(library, client):
    body = client.get("/api/v1/stats?group_by=year&group_by=sector&country=BRA").get_json()
    assert body["group_by"] == ["year", "sector"]
    assert body["total"] == page_total(client, "country=BRA")
    assert sum(g["count"] for g in body["groups"]) == body["total"]
    years = Counter()
    for group in body["groups"]:
        years[group["year"]] += group["count"]
    assert all(year is None or isinstance(year, int) for year in years)


@pytest.mark.parametrize(
    "query",
    ["", "group_by=", "group_by=colour", "group_by=country,country", "group_by=country,nope"],
)
def test_stats_refuse_bad_group_by_with_a_message(client, query):
    response = client.get(f"/api/v1/stats?{query}")
    assert response.status_code == 400 and response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == 400 and "group_by" in error["message"]


@pytest.mark.parametrize(
    "query", ["per_page=0", "per_page=101", "per_page=ten", "page=0", "page=-3", "page=1.5"]
)
def test_bad_paging_is_a_json_400_with_a_message(client, query):
    response = client.get(f"/api/v1/cases?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400 and ("per_page" in error["message"] or "page" in error["message"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cases/ZZZ-9999",
        "/api/v1/cases/ZZZ-9999/history",
        "/api/v1/cases/ZZZ-9999/assessments",
        "/api/v1/vocabularies/colours",
        "/api/v1/frameworks/none/1.0",
        "/api/v1/no-such-thing",
    ],
)
def test_not_found_is_a_json_404_with_a_message(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == 404 and error["message"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_etag_gives_304_and_changes_with_the_data(library, client):
    first = client.get("/api/v1/cases?country=URY")
    etag = first.headers["ETag"]
    assert etag and first.headers["Cache-Control"] == "public, no-cache"
    again = client.get("/api/v1/cases?country=URY", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    with session_scope(library) as session:
        add_case(session, ref="URY-7000", name="Nuevo caso")
        bump_data_version(session)
        session.commit()
    changed = client.get("/api/v1/cases?country=URY", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    for path in ("/api/v1/vocabularies", "/api/v1/openapi.json", "/api/v1/stats?group_by=level"):
        tag = client.get(path).headers["ETag"]
        assert client.get(path, headers={"If-None-Match": tag}).status_code == 304


def test_cors_allows_any_origin_for_get(client):
    response = client.get("/api/v1/vocabularies", headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    preflight = client.options(
        "/api/v1/cases",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    # Only the API: the site's pages stay same-origin.
    assert "Access-Control-Allow-Origin" not in client.get("/cases").headers


def test_rate_limit_answers_429_with_retry_after(app, client):
    app.config["API_RATE_LIMIT"] = 3
    for remaining in (2, 1, 0):
        response = client.get("/api/v1/vocabularies/level")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    blocked = client.get("/api/v1/vocabularies/level")
    assert blocked.status_code == 429 and blocked.mimetype == "application/json"
    assert blocked.get_json()["error"]["message"]
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert blocked.headers["Access-Control-Allow-Origin"] == "*"
    # Per client address: another client is not affected.
    other = client.get("/api/v1/vocabularies/level", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200
    # The site's pages are not limited.
    assert client.get("/data").status_code == 200


def test_rate_limit_zero_turns_it_off(app, client):
    app.config["API_RATE_LIMIT"] = 0
    for _ in range(5):
        assert client.get("/api/v1/vocabularies/level").status_code == 200


def test_fixed_window_counts_and_resets():
    limiter = RateLimiter(redis_url=None, namespace="test")
    assert limiter.hit("a", 2, now=120.0) == (True, 1, 60)
    assert limiter.hit("a", 2, now=150.0) == (True, 0, 30)
    assert limiter.hit("a", 2, now=179.0)[0] is False
    assert limiter.hit("a", 2, now=180.0) == (True, 1, 60)  # a new minute


def _redis_or_skip(url: str = "redis://127.0.0.1:6379/15") -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.3).ping()
    except Exception:  # noqa: BLE001 - no Redis here: the in-process path is tested above
        pytest.skip("no Redis at 127.0.0.1:6379")
    return url


def test_rate_limit_in_redis_is_shared_by_workers():
    url = _redis_or_skip()
    namespace = f"observatory:test-api-rate:{uuid.uuid4().hex}"
    worker_a = RateLimiter(redis_url=url, namespace=namespace)
    worker_b = RateLimiter(redis_url=url, namespace=namespace)
    now = 1_000_020.0
    assert worker_a.hit("10.0.0.1", 3, now=now)[:2] == (True, 2)
    assert worker_b.hit("10.0.0.1", 3, now=now)[:2] == (True, 1)
    assert worker_a.hit("10.0.0.1", 3, now=now)[:2] == (True, 0)
    assert worker_b.hit("10.0.0.1", 3, now=now)[0] is False


def test_redis_outage_counts_in_process(caplog):
    limiter = RateLimiter(redis_url="redis://127.0.0.1:1/0", namespace="down")
    assert limiter.hit("a", 1, now=60.0)[0] is True
    assert limiter.hit("a", 1, now=61.0)[0] is False
    assert "Redis failed" in caplog.text


def test_nothing_unpublished_ever_comes_out(hidden, client):
    """Drafts, submissions, returned, rejected and withdrawn cases, a pending update and a draft
    assessment: none appears in any answer of the API, the exports, the dump or the feeds."""
    paths = [
        "/api/v1/cases?per_page=100&page=1",
        "/api/v1/cases?per_page=100&page=2",
        "/api/v1/cases?per_page=100&page=3",
        "/api/v1/cases?country=URY&per_page=100",
        "/api/v1/stats?group_by=country",
        "/api/v1/cases/URY-8000",
        "/api/v1/cases/URY-8000/history",
        "/api/v1/cases/URY-8000/assessments",
        "/cases/export.csv",
        "/cases/export.json",
        "/cases/export.csv?layout=omb-2025",
        "/data/dump.json",
        "/feeds/cases.atom",
        "/feeds/countries/URY.atom",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert SECRET.encode() not in response.data, path
    for state, ref in hidden.items():
        if state != "update_proposed":
            assert client.get(f"/api/v1/cases/{ref}").status_code == 404
            assert client.get(f"/api/v1/cases/{ref}/history").status_code == 404
            assert client.get(f"/api/v1/cases/{ref}/assessments").status_code == 404
    # A search for the secret word finds nothing (the answers echo the query itself).
    assert client.get(f"/api/v1/cases?q={SECRET}").get_json()["total"] == 0
    assert json.loads(client.get(f"/cases/export.json?q={SECRET}").data)["items"] == []
    stats = client.get("/api/v1/stats?group_by=country").get_json()
    assert stats["total"] == 261  # the starter library and the case with a pending update
    history = client.get("/api/v1/cases/URY-8000/history").get_json()
    assert [v["number"] for v in history["versions"]] == [1]
    dump = json.loads(client.get("/data/dump.json").data)
    assert {case["state"] for case in dump["cases"]} == {"published"}
