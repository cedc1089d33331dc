"""Each role's main tasks in a real browser, in Spanish, Portuguese and English, at desktop
(1280 px) and phone (375 px) width.

Preconditions (accounts, cases in a given state, assignments, submitted reviews) are set up
through the services; the browser drives only the task itself. Every text the tests look for is
the app's own translation of a catalog string (`ui.t`) or of a vocabulary label (`ui.label`), so
a page left in the wrong language fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from cases import vocabularies as vocab
from cases import workflow
from cases.models import Case
from criteria import services
from criteria.services import AnswerIn
from observatory.db import session_scope
from observatory.i18n import LANGUAGE_NAMES
from observatory.models import User
from tests.browser.conftest import (
    LANGS,
    WIDTHS,
    follow_nav,
    main_nav,
    new_page,
    sign_in,
    sign_out,
    translator,
)
from tests.conftest import make_user
from tests.factories import case_form, create_case

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.parametrize("width", WIDTHS),
    pytest.mark.parametrize("lang", LANGS),
]

NAME = "Asistente de decisión judicial Tukuy"
OTHER_NAME = "Chatbot de atención ciudadana Saúde Já"
REASON = "Falta el decreto que lo aprueba / Add the approving decree"
# Overrides of `valid_case_record()`: two cases that the search and the country filter tell apart.
JUDICIAL = {"name": NAME}
HEALTH = {
    "name": OTHER_NAME,
    "institution": "Ministério da Saúde",
    "country": "BRA",
    "branch": "executive",
    "sector": "health",
    "purpose": "Responde dúvidas frequentes da população.",
}
FORM = case_form()


@dataclass
class UI:
    """The page of one journey with its language and width, and the app's own translations."""

    app: object
    page: object
    base: str
    lang: str
    width: int

    def t(self, message: str, **variables) -> str:
        return translator(self.app, self.lang)(message, **variables)

    def label(self, vocabulary: str, key: str) -> str:
        return vocab.label(vocabulary, key, self.lang)

    def flash(self) -> str:
        return self.page.locator(".flashes").inner_text()

    def sign_in(self, email: str) -> None:
        sign_in(self.page, self.base, email, self.t, self.lang)

    def nav(self, message: str) -> None:
        follow_nav(self.page, self.t(message))

    def assert_fits(self) -> None:
        """On a phone the page must not scroll sideways."""
        # After a click the page's text can be there before its stylesheet: measure the page
        # as it is shown (unstyled, the assessment table made it 673px wide in one run of 27).
        self.page.wait_for_load_state("load")
        scroll_width = self.page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= self.width, f"{self.page.url} is {scroll_width}px wide"


@pytest.fixture
def ui(app, browser, live_server, offsite, lang, width):
    page = new_page(browser, live_server, offsite, width=width, lang=lang)
    yield UI(app, page, live_server, lang, width)
    page.context.close()


def _user(session, email: str) -> User:
    return session.exec(select(User).where(User.email == email)).one()


def _people(app, *roles: str) -> None:
    extra = {
        "submitter": {"institution": "Poder Judicial del Perú", "country": "PER"},
        "r1": {"name": "Ana Revisora", "institution": "Universidad A"},
        "r2": {"name": "Bruno Revisor", "institution": "Universidad B"},
    }
    for role in roles:
        if role in ("r1", "r2"):
            make_user(app, "reviewer", email=f"{role}@example.org", **extra[role])
        else:
            make_user(app, role, **extra.get(role, {}))


def _case(app, overrides: dict, *, until: str) -> str:
    """A case (`valid_case_record(**overrides)`) by the submitter, moved to `until` (draft,
    submitted or published); its ref."""
    with session_scope(app) as session:
        case = create_case(
            session,
            submitter=_user(session, "submitter@example.org"),
            editor=_user(session, "editor@example.org"),
            state=until,
            **overrides,
        )
        return case.ref


