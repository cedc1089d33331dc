"""Criteria and review use cases: frameworks, regulations, assignment and conflict rules,
blind reviews, amendments, agreement, consolidation, publication; every permission rule."""

from __future__ import annotations

import shutil
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from cases import workflow
from cases.models import Case, Notification
from criteria import services
from criteria.agreement import krippendorff_alpha
from criteria.models import (
    Assessment,
    AssessmentScore,
    FrameworkVersion,
    RegulatoryInstrument,
    Review,
    ReviewAnswer,
    ReviewAssignment,
)
from criteria.schema import FrameworkFileError, PublishedVersionEditedError, load_framework_file
from criteria.services import AnswerIn, FieldErrors, ReviewError
from observatory.bootstrap import initialise
from observatory.db import data_version, session_scope
from observatory.models import User
from observatory.security import NotFound, PermissionDenied
from tests.conftest import make_user
from tests.factories import create_case

FRAMEWORKS = Path(__file__).resolve().parents[2] / "criteria" / "frameworks"
TOMORROW = date.today() + timedelta(days=1)
NEXT_WEEK = date.today() + timedelta(days=7)

# These tests create many accounts; scrypt (tested elsewhere) would dominate their time.
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


# --------------------------------------------------------------------------------------------
# Helpers and fixtures (also used by the view tests)
# --------------------------------------------------------------------------------------------


def user(session, people, who) -> User:
    return session.get(User, people[who])


def publish_case(app, people, **changes) -> tuple[int, str]:
    """A published case submitted by `people["submitter"]`; returns (id, ref)."""
    with session_scope(app) as session:
        case = create_case(
            session,
            submitter=user(session, people, "submitter"),
            editor=user(session, people, "editor"),
            state="published",
            **changes,
        )
        return case.id, case.ref


def framework_id(app, key: str = "unesco-2021", version: str = "1.0") -> int:
    with session_scope(app) as session:
        return services.get_framework_version(session, key, version).id


def framework(app, key: str = "unesco-2021"):
    with session_scope(app) as session:
        return services.framework_of(services.get_framework_version(session, key, "1.0"))


def rubric_answers(fw, level=3, **overrides) -> dict[str, AnswerIn]:
    """Every rubric item at `level` (justified), with per-item overrides (AnswerIn or level)."""
    answers = {}
    for item in fw.items:
        value = overrides.get(item.key, level)
        if isinstance(value, AnswerIn):
            answers[item.key] = value
        else:
            answers[item.key] = AnswerIn(value=value, justification="Documented on the site.")
    return answers


def generic_answers(fw) -> dict[str, AnswerIn]:
    """A complete, valid set of answers for any framework (every kind of criterion)."""
    answers = {}
    for item in fw.items:
        if item.kind == "rubric":
            answers[item.key] = AnswerIn(value=2)
        elif item.kind == "choice" and item.select == "multi":
            answers[item.key] = AnswerIn(value=[item.options[0].key])
        elif item.kind == "choice":
            answers[item.key] = AnswerIn(value=item.options[0].key)
        elif item.kind == "gate":
            answers[item.key] = AnswerIn(value="yes" if item.key == "ai_system" else "no")
        else:
            answers[item.key] = AnswerIn(value="yes")
    return answers


def assign(app, people, case_id, fid, reviewers=("r1", "r2"), who="editor", due=NEXT_WEEK):
    with session_scope(app) as session:
        return [
            a.id
            for a in services.assign_reviewers(
                session,
                actor=user(session, people, who),
                case_id=case_id,
                framework_id=fid,
                reviewer_ids=[people[r] for r in reviewers],
                due_date=due,
            )
        ]


def submit(app, people, who, assignment_id, answers):
    with session_scope(app) as session:
        return services.submit_review(
            session, actor=user(session, people, who), assignment_id=assignment_id, answers=answers
        )


@pytest.fixture
def people(app):
    return {
        "submitter": make_user(
            app, "submitter", institution="Poder Judicial de Ejemplo", country="PER"
        ).id,
        "editor": make_user(app, "editor").id,
        "editor2": make_user(app, "editor", email="editor2@example.org").id,
        "admin": make_user(app, "admin").id,
        "r1": make_user(app, "reviewer", email="r1@example.org", institution="Universidad A").id,
        "r2": make_user(app, "reviewer", email="r2@example.org", institution="Universidad B").id,
        "r3": make_user(app, "reviewer", email="r3@example.org", institution="Universidad C").id,
    }


@pytest.fixture
def loaded(app):
    with session_scope(app) as session:
        services.sync_frameworks(session)


@pytest.fixture
def case(app, people, loaded):
    return publish_case(app, people)


@pytest.fixture
def reviewed(app, people, case):
    """A case with two reviewers assigned under UNESCO; returns (case id, framework id, ids)."""
    fid = framework_id(app)
    ids = assign(app, people, case[0], fid)
    return case[0], fid, ids


# --------------------------------------------------------------------------------------------
# Frameworks
# --------------------------------------------------------------------------------------------


def test_sync_frameworks_loads_every_file_once(app):
    with session_scope(app) as session:
        first = services.sync_frameworks(session)
        second = services.sync_frameworks(session)
        rows = session.exec(select(FrameworkVersion)).all()
    assert first[0] == "Frameworks: 5 added, 0 unchanged."
    assert second[0] == "Frameworks: 0 added, 5 unchanged."
    assert {f"{r.key}@{r.version}" for r in rows} >= {"unesco-2021@1.0", "eu-ai-act-2024@1.0"}
    for row in rows:
        shipped = load_framework_file(FRAMEWORKS / f"{row.key}@{row.version}.yaml")
        assert row.content_hash == shipped.content_hash
        # The stored document re-validates to the very same content.
        assert services.framework_of(row).content_hash == shipped.content_hash
        assert row.method == shipped.scoring.method and row.title["pt"]


def _copy_unesco(tmp_path: Path) -> Path:
    directory = tmp_path / "frameworks"
    directory.mkdir()
    shutil.copy(FRAMEWORKS / "unesco-2021@1.0.yaml", directory)
    return directory / "unesco-2021@1.0.yaml"


def test_sync_frameworks_refuses_a_published_version_edited_in_place(app, tmp_path):
    path = _copy_unesco(tmp_path)
    with session_scope(app) as session:
        services.sync_frameworks(session, path.parent)
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("No testing or security controls known.", "None."))
        with pytest.raises(PublishedVersionEditedError) as raised:
            services.sync_frameworks(session, path.parent)
        row = services.get_framework_version(session, "unesco-2021", "1.0")
        assert row.content_hash == load_framework_file(FRAMEWORKS / path.name).content_hash
    message = str(raised.value)
    assert "unesco-2021@1.0.yaml" in message and "new version" in message


