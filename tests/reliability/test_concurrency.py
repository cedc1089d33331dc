"""Two people acting on one case at the same moment: the second is told, nothing is lost.

Each test runs the real services in real threads through `race`, which holds every thread at
its first write until all of them have read the same state: the database must sort them out.
Runs on SQLite and, with OBSERVATORY_TEST_BACKEND=postgresql, on PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases import workflow
from cases.models import Case, CaseEvent, CaseVersion, Notification
from criteria import services
from criteria.models import Assessment, AssessmentScore, Review, ReviewAnswer
from observatory.db import data_version, get_engine, session_scope
from observatory.models import User
from tests.conftest import csrf_token, login, make_user
from tests.criteria.test_services import (
    assign,
    framework,
    framework_id,
    rubric_answers,
)
from tests.factories import case_form, create_case, valid_case_record
from tests.reliability._race import race

pytestmark = pytest.mark.usefixtures("fast_password_hashing")
NAME = valid_case_record()["name"]


@pytest.fixture
def people(app):
    return {
        "submitter": make_user(
            app, "submitter", institution="Poder Judicial de Ejemplo", country="PER"
        ).id,
        "submitter2": make_user(
            app,
            "submitter",
            email="submitter2@example.org",
            institution="Poder Judicial de Ejemplo",
            country="PER",
        ).id,
        "editor": make_user(app, "editor").id,
        "editor2": make_user(app, "editor", email="editor2@example.org").id,
        "r1": make_user(app, "reviewer", email="r1@example.org", institution="Universidad A").id,
        "r2": make_user(app, "reviewer", email="r2@example.org", institution="Universidad B").id,
    }


def as_(app, people, who, action):
    """A call that runs `action(session, actor)` in its own session, as a request would."""

    def call():
        with session_scope(app) as session:
            try:
                return action(session, session.get(User, people[who]))
            except workflow.EditConflict as conflict:
                if conflict.theirs is not None:  # keep "their" version readable afterwards
                    session.refresh(conflict.theirs)
                    session.expunge(conflict.theirs)
                raise

    return call


def new_case(app, people, state="draft", **changes) -> str:
    """A case by `submitter`, moved to `state` (draft, submitted or published); its ref."""
    with session_scope(app) as session:
        return create_case(
            session,
            submitter=session.get(User, people["submitter"]),
            editor=session.get(User, people["editor"]),
            state=state,
            **changes,
        ).ref


def save(ref, base, **changes):
    def action(session, actor):
        return workflow.update_case(
            session, actor=actor, ref=ref, raw=valid_case_record(**changes), base_version=base
        )

    return action


def move(ref, action_name, reason=""):
    def action(session, actor):
        return workflow.transition_case(
            session, actor=actor, ref=ref, action=action_name, reason=reason
        )

    return action


def case_state(app, ref):
    """The case row, its versions (number → (name, published)) and its events' target states."""
    with session_scope(app) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        versions = {
            v.number: (v.data["name"], v.published)
            for v in session.exec(select(CaseVersion).where(CaseVersion.case_id == case.id))
        }
        events = [
            e.to_state
            for e in session.exec(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        ]
        return case, versions, events


def one_winner(outcomes, loser_error):
    """Exactly one call succeeded; the other raised `loser_error`. Returns (winner, loser)."""
    assert sorted(o.ok for o in outcomes) == [False, True], [o.error for o in outcomes]
    winner = next(i for i, o in enumerate(outcomes) if o.ok)
    loser = 1 - winner
    assert isinstance(outcomes[loser].error, loser_error), repr(outcomes[loser].error)
    return winner, loser


# --- the case workflow ------------------------------------------------------------------------


def test_two_editors_saving_one_draft_at_once(app, people):
    ref = new_case(app, people)
    names = ("Edición de la primera editora", "Edición del segundo editor")
    outcomes, met = race(
        get_engine(app),
        as_(app, people, "editor", save(ref, 1, name=names[0])),
        as_(app, people, "editor2", save(ref, 1, name=names[1])),
    )
    assert met, "both saves should have read version 1 before either wrote"
    winner, loser = one_winner(outcomes, workflow.EditConflict)
    conflict = outcomes[loser].error
    assert conflict.theirs.number == 2 and conflict.theirs.data["name"] == names[winner]
    assert conflict.mine["name"] == names[loser]  # the loser keeps their text to compare
    case, versions, _events = case_state(app, ref)
    assert versions == {1: (NAME, False), 2: (names[winner], False)}
    assert case.name == names[winner] and case.version_number == 2


def test_two_editors_saving_one_published_case_at_once(app, people):
    ref = new_case(app, people, "published")
    outcomes, met = race(
        get_engine(app),
        as_(app, people, "editor", save(ref, 1, name="Actualización A")),
        as_(app, people, "editor2", save(ref, 1, name="Actualización B")),
    )
    assert met
    winner, _loser = one_winner(outcomes, workflow.EditConflict)
    case, versions, events = case_state(app, ref)
    # The public keeps version 1 until an editor publishes the one pending update.
    assert case.state == "update_proposed" and case.name == NAME
    assert versions == {1: (NAME, True), 2: (f"Actualización {'AB'[winner]}", False)}
    assert events.count("update_proposed") == 1


def test_two_editors_publishing_at_once(app, people):
    ref = new_case(app, people, "submitted")
    before = data_version_of(app)
    outcomes, met = race(
        get_engine(app),
        as_(app, people, "editor", move(ref, "publish")),
        as_(app, people, "editor2", move(ref, "publish")),
    )
    assert met
    one_winner(outcomes, workflow.WorkflowError)
    case, versions, events = case_state(app, ref)
    assert case.state == "published" and versions == {1: (NAME, True)}
    assert events == ["draft", "submitted", "published"]
    assert data_version_of(app) == before + 1
    with session_scope(app) as session:
        told = session.exec(
            select(Notification).where(
                Notification.user_id == people["submitter"], Notification.kind == "case.published"
            )
        ).all()
    assert len(told) == 1


def test_publish_and_return_at_once_leave_one_decision(app, people):
    ref = new_case(app, people, "submitted")
    outcomes, met = race(
        get_engine(app),
        as_(app, people, "editor", move(ref, "publish")),
        as_(app, people, "editor2", move(ref, "return", "Falta el decreto")),
    )
    assert met
    winner, _loser = one_winner(outcomes, workflow.WorkflowError)
    case, versions, events = case_state(app, ref)
    expected = ("published", "returned")[winner]
    assert case.state == expected and events == ["draft", "submitted", expected]
    assert versions[1][1] is (expected == "published")


def test_an_edit_and_a_publication_at_once_never_publish_unreviewed_text(app, people):
    ref = new_case(app, people, "submitted")
    outcomes, met = race(
        get_engine(app),
        as_(app, people, "editor", save(ref, 1, name="Texto corregido por la editora")),
        as_(app, people, "editor2", move(ref, "publish")),
    )
    assert met
    case, versions, events = case_state(app, ref)
    assert outcomes[1].ok, outcomes[1].error  # the publication goes through either way
    assert case.state == "published"
    # Whatever the order, the public text is exactly the version marked published.
    public = [number for number, (_name, published) in versions.items() if published]
    assert public == [case.version_number]
    assert case.name == versions[case.version_number][0]
    if outcomes[0].ok:  # the edit came first: it is what was published
        assert case.name == "Texto corregido por la editora" and case.version_number == 2
    else:  # the publication came first: the edit is refused and nothing was written
        assert isinstance(outcomes[0].error, workflow.EditConflict)
        assert versions == {1: (NAME, True)}
    assert events == ["draft", "submitted", "published"]


def test_two_submitters_creating_cases_at_once_get_distinct_refs(app, people):
    def create(session, actor):
        return workflow.create_case(session, actor=actor, raw=valid_case_record()).ref

    outcomes, met = race(
        get_engine(app),
        as_(app, people, "submitter", create),
        as_(app, people, "submitter2", create),
    )
    assert met
    assert [o.error for o in outcomes] == [None, None]
    refs = sorted(o.value for o in outcomes)
    assert refs == ["PER-0001", "PER-0002"]
    for ref in refs:
        _case, versions, events = case_state(app, ref)
        assert list(versions) == [1] and events == ["draft"]


def data_version_of(app) -> int:
    with session_scope(app) as session:
        return data_version(session)


# --- reviews and assessments --------------------------------------------------------------------


@pytest.fixture
def reviewed(app, people):
    """A published case with reviewers r1 and r2 assigned under UNESCO 2021."""
    with session_scope(app) as session:
        services.sync_frameworks(session)
    ref = new_case(app, people, "published")
    with session_scope(app) as session:
        case_id = session.exec(select(Case.id).where(Case.ref == ref)).one()
    fid = framework_id(app)
    people = people | {"editor": people["editor"]}
    return case_id, fid, assign(app, people, case_id, fid)


def submit(assignment_id, answers):
    def action(session, actor):
        return services.submit_review(
            session, actor=actor, assignment_id=assignment_id, answers=answers
        )

    return action


def submitted_both(app, people, reviewed):
    _case_id, _fid, ids = reviewed
    fw = framework(app)
    for who, assignment_id, level in (("r1", ids[0], 1), ("r2", ids[1], 3)):
        as_(app, people, who, submit(assignment_id, rubric_answers(fw, level)))()


def test_two_reviewers_submitting_one_case_at_once(app, people, reviewed):
    _case_id, _fid, ids = reviewed
    fw = framework(app)
    outcomes, met = race(
        get_engine(app),
        as_(app, people, "r1", submit(ids[0], rubric_answers(fw, 1))),
        as_(app, people, "r2", submit(ids[1], rubric_answers(fw, 3))),
    )
    assert met
    assert [o.error for o in outcomes] == [None, None]
    with session_scope(app) as session:
        for assignment_id, level in ((ids[0], 1.0), (ids[1], 3.0)):
            review = session.exec(select(Review).where(Review.assignment_id == assignment_id)).one()
            values = session.exec(
                select(ReviewAnswer.value_number).where(ReviewAnswer.review_id == review.id)
            ).all()
            assert review.status == "submitted"
            assert set(values) == {level} and len(values) == len(fw.items)


def test_one_reviewer_submitting_from_two_windows_at_once(app, people, reviewed):
    _case_id, _fid, ids = reviewed
    fw = framework(app)
    outcomes, met = race(
        get_engine(app),
        as_(app, people, "r1", submit(ids[0], rubric_answers(fw, 1))),
        as_(app, people, "r1", submit(ids[0], rubric_answers(fw, 4))),
    )
    winner, _loser = one_winner(outcomes, services.ReviewError)
    with session_scope(app) as session:
        reviews = session.exec(select(Review).where(Review.assignment_id == ids[0])).all()
        values = set(session.exec(select(ReviewAnswer.value_number)).all())
    assert [r.status for r in reviews] == ["submitted"]
    assert values == {(1.0, 4.0)[winner]}


def consolidate(case_id, fid):
    def action(session, actor):
        return services.consolidate(
            session, actor=actor, case_id=case_id, framework_id=fid, lang="es"
        )

    return action


def publish(case_id, fid):
    def action(session, actor):
        return services.publish_assessment(session, actor=actor, case_id=case_id, framework_id=fid)

    return action


def assessment_rows(app, case_id):
    with session_scope(app) as session:
        assessments = session.exec(select(Assessment).where(Assessment.case_id == case_id)).all()
        scores = session.exec(select(sa.func.count()).select_from(AssessmentScore)).one()
        return assessments, scores


def test_two_editors_consolidating_at_once_make_one_draft(app, people, reviewed):
    case_id, fid, _ids = reviewed
    submitted_both(app, people, reviewed)
    outcomes, _met = race(
        get_engine(app),
        as_(app, people, "editor", consolidate(case_id, fid)),
        as_(app, people, "editor2", consolidate(case_id, fid)),
    )
    for outcome in outcomes:  # a redraft from the same reviews, or told it changed meanwhile
        assert outcome.ok or getattr(outcome.error, "code", "") == "assessment-changed"
    assert any(o.ok for o in outcomes)
    assessments, scores = assessment_rows(app, case_id)
    assert [a.status for a in assessments] == ["draft"] and scores == 0


def test_two_editors_publishing_an_assessment_at_once(app, people, reviewed):
    case_id, fid, _ids = reviewed
    submitted_both(app, people, reviewed)
    as_(app, people, "editor", consolidate(case_id, fid))()
    before = data_version_of(app)
    outcomes, met = race(
        get_engine(app),
        as_(app, people, "editor", publish(case_id, fid)),
        as_(app, people, "editor2", publish(case_id, fid)),
    )
    assert met
    _winner, loser = one_winner(outcomes, services.ReviewError)
    assert outcomes[loser].error.code == "already-published"
    assessments, scores = assessment_rows(app, case_id)
    assert [a.status for a in assessments] == ["published"]
    assert scores == len(framework(app).items)
    assert data_version_of(app) == before + 1
    with session_scope(app) as session:
        told = session.exec(
            select(Notification).where(Notification.kind == "assessment.published")
        ).all()
    assert sorted(n.user_id for n in told) == sorted(
        [people["r1"], people["r2"], people["submitter"]]
    )


def test_a_redraft_and_a_publication_at_once_never_unpublish(app, people, reviewed):
    case_id, fid, _ids = reviewed
    submitted_both(app, people, reviewed)
    as_(app, people, "editor", consolidate(case_id, fid))()
    outcomes, met = race(
        get_engine(app),
        as_(app, people, "editor", consolidate(case_id, fid)),
        as_(app, people, "editor2", publish(case_id, fid)),
    )
    assert met
    assert outcomes[1].ok, outcomes[1].error
    if not outcomes[0].ok:
        assert outcomes[0].error.code in ("already-published", "assessment-changed")
    assessments, scores = assessment_rows(app, case_id)
    assert [a.status for a in assessments] == ["published"]
    assert scores == len(framework(app).items)


# --- two browsers against the views -------------------------------------------------------------


def test_two_editors_saving_through_the_form_at_once(app, people):
    """Both loaded version 1 in their browser and press Save together: one 302, one 409 page
    in the loser's language with both versions, and their text still in the form."""
    ref = new_case(app, people)
    clients = []
    for email, lang in (("editor@example.org", "en"), ("editor2@example.org", "pt")):
        client = app.test_client()
        assert login(client, email).status_code == 302
        page = client.get(f"/cases/{ref}/edit?lang={lang}").get_data(as_text=True)
        assert 'name="base_version"' in page
        clients.append((client, csrf_token(client, f"/cases/{ref}/edit"), lang))
    names = ("Nombre desde el navegador A", "Nombre desde el navegador B")

    def save_via(index):
        client, token, lang = clients[index]

        def call():
            form = case_form(name=names[index], base_version="1", save="draft")
            return client.post(f"/cases/{ref}/edit?lang={lang}", data=form | {"csrf_token": token})

        return call

    outcomes, met = race(get_engine(app), save_via(0), save_via(1))
    assert met
    statuses = [o.value.status_code for o in outcomes]
    assert sorted(statuses) == [302, 409], statuses
    loser = statuses.index(409)
    html = outcomes[loser].value.get_data(as_text=True)
    assert names[loser] in html and names[1 - loser] in html
    expected = {
        "en": "Someone else saved this case while you were editing",
        "pt": 'name="base_version"',  # the page is the form again, with version 2 as its base
    }[clients[loser][2]]
    assert expected in html
    _case, versions, _events = case_state(app, ref)
    assert versions == {1: (NAME, False), 2: (names[1 - loser], False)}


def test_threads_without_the_gate_also_agree(app, people):
    """A plain barrier (no forced interleaving) on ten concurrent saves: one new version."""
    ref = new_case(app, people)
    barrier = threading.Barrier(10)
    results: list[str] = []

    def run(index):
        barrier.wait(timeout=20)
        try:
            as_(app, people, ("editor", "editor2")[index % 2], save(ref, 1, name=f"N{index}"))()
            results.append("saved")
        except workflow.EditConflict:
            results.append("conflict")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["conflict"] * 9 + ["saved"]
    _case, versions, _events = case_state(app, ref)
    assert sorted(versions) == [1, 2]