def _assign(app, ref: str, *, submit: bool = False) -> tuple[int, object, list[int]]:
    """Assign r1 and r2 to score `ref` under UNESCO 2021, optionally submitting both reviews;
    returns (framework version id, framework, assignment ids)."""
    with session_scope(app) as session:
        services.sync_frameworks(session)
        version = services.get_framework_version(session, "unesco-2021", "1.0")
        framework = services.framework_of(version)
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        assignments = services.assign_reviewers(
            session,
            actor=_user(session, "editor@example.org"),
            case_id=case.id,
            framework_id=version.id,
            reviewer_ids=[_user(session, f"{r}@example.org").id for r in ("r1", "r2")],
            due_date=date.today() + timedelta(days=7),
        )
        ids = [assignment.id for assignment in assignments]
        version_id = version.id
    if submit:
        for who, assignment_id, level in (("r1", ids[0], 2), ("r2", ids[1], 3)):
            with session_scope(app) as session:
                answers = {item.key: AnswerIn(value=level) for item in framework.items}
                services.submit_review(
                    session,
                    actor=_user(session, f"{who}@example.org"),
                    assignment_id=assignment_id,
                    answers=answers,
                )
    return version_id, framework, ids


# --------------------------------------------------------------------------------------------
# The journeys
# --------------------------------------------------------------------------------------------


def test_submitter_drafts_submits_reads_the_return_reason_and_resubmits(app, ui, lang, width):
    _people(app, "submitter", "editor")
    page, t = ui.page, ui.t
    ui.sign_in("submitter@example.org")

    ui.nav("My cases")
    assert page.get_by_text(t("You have not recorded any case yet.")).is_visible()
    page.get_by_role("link", name=t("Record a new case")).click()
    # Institution and country come from the account; a name is enough for a draft.
    assert page.get_by_label(t("Institution")).input_value() == "Poder Judicial del Perú"
    page.get_by_label(t("Name of the system")).fill(NAME)
    page.get_by_role("button", name=t("Save draft")).click()
    ref = re.search(r"\bPER-\d{4,}\b", ui.flash()).group(0)
    assert ui.flash() == t("Draft %(ref)s saved.", ref=ref)

    page.get_by_label(t("Purpose: what problem does it solve?")).fill(FORM["purpose"])
    page.get_by_label(t("Government level")).select_option(FORM["level"])
    page.get_by_label(t("Branch of government")).select_option(FORM["branch"])
    page.get_by_label(t("Sector")).select_option(FORM["sector"])
    page.get_by_label(t("Source URL")).first.fill(FORM["sources-0-url"])
    page.get_by_role("button", name=t("Save and submit for moderation")).click()
    assert ui.flash() == t("Your changes to %(ref)s were saved.", ref=ref)

    ui.nav("My cases")
    card = page.locator("section.my-case", has_text=NAME)
    assert card.locator(".state").inner_text() == ui.label("case_state", "submitted")
    assert ref in card.inner_text()

    # An editor returns it with a reason (through the service); the submitter reads it.
    with session_scope(app) as session:
        editor = _user(session, "editor@example.org")
        workflow.transition_case(session, actor=editor, ref=ref, action="return", reason=REASON)
    page.reload()
    assert card.locator(".state").inner_text() == ui.label("case_state", "returned")
    assert card.get_by_role("heading", name=t("What the editors said")).is_visible()
    assert REASON in card.locator(".reasons").inner_text()

    card.get_by_role("link", name=NAME).click()
    assert REASON in page.locator("#status-title + ul").inner_text()
    page.get_by_label(t("Legal basis")).fill("Resolución Administrativa 000-2024-CE-PJ")
    page.get_by_role("button", name=t("Save and submit for moderation")).click()
    assert ui.flash() == t("Your changes to %(ref)s were saved.", ref=ref)
    ui.nav("My cases")
    assert card.locator(".state").inner_text() == ui.label("case_state", "resubmitted")
    ui.assert_fits()
    sign_out(page, t)


