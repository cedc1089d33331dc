"""A country report shows its long lists a page at a time, with page links that keep the filters,
and links to the complete list (case library and CSV export)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from dashboards import services
from dashboards.filters import DashboardFilters
from dashboards.services import ListPage
from tests.dashboards.test_services import ctx, seed_assessments  # noqa: F401 - fixture

BRA_CASES = 56  # published Brazilian cases of the starter library


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(services, "COUNTRY_LIST_SIZE", 20)


def refs(page) -> list[str]:
    return [case["ref"] for case in page.country.cases]


def test_list_page_moves_numbers_into_range():
    assert ListPage.of(0, 20, 56) == ListPage(1, 20, 56)
    assert ListPage.of(99, 20, 56) == ListPage(3, 20, 56)
    last = ListPage.of(3, 20, 56)
    assert (last.pages, last.offset, last.first, last.last) == (3, 40, 41, 56)
    empty = ListPage.of(5, 20, 0)
    assert (empty.number, empty.pages, empty.first, empty.last) == (1, 1, 0, 0)


def test_country_cases_come_a_page_at_a_time_in_name_order(app, ctx, small_pages):  # noqa: F811
    seed_assessments(app, tier="high")
    pages = [
        ctx(services.country_page, "BRA", DashboardFilters(), "en", cases_page=number)
        for number in (1, 2, 3)
    ]
    assert [len(page.country.cases) for page in pages] == [20, 20, 16]
    assert {page.country.cases_page.total for page in pages} == {BRA_CASES}
    every = [ref for page in pages for ref in refs(page)]
    assert len(set(every)) == BRA_CASES
    names = [(case["name"], case["ref"]) for page in pages for case in page.country.cases]
    assert names == sorted(names)
    # Out of range: the nearest page, never an error or an empty page.
    beyond = ctx(services.country_page, "BRA", DashboardFilters(), "en", cases_page=99)
    assert beyond.country.cases_page.number == 3 and refs(beyond) == refs(pages[2])
    assert beyond.list_pages == {"page": 3, "risk_page": 1}


def test_case_total_follows_the_filters(app, ctx, small_pages):  # noqa: F811
    seed_assessments(app)
    filters = DashboardFilters(sectors=("justice",))
    page = ctx(services.country_page, "BRA", filters, "en")
    justice = [case for case in page.country.cases if case["sector"] == "justice"]
    assert page.country.cases == justice
    assert page.country.cases_page.total == dict(page.headline)["published cases"]


def test_list_links_keep_the_other_list_and_leave_out_first_pages(app, ctx):  # noqa: F811
    seed_assessments(app)
    page = ctx(services.country_page, "BRA", DashboardFilters(sectors=("justice",)), "en")
    page.list_pages = {"page": 2, "risk_page": 3}
    assert page.list_args("page", 1) == {
        "framework": ["unesco-2021@1.0"],
        "sector": ["justice"],
        "lang": ["en"],
        "risk_page": 3,
    }
    assert page.list_args("risk_page", 4)["page"] == 2
    assert page.query_string().endswith("sector=justice&page=2&risk_page=3")
    assert page.case_library_args() == {"sector": ["justice"], "country": ["BRA"], "lang": ["en"]}


def test_report_page_links_are_accessible_and_keep_filters(app, client, small_pages):
    seed_assessments(app)
    html = client.get("/dashboards/countries/BRA?lang=en&page=2").get_data(as_text=True)
    nav = re.search(
        r'<nav aria-label="Pages of cases" class="pager no-print">.*?</nav>', html, re.S
    )
    assert nav, "the case list has page links"
    links = nav.group(0)
    assert '<span aria-current="page">2</span>' in links
    assert re.search(r'rel="prev" href="/dashboards/countries/BRA\?[^"]*lang=en#cases"', links)
    assert re.search(
        r'rel="next" href="/dashboards/countries/BRA\?[^"]*lang=en&amp;page=3#cases"', links
    )
    assert 'aria-label="Page 3"' in links and "Page 2 of 3" in links
    assert "Showing 21–40 of 56" in html
    assert re.search(
        r'<link rel="canonical" href="[^"]*/dashboards/countries/BRA\?[^"]*page=2">', html
    )
    # One page of rows, not the whole country.
    assert html.count('<span class="muted">BRA-') == 20


def test_report_links_the_complete_list_as_csv(app, client, small_pages):
    seed_assessments(app)
    html = client.get("/dashboards/countries/BRA?lang=en&sector=justice").get_data(as_text=True)
    total = int(re.search(r'<h2 id="cases-title">(\d+) published cases?</h2>', html).group(1))
    export = re.search(r'href="(/cases/export\.csv\?[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "country=BRA" in export and "sector=justice" in export
    rows = list(csv.reader(io.StringIO(client.get(export).get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) - 1 == total > 0
    assert re.search(r'href="/cases\?sector=justice&amp;country=BRA&amp;lang=en"', html)


def test_a_short_list_has_no_page_links(app, client):
    seed_assessments(app)
    html = client.get("/dashboards/countries/BRA?lang=en").get_data(as_text=True)
    assert "Pages of cases" not in html and "Showing 1–" not in html
    assert html.count('<span class="muted">BRA-') == BRA_CASES
