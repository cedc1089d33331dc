"""The anonymous case page: no session cookie nor form, a suggestion shows at once; the page
cache's bounds (its caching of pages: tests/observatory/test_page_cache.py)."""

from __future__ import annotations

from observatory.pagecache import PageCache
from tests.cases.test_case_page import add_case
from tests.conftest import post

TEXT = "The pilot ended in 2023; the ministry said so in its annual report."


def test_anonymous_case_page_sets_no_cookie_and_has_no_form(app, client):
    add_case(app)
    response = client.get("/cases/URY-0001?lang=en")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers or "observatory_session" not in str(
        response.headers.getlist("Set-Cookie")
    )
    body = response.get_data(as_text=True)
    assert 'name="csrf_token"' not in body
    assert 'id="suggest-link"' in body
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_form_page_has_the_form_and_its_token(app, client):
    add_case(app)
    response = client.get("/cases/URY-0001/corrections?lang=en")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'name="csrf_token"' in body and 'name="text"' in body
    assert client.get("/cases/NOPE-0001/corrections").status_code == 404


def test_a_suggestion_shows_at_once_to_anonymous_visitors(app, client):
    add_case(app)
    reader = app.test_client()
    assert TEXT not in reader.get("/cases/URY-0001?lang=en").get_data(as_text=True)
    response = post(client, "/cases/URY-0001/corrections?lang=en", {"text": TEXT})
    assert response.status_code == 302
    assert TEXT in reader.get("/cases/URY-0001?lang=en").get_data(as_text=True)


def test_page_cache_is_bounded_by_bytes_and_keeps_one_version():
    cache = PageCache(max_bytes=1000)
    cache.put(1, ("a",), "x" * 400)
    cache.put(1, ("b",), "y" * 400)
    assert cache.get(1, ("a",)) == "x" * 400  # a is now the most recent
    cache.put(1, ("c",), "z" * 400)  # over 1000 bytes: the least recent (b) goes
    assert cache.get(1, ("b",)) is None
    assert cache.get(1, ("a",)) and cache.get(1, ("c",))
    assert cache.bytes == 800
    cache.put(1, ("huge",), "h" * 5000)  # larger than the whole cache: not stored
    assert cache.get(1, ("huge",)) is None
    cache.put(2, ("d",), "w")  # a new version drops every older entry
    assert len(cache) == 1 and cache.get(1, ("a",)) is None and cache.bytes == 1
