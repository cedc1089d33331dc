"""Criteria pages: public frameworks and regulations, editors' assignment and consolidation,
reviewers' queue and scoring form, and the public case section."""

from __future__ import annotations

import re

import pytest
from flask import g
from markupsafe import escape
from sqlmodel import select

from cases.models import Case
from criteria import services
from criteria.models import RegulatoryInstrument, Review, ReviewAssignment
from observatory.db import get_session, session_scope
from observatory.hooks import case_sections
from observatory.models import User
from tests.conftest import post, switch_user
from tests.criteria import test_services as shared
from tests.criteria.test_services import (
    NEXT_WEEK,
    assign,
    framework,
    framework_id,
    rubric_answers,
    submit,
    user,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

# The fixtures of the service tests (accounts, frameworks, a published case).
people = shared.people
loaded = shared.loaded
case = shared.case


def sign_in(client, who: str) -> None:
    emails = {
        "editor": "editor@example.org",
        "editor2": "editor2@example.org",
        "r1": "r1@example.org",
        "r2": "r2@example.org",
        "r3": "r3@example.org",
        "submitter": "submitter@example.org",
    }
    switch_user(client, emails[who])


def form_fields(fw, level: int, justification: str = "Documented.") -> dict:
    data = {}
    for item in fw.items:
        data[f"answer__{item.key}"] = str(level)
        data[f"justification__{item.key}"] = justification
        data[f"evidence__{item.key}"] = "https://example.gob.pe/evidencia"
    return data


# --------------------------------------------------------------------------------------------
# Public pages
# --------------------------------------------------------------------------------------------


def test_frameworks_pages_are_public_and_in_the_ui_language(app, client, loaded):
    listing = client.get("/frameworks?lang=en")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "UNESCO 2021" in html and "<caption" in html
    assert 'href="/frameworks"' in html  # the main navigation link
    page = client.get("/frameworks/unesco-2021/1.0?lang=pt").get_data(as_text=True)
    fw = framework(app)
    item = fw.item("safety_security")
    assert item.label.pt in page and item.levels[3].guidance.pt in page
    assert "Orientaç" in page or "Guidance" in page
    assert client.get("/frameworks/unesco-2021/9.9").status_code == 404
    assert client.get("/frameworks/nothing/1.0").status_code == 404


def test_framework_page_lists_the_regulations_where_it_applies(app, client, loaded):
    with session_scope(app) as session:
        services.load_regulations(session)
    page = client.get("/frameworks/br-pl2338-2023/1.0?lang=en").get_data(as_text=True)
    assert 'id="regulations"' in page and "Lei Geral de Proteção de Dados" in page


def test_regulations_page_lists_by_country_and_filters(app, client, people):
    with session_scope(app) as session:
        services.load_regulations(session)
    html = client.get("/regulations?lang=en").get_data(as_text=True)
    assert "Santiago" in html and 'id="country-CHL"' in html and 'id="country-LAC"' in html
    assert "Add an instrument" not in html
    only_chile = client.get("/regulations?country=CHL&lang=en").get_data(as_text=True)
    assert 'id="country-CHL"' in only_chile and 'id="country-BRA"' not in only_chile
    sign_in(client, "editor")
    assert "Add an instrument" in client.get("/regulations?lang=en").get_data(as_text=True)


def test_editor_adds_and_archives_an_instrument_through_the_forms(app, client, people):
    sign_in(client, "editor")
    assert client.get("/regulations/new?lang=en").status_code == 200
    data = {
        "country": "URY",
        "title": "Estrategia de IA para el Gobierno Digital",
        "title_en": "AI strategy for digital government",
        "type": "strategy",
        "status": "adopted",
        "date": "2019",
        "url": "javascript:alert(1)",
        "confidence": "high",
    }
    response = post(client, "/regulations/new?lang=en", data)
    assert response.status_code == 400
    assert "Enter a web address starting with http:// or https://." in response.get_data(
        as_text=True
    )
    response = post(client, "/regulations/new", data | {"url": "https://www.gub.uy/agesic"})
    assert response.status_code == 302
    with session_scope(app) as session:
        instrument = session.exec(select(RegulatoryInstrument)).one()
    assert instrument.title == data["title"] and instrument.updated_by_id == people["editor"]
    edit = f"/regulations/{instrument.id}/edit"
    assert data["title"] in client.get(edit).get_data(as_text=True)
    response = post(client, edit, data | {"url": "", "status": "archived"})
    assert response.status_code == 302
    post(client, "/account/logout")
    assert data["title"] not in client.get("/regulations?country=URY").get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    ["/regulations/new", "/assessments", "/cases/PER-0001/assign", "/regulations/1/edit"],
)
def test_editor_pages_refuse_other_roles(app, client, people, case, path):
    assert client.get(path).status_code == 302  # anonymous: to the sign-in page
    sign_in(client, "r1")
    assert client.get(path).status_code == 403


