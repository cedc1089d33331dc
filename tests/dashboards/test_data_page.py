"""The /data page in es, pt and en: every field with its type and allowed values, the licence,
how to cite, the downloads; the dictionary itself; the download links partial."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from flask import render_template

from cases import vocabularies as vocab
from cases.citation import OBSERVATORY_NAME
from cases.services import RECORD_FIELDS
from dashboards import dictionary
from dashboards.crosswalk import crosswalk


@pytest.fixture
def page(client):
    def _get(lang: str) -> str:
        response = client.get(f"/data?lang={lang}")
        assert response.status_code == 200
        return unescape(response.get_data(as_text=True))

    return _get


@pytest.mark.parametrize("lang", ["es", "pt", "en"])
def test_data_page_in_each_language(page, lang):
    html = page(lang)
    assert f'<html lang="{lang}">' in html
    for name in dictionary.EXPORT_COLUMNS:
        assert f'id="field-{name}"' in html, name
    # Every allowed value, with its labels in all three languages (whatever the UI language).
    for name in dictionary.RECORD_VOCABULARIES:
        assert f'id="list-{name}"' in html, name
        for key in vocab.keys(name):
            assert f"<code>{key}</code>" in html, (name, key)
            for label_lang in vocab.LANGUAGES:
                assert vocab.label(name, key, label_lang) in html, (name, key, label_lang)
    for code in vocab.LAC_COUNTRIES:
        assert vocab.country_name(code, "pt") in html and vocab.country_name(code, "es") in html
    assert 'href="https://creativecommons.org/licenses/by/4.0/" rel="license"' in html
    assert OBSERVATORY_NAME[lang] in html  # the citation is in the page's language
    assert "@misc{lac-ai-observatory-" in html


def test_data_page_shows_types_and_links_to_the_lists(page):
    html = page("en")
    row = re.search(r'<tr id="field-branch">(.*?)</tr>', html, re.S).group(1)
    assert "One key of a list" in row and 'href="#list-branch"' in row
    row = re.search(r'<tr id="field-name">(.*?)</tr>', html, re.S).group(1)
    assert "Up to 300 characters" in row
    row = re.search(r'<tr id="field-year_ended">(.*?)</tr>', html, re.S).group(1)
    assert "Whole number" in row and "(may be empty)" in row
    row = re.search(r'<tr id="field-country">(.*?)</tr>', html, re.S).group(1)
    assert 'href="#list-country"' in row


def test_data_page_links_every_download(page, client):
    html = page("en")
    for link in (
        "/cases/export.csv",
        "/cases/export.xlsx",
        "/cases/export.json",
        "/cases/export.csv?layout=omb-2025",
        "/data/dump.json",
        "/data/crosswalk.csv",
        "/api/v1/openapi.json",
        "/feeds/cases.atom",
        "/feeds/countries/BRA.atom",
        'href="/api"',
    ):
        assert link in html, link
    for path in re.findall(r'href="(/(?:cases/export|data/|feeds/|api)[^"#]*)"', html):
        assert client.get(path).status_code == 200, path


def test_open_data_is_in_the_main_navigation(client):
    html = client.get("/cases?lang=en").get_data(as_text=True)
    assert '<a href="/data">Open data</a>' in html


def test_dictionary_covers_every_record_field():
    assert list(dictionary.EXPORT_COLUMNS[2:-4]) == list(RECORD_FIELDS)
    for name in dictionary.EXPORT_COLUMNS:
        spec = dictionary.ALL_SPECS[name]
        assert name in dictionary.DESCRIPTIONS, name
        if spec.vocabulary and spec.vocabulary != "country":
            assert spec.vocabulary in vocab.VOCABULARY_NAMES
            assert spec.vocabulary in dictionary.VOCABULARY_TITLES


def test_every_vocabulary_has_labels_in_three_languages():
    lists = dictionary.all_vocabularies()
    assert set(lists) == {*vocab.VOCABULARY_NAMES, "country"}
    for name, entries in lists.items():
        for entry in entries:
            assert all(entry[lang] for lang in ("es", "pt", "en")), (name, entry)


def test_crosswalk_csv_is_served_and_matches_the_table(client):
    response = client.get("/data/crosswalk.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["field"] for row in rows] == [row.field for row in crosswalk()]
    assert set(rows[0]) == {
        "field",
        "omb_2025",
        "omb_2025_rule",
        "uk_atrs_v3",
        "pstw_ai_watch",
        "algoritmeregister_1_0",
        "notes",
    }


def test_download_links_partial_keeps_the_filters_but_not_the_page(app):
    path = "/cases?country=BRA&country=ARG&q=juez&sort=name&page=3&fmt=pdf&utm=x"
    with app.test_request_context(path):
        html = unescape(render_template("opendata/_download_links.html"))
    for fmt in ("csv", "xlsx", "json"):
        match = re.search(rf'href="(/cases/export\.{fmt}\?[^"]*)"', html)
        assert match, fmt
        url = match.group(1)
        assert "country=BRA" in url and "country=ARG" in url and "q=juez" in url
        assert "sort=name" in url and "page=" not in url and "utm" not in url
    assert "layout=omb-2025" in html


def test_download_links_partial_works_with_the_list_page_context(app, client):
    class Result:
        total = 42

    with app.test_request_context("/cases?lang=en&branch=judicial"):
        html = unescape(render_template("opendata/_download_links.html", result=Result()))
    assert "Download this list (42 cases):" in html
    url = re.search(r'href="(/cases/export\.csv\?[^"]*)"', html).group(1)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