def test_reviewer_scores_every_criterion_and_submits(app, ui, lang, width):
    _people(app, "submitter", "editor", "r1", "r2")
    ref = _case(app, JUDICIAL, until="published")
    _version_id, framework, _ids = _assign(app, ref)
    page, t = ui.page, ui.t
    ui.sign_in("r1@example.org")

    ui.nav("My reviews")
    page.get_by_role("link", name=re.compile(re.escape(ref))).click()
    assert (
        page.get_by_role("heading", level=1)
        .inner_text()
        .startswith(t("Review of %(ref)s", ref=ref))
    )
    cards = page.locator(".criterion")
    assert cards.count() == len(framework.items)
    for position, item in enumerate(framework.items):
        card = cards.nth(position)
        level = 4 if position == 0 else 1 + position % 3
        group = card.get_by_role("group", name=item.label.get(lang), exact=True)
        group.get_by_role("radio", name=re.compile(rf"^{level} —")).check()
        card.get_by_label(t("Justification")).fill(f"Criterio {position + 1}: fuente oficial.")
        card.get_by_label(t("Evidence link")).fill(f"https://example.gob.pe/evidencia/{item.key}")
    page.get_by_role("button", name=t("Submit the review")).click()

    assert ui.flash() == t(
        "Review submitted. You can now see the other reviewers' submitted scores."
    )
    mine = page.get_by_role("table", name=t("Your answers (revision %(n)s)", n=1))
    assert mine.get_by_role("row").count() == len(framework.items) + 1
    assert "https://example.gob.pe/evidencia/" in mine.inner_text()
    ui.assert_fits()


def test_editor_moderates_assigns_and_publishes_an_assessment(app, ui, lang, width):
    _people(app, "submitter", "editor", "r1", "r2")
    to_return = _case(app, JUDICIAL, until="submitted")
    to_publish = _case(app, HEALTH, until="submitted")
    to_consolidate = _case(app, JUDICIAL | {"name": "Triaje de expedientes"}, until="published")
    version_id, _framework, _ids = _assign(app, to_consolidate, submit=True)
    page, t = ui.page, ui.t
    ui.sign_in("editor@example.org")

    # The moderation queue: return one case with a reason, publish the other.
    ui.nav("Moderation")
    assert page.get_by_role("heading", name=t("Moderation queue")).is_visible()
    page.get_by_role("link", name=to_return).click()
    returning = page.locator("form.action-form").filter(
        has=page.get_by_role("button", name=t("Return to the submitter"))
    )
    returning.get_by_label(t("Reason (shown to the submitter)")).fill(REASON)
    returning.get_by_role("button", name=t("Return to the submitter")).click()
    returned = ui.label("case_state", "returned")
    assert ui.flash() == t("Case %(ref)s is now: %(state)s.", ref=to_return, state=returned)
    page.get_by_role("link", name=to_publish).click()
    page.get_by_role("button", name=t("Publish"), exact=True).click()
    published = ui.label("case_state", "published")
    assert ui.flash() == t("Case %(ref)s is now: %(state)s.", ref=to_publish, state=published)
    assert page.get_by_role("link", name=to_publish).count() == 0

    # Assign two reviewers to the newly published case, from its public page.
    page.goto(f"{ui.base}/cases/{to_publish}")
    page.get_by_role("link", name=t("Assign reviewers to this case")).click()
    page.get_by_label(t("Framework version")).select_option(str(version_id))
    page.get_by_label("Ana Revisora").check()
    page.get_by_label("Bruno Revisor").check()
    page.get_by_label(t("Due date")).fill((date.today() + timedelta(days=14)).isoformat())
    page.get_by_role("button", name=t("Assign"), exact=True).click()
    assert ui.flash() == t("Reviewers assigned. They were notified.")
    assert page.locator("table").first.get_by_role("row").count() == 3

    # Consolidate the reviewed case and publish its assessment.
    ui.nav("Frameworks")
    page.get_by_role("link", name=t("Assessments in review (editors)")).click()
    page.get_by_role("link", name=to_consolidate).click()
    page.get_by_role("button", name=t("Draft the consolidation from the reviews")).click()
    assert ui.flash() == t("Consolidation drafted from the submitted reviews.")
    page.get_by_role("button", name=t("Save and publish")).click()
    assert ui.flash() == t("The assessment is published on the case page.")
    ui.assert_fits()


