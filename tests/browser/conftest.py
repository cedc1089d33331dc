"""Browser fixtures: the app on a loopback port, and Debian's chromium driven by Playwright.

Every browser context opened during a test (through `new_page`, the `page` fixture or the
`browser` fixture directly) aborts and records requests that leave the app's host; the autouse
`offsite` fixture fails the test at teardown when any was recorded. Helpers shared by the journey
tests (translated strings, signing in, the navigation menu) live here too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("OBSERVATORY_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Long pages are cut at this height (CSS px) so that the committed PNGs stay small.
SCREENSHOT_MAX_HEIGHT = 2400
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WIDTHS = (1280, 375)
LANGS = ("es", "pt", "en")

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


class OffsiteRequests(list):
    """Requests that tried to leave the app's host (they are aborted)."""


class _Guard:
    """What the current test allows: the live server's host; where refusals are recorded."""

    host: str | None = None
    recorded: OffsiteRequests | None = None


def offsite_failures(recorded: list[str]) -> str | None:
    """The failure message for recorded off-site requests, or None when there were none."""
    if not recorded:
        return None
    return f"requests left the app's host: {list(recorded)}"


@pytest.fixture(autouse=True)
def offsite() -> Iterator[OffsiteRequests]:
    """Off-site requests of every page of this test; the test fails at teardown if any."""
    recorded = OffsiteRequests()
    _Guard.recorded = recorded
    yield recorded
    _Guard.recorded = None
    message = offsite_failures(recorded)
    if message:
        pytest.fail(message, pytrace=False)


class _BodiesClosedAtOnce:
    """WSGI wrapper for the test server: each response body is read and closed before sending.

    werkzeug's development server closes a body in a `finally` that first drains the socket;
    when the browser resets the connection (a page closed while its favicon loads) that drain
    raises, the body (an open static file) is left to the garbage collector, and its
    ResourceWarning fails whichever test happens to run next. Bodies here are small."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        body = self.app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve `app` on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, _BodiesClosedAtOnce(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve the test app on 127.0.0.1 in a thread; yields its base URL."""
    with serving(app) as base:
        _Guard.host = urlsplit(base).netloc
        yield base
        _Guard.host = None


def _guard_context(context, extra: OffsiteRequests | None = None) -> None:
    """Abort and record every request of `context` that is not to the live server.

    The host and the record are those of the test that opened the context, so a page left
    open by an earlier test never counts against a later one."""
    host, recorded = _Guard.host, _Guard.recorded

    def record(url: str) -> None:
        for target in {id(x): x for x in (recorded, extra) if x is not None}.values():
            target.append(url)

    def allowed(url: str) -> bool:
        return url.startswith(("data:", "blob:")) or urlsplit(url).netloc == (host or _Guard.host)

    def guard(route):
        url = route.request.url
        if allowed(url):
            route.continue_()
        else:
            record(url)
            route.abort()

    def watch_sockets(page):
        page.on("websocket", lambda socket: None if allowed(socket.url) else record(socket.url))

    context.route("**/*", guard)
    context.on("page", watch_sockets)


class GuardedBrowser:
    """The Playwright browser, except that every new context is guarded against off-site
    requests (so a test that opens its own context is checked too)."""

    def __init__(self, browser) -> None:
        self._browser = browser

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        _guard_context(context)
        return context

    def new_page(self, **options):
        context = self.new_context(**options)
        page = context.new_page()
        page.on("close", lambda _page: context.close())
        return page

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield GuardedBrowser(instance)
        instance.close()


def new_page(
    browser,
    live_server: str,
    offsite: OffsiteRequests | None = None,
    *,
    width: int = 1280,
    lang: str = "en",
):
    """A page in a fresh context that aborts and records every request not to the app."""
    raw = browser._browser if isinstance(browser, GuardedBrowser) else browser
    context = raw.new_context(
        viewport={"width": width, "height": 900},
        locale={"es": "es-419", "pt": "pt-BR"}.get(lang, "en-US"),
    )
    _Guard.host = urlsplit(live_server).netloc
    _guard_context(context, offsite)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def page(browser, live_server, offsite):
    page = new_page(browser, live_server, offsite)
    yield page
    page.context.close()


def screenshot(page, name: str) -> None:
    """Save a screenshot for the README when OBSERVATORY_SCREENSHOTS is set (long pages are
    cut at SCREENSHOT_MAX_HEIGHT so the PNG stays small)."""
    if not os.environ.get("OBSERVATORY_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}.png"),
        full_page=True,
        animations="disabled",
        caret="hide",
        clip={"x": 0, "y": 0, "width": width, "height": min(height, SCREENSHOT_MAX_HEIGHT)},
    )


# --------------------------------------------------------------------------------------------
# Helpers for journeys: translated strings, the navigation, signing in
# --------------------------------------------------------------------------------------------


def translator(app, lang: str) -> Callable[..., str]:
    """`t("Sign in")` is the app's own translation of a catalog string into `lang`."""
    from observatory.i18n import gettext

    def t(message: str, **variables) -> str:
        with app.test_request_context(f"/?lang={lang}"):
            return str(gettext(message, **variables))

    return t


def main_nav(page):
    """The main navigation, opened first when a narrow screen hides it behind a menu button."""
    nav = page.locator("nav.main-nav")
    toggle = page.locator("header button[aria-expanded='false']")
    if toggle.count() and toggle.first.is_visible():
        toggle.first.click()
    return nav


def follow_nav(page, name: str) -> None:
    """Click a link of the main navigation, as a visitor would at any width."""
    main_nav(page).get_by_role("link", name=name, exact=True).click()


def sign_in(page, base: str, email: str, t: Callable[..., str], lang: str) -> None:
    """Sign in through the form, in `lang`, and wait for the signed-in navigation."""
    from tests.conftest import PASSWORD

    page.goto(f"{base}/account/login?lang={lang}")
    page.get_by_label(t("E-mail")).fill(email)
    page.get_by_label(t("Password")).fill(PASSWORD)
    page.locator("main").get_by_role("button", name=t("Sign in")).click()
    main_nav(page).get_by_role("button", name=t("Sign out")).wait_for()


def sign_out(page, t: Callable[..., str]) -> None:
    main_nav(page).get_by_role("button", name=t("Sign out")).click()
    main_nav(page).get_by_role("link", name=t("Sign in")).wait_for()
