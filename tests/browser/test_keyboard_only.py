"""The case submission form and the scoring form, completed with the keyboard alone.

No click() and no fill(): only Tab / Shift+Tab, typing, Space and the arrow keys (checkboxes,
radios, selects) and Enter, through `page.keyboard`. Each test checks that the focus visits every
field of the form in document order, forwards and backwards, and that the submission succeeds
with the values chosen by keyboard.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from cases import workflow
from cases.models import Case
from criteria import services
from criteria.models import ReviewAnswer
from observatory.db import session_scope
from observatory.models import User
from tests.browser.conftest import new_page, translator
from tests.conftest import PASSWORD, make_user
from tests.factories import case_form, create_case

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fast_password_hashing")]

FOCUSED = """() => {
  const e = document.activeElement;
  return e.id || `${e.tagName.toLowerCase()}:${(e.innerText || '').trim()}`;
}"""
# The keyboard stops of a form in document order: one per radio group (the checked radio, else
# the first), none for hidden, disabled or tabindex=-1 controls.
TAB_STOPS = """(selector) => {
  const form = document.querySelector(selector);
  const seen = new Set();
  const stops = [];
  for (const e of form.elements) {
    if (e.tagName === 'FIELDSET' || e.type === 'hidden' || e.disabled || e.tabIndex < 0) continue;
    if (e.type === 'radio') {
      if (seen.has(e.name)) continue;
      seen.add(e.name);
      const group = Array.from(form.elements).filter(r => r.type === 'radio' && r.name === e.name);
      const stop = group.find(r => r.checked) || group[0];
      stops.push(stop.id);
      continue;
    }
    stops.push(e.id || `${e.tagName.toLowerCase()}:${(e.innerText || '').trim()}`);
  }
  return stops;
}"""
UNLABELLED = """(selector) => Array.from(document.querySelector(selector).elements)
  .filter(e => e.type !== 'hidden' && e.tagName !== 'FIELDSET' && e.tagName !== 'BUTTON')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.id || e.name)"""


def focused(page) -> str:
    return page.evaluate(FOCUSED)


def tab_until(page, target: str, *, backwards: bool = False, limit: int = 250) -> list[str]:
    """Press Tab (or Shift+Tab) until `target` has the focus; the distinct stops visited.

    A date input keeps the focus through its day/month/year parts: it counts once."""
    visited: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        here = focused(page)
        if not visited or visited[-1] != here:
            visited.append(here)
        if here == target:
            return visited
    raise AssertionError(f"{target!r} was never reached by keyboard; focus went: {visited}")


def next_stop(page) -> str:
    """Tab to the next control (past the parts of a date input)."""
    here = focused(page)
    for _ in range(5):
        page.keyboard.press("Tab")
        if focused(page) != here:
            return focused(page)
    raise AssertionError(f"the focus is stuck on {here!r}")


def choose(page, value: str) -> None:
    """Pick an option of the focused select with the arrow keys."""
    options, current = page.evaluate(
        "() => [Array.from(document.activeElement.options).map(o => o.value),"
        " document.activeElement.selectedIndex]"
    )
    steps = options.index(value) - current
    for _ in range(abs(steps)):
        page.keyboard.press("ArrowDown" if steps > 0 else "ArrowUp")
    assert page.evaluate("document.activeElement.value") == value


def follow(page, target: str) -> None:
    """Tab to a link or button and press Enter, waiting for the next page."""
    tab_until(page, target)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def sign_in_with_keyboard(page, base: str, email: str, lang: str) -> None:
    page.goto(f"{base}/account/login?lang={lang}")
    tab_until(page, "email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert focused(page) == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def check_focus_order(page, form: str, first: str, last: str) -> list[str]:
    """The Tab order from `first` to `last` is the document order of the form's controls, and
    Shift+Tab walks it back; every control has a label. Leaves the focus on `first`."""
    stops = page.evaluate(TAB_STOPS, form)
    assert page.evaluate(UNLABELLED, form) == []
    expected = stops[stops.index(first) : stops.index(last) + 1]
    tab_until(page, first)
    assert [first, *tab_until(page, last)] == expected
    assert [last, *tab_until(page, first, backwards=True)] == expected[::-1]
    return expected


def test_case_form_with_the_keyboard_only(app, browser, live_server, offsite):
    lang = "pt"
    t = translator(app, lang)
    make_user(app, "submitter", institution="Ministério da Justiça")  # no country on file
    page = new_page(browser, live_server, offsite, lang=lang)
    sign_in_with_keyboard(page, live_server, "submitter@example.org", lang)
    follow(page, f"a:{t('My cases')}")
    follow(page, f"a:{t('Record a new case')}")

    submit = f"button:{t('Save and submit for moderation')}"
    stops = check_focus_order(page, "form.case-form", "name", submit)
    for required in ("name", "purpose", "institution", "country", "level", "branch", "sector"):
        assert required in stops
    assert "sources-0-url" in stops and stops.index("sources-0-url") < stops.index(submit)

    form = case_form(
        acronym="CPT", country="BRA", branch="executive", lifecycle_status="in_production"
    )
    typed_fields = (
        "name",
        "acronym",
        "purpose",
        "year_started",
        "sources-0-url",
        "sources-0-title",
    )
    typed = {field: form[field] for field in typed_fields}
    chosen_fields = ("decision_role", "lifecycle_status", "country", "level", "branch", "sector")
    chosen = {field: form[field] for field in chosen_fields}
    techniques = page.evaluate(
        "(keys) => Array.from(document.querySelectorAll('input[name=techniques]'))"
        ".filter(e => keys.includes(e.value)).map(e => e.id)",
        form["techniques"],
    )
    here = "name"
    while here != submit:
        if here in typed:
            page.keyboard.type(typed[here])
        elif here in chosen:
            choose(page, chosen[here])
        elif here in techniques:
            page.keyboard.press("Space")
        here = next_stop(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    flash = page.locator(".flashes").inner_text()
    with session_scope(app) as session:
        case = session.exec(select(Case)).one()
        assert flash == t("Case %(ref)s submitted for moderation.", ref=case.ref)
        assert case.state == "submitted"
        assert (case.name, case.country, case.level, case.branch, case.sector) == (
            typed["name"],
            "BRA",
            "national",
            "executive",
            "justice",
        )
        assert (case.decision_role, case.lifecycle_status, case.year_started) == (
            "recommends",
            "in_production",
            int(typed["year_started"]),
        )
        data, _number = workflow.working_data(session, case)
        assert sorted(data["techniques"]) == ["classification", "nlp"]
        assert data["sources"][0]["url"] == typed["sources-0-url"]
    page.context.close()


def test_scoring_form_with_the_keyboard_only(app, browser, live_server, offsite):
    lang = "es"
    t = translator(app, lang)
    make_user(app, "submitter", institution="Poder Judicial", country="PER")
    make_user(app, "editor")
    for who, institution in (("r1", "Universidad A"), ("r2", "Universidad B")):
        make_user(app, "reviewer", email=f"{who}@example.org", institution=institution)
    with session_scope(app) as session:
        people = {u.email.split("@")[0]: u for u in session.exec(select(User)).all()}
        case = create_case(
            session, submitter=people["submitter"], editor=people["editor"], state="published"
        )
        services.sync_frameworks(session)
        version = services.get_framework_version(session, "unesco-2021", "1.0")
        framework = services.framework_of(version)
        first, _second = services.assign_reviewers(
            session,
            actor=people["editor"],
            case_id=case.id,
            framework_id=version.id,
            reviewer_ids=[people["r1"].id, people["r2"].id],
            due_date=date.today() + timedelta(days=7),
        )
        ref, name, assignment_id = case.ref, case.name, first.id

    page = new_page(browser, live_server, offsite, lang=lang)
    sign_in_with_keyboard(page, live_server, "r1@example.org", lang)
    follow(page, f"a:{t('My reviews')}")
    follow(page, f"a:{ref} — {name}")

    radio = page.evaluate("() => document.querySelector('.review-form input[type=radio]').id")
    submit = f"button:{t('Submit the review')}"
    stops = check_focus_order(page, "form.review-form", radio, submit)
    # Per criterion: its radio group, the justification, the evidence link; then the buttons.
    assert len(stops) == 3 * len(framework.items) + 2

    levels = {item.key: (position + 1) % 5 for position, item in enumerate(framework.items)}
    here = radio
    for item in framework.items:
        assert here.startswith(f"answer__{item.key}")
        level = levels[item.key]
        if level == 0:
            page.keyboard.press("Space")
        for _ in range(level):
            page.keyboard.press("ArrowDown")
        assert page.evaluate("document.activeElement.checked")
        here = next_stop(page)
        assert here == f"justification__{item.key}"
        page.keyboard.type(f"Nivel {level}: según la documentación pública.")
        here = next_stop(page)
        assert here == f"evidence__{item.key}"
        page.keyboard.type(f"https://example.gob.pe/evidencia/{item.key}")
        here = next_stop(page)
    assert here == f"button:{t('Save draft')}"
    assert next_stop(page) == submit
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.locator(".flashes").inner_text() == t(
        "Review submitted. You can now see the other reviewers' submitted scores."
    )
    with session_scope(app) as session:
        rows = session.exec(select(ReviewAnswer)).all()
        assert {row.item_key: row.value_number for row in rows} == levels
        assert all(row.evidence_url.endswith(row.item_key) for row in rows)
        assert all(row.justification.startswith("Nivel") for row in rows)
        state = services.open_review(
            session, actor=session.get(User, people["r1"].id), assignment_id=assignment_id
        )
        assert state.submitted
    page.context.close()
