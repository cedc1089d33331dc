"""Services enforce permissions themselves: every state-changing use case, called directly with
the wrong actor, raises its permission error and writes nothing.

Actors: nobody (None), a role without the right, a submitter of another institution, a
deactivated account (of a role that would otherwise be allowed), a reviewer not assigned, a
reviewer with a conflict of interest. "Nothing written" is checked on a fingerprint of every
table. Dashboards have no state-changing service taking an actor (dump loading and synthetic
data are command-line only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from cases import corrections, notifications, workflow
from cases.importing import service as importing
from criteria import services
from criteria.services import ConflictOfInterest
from observatory import accounts
from observatory.db import session_scope
from observatory.models import Role, User
from observatory.security import NotFound, PermissionDenied
from tests.conftest import PASSWORD
from tests.security._world import World, case_record, complete_answers, world_app

NEXT_WEEK = date.today() + timedelta(days=7)
INSTRUMENT = {"country": "PER", "title": "Ley nueva", "type": "law", "status": "in_force"}


@pytest.fixture(scope="module")
def world(database_template, tmp_path_factory):
    for app, people in world_app(database_template, tmp_path_factory.mktemp("services")):
        with app.test_request_context(), session_scope(app) as session:
            admin = session.get(User, people.users["admin"])
            for name, role in (("gone_editor", Role.EDITOR), ("gone_admin", Role.ADMIN)):
                user = accounts.create_user(
                    session,
                    email=f"{name}@example.org",
                    password=PASSWORD,
                    role=role,
                    actor=admin,
                )
                people.users[name] = user.id
            for name in ("gone_editor", "gone_admin", "deactivated"):
                accounts.set_active(session, actor=admin, user_id=people.users[name], active=False)
        yield app, people


def fingerprint(app) -> str:
    """A digest of every row of every table."""
    digest = hashlib.sha256()
    with session_scope(app) as session:
        for table in SQLModel.metadata.sorted_tables:
            rows = session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            digest.update(f"{table.name}:{rows!r}".encode())
    return digest.hexdigest()


@contextmanager
def tables_unchanged(app):
    """Every table must hold the same rows after the block as before it."""
    before = fingerprint(app)
    yield
    assert fingerprint(app) == before


def _fw(session, world: World, name: str):
    return services.framework_of(session.get(services.FrameworkVersion, world.frameworks[name][0]))


# (id, actor name or None, call(session, actor, world), expected exception)
Call = Callable[[object, User | None, World], object]
CASES: list[tuple[str, str | None, Call, type[Exception]]] = []


def refused(
    name: str, actors: tuple[str | None, ...], expected: type[Exception] = PermissionDenied
):
    def register(call: Call) -> Call:
        for actor in actors:
            CASES.append((f"{name}-{actor or 'nobody'}", actor, call, expected))
        return call

    return register


# --- cases/ ---------------------------------------------------------------------------------


@refused("create_case", (None, "reviewer", "deactivated", "gone_editor"))
def _create_case(s, actor, w):
    return workflow.create_case(s, actor=actor, raw=case_record("Nuevo caso"))


@refused("update_case", (None, "reviewer", "other_submitter", "deactivated"), NotFound)
def _update_case(s, actor, w):
    data, number = workflow.working_data(s, s.get(workflow.Case, w.case_ids["draft"]))
    return workflow.update_case(s, actor=actor, ref=w.refs["draft"], raw=data, base_version=number)


@refused("update_case_of_editor", ("gone_editor",), NotFound)
def _update_case_gone_editor(s, actor, w):
    return _update_case(s, actor, w)


@refused("submit_other_institutions_draft", (None, "submitter", "reviewer"), NotFound)
def _submit_other(s, actor, w):
    return workflow.transition_case(s, actor=actor, ref=w.refs["other_draft"], action="submit")


@refused("owner_publishes_own_case", ("submitter",))
def _publish_own(s, actor, w):
    return workflow.transition_case(s, actor=actor, ref=w.refs["submitted"], action="publish")


@refused("owner_rejects_own_case", ("submitter",))
def _reject_own(s, actor, w):
    return workflow.transition_case(
        s, actor=actor, ref=w.refs["submitted"], action="reject", reason="no"
    )


@refused("owner_returns_own_case", ("submitter",))
def _return_own(s, actor, w):
    return workflow.transition_case(
        s, actor=actor, ref=w.refs["resubmitted"], action="return", reason="no"
    )


@refused("owner_withdraws_public_case", ("submitter",))
def _withdraw_own(s, actor, w):
    return workflow.transition_case(
        s, actor=actor, ref=w.refs["assessed"], action="withdraw", reason="no"
    )


@refused("publish_submitted_case", (None, "reviewer", "other_submitter", "gone_editor"), NotFound)
def _publish_submitted(s, actor, w):
    return workflow.transition_case(s, actor=actor, ref=w.refs["submitted"], action="publish")


@refused("mark_verified", (None, "submitter", "reviewer", "gone_editor"))
def _mark_verified(s, actor, w):
    return workflow.mark_verified(s, actor=actor, ref=w.refs["assessed"])


@refused("suggest_correction_on_hidden_case", (None, "submitter", "editor"), NotFound)
def _suggest_hidden(s, actor, w):
    return corrections.suggest_correction(
        s, case_ref=w.refs["draft"], text="This draft is wrong somewhere.", actor=actor
    )


@refused("answer_correction", (None, "submitter", "reviewer", "gone_editor"))
def _answer_correction(s, actor, w):
    return corrections.answer_correction(
        s, correction_id=w.correction_id, status="accepted", reply="Thanks.", actor=actor
    )


@refused("run_import", ("submitter", "reviewer", "gone_editor"))
def _run_import(s, actor, w):
    return importing.run_import(s, actor=actor, data=b"name\nx\n", file_name="x.csv")


# --- criteria/ ------------------------------------------------------------------------------


@refused("create_instrument", (None, "submitter", "reviewer", "gone_editor"))
def _create_instrument(s, actor, w):
    return services.create_instrument(s, actor=actor, raw=INSTRUMENT)


@refused("update_instrument", (None, "submitter", "reviewer", "gone_editor"))
def _update_instrument(s, actor, w):
    return services.update_instrument(
        s, actor=actor, instrument_id=w.instruments["public"], raw=INSTRUMENT
    )


@refused("assign_reviewers", (None, "submitter", "reviewer", "gone_editor"))
def _assign(s, actor, w):
    return services.assign_reviewers(
        s,
        actor=actor,
        case_id=w.case_ids["assessed"],
        framework_id=w.frameworks["euaia"][0],
        reviewer_ids=[w.users["reviewer"], w.users["reviewer3"]],
        due_date=NEXT_WEEK,
    )


@refused("withdraw_assignment", (None, "submitter", "reviewer", "gone_editor"))
def _withdraw_assignment(s, actor, w):
    return services.withdraw_assignment(s, actor=actor, assignment_id=w.assignments["withdrawable"])


@refused("declare_conflict", (None, "submitter", "editor"))
def _declare(s, actor, w):
    return services.declare_conflict(s, actor=actor, institution="Ministerio de Salud")


@refused("save_review_not_assigned", ("reviewer3", "editor", "admin"), NotFound)
def _save_not_assigned(s, actor, w):
    return services.save_review(
        s,
        actor=actor,
        assignment_id=w.assignments["draft_review"],
        answers=complete_answers(_fw(s, w, "unesco")),
    )


@refused("save_review_nobody", (None,))
def _save_nobody(s, actor, w):
    return _save_not_assigned(s, actor, w)


@refused(
    "submit_review_not_assigned", (None, "reviewer", "submitter"), (NotFound, PermissionDenied)
)
def _submit_not_assigned(s, actor, w):
    return services.submit_review(
        s,
        actor=actor,
        assignment_id=w.assignments["draft_review"],
        answers=complete_answers(_fw(s, w, "unesco")),
    )


@refused("amend_review_not_assigned", (None, "reviewer2", "editor"), (NotFound, PermissionDenied))
def _amend_not_assigned(s, actor, w):
    return services.amend_review(
        s, actor=actor, assignment_id=w.assignments["in_progress"], reason="second thoughts"
    )


@refused("consolidate", (None, "submitter", "reviewer", "gone_editor"))
def _consolidate(s, actor, w):
    return services.consolidate(
        s,
        actor=actor,
        case_id=w.case_ids["published"],
        framework_id=w.frameworks["euaia"][0],
        lang="en",
    )


@refused("update_consolidation", (None, "submitter", "reviewer", "gone_editor"))
def _update_consolidation(s, actor, w):
    return services.update_consolidation(
        s,
        actor=actor,
        case_id=w.case_ids["published"],
        framework_id=w.frameworks["euaia"][0],
        values={},
        recommendations=["x"],
    )


@refused("publish_assessment", (None, "submitter", "reviewer", "gone_editor", "gone_admin"))
def _publish_assessment(s, actor, w):
    return services.publish_assessment(
        s, actor=actor, case_id=w.case_ids["published"], framework_id=w.frameworks["euaia"][0]
    )


# --- observatory/accounts.py ----------------------------------------------------------------


@refused("create_user", (None, "submitter", "editor", "gone_admin"))
def _create_user(s, actor, w):
    return accounts.create_user(
        s, email="new@example.org", password=PASSWORD, role=Role.ADMIN, actor=actor
    )


@refused("set_role", (None, "submitter", "reviewer", "editor", "gone_admin"))
def _set_role(s, actor, w):
    return accounts.set_role(s, actor=actor, user_id=w.users["submitter"], role=Role.ADMIN)


@refused("set_active", (None, "submitter", "editor", "gone_admin"))
def _set_active(s, actor, w):
    return accounts.set_active(s, actor=actor, user_id=w.users["editor"], active=False)


@refused("reactivate_self", ("gone_admin",))
def _reactivate_self(s, actor, w):
    return accounts.set_active(s, actor=actor, user_id=w.users["gone_admin"], active=True)


@refused("list_users", (None, "editor", "gone_admin"))
def _list_users(s, actor, w):
    return accounts.list_users(s, actor=actor)


@refused("list_audit_events", (None, "editor", "gone_admin"))
def _list_audit(s, actor, w):
    return accounts.list_audit_events(s, actor=actor)


@refused("change_password_without_the_current_one", ("submitter",), accounts.AccountError)
def _change_password(s, actor, w):
    return accounts.change_password(s, user=actor, current="wrong one!", new="x" * 20)


@pytest.mark.parametrize(
    ("actor_name", "call", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_service_refuses_the_wrong_actor_and_writes_nothing(world, actor_name, call, expected):
    app, people = world
    with tables_unchanged(app), app.test_request_context(), session_scope(app) as session:
        actor = session.get(User, people.users[actor_name]) if actor_name else None
        with pytest.raises(expected):
            call(session, actor, people)


def test_marking_notifications_read_touches_only_ones_own(world):
    app, people = world
    with session_scope(app) as session:
        others = {
            n.id: n.read_at
            for n in session.exec(
                sa.select(notifications.Notification).where(
                    notifications.Notification.user_id != people.users["reviewer"]
                )
            ).scalars()
        }
        assert others
        notifications.mark_all_read(session, user=session.get(User, people.users["reviewer"]))
    with session_scope(app) as session:
        after = {
            n.id: n.read_at
            for n in session.exec(
                sa.select(notifications.Notification).where(
                    notifications.Notification.id.in_(list(others))
                )
            ).scalars()
        }
    assert after == others


# Last in the module: these change the world (a conflict is declared).


def test_a_reviewer_with_a_conflict_cannot_change_their_scores(world):
    """A reviewer who declares a conflict with a case after submitting may no longer amend
    (nor save or submit) their review of it."""
    app, people = world
    with app.test_request_context(), session_scope(app) as session:
        reviewer = session.get(User, people.users["reviewer"])
        services.declare_conflict(
            session, actor=reviewer, case_ref=people.refs["published"], note="family"
        )
    with tables_unchanged(app), app.test_request_context(), session_scope(app) as session:
        reviewer = session.get(User, people.users["reviewer"])
        with pytest.raises(ConflictOfInterest):
            services.amend_review(
                session,
                actor=reviewer,
                assignment_id=people.assignments["in_progress"],
                reason="second thoughts",
            )


def test_a_reviewer_of_the_same_institution_cannot_score(world):
    """An assignment that bypassed the rules (made before a conflict existed: here the
    reviewer is moved into the submitter's institution) is refused at scoring time."""
    app, people = world
    with session_scope(app) as session:
        reviewer = session.get(User, people.users["reviewer2"])
        submitter = session.get(User, people.users["submitter"])
        reviewer.institution = submitter.institution
        session.add(reviewer)
        session.commit()
    with tables_unchanged(app), app.test_request_context(), session_scope(app) as session:
        reviewer = session.get(User, people.users["reviewer2"])
        fw = _fw(session, people, "unesco")
        for write in (services.save_review, services.submit_review):
            with pytest.raises(ConflictOfInterest):
                write(
                    session,
                    actor=reviewer,
                    assignment_id=people.assignments["draft_review"],
                    answers=complete_answers(fw),
                )
