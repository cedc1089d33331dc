"""Property-based tests: arbitrary query strings and form input never produce a server error."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.services import load_starter_library
from observatory.db import session_scope
from tests.conftest import csrf_token

pytestmark = pytest.mark.slow

# Parameter names the list and dashboard pages read, plus some they don't.
PARAMETERS = [
    "q",
    "country",
    "branch",
    "level",
    "sector",
    "technique",
    "status",
    "decision_role",
    "year_from",
    "year_to",
    "sort",
    "page",
    "per_page",
    "lang",
    "framework",
    "group_by",
    "x",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(["BRA", "ARG", "judicial", "executive", "newest", "", "0", "-1", "1e9"]),
)
QUERIES = st.lists(st.tuples(st.sampled_from(PARAMETERS), VALUES), max_size=6)
PAGES = [
    "/cases",
    "/dashboards",
    "/dashboards/compare",
    "/dashboards/branches",
    "/dashboards/criteria",
    "/dashboards/countries/BRA",
    "/api/v1/cases",
    "/cases/export.csv",
]
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def library(app):
    app.config["API_RATE_LIMIT"] = 0
    with session_scope(app) as session:
        load_starter_library(session)
    return app


@pytest.mark.parametrize("path", PAGES)
def test_arbitrary_filters_never_cause_a_server_error(library, path):
    client = library.test_client()
    answered: list[int] = []

    @SETTINGS
    @given(query=QUERIES)
    def check(query):
        response = client.get(f"{path}?{urlencode(query)}")
        answered.append(response.status_code)
        assert response.status_code < 500, (path, query, response.status_code)

    check()
    assert 200 in answered


CASE_FIELDS = st.fixed_dictionaries(
    {
        "name": st.text(max_size=300),
        "institution": st.text(max_size=300),
        "purpose": st.text(max_size=500),
        "country": st.sampled_from(["BRA", "ZZZ", "", "bra", "<x>"]),
        "branch": st.text(max_size=20),
        "start_year": st.one_of(st.text(max_size=6), st.integers(-5, 99999).map(str)),
        "sources-0-url": st.text(max_size=120),
        "sources-0-title": st.text(max_size=120),
    }
)


def test_arbitrary_case_form_input_is_a_form_error_never_a_server_error(library, client, login_as):
    login_as("submitter")
    token = csrf_token(client, "/cases/new")
    answered: list[int] = []

    @SETTINGS
    @given(fields=CASE_FIELDS, action=st.sampled_from(["save", "submit"]))
    def check(fields, action):
        response = client.post("/cases/new", data={**fields, "csrf_token": token, action: "1"})
        answered.append(response.status_code)
        assert response.status_code < 500, (fields, response.status_code)
        if response.status_code == 400:  # the form again with its errors, not a CSRF refusal
            assert 'name="purpose"' in response.get_data(as_text=True)

    check()
    assert set(answered) <= {200, 302, 400, 409, 422}, answered
