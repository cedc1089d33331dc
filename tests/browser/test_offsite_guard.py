"""The off-site guard itself: a request to another host is aborted and recorded, and the autouse
check in conftest.py fails the test that made it (whichever way its page was opened)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import new_page, offsite_failures

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SELFTEST = "OBSERVATORY_OFFSITE_SELFTEST"
OFFSITE = "http://offsite.invalid/tracker.js"


def _request_offsite(page, base: str) -> None:
    """Leave the host the way a page could despite the CSP (which already stops scripts,
    images and fetches): by navigating; the guard must abort the request."""
    from playwright.sync_api import Error

    page.goto(f"{base}/account/login")
    with pytest.raises(Error):
        page.goto(OFFSITE)


def test_offsite_requests_are_aborted_and_recorded(page, live_server, offsite):
    _request_offsite(page, live_server)
    assert offsite == [OFFSITE]
    assert "requests left the app's host" in offsite_failures(offsite)
    assert offsite_failures([]) is None
    offsite.clear()  # recorded on purpose: this test must not fail at teardown


def test_a_context_opened_directly_on_the_browser_is_guarded_too(browser, live_server, offsite):
    context = browser.new_context()
    page = context.new_page()
    _request_offsite(page, live_server)
    context.close()
    assert OFFSITE in offsite
    offsite.clear()


@pytest.mark.skipif(not os.environ.get(SELFTEST), reason="run by the test below, in a subprocess")
@pytest.mark.parametrize("opened_by", ["page-fixture", "new_page", "browser.new_page"])
def test_deliberate_offsite_request(request, browser, live_server, offsite, opened_by):
    if opened_by == "page-fixture":
        page = request.getfixturevalue("page")
    elif opened_by == "new_page":
        page = new_page(browser, live_server, offsite)
    else:
        page = browser.new_page()
    _request_offsite(page, live_server)


def test_the_teardown_check_fails_a_test_that_requests_another_host():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"{Path(__file__).relative_to(ROOT)}::test_deliberate_offsite_request",
        ],
        cwd=ROOT,
        env={**os.environ, SELFTEST: "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert output.count("requests left the app's host") >= 3, output
    assert "3 passed, 3 errors" in output, output
