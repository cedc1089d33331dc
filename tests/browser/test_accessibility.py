"""Accessibility in a real browser: axe-core (vendored, WCAG 2.0/2.1 A and AA) finds no serious or
critical violation on any page type, signed in as the role that uses it and with real data made
through the services; focus is visible; forms announce errors next to the field and in a summary.

One app, one live server and one signed-in page per role serve the whole module. axe is read from
tests/browser/vendor/axe-core and evaluated in the page through Playwright (a DevTools call, which
the app's CSP does not apply to), so the CSP stays as strict as in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases import corrections, workflow
from cases.models import Case
from cases.services import load_starter_library
from criteria import services as criteria
from criteria.services import AnswerIn
from observatory.bootstrap import initialise
from observatory.db import get_engine, session_scope
from observatory.models import User
from tests.browser.conftest import OffsiteRequests, new_page, serving
from tests.conftest import PASSWORD, _fresh_database, fast_hash, make_app, make_user
from tests.factories import case_csv, create_case, valid_case_record

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
NEXT_WEEK = date.today() + timedelta(days=7)

# --------------------------------------------------------------------------------------------
# One seeded site for the module
# --------------------------------------------------------------------------------------------


@dataclass
class Site:
    app: object
    base: str
    refs: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def _answers(fw, level: int, **overrides: int) -> dict[str, AnswerIn]:
    return {
        item.key: AnswerIn(
            value=overrides.get(item.key, level), justification="Documented on the site."
        )
        for item in fw.items
    }


def seed(app) -> tuple[dict[str, str], dict[str, int]]:
    """Every kind of record the pages show, made through the services as users would."""
    initialise(app)  # frameworks and regulations
    people = {
        "submitter": make_user(
            app, "submitter", institution="Poder Judicial de Ejemplo", country="PER"
        ),
        "editor": make_user(app, "editor", name="Elena Editor"),
        "admin": make_user(app, "admin", name="Ada Admin"),
        "r1": make_user(app, "reviewer", email="r1@example.org", name="Ana", institution="UA"),
        "r2": make_user(app, "reviewer", email="r2@example.org", name="Bruno", institution="UB"),
    }
    refs: dict[str, str] = {}
    ids: dict[str, int] = {}
    with session_scope(app) as session:
        load_starter_library(session)
        who = {key: session.get(User, user.id) for key, user in people.items()}
        submitter, editor = who["submitter"], who["editor"]

        # A published case with a published update (history with a diff) and a correction.
        case = create_case(session, submitter=submitter, editor=editor, state="published")
        _data, number = workflow.working_data(session, case)
        workflow.update_case(
            session,
            actor=submitter,
            ref=case.ref,
            raw=valid_case_record(
                name="Sistema de triaje de expedientes judiciales", acronym="STE"
            ),
            base_version=number,
            comment="Nombre completo",
        )
        workflow.transition_case(session, actor=editor, ref=case.ref, action="publish")
        corrections.suggest_correction(
            session,
            case_ref=case.ref,
            text="El sistema pasó a producción en 2024 según la memoria anual.",
            source_url="https://example.gob.pe/memoria",
        )
        refs["published"] = case.ref

        # My cases: a draft, a returned case with a reason; moderation: a submitted case.
        workflow.create_case(
            session,
            actor=submitter,
            raw={"name": "Borrador de chatbot", "institution": "SUNAT", "country": "PER"},
        )
        returned = create_case(
            session, submitter=submitter, state="submitted", name="Asistente de notificaciones"
        )
        workflow.transition_case(
            session, actor=editor, ref=returned.ref, action="return", reason="Falta la fuente"
        )
        create_case(
            session, submitter=submitter, state="submitted", name="Predicción de deserción escolar"
        )
        refs["returned"] = returned.ref

        # The stale queue: two published cases last checked long ago.
        session.execute(
            sa.update(Case)
            .where(Case.id.in_(select(Case.id).where(Case.country == "BRA").limit(2)))
            .values(last_verified=date(2020, 1, 1))
        )
        session.commit()

        # Reviews: one assessment published (case page, dashboards), one consolidated draft
        # with a disagreement, one assigned and not started (blank scoring form).
        version = criteria.get_framework_version(session, "unesco-2021", "1.0")
        fw, fid = criteria.framework_of(version), version.id
        first = fw.items[0].key
        ids["framework"] = fid
        for name, shape in (("assessed", "publish"), ("consolidated", "draft"), ("open", "")):
            target = create_case(
                session,
                submitter=submitter,
                editor=editor,
                state="published",
                name=f"Caso {name}",
                country="CHL",
            )
            refs[name] = target.ref
            assignments = criteria.assign_reviewers(
                session,
                actor=editor,
                case_id=target.id,
                framework_id=fid,
                reviewer_ids=[who["r1"].id, who["r2"].id],
                due_date=NEXT_WEEK,
            )
            ids[f"{name}-r2"] = assignments[1].id
            if not shape:
                continue
            for reviewer, assignment, levels in (
                (who["r1"], assignments[0], _answers(fw, 2)),
                (who["r2"], assignments[1], _answers(fw, 3, **{first: 0 if shape else 4})),
            ):
                criteria.submit_review(
                    session, actor=reviewer, assignment_id=assignment.id, answers=levels
                )
            criteria.consolidate(
                session, actor=editor, case_id=target.id, framework_id=fid, lang="es"
            )
            if shape == "publish":
                criteria.publish_assessment(
                    session, actor=editor, case_id=target.id, framework_id=fid
                )
    return refs, ids


@pytest.fixture(scope="module")
def site(database_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("a11y")
    app = make_app(_fresh_database(database_template, folder), folder / "instance")
    with pytest.MonkeyPatch.context() as patch:
        # Accounts made here skip scrypt (tested elsewhere); sign-in still checks the hash.
        patch.setattr("observatory.accounts.hash_password", fast_hash)
        refs, ids = seed(app)
    with serving(app) as base:
        yield Site(app, base, refs, ids)
    get_engine(app).dispose()


EMAILS = {
    "submitter": "submitter@example.org",
    "editor": "editor@example.org",
    "admin": "admin@example.org",
    "reviewer": "r2@example.org",
}


@pytest.fixture(scope="module")
def pages(browser, site):
    """`pages(role)`: one page per role for the module, signed in through the real form."""
    offsite = OffsiteRequests()
    opened: dict[str, object] = {}

    def get(role: str):
        if role not in opened:
            page = new_page(browser, site.base, offsite, lang="es")
            if role != "anonymous":
                page.goto(f"{site.base}/account/login?lang=en")
                page.get_by_label("E-mail").fill(EMAILS[role])
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("button", name="Sign out").wait_for()
            opened[role] = page
        return opened[role]

    yield get
    for page in opened.values():
        page.context.close()
    assert list(offsite) == [], f"requests left the app's host: {list(offsite)}"


# --------------------------------------------------------------------------------------------
# axe
# --------------------------------------------------------------------------------------------

AXE_SOURCE = AXE.read_text(encoding="utf-8")

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    resultTypes: ['violations'],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                              summary: n.failureSummary})),
  }));
}"""


