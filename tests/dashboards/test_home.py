"""The home page shows live counts of the published library."""

from __future__ import annotations

import re

from cases.services import load_starter_library
from dashboards.cache import get_cache
from dashboards.services import home_summary
from observatory.db import session_scope


def test_home_counts_the_starter_library_in_three_languages(app, client):
    with session_scope(app) as session:
        load_starter_library(session)
    for lang in ("es", "pt", "en"):
        html = client.get(f"/?lang={lang}").get_data(as_text=True)
        count = re.search(r'id="count-cases">([^<]+)<', html).group(1)
        assert count == "260"


def test_home_of_an_empty_library(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert re.search(r'id="count-cases">0<', html)


def test_home_summary_is_computed_once_per_data_version(app):
    with session_scope(app) as session:
        load_starter_library(session)
    with app.test_request_context("/"), session_scope(app) as session:
        cache = get_cache(app)
        first = home_summary(session, "en")
        misses = cache.misses
        assert home_summary(session, "pt") == first
        assert cache.misses == misses
    headline, by_branch = first
    assert headline.cases == 260 == sum(n for _key, n in by_branch)
    assert [n for _key, n in by_branch] == sorted((n for _key, n in by_branch), reverse=True)
