"""The case workflow: every transition and permission at the service level, and the views."""

from __future__ import annotations

import pytest
from sqlmodel import select

from cases import workflow
from cases.models import Case, CaseEvent, CaseVersion, Notification
from observatory.db import session_scope
from observatory.models import User
from observatory.security import NotFound, PermissionDenied
from tests.conftest import make_user, post, switch_user
from tests.factories import case_form, valid_case_record


@pytest.fixture
def people(app):
    ids = {
        "submitter": make_user(app, "submitter", institution="Poder Judicial", country="PER").id,
        "other": make_user(app, "submitter", email="other@example.org").id,
        "editor": make_user(app, "editor").id,
        "reviewer": make_user(app, "reviewer").id,
    }
    return ids


def actor(session, people, who) -> User:
    return session.get(User, people[who])


def new_case(session, people, **changes) -> Case:
    return workflow.create_case(
        session, actor=actor(session, people, "submitter"), raw=valid_case_record(**changes)
    )


def test_every_transition_in_the_table_is_reachable_and_ends_in_a_known_state():
    states = {t.source for t in workflow.TRANSITIONS} | {t.target for t in workflow.TRANSITIONS}
    assert states == {
        "draft",
        "submitted",
        "returned",
        "resubmitted",
        "published",
        "update_proposed",
        "rejected",
        "withdrawn",
    }


def test_full_journey_submit_return_resubmit_publish(app, people):
    with session_scope(app) as session:
        case = new_case(session, people)
        ref = case.ref
        assert case.state == "draft" and ref.startswith("PER-")
        sub, ed = actor(session, people, "submitter"), actor(session, people, "editor")
        workflow.transition_case(session, actor=sub, ref=ref, action="submit")
        with pytest.raises(workflow.WorkflowError, match="reason-required"):
            workflow.transition_case(session, actor=ed, ref=ref, action="return")
        workflow.transition_case(
            session, actor=ed, ref=ref, action="return", reason="Falta la fuente oficial del piloto"
        )
        mine = workflow.my_cases(session, actor=sub)
        assert "Falta la fuente oficial del piloto" in [e.reason for e in mine[0].events]
        workflow.transition_case(session, actor=sub, ref=ref, action="resubmit")
        case = workflow.transition_case(session, actor=ed, ref=ref, action="publish")
        assert case.state == "published" and case.published_at is not None
        versions = session.exec(select(CaseVersion).where(CaseVersion.case_id == case.id)).all()
        assert [v.published for v in versions] == [True]
        kinds = set(session.exec(select(Notification.kind)).all())
        assert {"case.submitted", "case.returned", "case.resubmitted", "case.published"} <= kinds


def test_reject_needs_a_reason_and_is_final(app, people):
    with session_scope(app) as session:
        ref = new_case(session, people).ref
        sub, ed = actor(session, people, "submitter"), actor(session, people, "editor")
        workflow.transition_case(session, actor=sub, ref=ref, action="submit")
        workflow.transition_case(session, actor=ed, ref=ref, action="reject", reason="Not AI")
        with pytest.raises(workflow.WorkflowError, match="no-such-transition"):
            workflow.transition_case(session, actor=ed, ref=ref, action="publish")


@pytest.mark.parametrize(
    "who, action",
    [
        ("submitter", "publish"),
        ("reviewer", "submit"),
        ("other", "submit"),
    ],
)
def test_wrong_actor_is_refused_by_the_service(app, people, who, action):
    with session_scope(app) as session:
        ref = new_case(session, people).ref
        if action == "publish":
            workflow.transition_case(
                session, actor=actor(session, people, "submitter"), ref=ref, action="submit"
            )
        with pytest.raises((PermissionDenied, NotFound)):
            workflow.transition_case(
                session, actor=actor(session, people, who), ref=ref, action=action
            )


def test_reviewer_cannot_create_cases(app, people):
    with session_scope(app) as session, pytest.raises(PermissionDenied):
        workflow.create_case(
            session, actor=actor(session, people, "reviewer"), raw=valid_case_record()
        )


