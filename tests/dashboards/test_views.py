"""Dashboard routes: every page in es/pt/en, CSVs equal to the tables, quiet filters, 404s,
embeddable views, and no inline script."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import pytest

from tests.dashboards.test_services import PROPORTIONALITY, seed_assessments

LANGUAGES = ("es", "pt", "en")
PAGES = {
    "region": "/dashboards",
    "compare": "/dashboards/compare?country=BRA&country=ARG&country=CHL",
    "branches": "/dashboards/branches",
    "criteria": "/dashboards/criteria",
    "country": "/dashboards/countries/BRA",
}
CHARTS = {
    "region": ("map", "branches", "sectors", "timeline", "status", "techniques"),
    "compare": ("criteria", "branches"),
    "branches": ("counts", "sectors", "scores", "tiers"),
    "criteria": ("weakest", "distribution"),
    "country": ("branch", "level", "sector", "timeline", "scores"),
}


@pytest.fixture
def seeded(app):
    seed_assessments(app, tier="high")
    return app


class Tables(HTMLParser):
    """Every <table id=…> of a page as rows of cell texts; every <script> tag's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.scripts: list[dict] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append(attrs)
        elif tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def separator(path: str) -> str:
    return "&" if "?" in path else "?"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", list(PAGES))
def test_every_dashboard_answers_in_every_language(seeded, client, name, lang):
    path = PAGES[name]
    response = client.get(f"{path}{separator(path)}lang={lang}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    page = parse(html)
    for chart in CHARTS[name]:
        assert f"{chart}-table" in page.tables, chart
    # No inline script: only external files and JSON data blocks.
    for attrs in page.scripts:
        assert "src" in attrs or attrs.get("type") == "application/json", attrs
    assert sum("plotly-observatory.min.js" in attrs.get("src", "") for attrs in page.scripts) == 1


def test_country_names_follow_the_language(seeded, client):
    es = client.get("/dashboards?lang=es").get_data(as_text=True)
    en = client.get("/dashboards?lang=en").get_data(as_text=True)
    assert "República Dominicana" in es and "Dominican Republic" in en
    assert "Brasil" in client.get("/dashboards/countries/BRA?lang=pt").get_data(as_text=True)


def csv_rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.mark.parametrize("name", list(PAGES))
def test_csv_has_exactly_the_numbers_of_the_table(seeded, client, name):
    path = PAGES[name]
    query = separator(path) + "lang=en"
    page = parse(client.get(path + query).get_data(as_text=True))
    for chart in CHARTS[name]:
        if name == "country":
            url = f"/dashboards/countries/BRA/{chart}.csv{query}"
        else:
            base, _, args = path.partition("?")
            url = f"/dashboards/{name}/{chart}.csv?{args + '&' if args else ''}lang=en"
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        table = [[cell.replace(",", "") for cell in row] for row in page.tables[f"{chart}-table"]]
        assert csv_rows(response) == table, chart


def test_csv_follows_the_filters(seeded, client):
    everything = csv_rows(client.get("/dashboards/region/status.csv?lang=en"))
    justice = csv_rows(client.get("/dashboards/region/status.csv?lang=en&sector=justice"))
    assert sum(int(row[1]) for row in everything[1:]) == 260
    assert 0 < sum(int(row[1]) for row in justice[1:]) < 260


def test_insufficient_data_is_never_a_number(seeded, client):
    rows = csv_rows(client.get("/dashboards/compare/criteria.csv?lang=en&country=BRA&country=CHL"))
    chile = [row for row in rows if row[1] == "Chile" and row[0].startswith("Proportionality")]
    assert chile == [["Proportionality and do no harm", "Chile", "2"] + ["insufficient data"] * 3]
    html = client.get(f"/dashboards?lang=en&criterion={PROPORTIONALITY}").get_data(as_text=True)
    figure = json.loads(re.search(r'id="map-figure">(.*?)</script>', html, re.S).group(1))
    assert "CHL" not in figure["data"][0]["locations"]
    assert "CHL" in figure["data"][1]["locations"]  # drawn grey as "insufficient data"


def test_figure_json_matches_the_table(seeded, client):
    html = client.get("/dashboards?lang=en").get_data(as_text=True)
    figure = json.loads(re.search(r'id="map-figure">(.*?)</script>', html, re.S).group(1))
    cases = dict(zip(figure["data"][0]["locations"], figure["data"][0]["z"], strict=True))
    table = parse(html).tables["map-table"]
    assert {row[1]: float(row[2]) for row in table[1:]} == cases
    assert 'data-topojson-url="/dashboards/static/geo/"' in html


@pytest.mark.parametrize(
    "query",
    [
        "year_from=abc&year_to=99999",
        "year_from=2030&year_to=2010",
        "sector=%3Cscript%3E&level=nope&technique=&status=%00",
        "framework=../../etc/passwd&criterion=DROP%20TABLE",
        "framework=unesco-2021@9.9&criterion=transparency_explainability",
        "country=ZZZ&country=BRA&country=brA&country=" + "&country=".join(["ARG"] * 20),
        "lang=xx&sector=justice&sector=justice&sector=Justicia",
    ],
)
def test_bad_filters_never_fail(seeded, client, query):
    for path in (
        "/dashboards",
        "/dashboards/compare",
        "/dashboards/countries/BRA",
        "/dashboards/region/map.csv",
        "/dashboards/embed/criteria/weakest",
    ):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, (path, query)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboards/countries/XXX",
        "/dashboards/countries/FRA",
        "/dashboards/countries/12",
        "/dashboards/countries/XXX/branch.csv",
        "/dashboards/countries/BRA/nope.csv",
        "/dashboards/region/nope.csv",
        "/dashboards/nope/map.csv",
        "/dashboards/embed/region/nope",
        "/dashboards/embed/countries/XXX/branch",
    ],
)
def test_unknown_things_are_not_found(seeded, client, path):
    assert client.get(path + "?lang=en").status_code == 404


