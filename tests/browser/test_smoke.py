"""Browser smoke tests: home page, language switch, sign-in as each role, keyboard skip link."""

from __future__ import annotations

import pytest

from cases.services import load_starter_library
from observatory.db import session_scope
from tests.browser.conftest import new_page, screenshot
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_home_page_shows_the_starter_count(app, page, live_server):
    with session_scope(app) as session:
        load_starter_library(session)
    page.goto(f"{live_server}/?lang=en")
    assert page.locator("#count-cases").inner_text() == "260"
    assert page.locator("h1").inner_text().startswith("Observatory of AI in Government")
    screenshot(page, "home-1280-en")


def test_language_switch_changes_and_remembers_the_language(page, live_server):
    page.goto(f"{live_server}/?lang=en")
    page.get_by_role("link", name="Español").click()
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Biblioteca de casos" in page.locator("nav.main-nav").inner_text()
    page.goto(f"{live_server}/cases")
    assert page.locator("html").get_attribute("lang") == "es"
    page.get_by_role("link", name="Português").click()
    assert page.locator("html").get_attribute("lang") == "pt"


@pytest.mark.parametrize(
    "role, visible",
    [
        ("submitter", "My cases"),
        ("reviewer", "My account"),
        ("editor", "My account"),
        ("admin", "Accounts"),
    ],
)
def test_sign_in_as_each_role(app, page, live_server, role, visible):
    make_user(app, role, email=f"{role}@example.org")
    page.goto(f"{live_server}/account/login?lang=en")
    page.get_by_label("E-mail").fill(f"{role}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("link", name=visible).first.is_visible()
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("link", name="Sign in").is_visible()


def test_skip_link_is_the_first_tab_stop_and_phone_width_works(browser, live_server, offsite):
    page = new_page(browser, live_server, offsite, width=375, lang="pt")
    page.goto(f"{live_server}/?lang=pt")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Pular para o conteúdo" in focused
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 375, "the page scrolls sideways on a phone"
    screenshot(page, "home-375-pt")
    page.context.close()
    assert list(offsite) == []