def test_sync_frameworks_records_a_status_change_without_a_new_version(app, tmp_path):
    path = _copy_unesco(tmp_path)
    with session_scope(app) as session:
        services.sync_frameworks(session, path.parent)
        path.write_text(path.read_text().replace("status: published", "status: retired"))
        lines = services.sync_frameworks(session, path.parent)
        row = services.get_framework_version(session, "unesco-2021", "1.0")
        assert row.status == "retired"
        assert services.open_frameworks(session) == []
    assert "status changed: unesco-2021@1.0 (published -> retired)" in lines[-1]


def test_sync_frameworks_names_the_file_and_path_of_an_invalid_file(app, tmp_path):
    path = _copy_unesco(tmp_path)
    path.write_text(path.read_text().replace("method: weighted_mean", "method: weighted_sum"))
    with session_scope(app) as session, pytest.raises(FrameworkFileError) as raised:
        services.sync_frameworks(session, path.parent)
    assert "unesco-2021@1.0.yaml" in str(raised.value) and "scoring" in str(raised.value)


def test_observatory_init_loads_frameworks_and_regulations_idempotently(app):
    first = initialise(app)
    second = initialise(app)
    assert "Frameworks: 5 added, 0 unchanged." in first
    assert any(line.startswith("Regulatory instruments: 113 added") for line in first)
    assert "Frameworks: 0 added, 5 unchanged." in second
    assert "Regulatory instruments: 0 added, 113 already loaded." in second


def test_draft_framework_versions_are_hidden_from_the_public(app, loaded):
    with session_scope(app) as session:
        row = services.get_framework_version(session, "unesco-2021", "1.0")
        row.status = "draft"
        session.add(row)
        session.commit()
        with pytest.raises(NotFound):
            services.get_framework_version(session, "unesco-2021", "1.0")
        editor = make_user(app, "editor", email="e@example.org")
        assert services.get_framework_version(session, "unesco-2021", "1.0", actor=editor)
        assert "unesco-2021" not in {r.key for r in services.list_frameworks(session)}


# --------------------------------------------------------------------------------------------
# Regulatory instruments
# --------------------------------------------------------------------------------------------

INSTRUMENT = {
    "country": "CHL",
    "title": "Política Nacional de Inteligencia Artificial",
    "type": "strategy",
    "status": "in_force",
    "date": "2021-10",
    "url": "https://www.minciencia.gob.cl/",
    "confidence": "high",
}


def test_load_regulations_is_idempotent_and_keeps_editors_changes(app, people):
    with session_scope(app) as session:
        assert services.load_regulations(session) == [
            "Regulatory instruments: 113 added, 0 already loaded."
        ]
        first = session.exec(
            select(RegulatoryInstrument).where(RegulatoryInstrument.source_key == "REG-001")
        ).one()
        assert first.country == "LAC" and first.title.startswith("Declaración de Santiago")
        raw = {
            name: getattr(first, name)
            for name in ("country", "title", "title_en", "type", "issuing_body", "date")
        } | {"status": "superseded", "url": first.url, "confidence": first.confidence}
        services.update_instrument(
            session, actor=user(session, people, "editor"), instrument_id=first.id, raw=raw
        )
        again = services.load_regulations(session)
        total = session.exec(select(func.count(RegulatoryInstrument.id))).one()
        assert session.get(RegulatoryInstrument, first.id).status == "superseded"
    assert again == ["Regulatory instruments: 0 added, 113 already loaded."]
    assert total == 113


@pytest.mark.parametrize(
    "changes, field, code",
    [
        ({"country": "XXX"}, "country", "unknown-country"),
        ({"title": "  "}, "title", "required"),
        ({"type": "tweet"}, "type", "unknown-value"),
        ({"status": ""}, "status", "required"),
        ({"date": "2021-13"}, "date", "bad-date"),
        ({"date": "21/10/2021"}, "date", "bad-date"),
        ({"url": "javascript:alert(1)"}, "url", "bad-url"),
        ({"title": "x" * 601}, "title", "too-long"),
    ],
)
def test_validate_instrument_codes(changes, field, code):
    with pytest.raises(FieldErrors) as raised:
        services.validate_instrument(INSTRUMENT | changes)
    assert code in raised.value.errors[field]


def test_validate_instrument_accepts_regional_rows_and_partial_dates():
    data = services.validate_instrument(INSTRUMENT | {"country": "lac", "date": "2024"})
    assert data["country"] == "LAC" and data["date"] == "2024"


def test_only_editors_add_or_change_instruments_and_nothing_is_deleted(app, people):
    with session_scope(app) as session:
        for who in ("r1", "submitter"):
            with pytest.raises(PermissionDenied):
                services.create_instrument(
                    session, actor=user(session, people, who), raw=INSTRUMENT
                )
        editor = user(session, people, "editor")
        instrument = services.create_instrument(session, actor=editor, raw=INSTRUMENT)
        assert instrument.updated_by_id == editor.id
        with pytest.raises(PermissionDenied):
            services.update_instrument(
                session,
                actor=user(session, people, "r1"),
                instrument_id=instrument.id,
                raw=INSTRUMENT,
            )
        services.update_instrument(
            session,
            actor=editor,
            instrument_id=instrument.id,
            raw=INSTRUMENT | {"status": "archived"},
        )
        public = services.instruments_by_country(session)
        for_editor = services.instruments_by_country(session, actor=editor)
        assert "CHL" not in public and for_editor["CHL"][0].id == instrument.id
        assert services.instruments_for_country(session, "chl") == []
        assert not hasattr(services, "delete_instrument")


# --------------------------------------------------------------------------------------------
# Assignment and conflicts of interest
# --------------------------------------------------------------------------------------------


def test_editor_assigns_two_reviewers_who_are_notified(app, people, case):
    fid = framework_id(app)
    ids = assign(app, people, case[0], fid)
    with session_scope(app) as session:
        rows = [session.get(ReviewAssignment, i) for i in ids]
        notes = session.exec(
            select(Notification).where(Notification.kind == "review.assigned")
        ).all()
    assert {r.reviewer_id for r in rows} == {people["r1"], people["r2"]}
    assert all(r.status == "assigned" and r.due_date == NEXT_WEEK for r in rows)
    assert {n.user_id for n in notes} == {people["r1"], people["r2"]}
    assert notes[0].params["ref"] == case[1] and notes[0].params["framework"] == "unesco-2021@1.0"


@pytest.mark.parametrize("who", ["r1", "submitter"])
def test_only_editors_assign_reviewers(app, people, case, who):
    with session_scope(app) as session, pytest.raises(PermissionDenied):
        services.assign_reviewers(
            session,
            actor=user(session, people, who),
            case_id=case[0],
            framework_id=framework_id(app),
            reviewer_ids=[people["r2"], people["r3"]],
            due_date=NEXT_WEEK,
        )