def test_lower_case_iso_code_works(seeded, client):
    assert client.get("/dashboards/countries/bra?lang=en").status_code == 200


def test_country_picker_redirects_to_the_report_keeping_filters(seeded, client):
    response = client.get("/dashboards/countries?country=chl&sector=health")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboards/countries/CHL?sector=health")
    html = client.get("/dashboards/countries?lang=en").get_data(as_text=True)
    assert 'href="/dashboards/countries/BRA' in html


def test_embed_may_be_framed_by_other_sites(seeded, client):
    response = client.get("/dashboards/embed/region/map?lang=en")
    assert response.status_code == 200
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    html = response.get_data(as_text=True)
    assert 'id="map-figure"' in html and 'id="map-table"' in html
    assert "site-header" not in html  # chart only
    for attrs in parse(html).scripts:
        assert "src" in attrs or attrs.get("type") == "application/json"
    country = client.get("/dashboards/embed/countries/BRA/scores?lang=pt")
    assert country.status_code == 200 and "X-Frame-Options" not in country.headers


def test_regular_pages_may_not_be_framed(seeded, client):
    response = client.get("/dashboards?lang=en")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]


def test_pages_link_their_csv_and_embed_with_the_same_filters(seeded, client):
    html = client.get("/dashboards/branches?lang=en&sector=justice").get_data(as_text=True)
    args = r"\?framework=unesco-2021(@|%40)1\.0&amp;sector=justice&amp;lang=en\""
    assert re.search(r'href="/dashboards/branches/tiers\.csv' + args, html)
    assert re.search(r'href="http://localhost/dashboards/embed/branches/tiers' + args, html)


def test_plotly_is_served_with_long_cache_headers(client):
    html = client.get("/dashboards?lang=en").get_data(as_text=True)
    src = re.search(r'src="([^"]*plotly-observatory\.min\.js\?v=[0-9a-f]+)"', html).group(1)
    response = client.get(src)
    response.close()
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    geo = client.get("/dashboards/static/geo/world_50m.json")
    geo.close()
    assert geo.status_code == 200


def test_empty_library_renders_every_page(client):
    for path in PAGES.values():
        response = client.get(f"{path}{separator(path)}lang=en")
        assert response.status_code == 200, path
    html = client.get("/dashboards/criteria?lang=en").get_data(as_text=True)
    assert "No evaluation framework is loaded yet." in html


def test_main_navigation_links_to_the_region_dashboard(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert '<a href="/dashboards">' in html
