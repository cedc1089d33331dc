"""`search_cases(with_facets=False)`: the same page and total as with facets, no counts."""

from __future__ import annotations

from cases.search import CaseQuery, search_cases
from observatory.db import session_scope
from tests.cases.test_case_page import add_case


def test_without_facets_gives_the_same_page_and_total(app):
    add_case(app)
    add_case(app, ref="URY-0002", name="Another system")
    add_case(app, ref="URY-0003", state="draft")
    with session_scope(app) as session:
        for args in ({}, {"q": "another"}, {"country": "URY"}, {"country": "BRA"}):
            query = CaseQuery.from_args(args)
            full = search_cases(session, query)
            bare = search_cases(session, query, with_facets=False)
            assert bare.total == full.total
            assert [case.ref for case in bare.items] == [case.ref for case in full.items]
            # No counts: only the selected values are listed (with 0, so they can be unticked).
            listed = [
                (param, value, n) for param, counts in bare.facets.items() for value, n in counts
            ]
            assert listed == [(param, value, 0) for param, value in query.active_filters]
            assert bare.year_counts == []
        assert search_cases(session, CaseQuery(), with_facets=False).total == 2


def test_the_api_list_still_reports_total_and_pages(app, client):
    add_case(app)
    add_case(app, ref="URY-0002", name="Another system")
    payload = client.get("/api/v1/cases?per_page=1").get_json()
    assert payload["total"] == 2 and payload["pages"] == 2 and len(payload["items"]) == 1
