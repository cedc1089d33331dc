"""The case-library journey in a real browser: draft → return with a reason → resubmit →
publish → an anonymous visitor finds it by a facet and by an accent-insensitive search."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import new_page, screenshot
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser

NAME = "Asistente de decisión judicial Tukuy"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/account/login?lang=en")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


def fill_case_with_keyboard(page) -> None:
    """Fill the core of the submission form using the keyboard only."""
    page.get_by_label("Name of the system").focus()
    page.keyboard.type(NAME)
    page.keyboard.press("Tab")  # acronym
    page.keyboard.type("ADJT")
    page.keyboard.press("Tab")  # purpose
    page.keyboard.type("Sugiere borradores de resoluciones a partir de casos anteriores.")
    page.get_by_label("Natural language processing").focus()
    page.keyboard.press("Space")
    page.get_by_label("Role in decisions").focus()
    page.get_by_label("Role in decisions").select_option("recommends")
    page.get_by_label("Institution").fill("Poder Judicial del Perú")
    page.get_by_label("Country", exact=True).select_option("PER")
    page.get_by_label("Government level").select_option("national")
    page.get_by_label("Branch of government").select_option("judicial")
    page.get_by_label("Sector").select_option("justice")
    page.locator("#sources-0-url").fill("https://www.pj.gob.pe/nota-tukuy")
    page.locator("#sources-0-title").fill("Nota de prensa")


def test_submit_return_resubmit_publish_and_find(app, browser, live_server, offsite):
    make_user(
        app, "submitter", email="official@example.org", institution="Poder Judicial", country="PER"
    )
    make_user(app, "editor", email="editor@example.org")
    page = new_page(browser, live_server, offsite)

    # The submitter drafts and submits.
    sign_in(page, live_server, "official@example.org")
    page.goto(f"{live_server}/cases/new?lang=en")
    fill_case_with_keyboard(page)
    page.get_by_role("button", name="Save and submit for moderation").click()
    assert "submitted for moderation" in page.locator(".flashes").inner_text()
    ref = re.search(r"(PER-\d{4})", page.locator("main").inner_text()).group(1)
    sign_out(page)

    # The editor returns it with a reason.
    sign_in(page, live_server, "editor@example.org")
    page.goto(f"{live_server}/moderation?lang=en")
    page.get_by_role("link", name=ref).click()
    page.get_by_label("Reason (shown to the submitter)").first.fill("Add the approving decree")
    page.get_by_role("button", name="Return to the submitter").click()
    sign_out(page)

    # The submitter sees the reason, edits and resubmits.
    sign_in(page, live_server, "official@example.org")
    page.goto(f"{live_server}/cases/mine?lang=en")
    assert "Add the approving decree" in page.locator("main").inner_text()
    page.get_by_role("link", name=NAME).click()
    page.get_by_label("Legal basis").fill("Resolución Administrativa 000-2024-CE-PJ")
    page.get_by_role("button", name="Save and submit for moderation").click()
    sign_out(page)

    # The editor publishes.
    sign_in(page, live_server, "editor@example.org")
    page.goto(f"{live_server}/cases/{ref}/edit?lang=en")
    page.get_by_role("button", name="Publish").click()
    sign_out(page)

    # An anonymous visitor finds it, in Spanish by a facet and in English by text.
    page.goto(f"{live_server}/cases?lang=es")
    page.get_by_label(re.compile(r"^Perú")).check()
    page.get_by_role("button", name="Aplicar filtros").click()
    assert NAME in page.locator("main").inner_text()
    page.goto(f"{live_server}/cases?lang=en")
    page.get_by_label("Search cases").fill("decision judicial")
    page.get_by_role("button", name="Search", exact=True).click()
    assert NAME in page.locator("main").inner_text()
    page.get_by_role("link", name=NAME).click()
    assert "Resolución Administrativa 000-2024-CE-PJ" in page.locator("main").inner_text()
    screenshot(page, "case-page-1280-en")
    page.context.close()
    assert list(offsite) == []
