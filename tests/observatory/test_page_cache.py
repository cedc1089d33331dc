"""Pages cached by `anonymous_page`: served from the cache per data version, fresh after writes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from observatory.db import bump_data_version, session_scope
from observatory.pagecache import get_page_cache
from tests.cases.test_case_page import add_case


@dataclass(frozen=True)
class CachedPage:
    path: str
    write: str  # SQL that changes what the page shows (raw, so the data version stays put)
    shows_write: Callable[[str], bool]
    other: str  # the same view under another query string: its own cache entry
    other_differs: bool = False  # `other` renders unlike `path` (a shared entry would show)


PAGES = [
    pytest.param(
        CachedPage(
            "/",
            "UPDATE ai_case SET state = 'draft' WHERE ref = 'URY-0001'",
            lambda html: re.search(r'id="count-cases">0<', html) is not None,
            "/?other=1",
        ),
        id="home",
    ),
    pytest.param(
        CachedPage(
            "/cases/URY-0001",
            "UPDATE ai_case SET name = 'Renamed case' WHERE ref = 'URY-0001'",
            lambda html: "Renamed case" in html,
            "/cases/URY-0001?other=1",
        ),
        id="case",
    ),
    pytest.param(
        CachedPage(
            "/cases?q=zzzznothing",
            "UPDATE ai_case SET search_text = 'zzzznothing' WHERE ref = 'URY-0001'",
            lambda html: "URY-0001" in html,
            "/cases",
            other_differs=True,
        ),
        id="search",
    ),
]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_page_is_cached_until_a_write(app, client, login_as, page):
    add_case(app)
    cache = get_page_cache(app)
    # The language comes from the browser, not the URL: only the key's language tells it apart.
    reader = app.test_client()

    def get(path: str = page.path, lang: str = "en") -> str:
        response = reader.get(path, headers={"Accept-Language": lang})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    first = get()
    assert not page.shows_write(first)
    assert len(cache) == 1
    hits, misses = cache.hits, cache.misses
    assert get() == first
    assert (cache.hits, cache.misses) == (hits + 1, misses)

    # The query string and the language are part of the key: each is a new entry.
    other = get(page.other)
    assert other != first or not page.other_differs
    assert (cache.hits, cache.misses, len(cache)) == (hits + 1, misses + 1, 2)
    spanish = get(lang="es")
    assert '<html lang="es">' in spanish and '<html lang="en">' in first
    assert (cache.hits, cache.misses, len(cache)) == (hits + 1, misses + 2, 3)

    with session_scope(app) as session:
        session.execute(sa.text(page.write))
        session.commit()
    # Without a bump (no service does this) the cached page is still served ...
    assert get() == first

    # Visitors with a session (a form's CSRF token) or signed in are neither served from the
    # cache nor stored in it: their pages may be personal.
    visitor = app.test_client()
    assert visitor.get("/account/login").status_code == 200
    assert visitor.get_cookie(app.config["SESSION_COOKIE_NAME"]) is not None
    login_as("editor")
    before = (cache.hits, cache.misses, len(cache))
    for someone in (visitor, client):
        assert someone.get(page.path, headers={"Accept-Language": "en"}).status_code == 200
    assert (cache.hits, cache.misses, len(cache)) == before

    with session_scope(app) as session:
        bump_data_version(session)
        session.commit()
    # ... and every service write bumps the version: the next request renders afresh.
    assert page.shows_write(get())