def test_conflict_submitter_is_refused(app, people, case):
    # The case's submitter later became a reviewer: they may not review their own case.
    with session_scope(app) as session:
        submitter = user(session, people, "submitter")
        submitter.role, submitter.institution = "reviewer", "Otra institución"
        session.add(submitter)
        session.commit()
    with pytest.raises(services.ConflictOfInterest) as raised:
        assign(app, people, case[0], framework_id(app), reviewers=("r1", "submitter"))
    assert raised.value.reasons == ["submitter"]


def test_conflict_same_institution_compares_folded_names(app, people, case):
    with session_scope(app) as session:
        r3 = user(session, people, "r3")
        r3.institution = "  PODER JUDICIAL DE ÉJEMPLO "
        session.add(r3)
        session.commit()
    with pytest.raises(services.ConflictOfInterest) as raised:
        assign(app, people, case[0], framework_id(app), reviewers=("r1", "r3"))
    assert raised.value.reasons == ["same-institution"] and raised.value.reviewer_id == people["r3"]


def test_conflict_with_the_submitters_institution_is_refused(app, people, loaded):
    case_id, _ref = publish_case(app, people, institution="Ministerio Público")
    with session_scope(app) as session:
        r3 = user(session, people, "r3")
        r3.institution = "Poder judicial de ejemplo"  # the submitter's employer
        session.add(r3)
        session.commit()
    with pytest.raises(services.ConflictOfInterest):
        assign(app, people, case_id, framework_id(app), reviewers=("r1", "r3"))


@pytest.mark.parametrize("target", ["case", "institution"])
def test_conflict_declared_by_the_reviewer_is_refused(app, people, case, target):
    with session_scope(app) as session:
        services.declare_conflict(
            session,
            actor=user(session, people, "r2"),
            case_ref=case[1] if target == "case" else "",
            institution="poder judicial de ejemplo" if target == "institution" else "",
            note="Trabajé allí hasta 2023",
        )
    with pytest.raises(services.ConflictOfInterest) as raised:
        assign(app, people, case[0], framework_id(app))
    assert raised.value.reasons == ["declared"]


def test_conflict_self_assignment_is_refused(app, people, case):
    # Admins hold every role, so an admin could otherwise assign themselves.
    with pytest.raises(services.ConflictOfInterest) as raised:
        assign(app, people, case[0], framework_id(app), reviewers=("r1", "admin"), who="admin")
    assert raised.value.reasons == ["self"]


def test_a_refused_assignment_writes_nothing(app, people, case):
    with session_scope(app) as session:
        services.declare_conflict(session, actor=user(session, people, "r2"), case_ref=case[1])
    with pytest.raises(services.ConflictOfInterest):
        assign(app, people, case[0], framework_id(app), reviewers=("r1", "r3", "r2"))
    with session_scope(app) as session:
        assert session.exec(select(func.count(ReviewAssignment.id))).one() == 0


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"reviewers": ("r1",)}, "too-few-reviewers"),
        ({"reviewers": ()}, "no-reviewers"),
        ({"due": date.today() - timedelta(days=1)}, "due-date-past"),
        ({"due": None}, "due-date-required"),
        ({"reviewers": ("r1", "editor2")}, "not-a-reviewer"),
    ],
)
def test_assignment_rules(app, people, case, kwargs, code):
    with pytest.raises(ReviewError) as raised:
        assign(app, people, case[0], framework_id(app), **kwargs)
    assert raised.value.code == code


def test_assignment_needs_a_published_case_and_an_open_framework(app, people, loaded):
    with session_scope(app) as session:
        draft = create_case(session, submitter=user(session, people, "submitter"))
        fid = framework_id(app)
        with pytest.raises(ReviewError, match="case-not-public"):
            services.assign_reviewers(
                session,
                actor=user(session, people, "editor"),
                case_id=draft.id,
                framework_id=fid,
                reviewer_ids=[people["r1"], people["r2"]],
                due_date=NEXT_WEEK,
            )
    case_id, _ref = publish_case(app, people, name="Otro sistema de turnos")
    with session_scope(app) as session:
        row = session.get(FrameworkVersion, fid)
        row.status = "retired"
        session.add(row)
        session.commit()
    with pytest.raises(ReviewError, match="framework-not-open"):
        assign(app, people, case_id, fid)


def test_a_reviewer_is_assigned_once_and_a_third_may_join(app, people, reviewed):
    case_id, fid, _ids = reviewed
    with pytest.raises(ReviewError, match="already-assigned"):
        assign(app, people, case_id, fid, reviewers=("r1",))
    assert len(assign(app, people, case_id, fid, reviewers=("r3",))) == 1


def test_reviewer_options_show_conflicts_to_the_editor(app, people, case):
    with session_scope(app) as session:
        services.declare_conflict(session, actor=user(session, people, "r2"), case_ref=case[1])
        options = services.reviewer_options(
            session, actor=user(session, people, "editor"), case_id=case[0]
        )
        with pytest.raises(PermissionDenied):
            services.reviewer_options(session, actor=user(session, people, "r1"), case_id=case[0])
    by_id = {option.user.id: option for option in options}
    assert by_id[people["r1"]].eligible and by_id[people["r2"]].reasons == ("declared",)
    assert people["admin"] not in by_id  # only reviewer accounts are offered


def test_declaring_a_conflict_withdraws_open_assignments_it_covers(app, people, reviewed):
    case_id, fid, ids = reviewed
    with session_scope(app) as session:
        conflict = services.declare_conflict(
            session, actor=user(session, people, "r1"), institution="Poder Judicial de Ejemplo"
        )
        assert conflict.institution == "Poder Judicial de Ejemplo"
        statuses = {a.reviewer_id: a.status for a in session.exec(select(ReviewAssignment))}
        told = session.exec(
            select(Notification.user_id).where(Notification.kind == "review.conflict_declared")
        ).all()
        with pytest.raises(FieldErrors):
            services.declare_conflict(session, actor=user(session, people, "r1"))
        with pytest.raises(FieldErrors) as raised:
            services.declare_conflict(session, actor=user(session, people, "r1"), case_ref="X-1")
        assert raised.value.errors == {"case_ref": ["unknown-case"]}
        with pytest.raises(PermissionDenied):
            services.declare_conflict(
                session, actor=user(session, people, "submitter"), institution="A"
            )
    assert statuses == {people["r1"]: "withdrawn", people["r2"]: "assigned"}
    assert people["editor"] in told
    # A withdrawn reviewer cannot open the review any more.
    with session_scope(app) as session, pytest.raises(ReviewError, match="assignment-withdrawn"):
        services.open_review(session, actor=user(session, people, "r1"), assignment_id=ids[0])