def axe_violations(page) -> list[dict]:
    """Every WCAG A/AA violation axe finds on the page as it is now (all <details> opened)."""
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(RUN_AXE, WCAG_TAGS)


def report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:8]:
            lines.append(f"    {node['target']}  {node['html']}")
            lines.append("      " + (node["summary"] or "").replace("\n", "\n      "))
    return "\n".join(lines)


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe on {page.url}:\n{report(blocking)}"


def charts_drawn(page) -> None:
    page.wait_for_function(
        "Array.from(document.querySelectorAll('div.chart[data-figure]'))"
        ".every(div => div.classList.contains('js-plotly-plot') && div.querySelector('svg'))"
    )


# --------------------------------------------------------------------------------------------
# Every page type
# --------------------------------------------------------------------------------------------

# (id, role, path, language). Paths may name {published}, {assessed}, … (case refs) and
# {open-r2} (an assignment id); see `seed`.
PAGES = [
    ("home", "anonymous", "/", "es"),
    ("home-pt", "anonymous", "/", "pt"),
    ("home-en", "anonymous", "/", "en"),
    ("case-list", "anonymous", "/cases", "es"),
    ("case-search-facets", "anonymous", "/cases?q=sistema&country=PER&sector=justice", "pt"),
    ("case-search-empty", "anonymous", "/cases?q=zzzzqqq", "es"),
    ("case-page", "anonymous", "/cases/{published}", "es"),
    ("case-page-assessed", "anonymous", "/cases/{assessed}", "en"),
    ("case-history", "anonymous", "/cases/{published}/history", "es"),
    ("case-new", "submitter", "/cases/new", "es"),
    ("case-edit-returned", "submitter", "/cases/{returned}/edit", "pt"),
    ("my-cases", "submitter", "/cases/mine", "es"),
    ("notifications", "submitter", "/notifications", "es"),
    ("account", "submitter", "/account/", "es"),
    ("password", "submitter", "/account/password", "es"),
    ("moderation", "editor", "/moderation", "es"),
    ("stale", "editor", "/moderation/stale", "es"),
    ("corrections", "editor", "/corrections", "es"),
    ("assign", "editor", "/cases/{published}/assign", "es"),
    ("assessments", "editor", "/assessments", "es"),
    ("consolidation", "editor", "/assessments/{consolidated}/unesco-2021/1.0", "es"),
    ("consolidation-en", "editor", "/assessments/{consolidated}/unesco-2021/1.0", "en"),
    ("import-history", "editor", "/imports/history", "es"),
    ("reviews", "reviewer", "/reviews", "es"),
    ("review-form", "reviewer", "/reviews/{open-r2}", "es"),
    ("conflicts", "reviewer", "/reviews/conflicts", "es"),
    ("frameworks", "anonymous", "/frameworks", "es"),
    ("framework", "anonymous", "/frameworks/unesco-2021/1.0", "pt"),
    ("regulations", "anonymous", "/regulations", "es"),
    ("dash-region", "anonymous", "/dashboards", "es"),
    ("dash-compare", "anonymous", "/dashboards/compare?country=BRA&country=CHL&country=PER", "es"),
    ("dash-branches", "anonymous", "/dashboards/branches", "pt"),
    ("dash-criteria", "anonymous", "/dashboards/criteria", "en"),
    ("dash-countries", "anonymous", "/dashboards/countries", "es"),
    ("dash-country", "anonymous", "/dashboards/countries/CHL", "es"),
    ("dash-embed", "anonymous", "/dashboards/embed/region/map", "es"),
    ("data", "anonymous", "/data", "es"),
    ("api-docs", "anonymous", "/api", "en"),
    ("admin-users", "admin", "/admin/users", "es"),
    ("admin-audit", "admin", "/admin/audit", "es"),
    ("not-found", "anonymous", "/no-such-page", "es"),
    ("not-found-pt", "anonymous", "/cases/XXX-0000", "pt"),
]