def test_submission_needs_a_source_and_conditional_fields(app, people):
    with session_scope(app) as session:
        ref = new_case(session, people, sources=[], developer_type="vendor").ref
        sub = actor(session, people, "submitter")
        with pytest.raises(workflow.CaseValidationError) as caught:
            workflow.transition_case(session, actor=sub, ref=ref, action="submit")
        assert "source-required" in caught.value.errors["sources"]
        assert "vendor-name-required" in caught.value.errors["developer_name"]


@pytest.mark.parametrize(
    "changes, field, code",
    [
        ({"country": "ZZZ"}, "country", "unknown-country"),
        ({"year_started": 1492}, "year_started", "implausible-year"),
        ({"lifecycle_status": "discontinued"}, "year_ended", "end-year-required"),
        ({"year_started": 2020, "year_ended": 2019}, "year_ended", "before-start"),
        ({"documentation_url": "javascript:alert(1)"}, "documentation_url", "bad-url"),
        ({"sources": [{"url": "ftp://x.org/a", "type": "news"}]}, "sources", "bad-url"),
        ({"name": "x" * 301}, "name", "too-long"),
        ({"techniques": ["telepathy"]}, "techniques", "unknown-value"),
    ],
)
def test_validation_codes(changes, field, code):
    with pytest.raises(workflow.CaseValidationError) as caught:
        workflow.validate_record(valid_case_record(**changes), for_submission=True)
    assert code in caught.value.errors[field]


def test_hostile_text_is_kept_verbatim_without_nul():
    data = workflow.validate_record(
        valid_case_record(name="<script>alert(1)</script>\x00"), for_submission=True
    )
    assert data["name"] == "<script>alert(1)</script>"


def test_published_case_update_waits_and_public_keeps_old_version(app, people):
    with session_scope(app) as session:
        ref = new_case(session, people).ref
        sub, ed = actor(session, people, "submitter"), actor(session, people, "editor")
        workflow.transition_case(session, actor=sub, ref=ref, action="submit")
        workflow.transition_case(session, actor=ed, ref=ref, action="publish")
        _data, number = workflow.working_data(
            session, workflow.get_case_for(session, ref=ref, actor=sub)
        )
        workflow.update_case(
            session,
            actor=sub,
            ref=ref,
            raw=valid_case_record(name="Nuevo nombre"),
            base_version=number,
            comment="rename",
        )
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        assert case.state == "update_proposed" and case.name == valid_case_record()["name"]
        workflow.transition_case(session, actor=ed, ref=ref, action="publish")
        session.refresh(case)
        assert case.state == "published" and case.name == "Nuevo nombre"
        assert case.version_number == 2


def test_two_editors_saving_the_same_version_conflict(app, people):
    with session_scope(app) as session:
        ref = new_case(session, people).ref
        ed = actor(session, people, "editor")
        workflow.update_case(
            session, actor=ed, ref=ref, raw=valid_case_record(acronym="A"), base_version=1
        )
        with pytest.raises(workflow.EditConflict) as caught:
            workflow.update_case(
                session, actor=ed, ref=ref, raw=valid_case_record(acronym="B"), base_version=1
            )
        assert caught.value.theirs.data["acronym"] == "A"
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        assert case.acronym == "A"


def test_possible_duplicates(app, people):
    with session_scope(app) as session:
        new_case(session, people)
        found = workflow.possible_duplicates(
            session, data=valid_case_record(name="Sistema de triaje de expedientes v2")
        )
        assert len(found) == 1
        assert (
            workflow.possible_duplicates(session, data=valid_case_record(name="Otro chatbot")) == []
        )


def test_moderation_queue_and_filters_are_for_editors(app, people):
    with session_scope(app) as session:
        ref = new_case(session, people).ref
        sub, ed = actor(session, people, "submitter"), actor(session, people, "editor")
        workflow.transition_case(session, actor=sub, ref=ref, action="submit")
        assert [c.ref for c in workflow.moderation_queue(session, actor=ed)] == [ref]
        assert workflow.moderation_queue(session, actor=ed, countries=["BRA"]) == []
        with pytest.raises(PermissionDenied):
            workflow.moderation_queue(session, actor=sub)