def test_editor_withdraws_a_reviewer_who_has_not_submitted(app, people, reviewed):
    case_id, fid, ids = reviewed
    fw = framework(app)
    submit(app, people, "r1", ids[0], rubric_answers(fw))
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        with pytest.raises(PermissionDenied):
            services.withdraw_assignment(
                session, actor=user(session, people, "r2"), assignment_id=ids[1]
            )
        with pytest.raises(ReviewError, match="already-submitted"):
            services.withdraw_assignment(session, actor=editor, assignment_id=ids[0])
        assert services.withdraw_assignment(session, actor=editor, assignment_id=ids[1]).status == (
            "withdrawn"
        )
    # Assigning the same reviewer again reopens the assignment.
    assert assign(app, people, case_id, fid, reviewers=("r2",)) == [ids[1]]


# --------------------------------------------------------------------------------------------
# Reviews: queue, drafts, submission, immutability, blindness, amendments
# --------------------------------------------------------------------------------------------


def test_reviewer_queue_lists_only_the_reviewers_assignments(app, people, reviewed):
    case_id, fid, ids = reviewed
    with session_scope(app) as session:
        queue = services.reviewer_queue(session, actor=user(session, people, "r1"))
        assert services.reviewer_queue(session, actor=user(session, people, "r3")) == []
        late = services.reviewer_queue(
            session, actor=user(session, people, "r1"), today=NEXT_WEEK + timedelta(days=1)
        )
        with pytest.raises(PermissionDenied):
            services.reviewer_queue(session, actor=user(session, people, "submitter"))
    assert [item.assignment.id for item in queue] == [ids[0]]
    assert queue[0].review_status == "not_started" and not queue[0].overdue
    assert late[0].overdue


def test_nobody_else_opens_a_reviewers_assignment(app, people, reviewed):
    _case_id, _fid, ids = reviewed
    with session_scope(app) as session:
        for who in ("r2", "r3", "editor"):
            with pytest.raises(NotFound):
                services.open_review(
                    session, actor=user(session, people, who), assignment_id=ids[0]
                )
            with pytest.raises(NotFound):
                services.save_review(
                    session, actor=user(session, people, who), assignment_id=ids[0], answers={}
                )


def test_draft_accepts_partial_answers_but_not_invalid_ones(app, people, reviewed):
    _case_id, _fid, ids = reviewed
    fw = framework(app)
    first, second = fw.items[0].key, fw.items[1].key
    with session_scope(app) as session:
        r1 = user(session, people, "r1")
        services.save_review(
            session, actor=r1, assignment_id=ids[0], answers={first: AnswerIn(value=2)}
        )
        state = services.open_review(session, actor=r1, assignment_id=ids[0])
        assert state.review.status == "draft" and state.answers[first].value == 2
        with pytest.raises(FieldErrors) as raised:
            services.save_review(
                session,
                actor=r1,
                assignment_id=ids[0],
                answers={
                    first: AnswerIn(value=7),
                    # This UNESCO criterion allows only "insufficient information".
                    second: AnswerIn(special="not_applicable"),
                    "nonsense": AnswerIn(value=1),
                },
            )
        assert raised.value.errors == {
            first: ["invalid-value"],
            second: ["special-not-allowed"],
            "nonsense": ["unknown-item"],
        }
        with pytest.raises(FieldErrors) as raised:
            services.save_review(
                session,
                actor=r1,
                assignment_id=ids[0],
                answers={first: AnswerIn(value=1, evidence_url="ftp://example.org/x")},
            )
        assert raised.value.errors == {first: ["bad-url"]}
        # The draft is unchanged by the refused saves.
        state = services.open_review(session, actor=r1, assignment_id=ids[0])
        assert state.answers[first].value == 2 and state.review.revision == 1


def test_submission_needs_every_answer_and_a_justification_for_extremes(app, people, reviewed):
    _case_id, _fid, ids = reviewed
    fw = framework(app)
    keys = [item.key for item in fw.items]
    incomplete = rubric_answers(fw)
    del incomplete[keys[0]]
    incomplete[keys[1]] = AnswerIn(value=0)
    incomplete[keys[2]] = AnswerIn(value=4, justification="  ")
    with session_scope(app) as session, pytest.raises(FieldErrors) as raised:
        services.submit_review(
            session, actor=user(session, people, "r1"), assignment_id=ids[0], answers=incomplete
        )
    assert raised.value.errors == {
        keys[0]: ["answer-required"],
        keys[1]: ["justification-required"],
        keys[2]: ["justification-required"],
    }
    # Special answers need no justification; middle levels neither.
    fine = rubric_answers(fw, level=2) | {keys[0]: AnswerIn(special="insufficient_information")}
    review = submit(app, people, "r1", ids[0], fine)
    assert review.status == "submitted" and review.submitted_at is not None


def test_a_submitted_review_is_immutable(app, people, reviewed):
    _case_id, _fid, ids = reviewed
    fw = framework(app)
    submit(app, people, "r1", ids[0], rubric_answers(fw))
    with session_scope(app) as session:
        r1 = user(session, people, "r1")
        with pytest.raises(ReviewError, match="review-submitted"):
            services.save_review(
                session, actor=r1, assignment_id=ids[0], answers=rubric_answers(fw, 1)
            )
        with pytest.raises(ReviewError, match="review-submitted"):
            services.submit_review(
                session, actor=r1, assignment_id=ids[0], answers=rubric_answers(fw, 1)
            )
        values = session.exec(select(ReviewAnswer.value_number)).all()
        assignment = session.get(ReviewAssignment, ids[0])
    assert set(values) == {3.0} and assignment.status == "submitted"


def test_reviews_are_blind_until_the_reviewer_submits(app, people, reviewed):
    case_id, fid, ids = reviewed
    fw = framework(app)
    submit(app, people, "r1", ids[0], rubric_answers(fw, 3))
    with session_scope(app) as session:
        r2 = user(session, people, "r2")
        services.save_review(session, actor=r2, assignment_id=ids[1], answers=rubric_answers(fw, 1))
        # r2 has not submitted: only their own draft, never r1's scores.
        visible = services.reviews_visible_to(session, actor=r2, case_id=case_id, framework_id=fid)
        assert [(v.reviewer_id, v.is_own, v.status) for v in visible] == [
            (people["r2"], True, "draft")
        ]
        assert services.open_review(session, actor=r2, assignment_id=ids[1]).others == []
        with pytest.raises(PermissionDenied):
            services.case_agreement(session, actor=r2, case_id=case_id, framework_id=fid)
        # r1 has submitted but sees no draft of r2.
        r1_state = services.open_review(
            session, actor=user(session, people, "r1"), assignment_id=ids[0]
        )
        assert r1_state.others == [] and r1_state.has_submitted
    submit(app, people, "r2", ids[1], rubric_answers(fw, 1))
    with session_scope(app) as session:
        others = services.open_review(
            session, actor=user(session, people, "r1"), assignment_id=ids[0]
        ).others
        assert [(o.reviewer_number, o.reviewer_name) for o in others] == [(2, None)]
        assert {a.value for a in others[0].answers.values()} == {1}


