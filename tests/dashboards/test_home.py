"""The home page shows live counts of the published library."""

from __future__ import annotations

import re

from cases.services import load_starter_library
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
