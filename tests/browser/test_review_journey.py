"""Browser journey: an editor assigns two reviewers, each scores blind, the editor sees the
disagreement flag, consolidates and publishes, and the public case page shows the assessment."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlmodel import select

from criteria import services
from observatory.db import session_scope
from observatory.models import User
from tests.browser.conftest import screenshot, sign_in, sign_out, translator
from tests.conftest import make_user
from tests.factories import create_case

pytestmark = pytest.mark.browser


def score(page, fw, levels: dict[str, int], default: int = 3) -> None:
    """Answer every criterion of the scoring form through its labelled radio group."""
    for item in fw.items:
        level = levels.get(item.key, default)
        group = page.get_by_role("group", name=item.label.en, exact=True)
        group.get_by_role("radio", name=re.compile(rf"^{level} —")).check()
        if level in (0, 4):
            page.locator(f"#justification__{item.key}").fill("The public record shows this.")


def test_assign_score_blind_consolidate_publish(app, page, live_server):
    make_user(app, "submitter", institution="Poder Judicial de Ejemplo", country="PER")
    make_user(app, "editor", name="Elena Editor")
    make_user(app, "reviewer", email="ana@example.org", name="Ana Reviewer", institution="UA")
    make_user(app, "reviewer", email="bruno@example.org", name="Bruno Reviewer", institution="UB")
    with session_scope(app) as session:
        services.sync_frameworks(session)
        submitter = session.exec(select(User).where(User.email == "submitter@example.org")).one()
        editor = session.exec(select(User).where(User.email == "editor@example.org")).one()
        ref = create_case(session, submitter=submitter, editor=editor, state="published").ref
        version = services.get_framework_version(session, "unesco-2021", "1.0")
        framework_id, fw = version.id, services.framework_of(version)
    first = fw.items[0]
    t = translator(app, "en")

    # The editor assigns two reviewers with a due date.
    sign_in(page, live_server, "editor@example.org", t, "en")
    page.goto(f"{live_server}/cases/{ref}/assign?lang=en")
    page.get_by_label("Framework version").select_option(str(framework_id))
    page.get_by_label("Ana Reviewer").check()
    page.get_by_label("Bruno Reviewer").check()
    page.get_by_label("Due date").fill((date.today() + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Assign").click()
    assert page.get_by_text("Reviewers assigned. They were notified.").is_visible()
    assert page.locator("table").first.get_by_text("Not started").count() == 2
    screenshot(page, "review-assign-1280-en")
    sign_out(page, t)

    # Ana scores blind and submits.
    sign_in(page, live_server, "ana@example.org", t, "en")
    page.get_by_role("link", name="My reviews").first.click()
    page.get_by_role("link", name=re.compile(ref)).click()
    assert page.get_by_text("you will see the other reviewers' scores").is_visible()
    score(page, fw, {first.key: 1})
    screenshot(page, "review-form-1280-en")
    page.get_by_role("button", name="Submit the review").click()
    assert page.get_by_text("Review submitted.").is_visible()
    assert page.get_by_role("heading", name="Scores of the other reviewers").count() == 0
    sign_out(page, t)

    # Bruno does not see Ana's scores before submitting; he disagrees on the first criterion.
    sign_in(page, live_server, "bruno@example.org", t, "en")
    page.get_by_role("link", name="My reviews").first.click()
    page.get_by_role("link", name=re.compile(ref)).click()
    assert page.get_by_role("heading", name="Scores of the other reviewers").count() == 0
    page.get_by_role("button", name="Submit the review").click()  # empty: refused
    assert page.get_by_role("heading", name="Please correct the following:").is_visible()
    score(page, fw, {first.key: 4})
    page.get_by_role("button", name="Submit the review").click()
    assert page.get_by_role("heading", name="Scores of the other reviewers").is_visible()
    others = page.get_by_role("table", name="Submitted scores, criterion by criterion")
    assert "Reviewer 1" in others.inner_text() and "Ana Reviewer" not in page.content()
    sign_out(page, t)

    # The editor sees the disagreement flag, consolidates and publishes.
    sign_in(page, live_server, "editor@example.org", t, "en")
    page.goto(f"{live_server}/frameworks?lang=en")
    page.get_by_role("link", name="Assessments in review (editors)").click()
    page.get_by_role("link", name=ref).click()
    reviews = page.locator("#reviews-table")
    flagged_row = reviews.get_by_role("row", name=re.compile(re.escape(first.label.en)))
    assert "Reviewers disagree" in flagged_row.inner_text()
    assert "Ana Reviewer" in reviews.inner_text() and "Bruno Reviewer" in reviews.inner_text()
    assert page.locator("#flag-count").inner_text().startswith("1")
    page.get_by_role("button", name="Draft the consolidation from the reviews").click()
    assert page.get_by_text("Consolidation drafted from the submitted reviews.").is_visible()
    assert page.get_by_label("Recommendations").input_value().startswith(first.label.en)
    screenshot(page, "review-consolidation-1280-en")
    page.get_by_role("button", name="Save and publish").click()

    # The public case page shows the published assessment.
    assert page.get_by_text("The assessment is published on the case page.").is_visible()
    sign_out(page, t)
    page.goto(f"{live_server}/cases/{ref}?lang=en")
    section = page.locator("#assessments")
    assert section.get_by_role(
        "heading", name="Assessments against criteria frameworks"
    ).is_visible()
    assert fw.title.en in section.inner_text()
    table = section.get_by_role("table", name="Consolidated score per criterion")
    assert table.get_by_role("row").count() == len(fw.items) + 1
    assert "Number of reviewers" in section.inner_text()
    assert "Ana Reviewer" not in page.content()  # reviewers stay anonymous to the public
    screenshot(page, "case-assessment-1280-en")