def test_reviewer_pages_refuse_other_roles(app, client, people, case):
    assert client.get("/reviews").status_code == 302
    sign_in(client, "submitter")
    assert client.get("/reviews").status_code == 403
    assert client.get("/reviews/1").status_code == 403


# --------------------------------------------------------------------------------------------
# Editors: assignment
# --------------------------------------------------------------------------------------------


def test_editor_assigns_reviewers_and_conflicts_are_refused(app, client, people, case):
    case_id, ref = case
    with session_scope(app) as session:
        services.declare_conflict(session, actor=user(session, people, "r3"), case_ref=ref)
    sign_in(client, "editor")
    page = client.get(f"/cases/{ref}/assign?lang=en").get_data(as_text=True)
    assert "declared a conflict of interest" in page
    assert re.search(rf'id="reviewer-{people["r3"]}"[^>]*disabled', page)
    fid = framework_id(app)
    crafted = post(
        client,
        f"/cases/{ref}/assign?lang=en",
        {"framework": fid, "reviewers": [people["r1"], people["r3"]], "due_date": NEXT_WEEK},
    )
    assert crafted.status_code == 400  # the service refuses what the page hides
    assert "Conflict of interest" in crafted.get_data(as_text=True)
    response = post(
        client,
        f"/cases/{ref}/assign",
        {"framework": fid, "reviewers": [people["r1"], people["r2"]], "due_date": NEXT_WEEK},
    )
    assert response.status_code == 302
    page = client.get(f"/cases/{ref}/assign?lang=en").get_data(as_text=True)
    assert "Not started" in page and "Withdraw" in page
    overview = client.get("/assessments?lang=en").get_data(as_text=True)
    assert ref in overview and "Not consolidated" in overview
    assert client.get(f"/assessments?case={ref}").location.endswith(f"/cases/{ref}/assign")


def test_editor_withdraws_a_reviewer(app, client, people, case):
    ids = assign(app, people, case[0], framework_id(app), reviewers=("r1", "r2", "r3"))
    sign_in(client, "editor")
    response = post(client, f"/assignments/{ids[2]}/withdraw")
    assert response.status_code == 302
    with session_scope(app) as session:
        assert session.get(ReviewAssignment, ids[2]).status == "withdrawn"


# --------------------------------------------------------------------------------------------
# Reviewers: queue, scoring form, blindness, amendment, conflicts
# --------------------------------------------------------------------------------------------