@pytest.mark.parametrize("who", [None, "submitter", "r3", "editor2_as_reviewer"])
def test_reviews_never_leak_to_the_public_or_other_accounts(app, people, reviewed, who):
    case_id, fid, ids = reviewed
    submit(app, people, "r1", ids[0], rubric_answers(framework(app)))
    with session_scope(app) as session:
        actor = None
        if who == "editor2_as_reviewer":
            actor = user(session, people, "r3")
            actor.role = "submitter"
        elif who:
            actor = user(session, people, who)
        with pytest.raises(PermissionDenied):
            services.reviews_visible_to(session, actor=actor, case_id=case_id, framework_id=fid)


def test_editors_see_submitted_reviews_by_name_but_never_drafts(app, people, reviewed):
    case_id, fid, ids = reviewed
    fw = framework(app)
    submit(app, people, "r1", ids[0], rubric_answers(fw, 3))
    with session_scope(app) as session:
        services.save_review(
            session,
            actor=user(session, people, "r2"),
            assignment_id=ids[1],
            answers=rubric_answers(fw, 0),
        )
        visible = services.reviews_visible_to(
            session, actor=user(session, people, "editor"), case_id=case_id, framework_id=fid
        )
    assert [(v.reviewer_id, v.reviewer_name, v.status) for v in visible] == [
        (people["r1"], "Test reviewer", "submitted")
    ]


def test_amendment_needs_a_reason_and_makes_a_new_revision(app, people, reviewed):
    case_id, fid, ids = reviewed
    fw = framework(app)
    key = fw.items[0].key
    with session_scope(app) as session, pytest.raises(ReviewError, match="not-submitted"):
        services.amend_review(
            session, actor=user(session, people, "r1"), assignment_id=ids[0], reason="typo"
        )
    submit(app, people, "r1", ids[0], rubric_answers(fw, 3))
    submit(app, people, "r2", ids[1], rubric_answers(fw, 3))
    with session_scope(app) as session:
        r1 = user(session, people, "r1")
        with pytest.raises(ReviewError, match="reason-required"):
            services.amend_review(session, actor=r1, assignment_id=ids[0], reason="   ")
        with pytest.raises(NotFound):
            services.amend_review(
                session, actor=user(session, people, "editor"), assignment_id=ids[0], reason="x"
            )
        amendment = services.amend_review(
            session, actor=r1, assignment_id=ids[0], reason="Found the published DPIA"
        )
        assert amendment.revision == 2 and amendment.status == "draft"
        with pytest.raises(ReviewError, match="amendment-in-progress"):
            services.amend_review(session, actor=r1, assignment_id=ids[0], reason="again")
        # The amendment starts from the submitted answers; the other reviewer still sees rev. 1.
        state = services.open_review(session, actor=r1, assignment_id=ids[0])
        assert state.answers[key].value == 3 and not state.submitted and state.has_submitted
        seen_by_r2 = services.open_review(
            session, actor=user(session, people, "r2"), assignment_id=ids[1]
        ).others
        assert seen_by_r2[0].revision == 1
    submit(
        app,
        people,
        "r1",
        ids[0],
        rubric_answers(fw, 3) | {key: AnswerIn(value=4, justification="DPIA published")},
    )
    with session_scope(app) as session:
        revisions = session.exec(
            select(Review).where(Review.assignment_id == ids[0]).order_by(Review.revision)
        ).all()
        first = session.exec(
            select(ReviewAnswer).where(
                ReviewAnswer.review_id == revisions[0].id, ReviewAnswer.item_key == key
            )
        ).one()
    assert [(r.revision, r.status) for r in revisions] == [(1, "submitted"), (2, "submitted")]
    assert revisions[1].amendment_reason == "Found the published DPIA"
    assert first.value_number == 3.0  # the first revision is kept as it was


