"""schemathesis against our own OpenAPI document: no operation answers with a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cases.services import load_starter_library
from observatory.db import session_scope

pytestmark = pytest.mark.slow


@pytest.fixture
def api_app(app):
    app.config["API_RATE_LIMIT"] = 0
    with session_scope(app) as session:
        load_starter_library(session)
    return app


def test_every_api_operation_answers_without_a_server_error(api_app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operation"
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            response = case.call()
            statuses.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

        check()
    # Every operation was really called, and some generated inputs were answered 200.
    assert len(statuses) >= 5 * len(operations), statuses
    assert 200 in statuses