def test_reviewer_scores_with_a_draft_then_submits(app, client, people, case):
    ids = assign(app, people, case[0], framework_id(app))
    fw = framework(app)
    sign_in(client, "r1")
    queue = client.get("/reviews?lang=en").get_data(as_text=True)
    assert case[1] in queue and "Not started" in queue and "My reviews" in queue
    url = f"/reviews/{ids[0]}"
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    first = fw.items[0]
    assert f'<legend class=""><strong>{first.label.en}</strong></legend>' in page
    assert first.levels[4].guidance.en in page and "Insufficient information" in page
    # A draft may be partial.
    response = post(client, url, {"action": "draft", f"answer__{first.key}": "2"})
    assert response.status_code == 302
    with session_scope(app) as session:
        assert session.exec(select(Review)).one().status == "draft"
    # Submitting needs every answer, and a justification for 0 and 4.
    incomplete = form_fields(fw, 3)
    incomplete.pop(f"answer__{fw.items[1].key}")
    incomplete |= {f"answer__{first.key}": "0", f"justification__{first.key}": ""}
    response = post(client, f"{url}?lang=en", incomplete | {"action": "submit"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Answer this criterion (or say why you cannot)." in html
    assert "Explain a score at the extreme levels (0 or 4)." in html
    assert 'class="error-summary"' in html
    bad_url = form_fields(fw, 3) | {f"evidence__{first.key}": "ftp://x.example/a"}
    assert post(client, url, bad_url | {"action": "draft"}).status_code == 400
    response = post(client, url, form_fields(fw, 3) | {"action": "submit"})
    assert response.status_code == 302
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert "Your answers (revision 1)" in page and "Submit the review" not in page
    # A submitted review cannot be changed by posting again.
    assert post(client, url, form_fields(fw, 1) | {"action": "submit"}).status_code == 409
    with session_scope(app) as session:
        assert session.exec(select(Review)).one().status == "submitted"


def test_a_reviewer_sees_the_others_only_after_submitting(app, client, people, case):
    ids = assign(app, people, case[0], framework_id(app))
    fw = framework(app)
    answers = rubric_answers(fw, 2)
    key = fw.items[0].key
    answers[key] = services.AnswerIn(value=2, justification="SECRET-R1-JUSTIFICATION")
    submit(app, people, "r1", ids[0], answers)
    sign_in(client, "r2")
    page = client.get(f"/reviews/{ids[1]}?lang=en").get_data(as_text=True)
    assert "SECRET-R1-JUSTIFICATION" not in page
    assert "you will see the other reviewers' scores after you submit yours" in page
    post(client, f"/reviews/{ids[1]}", form_fields(fw, 3) | {"action": "submit"})
    page = client.get(f"/reviews/{ids[1]}?lang=en").get_data(as_text=True)
    assert "SECRET-R1-JUSTIFICATION" in page and "Reviewer 1" in page
    assert "r1@example.org" not in page and "Test reviewer" not in page
    # Nobody opens someone else's assignment.
    assert client.get(f"/reviews/{ids[0]}").status_code == 404


def test_reviewer_amends_a_submitted_review_with_a_reason(app, client, people, case):
    ids = assign(app, people, case[0], framework_id(app))
    fw = framework(app)
    submit(app, people, "r1", ids[0], rubric_answers(fw, 3))
    sign_in(client, "r1")
    url = f"/reviews/{ids[0]}/amend"
    assert post(client, f"{url}?lang=en", {"reason": ""}).status_code == 400
    assert post(client, url, {"reason": "A new source was published"}).status_code == 302
    page = client.get(f"/reviews/{ids[0]}?lang=en").get_data(as_text=True)
    assert "Revision 2" in page and "A new source was published" in page
    assert "Submit the review" in page


def test_reviewer_declares_a_conflict(app, client, people, case):
    sign_in(client, "r1")
    assert post(client, "/reviews/conflicts?lang=en", {"institution": ""}).status_code == 400
    response = post(client, "/reviews/conflicts", {"case_ref": case[1], "note": "Consultant"})
    assert response.status_code == 302
    page = client.get("/reviews/conflicts?lang=en").get_data(as_text=True)
    assert case[1] in page and "Consultant" in page


def test_review_posts_need_a_csrf_token(app, client, people, case):
    ids = assign(app, people, case[0], framework_id(app))
    sign_in(client, "r1")
    response = client.post(f"/reviews/{ids[0]}", data={"action": "draft"})
    assert response.status_code == 400


# --------------------------------------------------------------------------------------------
# Consolidation and the public case section
# --------------------------------------------------------------------------------------------


def section_html(app, case_id: int, who_id: int | None = None) -> str:
    """The case page sections the criteria package adds, as the public (or `who_id`) sees them."""
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        session = get_session()
        if who_id is not None:
            g.user = session.get(User, who_id)
        return "".join(str(part) for part in case_sections(session.get(Case, case_id)))


def test_consolidation_publication_and_the_public_case_section(app, client, people, case):
    case_id, ref = case
    fid = framework_id(app)
    ids = assign(app, people, case_id, fid)
    fw = framework(app)
    key = fw.items[0].key
    submit(app, people, "r1", ids[0], rubric_answers(fw, 3, **{key: 1}))
    assert section_html(app, case_id) == ""  # nothing published: no section for the public
    sign_in(client, "editor")
    url = f"/assessments/{ref}/unesco-2021/1.0"
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert "Test reviewer" in page and "Draft the consolidation" not in page
    submit(app, people, "r2", ids[1], rubric_answers(fw, 3, **{key: 4}))
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert "Reviewers disagree" in page and "Draft the consolidation from the reviews" in page
    assert post(client, url, {"action": "consolidate"}).status_code == 302
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert 'name="value__' in page and "Save and publish" in page
    values = {f"value__{item.key}": "3" for item in fw.items} | {f"value__{key}": "2"}
    response = post(
        client,
        f"{url}?lang=en",
        values | {"action": "save", "recommendations": "Publish the DPIA.\nTrain staff."},
    )
    assert response.status_code == 302
    response = post(client, url, values | {"value__" + key: "9", "action": "save"})
    assert response.status_code == 400
    response = post(client, url, values | {"action": "publish", "recommendations": "Publish."})
    assert response.status_code == 302 and response.location.endswith(f"/cases/{ref}")
    html = section_html(app, case_id)
    assert "UNESCO 2021" in html and "Consolidated score per criterion" in html
    assert "Publish." in html and "Number of reviewers" in html
    assert "Disagreed (two levels or more apart)" in html
    assert "Test reviewer" not in html and "Documented on the site." not in html


def test_consolidation_page_is_refused_to_a_reviewer_of_the_case(app, client, people, case):
    assign(app, people, case[0], framework_id(app))
    with session_scope(app) as session:
        r1 = user(session, people, "r1")
        r1.role = "admin"  # promoted after being assigned: still one of the case's reviewers
        session.add(r1)
        session.commit()
    sign_in(client, "r1")
    response = client.get(f"/assessments/{case[1]}/unesco-2021/1.0")
    assert response.status_code == 302 and response.location.endswith("/assessments")


def test_nav_shows_frameworks_to_everyone_and_reviews_to_reviewers(app, client, people):
    assert "My reviews" not in client.get("/frameworks?lang=en").get_data(as_text=True)
    sign_in(client, "r1")
    html = client.get("/frameworks?lang=en").get_data(as_text=True)
    assert 'href="/reviews"' in html and "Frameworks" in html


@pytest.mark.parametrize(
    "key",
    ["unesco-2021", "ca-aia-style", "eu-ai-act-2024", "br-pl2338-2023", "transparency-disclosure"],
)
def test_every_shipped_framework_renders_its_pages_and_forms(app, client, people, case, key):
    case_id, ref = case
    fid = framework_id(app, key)
    fw = framework(app, key)
    ids = assign(app, people, case_id, fid)
    assert client.get(f"/frameworks/{key}/1.0?lang=es").status_code == 200
    sign_in(client, "r1")
    page = client.get(f"/reviews/{ids[0]}?lang=es")
    assert page.status_code == 200 and 'name="answer__' in page.get_data(as_text=True)
    # The generated form round-trips every kind of answer (checkboxes for multiple choice).
    data = {}
    for name, answer in shared.generic_answers(fw).items():
        value = answer.special or answer.value
        data[f"answer__{name}"] = value if isinstance(value, list) else str(value)
        data[f"justification__{name}"] = "Seen in the official documentation."
    assert post(client, f"/reviews/{ids[0]}", data | {"action": "submit"}).status_code == 302
    submit(app, people, "r2", ids[1], shared.generic_answers(fw))
    sign_in(client, "editor")
    url = f"/assessments/{ref}/{key}/1.0"
    assert post(client, url, {"action": "consolidate"}).status_code == 302
    page = client.get(f"{url}?lang=pt")
    assert page.status_code == 200
    consolidated = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert "Save and publish" in consolidated
    values = {}
    with session_scope(app) as session:
        draft = services.consolidation_view(
            session, actor=user(session, people, "editor"), case_id=case_id, framework_id=fid
        ).assessment
        for name, entry in draft.result["items"].items():
            values[f"value__{name}"] = entry["value"] if entry["value"] is not None else ""
    response = post(client, url, values | {"action": "publish"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    html = section_html(app, case_id)
    assert str(escape(fw.title.en)) in html and html.count("<tr>") == len(fw.items) + 1