def url_for(site: Site, path: str, lang: str) -> str:
    values = dict(site.refs) | {k: str(v) for k, v in site.ids.items()}
    path = path.format(**values)
    return f"{site.base}{path}{'&' if '?' in path else '?'}lang={lang}"


@pytest.mark.parametrize(
    ("role", "path", "lang"), [p[1:] for p in PAGES], ids=[p[0] for p in PAGES]
)
def test_page_has_no_serious_axe_violation(site, pages, role, path, lang):
    page = pages(role)
    page.goto(url_for(site, path, lang))
    if page.locator("div.chart[data-figure]").count():
        charts_drawn(page)
        assert_charts_have_text_alternatives(page)
    assert page.locator("html").get_attribute("lang") == lang
    assert_accessible(page)


# --------------------------------------------------------------------------------------------
# Forms announce their errors: next to the field and in a summary at the top
# --------------------------------------------------------------------------------------------

ERROR_STATE = """() => {
  const summary = document.querySelector('.error-summary');
  const describedBy = el => (el.getAttribute('aria-describedby') || '').split(/\\s+/)
      .map(id => document.getElementById(id)).filter(Boolean);
  const announces = el => el.getAttribute('aria-invalid') === 'true' && describedBy(el)
      .some(d => d.classList.contains('error-message') && d.textContent.trim());
  const links = summary ? Array.from(summary.querySelectorAll('a[href^="#"]')).map(a => {
    const target = document.getElementById(decodeURIComponent(a.hash.slice(1)));
    let ok = false;
    if (target && target.matches('input, select, textarea')) ok = announces(target);
    else if (target && target.matches('fieldset')) {
      const controls = Array.from(target.querySelectorAll('input, select, textarea'));
      ok = describedBy(target).some(d => d.classList.contains('error-message'))
        || (controls.length > 0 && controls.every(announces));
    }
    return {text: a.textContent.trim(), href: a.getAttribute('href'), ok};
  }) : [];
  const messages = Array.from(document.querySelectorAll('.error-message')).map(m => ({
    text: m.textContent.trim(),
    referenced: !!document.querySelector(`[aria-describedby~="${m.id}"]`),
  }));
  return {
    summary: summary && {role: summary.getAttribute('role'), text: summary.innerText,
                         heading: !!summary.querySelector('h2')},
    links, messages,
  };
}"""


