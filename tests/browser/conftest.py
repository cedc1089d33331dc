"""Browser fixtures: the app on a loopback port, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("OBSERVATORY_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve the test app on 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class OffsiteRequests(list):
    """Requests that tried to leave the app's host (they are aborted)."""


@pytest.fixture
def offsite() -> OffsiteRequests:
    return OffsiteRequests()


def new_page(
    browser, live_server: str, offsite: OffsiteRequests, *, width: int = 1280, lang: str = "en"
):
    """A page in a fresh context that aborts and records every request not to the app."""
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        locale={"es": "es-419", "pt": "pt-BR"}.get(lang, "en-US"),
    )
    app_host = urlsplit(live_server).netloc

    def guard(route):
        url = route.request.url
        if urlsplit(url).netloc != app_host and not url.startswith(("data:", "blob:")):
            offsite.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def page(browser, live_server, offsite):
    page = new_page(browser, live_server, offsite)
    yield page
    page.context.close()
    assert list(offsite) == [], f"requests left the app's host: {list(offsite)}"


def screenshot(page, name: str) -> None:
    """Save a screenshot for the README when OBSERVATORY_SCREENSHOTS is set."""
    if os.environ.get("OBSERVATORY_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
