"""Suggested corrections: anyone suggests on a public case, editors answer, all tracked publicly."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from cases import corrections
from cases.models import Correction, Notification
from observatory.db import session_scope
from observatory.models import User
from observatory.security import NotFound, PermissionDenied
from tests.cases.test_case_page import add_case
from tests.conftest import csrf_token, make_user, post

TEXT = "The pilot ended in 2023; the ministry announced it in March."
SOURCE = "https://example.gub.uy/noticias/fin-del-piloto"


@pytest.fixture
def staff(app):
    """Two active editors/admins (notified) and one deactivated editor (not notified)."""
    ids = {
        "editor": make_user(app, "editor").id,
        "admin": make_user(app, "admin").id,
        "gone": make_user(app, "editor", email="gone@example.org").id,
        "reviewer": make_user(app, "reviewer").id,
    }
    with session_scope(app) as session:
        gone = session.get(User, ids["gone"])
        gone.is_active = False
        session.add(gone)
        session.commit()
    return ids


def suggest(app, **changes) -> Correction:
    fields = {"case_ref": "URY-0001", "text": TEXT, "source_url": SOURCE} | changes
    with session_scope(app) as session:
        return corrections.suggest_correction(session, **fields)


# --- services ---------------------------------------------------------------------------------


def test_suggestion_is_stored_open_and_every_active_editor_is_notified(app, staff):
    add_case(app)
    correction = suggest(app, contact_email="reader@example.org")
    assert correction.status == "open" and correction.contact_email == "reader@example.org"
    with session_scope(app) as session:
        notes = session.exec(select(Notification)).all()
    assert sorted(n.user_id for n in notes) == sorted([staff["editor"], staff["admin"]])
    assert {n.kind for n in notes} == {"correction.suggested"}
    assert all(n.params == {"ref": "URY-0001"} for n in notes)
    assert all(n.link.startswith("/cases/URY-0001#correction-") for n in notes)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"text": "too short"}, "text-too-short"),
        ({"text": "x" * 5001}, "text-too-long"),
        ({"source_url": "javascript:alert(1)"}, "invalid-source-url"),
        ({"source_url": "ftp://example.org/file"}, "invalid-source-url"),
        ({"source_url": "https://"}, "invalid-source-url"),
        ({"contact_email": "not-an-email"}, "invalid-email"),
    ],
)
def test_invalid_suggestions_are_refused(app, changes, code):
    add_case(app)
    with pytest.raises(corrections.CorrectionError) as caught:
        suggest(app, **changes)
    assert caught.value.code == code
    with session_scope(app) as session:
        assert session.exec(select(Correction)).all() == []


def test_suggestions_only_on_public_cases(app):
    add_case(app, state="submitted")
    with pytest.raises(NotFound):
        suggest(app)


def test_editor_answers_and_the_author_with_an_account_is_notified(app, staff):
    add_case(app)
    reader = make_user(app, "submitter", email="official@example.gob")
    with session_scope(app) as session:
        author = session.get(User, reader.id)
        correction = corrections.suggest_correction(
            session, case_ref="URY-0001", text=TEXT, actor=author
        )
        editor = session.get(User, staff["editor"])
        answered = corrections.answer_correction(
            session,
            correction_id=correction.id,
            status="accepted",
            reply="Thanks, the case now says the pilot ended.",
            actor=editor,
        )
        assert answered.status == "accepted" and answered.replied_by_id == editor.id
        assert answered.replied_at is not None
        note = session.exec(select(Notification).where(Notification.user_id == reader.id)).one()
        assert note.kind == "correction.answered"
        assert note.params == {"ref": "URY-0001", "status": "accepted"}
        with pytest.raises(corrections.CorrectionError, match="already-answered"):
            corrections.answer_correction(
                session, correction_id=correction.id, status="declined", reply="No", actor=editor
            )


def test_answer_needs_a_reply_and_a_known_status(app, staff):
    add_case(app)
    correction = suggest(app)
    with session_scope(app) as session:
        editor = session.get(User, staff["editor"])
        for status, reply, code in [("accepted", "  ", "reply-required"), ("maybe", "ok", None)]:
            with pytest.raises(corrections.CorrectionError) as caught:
                corrections.answer_correction(
                    session, correction_id=correction.id, status=status, reply=reply, actor=editor
                )
            assert caught.value.code == (code or "invalid-status")
        with pytest.raises(NotFound):
            corrections.answer_correction(
                session, correction_id=9999, status="accepted", reply="ok", actor=editor
            )


@pytest.mark.parametrize("who", ["reviewer", "gone", None])
def test_only_active_editors_may_answer(app, staff, who):
    add_case(app)
    correction = suggest(app)
    with session_scope(app) as session:
        actor = session.get(User, staff[who]) if who else None
        with pytest.raises(PermissionDenied):
            corrections.answer_correction(
                session, correction_id=correction.id, status="declined", reply="No", actor=actor
            )
        with pytest.raises(PermissionDenied):
            corrections.open_corrections(session, actor=actor)


def test_open_corrections_is_the_queue(app, staff):
    add_case(app)
    first = suggest(app)
    second = suggest(app, text="Another correction, long enough.")
    with session_scope(app) as session:
        editor = session.get(User, staff["editor"])
        corrections.answer_correction(
            session, correction_id=first.id, status="declined", reply="Sourced.", actor=editor
        )
        queue = corrections.open_corrections(session, actor=editor)
        assert [item.correction.id for item in queue] == [second.id]
        assert queue[0].case_ref == "URY-0001"
        assert [c.id for c in corrections.corrections_for_case(session, first.case_id)] == [
            second.id,
            first.id,
        ]


# --- views ------------------------------------------------------------------------------------


def test_suggest_from_the_case_page_lists_it_openly_without_the_email(app, client, staff):
    add_case(app)
    response = post(
        client,
        "/cases/URY-0001/corrections?lang=en",
        {"text": TEXT, "source_url": SOURCE, "contact_email": "reader@example.org"},
    )
    assert response.status_code == 302
    assert response.location.endswith("/cases/URY-0001#corrections")
    body = client.get("/cases/URY-0001?lang=en").get_data(as_text=True)
    assert "Thank you. Your suggestion is listed below" in body
    assert TEXT in body
    assert f'<a href="{SOURCE}"' in body
    assert re.search(r'<span class="badge">Open</span>', body)
    assert "reader@example.org" not in body
    assert "reader@example.org" not in client.get("/cases/URY-0001.json").get_data(as_text=True)


def test_suggest_errors_come_back_next_to_the_fields(app, client):
    add_case(app)
    response = post(
        client,
        "/cases/URY-0001/corrections?lang=en",
        {"text": "short", "source_url": "javascript:alert(1)", "contact_email": "nope"},
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'id="text-error"' in body
    assert 'id="source_url-error"' in body
    assert "Enter a web address starting with http:// or https://." in body
    assert 'id="contact_email-error"' in body
    assert "Please correct the following:" in body
    with session_scope(app) as session:
        assert session.exec(select(Correction)).all() == []


def test_suggest_needs_a_csrf_token_and_a_public_case(app, client):
    add_case(app)
    assert client.post("/cases/URY-0001/corrections", data={"text": TEXT}).status_code == 400
    add_case(app, ref="URY-0002", state="draft")
    response = post(client, "/cases/URY-0002/corrections", {"text": TEXT})
    assert response.status_code == 404


def test_editor_queue_shows_the_email_and_answers_publish_the_reply(app, client, login_as):
    add_case(app)
    correction = suggest(app, contact_email="reader@example.org")
    login_as("editor")
    queue = client.get("/corrections?lang=en")
    assert queue.status_code == 200
    body = queue.get_data(as_text=True)
    assert "reader@example.org" in body and TEXT in body
    answer_path = f"/corrections/{correction.id}"
    empty = post(client, answer_path, {"status": "accepted", "reply": ""})
    assert empty.status_code == 400
    assert f'id="reply-{correction.id}-error"' in empty.get_data(as_text=True)
    response = post(
        client, answer_path, {"status": "accepted", "reply": "Fixed: the pilot ended in 2023."}
    )
    assert response.status_code == 302
    page = client.get("/cases/URY-0001?lang=en").get_data(as_text=True)
    assert '<span class="badge">Accepted</span>' in page
    assert "Fixed: the pilot ended in 2023." in page
    assert "reader@example.org" not in page
    assert TEXT not in client.get("/corrections").get_data(as_text=True)


def test_non_editors_may_not_see_the_queue_nor_answer(app, client, login_as):
    add_case(app)
    correction = suggest(app)
    assert client.get("/corrections").status_code == 302  # anonymous: to the sign-in page
    login_as("reviewer")
    assert client.get("/corrections").status_code == 403
    token = csrf_token(client)
    response = client.post(
        f"/corrections/{correction.id}",
        data={"csrf_token": token, "status": "accepted", "reply": "Sure"},
    )
    assert response.status_code == 403
    with session_scope(app) as session:
        assert session.get(Correction, correction.id).status == "open"