def assert_errors_announced(page, *, min_links: int) -> dict:
    """The summary is an alert with a heading; each of its links leads to a field that says
    it is invalid and is described by its error message; every message is referenced."""
    state = page.evaluate(ERROR_STATE)
    summary = state["summary"]
    assert summary, "no error summary on the page"
    assert summary["role"] == "alert" and summary["heading"], summary
    assert len(state["links"]) >= min_links, state["links"]
    broken = [link for link in state["links"] if not link["ok"]]
    assert not broken, f"summary links to fields that do not announce the error: {broken}"
    unreferenced = [m for m in state["messages"] if not m["referenced"]]
    assert not unreferenced, f"error messages no control points at: {unreferenced}"
    # Following the first link puts the keyboard focus on that field.
    first = page.locator(".error-summary a[href^='#']").first
    target = first.get_attribute("href")[1:]
    first.click()
    assert page.evaluate("document.activeElement && document.activeElement.id") == target
    return state


def test_sign_in_errors_are_announced_in_the_summary_and_at_the_fields(site, pages):
    page = pages("anonymous")
    page.goto(f"{site.base}/account/login?lang=es")
    page.locator("form.narrow-form button[type=submit]").click()
    state = assert_errors_announced(page, min_links=2)
    assert {link["href"] for link in state["links"]} == {"#email", "#password"}
    assert_accessible(page)
    # Unknown credentials: said in the summary (an alert), not only in a polite status.
    page.locator("#email").fill("nadie@example.org")
    page.locator("#password").fill("not the password at all")
    page.locator("form.narrow-form button[type=submit]").click()
    summary = page.locator(".error-summary[role=alert]")
    assert "no reconocidos" in summary.inner_text()
    assert_accessible(page)


def test_case_form_errors_are_announced_in_the_summary_and_at_the_fields(site, pages):
    page = pages("submitter")
    page.goto(f"{site.base}/cases/new?lang=es")
    page.locator("button[name=save][value=submit]").click()
    state = assert_errors_announced(page, min_links=3)
    hrefs = {link["href"] for link in state["links"]}
    assert {"#name", "#sources"} <= hrefs, hrefs
    assert_accessible(page)


def test_scoring_form_errors_are_announced_in_the_summary_and_at_the_fields(site, pages):
    page = pages("reviewer")
    page.goto(f"{site.base}/reviews/{site.ids['open-r2']}?lang=es")
    # A rubric level 0 without the justification it needs, and nothing else answered.
    page.locator("fieldset.choice-group input[type=radio][value='0']").first.check()
    page.locator("button[name=action][value=submit]").click()
    state = assert_errors_announced(page, min_links=5)
    assert any(link["href"].startswith("#justification__") for link in state["links"])
    assert_accessible(page)