def test_withdraw_removes_from_public_and_is_logged(app, people):
    with session_scope(app) as session:
        ref = new_case(session, people).ref
        sub, ed = actor(session, people, "submitter"), actor(session, people, "editor")
        workflow.transition_case(session, actor=sub, ref=ref, action="submit")
        workflow.transition_case(session, actor=ed, ref=ref, action="publish")
        workflow.transition_case(session, actor=ed, ref=ref, action="withdraw", reason="dup")
        states = [e.to_state for e in session.exec(select(CaseEvent)).all()]
        assert states[-1] == "withdrawn"


# --- views ---------------------------------------------------------------------------------


def test_submitter_drafts_and_editor_returns_with_a_reason_via_views(app, client, login_as):
    make_user(app, "editor", email="editor@example.org")
    login_as("submitter")
    response = post(client, "/cases/new?lang=en", case_form(save="draft"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    ref = response.location.split("/")[2]
    page = client.get(f"/cases/{ref}/edit?lang=en").get_data(as_text=True)
    assert "Draft" in page
    response = post(client, f"/cases/{ref}/edit", case_form(save="submit", base_version="1"))
    assert response.status_code == 302
    assert client.get(f"/cases/{ref}").status_code == 404  # not public yet
    switch_user(client, "editor@example.org")
    queue = client.get("/moderation?lang=en").get_data(as_text=True)
    assert ref in queue
    post(client, f"/cases/{ref}/action", {"action": "return", "reason": "Add the decree"})
    switch_user(client, "submitter@example.org")
    mine = client.get("/cases/mine?lang=en").get_data(as_text=True)
    assert "Add the decree" in mine and "Returned for changes" in mine


def test_new_case_form_shows_errors_in_the_users_language(app, client, login_as):
    login_as("submitter")
    response = post(
        client, "/cases/new?lang=es", case_form(save="submit", name="") | {"sources-0-url": ""}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Este campo es obligatorio." in html


def test_reviewer_cannot_open_the_new_case_form(app, client, login_as):
    login_as("reviewer")
    assert client.get("/cases/new").status_code == 403


def test_refs_keep_counting_past_9999(app):
    from cases.models import Case as CaseRow
    from cases.services import next_ref

    with session_scope(app) as session:
        for ref in ("BRA-9999", "BRA-10000"):
            session.add(
                CaseRow(
                    ref=ref,
                    name=ref,
                    institution="x",
                    country="BRA",
                    level="national",
                    branch="executive",
                    sector="health",
                )
            )
        session.commit()
        assert next_ref(session, "BRA") == "BRA-10001"
        assert next_ref(session, "CHL") == "CHL-0001"


def _urlsplit_says_http(value: str) -> bool:
    """The plain definition is_http_url keeps: urlsplit's scheme and host, no spaces."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and " " not in value


@pytest.mark.parametrize(
    "value",
    [
        "https://example.org/a?b#c",
        "HTTP://EXAMPLE.ORG",
        "http://user:pw@host:8080",
        "http://",
        "http:///path",
        "http://[::1]/",
        "http://[::1",
        "http://a[/",
        "http://a.org\t/x",
        "http://\uff03/x",
        "https://exa mple.org",
        "javascript:alert(1)",
        "ftp://x.org/a",
        "//example.org",
        "",
    ],
)
def test_is_http_url_agrees_with_urlsplit(value):
    assert workflow.is_http_url(value) is _urlsplit_says_http(value)


def test_is_http_url_agrees_with_urlsplit_on_generated_addresses():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from(
        [
            "http",
            "https",
            "HTTPS",
            "ftp",
            ":",
            "//",
            "/",
            "?",
            "#",
            "[",
            "]",
            "@",
            " ",
            "\t",
            "\n",
            "a",
            "b.org",
            "é",
            "\uff03",
            "%20",
            "-",
            "8",
        ]
    )

    @settings(max_examples=400, deadline=None)
    @given(st.lists(pieces, max_size=8).map("".join))
    def agrees(value):
        assert workflow.is_http_url(value) is _urlsplit_says_http(value)

    agrees()