def test_two_reviewers_submitting_at_once_do_not_overwrite_each_other(app, people, reviewed):
    _case_id, _fid, ids = reviewed
    fw = framework(app)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(who, assignment_id, level):
        try:
            barrier.wait(timeout=10)
            submit(app, people, who, assignment_id, rubric_answers(fw, level))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=("r1", ids[0], 1)),
        threading.Thread(target=run, args=("r2", ids[1], 3)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with session_scope(app) as session:
        by_reviewer = {}
        for assignment_id in ids:
            review = session.exec(select(Review).where(Review.assignment_id == assignment_id)).one()
            values = session.exec(
                select(ReviewAnswer.value_number).where(ReviewAnswer.review_id == review.id)
            ).all()
            by_reviewer[assignment_id] = (review.status, set(values), len(values))
    assert by_reviewer == {
        ids[0]: ("submitted", {1.0}, len(fw.items)),
        ids[1]: ("submitted", {3.0}, len(fw.items)),
    }


def test_the_same_review_submitted_from_two_windows_is_refused_the_second_time(
    app, people, reviewed
):
    _case_id, _fid, ids = reviewed
    fw = framework(app)
    with session_scope(app) as session:
        services.save_review(
            session,
            actor=user(session, people, "r1"),
            assignment_id=ids[0],
            answers=rubric_answers(fw, 2),
        )
    with session_scope(app) as first, session_scope(app) as second:
        # Both windows loaded the draft before either submitted.
        services.open_review(first, actor=user(first, people, "r1"), assignment_id=ids[0])
        services.open_review(second, actor=user(second, people, "r1"), assignment_id=ids[0])
        services.submit_review(
            first,
            actor=user(first, people, "r1"),
            assignment_id=ids[0],
            answers=rubric_answers(fw, 2),
        )
        with pytest.raises(ReviewError, match="review-submitted"):
            services.submit_review(
                second,
                actor=user(second, people, "r1"),
                assignment_id=ids[0],
                answers=rubric_answers(fw, 4),
            )
    with session_scope(app) as session:
        assert set(session.exec(select(ReviewAnswer.value_number)).all()) == {2.0}


# --------------------------------------------------------------------------------------------
# Pure helpers: answers, agreement, consolidation, recommendations
# --------------------------------------------------------------------------------------------


def shipped(name: str):
    return load_framework_file(FRAMEWORKS / f"{name}@1.0.yaml")


def test_special_answers_never_count_as_zero_in_consolidation_scores_or_alpha():
    fw = shipped("unesco-2021")
    key = fw.items[0].key
    ni = "insufficient_information"
    item = fw.item(key)
    assert services.consolidate_item(fw, item, [4, ni]) == 4
    assert services.consolidate_item(fw, item, [ni, ni]) == ni
    assert services.consolidate_item(fw, item, [None, None]) is None
    assert services.ordinal_value(item, ni) is None
    summary = services.score_summary(fw, {k.key: 4 for k in fw.items} | {key: ni})
    assert summary["rubric"]["mean"] == 4 and summary["rubric"]["n_insufficient"] == 1
    agreement = services.agreement_for(
        fw, {1: {"a": {key: ni, fw.items[1].key: 2}, "b": {key: 0, fw.items[1].key: 2}}}
    )
    assert agreement.ordinal.n_pairable_values == 2  # the special answer is missing, not 0
    checklist = shipped("transparency-disclosure")
    share = services.score_summary(
        checklist, {checklist.items[0].key: "yes", checklist.items[1].key: "not_applicable"}
    )
    assert share["disclosure"]["share"] == 1.0 and share["disclosure"]["n_not_applicable"] == 1


def test_consolidate_item_rules_per_kind():
    aia = shipped("ca-aia-style")
    impact = aia.item("reversibility")
    mitigation = aia.item("intersectional_data_analysis")
    domains = aia.item("decision_domains")
    points = {o.key: o.points for o in impact.options}
    low, high = sorted(points, key=points.get)[0], sorted(points, key=points.get)[-1]
    # Even counts: impact takes the upper middle (cautious), mitigation the lower.
    assert services.consolidate_item(aia, impact, [low, high]) == high
    assert services.consolidate_item(aia, mitigation, ["yes", "no"]) == "no"
    assert services.consolidate_item(
        aia, domains, [["health", "social"], ["health"], ["social", "other"], ["health"]]
    ) == ["health", "social"]
    eu = shipped("eu-ai-act-2024")
    gate = eu.item("annex3_justice_democracy")
    assert services.consolidate_item(eu, gate, ["yes", "yes"]) == "yes"
    assert services.consolidate_item(eu, gate, ["yes", "no"]) == "unclear"
    checklist = shipped("transparency-disclosure")
    check = checklist.items[0]
    assert services.consolidate_item(checklist, check, ["yes", "no"]) == "no"
    assert services.consolidate_item(checklist, check, ["yes", "yes", "no"]) == "yes"


def test_flags_mark_two_level_gaps_and_yes_no_splits():
    unesco = shipped("unesco-2021")
    rubric = unesco.items[0]
    assert services.item_flagged(rubric, [1, 3])
    assert not services.item_flagged(rubric, [2, 3, None, "insufficient_information"])
    eu = shipped("eu-ai-act-2024")
    assert services.item_flagged(eu.item("ai_system"), ["yes", "no"])
    assert not services.item_flagged(eu.item("ai_system"), ["yes", "unclear"])


def test_check_answers_pure_codes():
    fw = shipped("ca-aia-style")
    errors = services.check_answers(
        fw,
        {
            "reversibility": AnswerIn(value="reversible", special="insufficient_information"),
            "decision_domains": AnswerIn(value=["health", "nowhere"]),
            "automation_type": AnswerIn(value="full", evidence_url="http://ok.example/x"),
        },
        complete=False,
    )
    assert errors == {
        "reversibility": ["value-and-special"],
        "decision_domains": ["invalid-value"],
    }


def test_draft_recommendations_use_the_next_levels_guidance_in_the_language():
    fw = shipped("unesco-2021")
    values = {item.key: 4 for item in fw.items}
    values["safety_security"] = 1
    values["sustainability"] = 2
    texts = services.draft_recommendations(fw, values, "pt")
    item = fw.item("safety_security")
    assert texts[0] == (f"{item.label.pt} (1 → 2): {item.levels[2].guidance.pt}")
    assert len(texts) == 2  # criteria at their best level need no recommendation


def test_score_summary_gives_tiers_and_levels():
    eu = shipped("eu-ai-act-2024")
    summary = services.score_summary(eu, {"ai_system": "yes", "art5_c_social_scoring": "yes"})
    assert summary["common_tier"] == "prohibited" and summary["level_key"]
    aia = shipped("ca-aia-style")
    partial = services.score_summary(aia, {"automation_type": "full"})
    assert partial["overall_kind"] == "impact_level" and partial["tier_provisional"]


# --------------------------------------------------------------------------------------------
# Agreement and consolidation services
# --------------------------------------------------------------------------------------------


def _two_reviews(app, people, reviewed, r1_levels=None, r2_levels=None):
    case_id, fid, ids = reviewed
    fw = framework(app)
    submit(app, people, "r1", ids[0], rubric_answers(fw, 3, **(r1_levels or {})))
    submit(app, people, "r2", ids[1], rubric_answers(fw, 3, **(r2_levels or {})))
    return case_id, fid, ids, fw


def test_case_agreement_computes_alpha_and_flags(app, people, reviewed):
    fw = framework(app)
    keys = [item.key for item in fw.items]
    r1 = {keys[0]: 0, keys[1]: 2, keys[2]: 4}
    r2 = {keys[0]: 2, keys[1]: 2, keys[2]: 3}
    case_id, fid, ids, fw = _two_reviews(app, people, reviewed, r1, r2)
    with session_scope(app) as session:
        agreement = services.case_agreement(
            session, actor=user(session, people, "editor"), case_id=case_id, framework_id=fid
        )
        seen_by_r1 = services.case_agreement(
            session, actor=user(session, people, "r1"), case_id=case_id, framework_id=fid
        )
        with pytest.raises(PermissionDenied):
            services.case_agreement(
                session,
                actor=user(session, people, "submitter"),
                case_id=case_id,
                framework_id=fid,
            )
    matrix = [
        [r1.get(k, 3) for k in keys],
        [r2.get(k, 3) for k in keys],
    ]
    assert agreement.alpha == pytest.approx(krippendorff_alpha(matrix, "ordinal"))
    assert agreement.level == "ordinal" and agreement.flagged == (keys[0],)
    assert seen_by_r1.alpha == agreement.alpha


def test_framework_agreement_counts_only_published_assessments_for_the_public(
    app, people, reviewed
):
    case_id, fid, _ids, _fw = _two_reviews(app, people, reviewed, {"safety_security": 1})
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        assert services.framework_agreement(session, framework_id=fid).n_cases == 0
        assert services.framework_agreement(session, framework_id=fid, actor=editor).n_cases == 1
        services.consolidate(session, actor=editor, case_id=case_id, framework_id=fid, lang="en")
        services.publish_assessment(session, actor=editor, case_id=case_id, framework_id=fid)
        assert services.framework_agreement(session, framework_id=fid).n_cases == 1


def test_consolidate_drafts_medians_flags_tier_and_recommendations(app, people, reviewed):
    fw = framework(app)
    keys = [item.key for item in fw.items]
    case_id, fid, ids, fw = _two_reviews(
        app, people, reviewed, {keys[0]: 1, keys[1]: 2}, {keys[0]: 4, keys[1]: 2}
    )
    with session_scope(app) as session:
        assessment = services.consolidate(
            session,
            actor=user(session, people, "editor"),
            case_id=case_id,
            framework_id=fid,
            lang="es",
        )
    items = assessment.result["items"]
    assert assessment.status == "draft" and assessment.n_reviewers == 2
    assert items[keys[0]]["value"] == 1  # even count: the lower middle (UNESCO's rule)
    assert items[keys[0]]["flagged"] and not items[keys[1]]["flagged"]
    assert assessment.result["flags"] == [keys[0]]
    assert assessment.common_tier == "unassessed"  # a rubric has no risk tier
    assert assessment.overall_score == pytest.approx((1 + 2 + 3 * 8) / 10)
    label = fw.item(keys[0]).label.es
    assert assessment.recommendations[0].startswith(f"{label} (1 → 2)")
    assert assessment.result["reviews"] == sorted([[ids[0], 1], [ids[1], 1]])
    # The raw reviews are kept untouched.
    with session_scope(app) as session:
        assert session.exec(select(func.count(ReviewAnswer.review_id))).one() == 20


@pytest.mark.parametrize("who", ["r1", "submitter"])
def test_only_editors_consolidate_and_publish(app, people, reviewed, who):
    case_id, fid, _ids, _fw = _two_reviews(app, people, reviewed)
    with session_scope(app) as session:
        actor = user(session, people, who)
        for action in (services.consolidate, services.consolidation_view):
            kwargs = {"lang": "en"} if action is services.consolidate else {}
            with pytest.raises(PermissionDenied):
                action(session, actor=actor, case_id=case_id, framework_id=fid, **kwargs)
        with pytest.raises(PermissionDenied):
            services.publish_assessment(session, actor=actor, case_id=case_id, framework_id=fid)
        with pytest.raises(PermissionDenied):
            services.update_consolidation(
                session,
                actor=actor,
                case_id=case_id,
                framework_id=fid,
                values={},
                recommendations=[],
            )


def test_a_reviewer_of_the_case_cannot_consolidate_it(app, people, case):
    fid = framework_id(app)
    ids = assign(app, people, case[0], fid, reviewers=("r1", "admin"), who="editor")
    fw = framework(app)
    submit(app, people, "r1", ids[0], rubric_answers(fw))
    submit(app, people, "admin", ids[1], rubric_answers(fw))
    with session_scope(app) as session, pytest.raises(ReviewError, match="reviewer-cannot"):
        services.consolidate(
            session,
            actor=user(session, people, "admin"),
            case_id=case[0],
            framework_id=fid,
            lang="en",
        )


def test_consolidation_needs_two_submitted_reviews(app, people, reviewed):
    case_id, fid, ids = reviewed
    submit(app, people, "r1", ids[0], rubric_answers(framework(app)))
    with session_scope(app) as session, pytest.raises(ReviewError, match="too-few-reviews"):
        services.consolidate(
            session,
            actor=user(session, people, "editor"),
            case_id=case_id,
            framework_id=fid,
            lang="en",
        )


def test_editor_edits_values_and_recommendations_which_recompute_the_result(app, people, reviewed):
    case_id, fid, _ids, fw = _two_reviews(app, people, reviewed)
    key = fw.items[0].key
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        with pytest.raises(ReviewError, match="not-consolidated"):
            services.update_consolidation(
                session,
                actor=editor,
                case_id=case_id,
                framework_id=fid,
                values={},
                recommendations=[],
            )
        services.consolidate(session, actor=editor, case_id=case_id, framework_id=fid, lang="en")
        with pytest.raises(FieldErrors) as raised:
            services.update_consolidation(
                session,
                actor=editor,
                case_id=case_id,
                framework_id=fid,
                values={key: 9, "nope": 1},
                recommendations=["x" * 2001],
            )
        assert raised.value.errors == {
            key: ["invalid-value"],
            "nope": ["unknown-item"],
            "recommendations": ["too-long"],
        }
        assessment = services.update_consolidation(
            session,
            actor=editor,
            case_id=case_id,
            framework_id=fid,
            values={key: 0},
            recommendations=["Publish the impact assessment.", "  ", "Name a responsible unit."],
            method_note="Consolidated by the median; one value lowered after checking sources.",
        )
    entry = assessment.result["items"][key]
    assert entry["value"] == 0 and entry["median"] == 3 and entry["edited"]
    assert assessment.overall_score == pytest.approx(27 / 10)
    assert assessment.recommendations == [
        "Publish the impact assessment.",
        "Name a responsible unit.",
    ]


def test_publish_writes_scores_bumps_the_data_version_and_notifies(app, people, reviewed):
    case_id, fid, ids, fw = _two_reviews(
        app,
        people,
        reviewed,
        {"safety_security": 1},
        {"privacy_data_protection": AnswerIn(special="not_applicable")},
    )
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        assert services.published_assessments(session, case_id) == []
        services.consolidate(session, actor=editor, case_id=case_id, framework_id=fid, lang="en")
        assert services.published_assessments(session, case_id) == []  # a draft never shows
        before = data_version(session)
        assessment = services.publish_assessment(
            session, actor=editor, case_id=case_id, framework_id=fid
        )
        scores = {
            s.item_key: s
            for s in session.exec(
                select(AssessmentScore).where(AssessmentScore.assessment_id == assessment.id)
            )
        }
        after = data_version(session)
        told = set(
            session.exec(
                select(Notification.user_id).where(Notification.kind == "assessment.published")
            ).all()
        )
        public = services.published_assessments(session, case_id)
        with pytest.raises(ReviewError, match="already-published"):
            services.publish_assessment(session, actor=editor, case_id=case_id, framework_id=fid)
    assert assessment.status == "published" and assessment.published_by_id == people["editor"]
    assert after == before + 1
    assert len(scores) == len(fw.items)
    assert scores["safety_security"].value_number == 1.0  # median of 1 and 3, lower middle
    assert scores["privacy_data_protection"].value_number == 3.0  # 3 and NA: NA is not a zero
    assert told == {people["r1"], people["r2"], people["submitter"]}
    (only,) = public
    assert only.framework_key == "unesco-2021" and only.framework_version == "1.0"
    assert only.n_reviewers == 2 and only.published_at is not None and not only.is_example
    by_key = {c.key: c for c in only.criteria}
    assert by_key["safety_security"].value == 1
    assert by_key["safety_security"].value_label["en"].startswith("Declared")
    assert only.as_dict()["framework"]["key"] == "unesco-2021"


def test_publication_waits_for_every_reviewer_and_a_current_draft(app, people, reviewed):
    case_id, fid, ids = reviewed
    fw = framework(app)
    third = assign(app, people, case_id, fid, reviewers=("r3",))[0]
    submit(app, people, "r1", ids[0], rubric_answers(fw))
    submit(app, people, "r2", ids[1], rubric_answers(fw))
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        services.consolidate(session, actor=editor, case_id=case_id, framework_id=fid, lang="en")
        with pytest.raises(ReviewError, match="reviews-pending"):
            services.publish_assessment(session, actor=editor, case_id=case_id, framework_id=fid)
        services.withdraw_assignment(session, actor=editor, assignment_id=third)
        services.amend_review(
            session, actor=user(session, people, "r1"), assignment_id=ids[0], reason="New source"
        )
        with pytest.raises(ReviewError, match="reviews-pending"):
            services.publish_assessment(session, actor=editor, case_id=case_id, framework_id=fid)
    submit(app, people, "r1", ids[0], rubric_answers(fw, 2))
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        with pytest.raises(ReviewError, match="consolidation-stale"):
            services.publish_assessment(session, actor=editor, case_id=case_id, framework_id=fid)
        view = services.consolidation_view(session, actor=editor, case_id=case_id, framework_id=fid)
        assert view.stale and not view.can_publish
        services.consolidate(session, actor=editor, case_id=case_id, framework_id=fid, lang="en")
        published = services.publish_assessment(
            session, actor=editor, case_id=case_id, framework_id=fid
        )
    assert published.result["reviews"] == sorted([[ids[0], 2], [ids[1], 1]])


def test_a_published_assessment_closes_the_review(app, people, reviewed):
    case_id, fid, ids, fw = _two_reviews(app, people, reviewed)
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        services.consolidate(session, actor=editor, case_id=case_id, framework_id=fid, lang="en")
        services.publish_assessment(session, actor=editor, case_id=case_id, framework_id=fid)
        with pytest.raises(ReviewError, match="already-published"):
            services.consolidate(
                session, actor=editor, case_id=case_id, framework_id=fid, lang="en"
            )
        with pytest.raises(ReviewError, match="already-published"):
            services.update_consolidation(
                session,
                actor=editor,
                case_id=case_id,
                framework_id=fid,
                values={},
                recommendations=[],
            )
        with pytest.raises(ReviewError, match="assessment-published"):
            services.amend_review(
                session, actor=user(session, people, "r1"), assignment_id=ids[0], reason="late"
            )
    with pytest.raises(ReviewError, match="already-published"):
        assign(app, people, case_id, fid, reviewers=("r3",))


def test_a_withdrawn_case_shows_no_assessment(app, people, reviewed):
    case_id, fid, _ids, _fw = _two_reviews(app, people, reviewed)
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        services.consolidate(session, actor=editor, case_id=case_id, framework_id=fid, lang="en")
        services.publish_assessment(session, actor=editor, case_id=case_id, framework_id=fid)
        assert len(services.published_assessments(session, case_id)) == 1
        ref = session.get(Case, case_id).ref
        workflow.transition_case(session, actor=editor, ref=ref, action="withdraw", reason="Gone")
        assert services.published_assessments(session, case_id) == []


def test_decision_tree_framework_end_to_end(app, people, case):
    fid = framework_id(app, "eu-ai-act-2024")
    ids = assign(app, people, case[0], fid)
    fw = framework(app, "eu-ai-act-2024")

    def answers(justice):
        result = {}
        for item in fw.items:
            if item.kind == "gate":
                value = "yes" if item.key in ("ai_system",) else "no"
                if item.key == "annex3_justice_democracy":
                    value = justice
                result[item.key] = AnswerIn(value=value)
            else:
                result[item.key] = AnswerIn(value=2)
        return result

    submit(app, people, "r1", ids[0], answers("yes"))
    submit(app, people, "r2", ids[1], answers("no"))
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        draft = services.consolidate(
            session, actor=editor, case_id=case[0], framework_id=fid, lang="en"
        )
        assert draft.result["items"]["annex3_justice_democracy"]["value"] == "unclear"
        assert "annex3_justice_democracy" in draft.result["flags"]
        assert draft.tier_provisional  # reviewers disagree: the cautious tier, provisional
        agreed = services.update_consolidation(
            session,
            actor=editor,
            case_id=case[0],
            framework_id=fid,
            values={"annex3_justice_democracy": "yes"},
            recommendations=[],
        )
        assert agreed.common_tier == "high" and not agreed.tier_provisional
        services.publish_assessment(session, actor=editor, case_id=case[0], framework_id=fid)
        (public,) = services.published_assessments(session, case[0])
        rows = session.exec(
            select(AssessmentScore).where(AssessmentScore.item_key == "annex3_justice_democracy")
        ).all()
    assert public.common_tier == "high" and public.level_label["en"]
    assert rows[0].value_text == "yes" and rows[0].value_number is None


def test_assessment_overview_and_case_assignments_are_for_editors(app, people, reviewed):
    case_id, fid, ids = reviewed
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        (row,) = services.assessment_overview(session, actor=editor)
        assignments = services.case_assignments(session, actor=editor, case_id=case_id)
        for action in (services.assessment_overview,):
            with pytest.raises(PermissionDenied):
                action(session, actor=user(session, people, "r1"))
        with pytest.raises(PermissionDenied):
            services.case_assignments(session, actor=user(session, people, "r1"), case_id=case_id)
    assert row.n_assigned == 2 and row.assessment_status == "none"
    assert [a.review_status for a in assignments] == ["not_started", "not_started"]
    with session_scope(app) as session:
        assert session.exec(select(func.count(Assessment.id))).one() == 0


@pytest.mark.parametrize(
    "key",
    ["unesco-2021", "ca-aia-style", "eu-ai-act-2024", "br-pl2338-2023", "transparency-disclosure"],
)
def test_every_shipped_framework_goes_from_assignment_to_publication(app, people, case, key):
    fid = framework_id(app, key)
    fw = framework(app, key)
    ids = assign(app, people, case[0], fid)
    submit(app, people, "r1", ids[0], generic_answers(fw))
    submit(app, people, "r2", ids[1], generic_answers(fw))
    with session_scope(app) as session:
        editor = user(session, people, "editor")
        services.consolidate(session, actor=editor, case_id=case[0], framework_id=fid, lang="pt")
        services.publish_assessment(session, actor=editor, case_id=case[0], framework_id=fid)
        (public,) = services.published_assessments(session, case[0])
        n_scores = session.exec(select(func.count(AssessmentScore.item_key))).one()
    assert len(public.criteria) == len(fw.items) == n_scores
    # Identical answers: perfect agreement, or undefined when nothing varies (never faked).
    assert public.alpha is None or public.alpha == pytest.approx(1.0)
    assert public.common_tier in {"minimal", "limited", "high", "prohibited", "unassessed"}