def test_other_forms_with_errors_pass_axe(site, pages):
    """The editor's regulation form and the admin's new-account form, after a failed submit."""
    page = pages("editor")
    page.goto(f"{site.base}/regulations/new?lang=es")
    page.locator("main form button[type=submit]").last.click()
    assert_errors_announced(page, min_links=1)
    assert_accessible(page)
    page = pages("admin")
    page.goto(f"{site.base}/admin/users?lang=pt")
    page.locator("#email").fill("not-an-address")
    page.locator("#email").press("Enter")
    assert_errors_announced(page, min_links=1)
    assert_accessible(page)


def test_import_preview_and_report_pass_axe(site, pages):
    page = pages("editor")
    page.goto(f"{site.base}/imports?lang=es")
    assert_accessible(page)
    rows = [
        valid_case_record(id="A-1", name="Asistente judicial importado"),
        valid_case_record(id="A-2", name="Chatbot tributario importado", country="Atlantis"),
    ]
    page.locator("input[type=file]").first.set_input_files(
        files=[
            {
                "name": "casos.csv",
                "mimeType": "text/csv",
                "buffer": case_csv(rows),
            }
        ]
    )
    page.locator("main form button[type=submit]").first.click()
    assert "Atlantis" in page.locator("main").inner_text()
    assert_accessible(page)


# --------------------------------------------------------------------------------------------
# Keyboard: focus order and visible focus
# --------------------------------------------------------------------------------------------

FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, cls: String(el.className || ''),
    text: (el.innerText || el.value || '').slice(0, 40),
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== 'none',
    visible: box.width > 0 && box.height > 0,
    index: Array.from(document.querySelectorAll('*')).indexOf(el),
  };
}"""


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("anonymous", "/cases?country=PER"),
        ("submitter", "/cases/new"),
        ("reviewer", "/reviews/{open-r2}"),
        ("anonymous", "/dashboards/countries/CHL"),
    ],
    ids=["case-search", "case-form", "scoring-form", "country-report"],
)
def test_tab_moves_forward_through_the_page_with_a_visible_focus(site, pages, role, path):
    page = pages(role)
    page.goto(url_for(site, path, "es"))
    assert page.locator("[tabindex]:not([tabindex='0']):not([tabindex='-1'])").count() == 0
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE)
        if state is None:
            break
        seen.append(state)
    assert seen, "Tab focused nothing"
    assert "skip-link" in seen[0]["cls"], f"the skip link comes first, not {seen[0]}"
    invisible = [s for s in seen if not (s["outline"] or s["shadow"])]
    assert not invisible, f"focused without a visible outline or shadow: {invisible}"
    hidden = [s for s in seen if not s["visible"]]
    assert not hidden, f"focus went to elements that are not displayed: {hidden}"
    order = [s["index"] for s in seen]
    assert order == sorted(order), f"focus jumps backwards: {seen}"


def test_skip_link_moves_focus_to_the_main_content(site, pages):
    page = pages("anonymous")
    page.goto(f"{site.base}/?lang=pt")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the focused skip link is on screen"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


# --------------------------------------------------------------------------------------------
# Charts have a text alternative: the data table, named next to the chart
# --------------------------------------------------------------------------------------------

CHART_ALTERNATIVES = """() => Array.from(document.querySelectorAll('div.chart[data-figure]'))
.map(div => {
  const figure = div.closest('figure');
  const caption = figure && figure.querySelector('figcaption');
  const described = figure && document.getElementById(figure.getAttribute('aria-describedby'));
  const link = caption && caption.querySelector('a[href^="#"]');
  const target = link && document.getElementById(link.hash.slice(1));
  const table = target && target.querySelector('table');
  return {
    chart: div.getAttribute('data-figure'),
    named: !!(figure && figure.getAttribute('aria-labelledby')
              && document.getElementById(figure.getAttribute('aria-labelledby'))),
    described: !!described && described === caption,
    table: !!table && !!table.querySelector('caption')
           && table.querySelectorAll('tbody tr').length > 0,
  };
})"""


def assert_charts_have_text_alternatives(page) -> None:
    charts = page.evaluate(CHART_ALTERNATIVES)
    missing = [c for c in charts if not (c["named"] and c["described"] and c["table"])]
    assert not missing, f"charts without a named figure, caption and linked table: {missing}"
