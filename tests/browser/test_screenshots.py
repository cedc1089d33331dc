"""The key pages at 1280 px and 375 px, one language each: each renders (no error page, every
chart drawn, no console error, no sideways scroll on a phone). With OBSERVATORY_SCREENSHOTS=1
(`make screenshots`) each is also saved to docs/screenshots/, which README.md there indexes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from cases.models import Case
from criteria import services
from observatory.db import session_scope
from observatory.models import User
from tests.browser.conftest import (
    SCREENSHOTS,
    WIDTHS,
    new_page,
    screenshot,
    sign_in,
    translator,
)
from tests.conftest import make_user
from tests.dashboards.test_services import seed_assessments
from tests.factories import create_case

INDEX = SCREENSHOTS / "README.md"

# name -> (language, who is signed in, path; {case}, {queued}, {assignment} filled in below)
PAGES = {
    "home": ("es", None, "/"),
    "case-list": ("pt", None, "/cases?country=BRA"),
    "case-page": ("en", None, "/cases/{case}"),
    "region-dashboard": ("es", None, "/dashboards"),
    "country-comparison": ("pt", None, "/dashboards/compare?country=BRA&country=ARG&country=CHL"),
    "country-profile": ("en", None, "/dashboards/countries/BRA"),
    "case-form": ("es", "submitter", "/cases/new"),
    "scoring-form": ("pt", "r1", "/reviews/{assignment}"),
    "moderation-queue": ("en", "editor", "/moderation"),
    "admin-users": ("es", "admin", "/admin/users"),
}

CHARTS_DRAWN = (
    "() => Array.from(document.querySelectorAll('div.chart[data-figure]'))"
    ".every(div => div.classList.contains('js-plotly-plot') && div.querySelector('svg'))"
)


def screenshot_names() -> list[str]:
    return [f"{name}-{width}-{PAGES[name][0]}" for name in PAGES for width in WIDTHS]


def _seed(app) -> dict[str, str]:
    """The starter library with published assessments, a case waiting for moderation, and a
    review assignment; the values of the path placeholders."""
    seed_assessments(app, tier="high")
    make_user(app, "submitter", institution="Poder Judicial del Perú", country="PER")
    make_user(app, "editor")
    make_user(app, "admin")
    make_user(app, "reviewer", email="r1@example.org", name="Ana", institution="Universidad A")
    make_user(app, "reviewer", email="r2@example.org", name="Bruno", institution="Universidad B")
    with session_scope(app) as session:
        people = {u.email.split("@")[0]: u for u in session.exec(select(User)).all()}
        submitter, editor = people["submitter"], people["editor"]
        queued = create_case(session, submitter=submitter, state="submitted")
        scored = create_case(
            session,
            submitter=submitter,
            editor=editor,
            state="published",
            name="Triaje de expedientes",
        )
        services.sync_frameworks(session)
        version = services.get_framework_version(session, "unesco-2021", "1.0")
        first, _ = services.assign_reviewers(
            session,
            actor=people["editor"],
            case_id=scored.id,
            framework_id=version.id,
            reviewer_ids=[people["r1"].id, people["r2"].id],
            due_date=date.today() + timedelta(days=14),
        )
        assessed = session.exec(
            select(Case).where(Case.country == "BRA").order_by(Case.id).limit(1)
        ).one()
        return {"case": assessed.ref, "queued": queued.ref, "assignment": str(first.id)}


@pytest.mark.browser
@pytest.mark.usefixtures("fast_password_hashing")
@pytest.mark.parametrize("width", WIDTHS)
def test_key_pages_render_and_are_saved_as_screenshots(app, browser, live_server, offsite, width):
    values = _seed(app)
    signed_in: dict[str, object] = {}
    errors: list[str] = []
    try:
        _visit_all(app, browser, live_server, offsite, width, values, signed_in, errors)
    finally:
        for page in signed_in.values():
            page.context.close()
    assert errors == []


def _visit_all(app, browser, live_server, offsite, width, values, signed_in, errors) -> None:
    for name, (lang, who, path) in PAGES.items():
        page = signed_in.get(who)
        if page is None:
            page = new_page(browser, live_server, offsite, width=width, lang=lang)
            page.set_default_timeout(30_000)  # the starter library makes some pages heavy
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            if who:
                email = f"{who}@example.org"
                sign_in(page, live_server, email, translator(app, lang), lang)
            signed_in[who] = page
        url = live_server + path.format(**values)
        response = page.goto(url + ("&" if "?" in url else "?") + f"lang={lang}")
        assert response.status == 200, f"{name}: HTTP {response.status}"
        assert page.locator("html").get_attribute("lang") == lang
        page.wait_for_function(CHARTS_DRAWN)
        if name == "moderation-queue":
            assert page.get_by_role("link", name=values["queued"]).is_visible()
        if width == 375:
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{name} scrolls sideways on a phone ({scroll}px)"
        screenshot(page, f"{name}-{width}-{lang}")


def test_the_index_lists_every_screenshot_with_a_caption():
    index = INDEX.read_text(encoding="utf-8")
    listed = re.findall(r"!\[([^\]]+)\]\(([^)]+\.png)\)", index)
    assert [Path(src).stem for _caption, src in listed] == screenshot_names()
    for caption, src in listed:
        assert len(caption) > 15, f"{src} needs a caption"
        assert (INDEX.parent / src).is_file(), f"{src} is listed but missing"