def test_admin_creates_an_account_changes_its_role_deactivates_it_and_reads_the_audit_log(
    app, ui, lang, width
):
    _people(app, "admin")
    page, t = ui.page, ui.t
    email = f"nueva.{lang}.{width}@example.org"
    ui.sign_in("admin@example.org")

    ui.nav("Accounts")
    page.get_by_label(t("E-mail"), exact=True).fill(email)
    page.get_by_label(t("Name"), exact=True).fill("Nueva Persona")
    page.get_by_label(t("Role"), exact=True).select_option("submitter")
    page.get_by_label(t("Institution"), exact=True).fill("Ministerio de Ejemplo")
    page.get_by_label(t("Initial password")).fill("una clave bastante larga")
    page.get_by_role("button", name=t("Create account")).click()
    assert ui.flash() == t("Account %(email)s created.", email=email)

    page.get_by_label(t("Role of %(email)s", email=email)).select_option("reviewer")
    row = page.get_by_role("row").filter(has_text=email)
    row.get_by_role("button", name=t("Change role")).click()
    assert ui.flash() == t("%(email)s is now: %(role)s.", email=email, role="reviewer")
    assert page.get_by_label(t("Role of %(email)s", email=email)).input_value() == "reviewer"

    row.get_by_role("button", name=f"{t('Deactivate')} {email}").click()
    assert ui.flash() == t("%(email)s was deactivated.", email=email)
    assert t("Deactivated") in row.inner_text()
    assert row.get_by_role("button", name=f"{t('Reactivate')} {email}").is_visible()

    page.get_by_role("link", name=t("Audit log")).click()
    page.get_by_role("heading", name=t("Audit log")).wait_for()
    log = page.get_by_role("table")
    events = [
        line
        for line in log.locator("tbody tr").all_inner_texts()
        if email in line and "user." in line
    ]
    assert {re.search(r"user\.\w+", line).group(0) for line in events} == {
        "user.created",
        "user.role_changed",
        "user.deactivated",
    }
    ui.assert_fits()


def test_visitor_searches_opens_cites_reads_a_dashboard_and_downloads_csv(app, ui, lang, width):
    _people(app, "submitter", "editor")
    ref = _case(app, JUDICIAL, until="published")
    _case(app, HEALTH, until="published")
    page, t = ui.page, ui.t

    page.goto(f"{ui.base}/?lang={lang}")
    ui.nav("Case library")
    results = page.locator("#results")
    assert OTHER_NAME in results.inner_text()
    country = vocab.country_name("PER", lang)
    page.get_by_label(re.compile(rf"^{re.escape(country)} \(")).check()
    page.get_by_role("button", name=t("Apply filters")).click()
    assert NAME in results.inner_text() and OTHER_NAME not in results.inner_text()
    page.get_by_label(t("Search cases")).fill("DECISION judicial")  # accents and case ignored
    page.get_by_role("button", name=t("Search"), exact=True).click()
    assert NAME in results.inner_text() and OTHER_NAME not in results.inner_text()
    assert t("Search text") in page.locator(".active-filters").inner_text()

    results.get_by_role("link", name=re.compile(re.escape(NAME))).click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(NAME)
    page.get_by_role("link", name=t("Cite this case")).click()
    assert page.url.endswith("#cite")
    citation = page.locator(".citation").inner_text()
    assert NAME in citation and ref in citation
    assert f"/cases/{ref}" in citation
    ui.assert_fits()

    ui.nav("Dashboards")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('div.chart[data-figure]'))"
        ".every(div => div.classList.contains('js-plotly-plot') && div.querySelector('svg'))"
    )
    with page.expect_download() as download:
        page.get_by_role("link", name=t("Download CSV")).first.click()
    rows = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert download.value.suggested_filename.endswith(".csv")
    assert len(rows) >= 2 and "," in rows[0]

    # The language switcher keeps the visitor on the same page, in the other language.
    other = LANGS[(LANGS.index(lang) + 1) % len(LANGS)]
    path = page.url.split("?")[0]
    page.locator("nav.lang-switch").get_by_role("link", name=LANGUAGE_NAMES[other]).click()
    assert page.locator("html").get_attribute("lang") == other
    assert page.url.split("?")[0] == path
    nav_text = main_nav(page).inner_text()
    assert translator(app, other)("Case library") in nav_text
    ui.assert_fits()
