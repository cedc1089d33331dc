"""One small world for the security tests, built through the services (no raw rows).

Accounts of every role, cases in every workflow state, reviews and assessments at every step,
a correction, instruments and notifications. Whatever the public must never see carries a
distinctive marker (`zqx…`); `MARKERS` lists them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from flask import Flask

from cases import corrections, workflow
from criteria import services
from criteria.services import AnswerIn
from observatory import accounts
from observatory.db import get_engine, session_scope
from observatory.models import Role, User
from tests.conftest import PASSWORD, _fresh_database, make_app
from tests.factories import valid_case_record

NEXT_WEEK = date.today() + timedelta(days=7)

# Every string that must never reach the public. Distinct, and none inside another.
MARKERS = {
    "draft": "zqxdraftcase",
    "submitted": "zqxsubmittedcase",
    "returned": "zqxreturnedcase",
    "return_reason": "zqxreturnreason",
    "resubmitted": "zqxresubmittedcase",
    "rejected": "zqxrejectedcase",
    "reject_reason": "zqxrejectreason",
    "withdrawn": "zqxwithdrawncase",
    "withdraw_reason": "zqxwithdrawreason",
    "other_draft": "zqxotherdraft",
    "pending_update": "zqxpendingupdate",
    "draft_review": "zqxdraftjustification",
    "unpublished_review": "zqxsubmittedjustification",
    "draft_assessment": "zqxdraftassessmentnote",
    "draft_recommendation": "zqxdraftrecommendation",
    "reviewer_one": "zqxreviewerone",
    "reviewer_two": "zqxreviewertwo",
    "contact_email": "zqxcontact",
    "archived_instrument": "zqxarchivedinstrument",
    "private_email": "zqxprivatemail",
}

INSTITUTION = "Ministerio de Justicia de Ejemplo"  # of the submitter and of their cases


def case_record(name: str, purpose: str = "Clasifica expedientes entrantes.", **changes) -> dict:
    return valid_case_record(institution=INSTITUTION, name=name, purpose=purpose) | changes


def complete_answers(fw, justification: str = "Documented on the site.") -> dict[str, AnswerIn]:
    """A complete, valid set of answers for any framework (every kind of criterion)."""
    answers = {}
    for item in fw.items:
        if item.kind == "rubric":
            answers[item.key] = AnswerIn(value=2, justification=justification)
        elif item.kind == "choice" and item.select == "multi":
            answers[item.key] = AnswerIn(value=[item.options[0].key], justification=justification)
        elif item.kind == "choice":
            answers[item.key] = AnswerIn(value=item.options[0].key, justification=justification)
        elif item.kind == "gate":
            value = "yes" if item.key == "ai_system" else "no"
            answers[item.key] = AnswerIn(value=value, justification=justification)
        else:
            answers[item.key] = AnswerIn(value="yes", justification=justification)
    return answers


@dataclass
class World:
    """Ids and references of everything the security tests need."""

    users: dict[str, int] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    case_ids: dict[str, int] = field(default_factory=dict)
    assignments: dict[str, int] = field(default_factory=dict)
    frameworks: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    instruments: dict[str, int] = field(default_factory=dict)
    correction_id: int = 0


def world_app(database_template: str, tmp_path: Path) -> Iterator[tuple[Flask, World]]:
    """An app on a fresh database holding the world (for module-scoped fixtures)."""
    app = make_app(
        _fresh_database(database_template, tmp_path),
        tmp_path / "instance",
        LOGIN_MAX_FAILURES=50,
        API_RATE_LIMIT=0,  # these tests read the API far more than a minute allows
    )
    world = build_world(app)
    yield app, world
    get_engine(app).dispose()


def _user(session, role: str, email: str, **fields) -> int:
    user = accounts.create_user(
        session,
        email=email,
        password=PASSWORD,
        role=Role(role),
        actor=None,
        bootstrap=True,
        name=fields.pop("name", f"Test {role}"),
        **fields,
    )
    return user.id


def build_world(app: Flask) -> World:
    world = World()
    m = MARKERS
    with app.test_request_context(), session_scope(app) as s:
        u = world.users
        u["submitter"] = _user(s, "submitter", "submitter@example.org", institution=INSTITUTION)
        u["other_submitter"] = _user(
            s, "submitter", "other@example.org", institution="Ministerio de Salud", country="CHL"
        )
        u["reviewer"] = _user(
            s,
            "reviewer",
            f"{m['private_email']}.r1@example.org",
            name=f"Reviewer {m['reviewer_one']}",
            institution="Universidad A",
        )
        u["reviewer2"] = _user(
            s,
            "reviewer",
            "r2@example.org",
            name=f"Reviewer {m['reviewer_two']}",
            institution="Universidad B",
        )
        u["reviewer3"] = _user(s, "reviewer", "r3@example.org", institution="Universidad C")
        u["editor"] = _user(s, "editor", "editor@example.org")
        u["admin"] = _user(s, "admin", "admin@example.org")
        u["deactivated"] = _user(s, "submitter", "gone@example.org", institution="Otra")
        u["spare"] = _user(s, "submitter", "spare@example.org", institution="Spare")

        services.sync_frameworks(s)

        def who(name: str) -> User:
            return s.get(User, u[name])

        def new_case(key: str, name: str, owner: str = "submitter", **changes) -> str:
            case = workflow.create_case(s, actor=who(owner), raw=case_record(name, **changes))
            world.refs[key], world.case_ids[key] = case.ref, case.id
            return case.ref

        def move(key: str, action: str, actor: str, reason: str = "") -> None:
            workflow.transition_case(
                s, actor=who(actor), ref=world.refs[key], action=action, reason=reason
            )

        # Public cases: one under review, one with a published assessment.
        new_case("published", "Sistema publico de triaje")
        move("published", "submit", "submitter")
        move("published", "publish", "editor")
        new_case("assessed", "Sistema publico evaluado")
        move("assessed", "submit", "submitter")
        move("assessed", "publish", "editor")

        # Hidden cases in every non-public state.
        new_case("draft", f"Borrador {m['draft']}")
        new_case("submitted", "Caso enviado", purpose=f"Proposito {m['submitted']}")
        move("submitted", "submit", "submitter")
        new_case("returned", f"Devuelto {m['returned']}")
        move("returned", "submit", "submitter")
        move("returned", "return", "editor", f"Falta fuente {m['return_reason']}")
        new_case("resubmitted", f"Reenviado {m['resubmitted']}")
        move("resubmitted", "submit", "submitter")
        move("resubmitted", "return", "editor", "Falta algo")
        move("resubmitted", "resubmit", "submitter")
        new_case("rejected", f"Rechazado {m['rejected']}")
        move("rejected", "submit", "submitter")
        move("rejected", "reject", "editor", f"Fuera de alcance {m['reject_reason']}")
        new_case("withdrawn", f"Retirado {m['withdrawn']}")
        move("withdrawn", "submit", "submitter")
        move("withdrawn", "publish", "editor")
        move("withdrawn", "withdraw", "editor", f"Cerrado {m['withdraw_reason']}")
        new_case(
            "other_draft",
            f"Ajeno {m['other_draft']}",
            owner="other_submitter",
            institution="Ministerio de Salud",
            country="CHL",
        )

        # Frameworks: UNESCO (reviews in progress on "published", published on "assessed") and
        # the EU AI Act (a consolidated, unpublished assessment on "published").
        for key, fw_key in (("unesco", "unesco-2021"), ("euaia", "eu-ai-act-2024")):
            row = services.get_framework_version(s, fw_key, "1.0")
            world.frameworks[key] = (row.id, row.key, row.version)
        unesco, euaia = world.frameworks["unesco"][0], world.frameworks["euaia"][0]

        def assign(case_key: str, framework_id: int, reviewers: tuple[str, ...]) -> list[int]:
            rows = services.assign_reviewers(
                s,
                actor=who("editor"),
                case_id=world.case_ids[case_key],
                framework_id=framework_id,
                reviewer_ids=[u[r] for r in reviewers],
                due_date=NEXT_WEEK,
            )
            return [row.id for row in rows]

        def framework(framework_id: int):
            return services.framework_of(s.get(services.FrameworkVersion, framework_id))

        # Reviews in progress: reviewer 1 submitted (unpublished), reviewer 2 has a draft,
        # reviewer 3 has not started (the editor may withdraw them).
        r1, r2, r3 = assign("published", unesco, ("reviewer", "reviewer2", "reviewer3"))
        world.assignments.update(in_progress=r1, draft_review=r2, withdrawable=r3)
        fw = framework(unesco)
        services.submit_review(
            s,
            actor=who("reviewer"),
            assignment_id=r1,
            answers=complete_answers(fw, f"Seen {m['unpublished_review']}"),
        )
        services.save_review(
            s,
            actor=who("reviewer2"),
            assignment_id=r2,
            answers=complete_answers(fw, f"Draft {m['draft_review']}"),
        )

        # A consolidated but unpublished assessment.
        a1, a2 = assign("published", euaia, ("reviewer", "reviewer2"))
        fw_eu = framework(euaia)
        for reviewer, assignment_id in (("reviewer", a1), ("reviewer2", a2)):
            services.submit_review(
                s,
                actor=who(reviewer),
                assignment_id=assignment_id,
                answers=complete_answers(fw_eu, f"Seen {m['unpublished_review']}"),
            )
        services.consolidate(
            s,
            actor=who("editor"),
            case_id=world.case_ids["published"],
            framework_id=euaia,
            lang="en",
        )
        services.update_consolidation(
            s,
            actor=who("editor"),
            case_id=world.case_ids["published"],
            framework_id=euaia,
            values={},
            recommendations=[f"Do {m['draft_recommendation']}"],
            method_note=f"Note {m['draft_assessment']}",
        )

        # A published assessment (its reviews are public only as aggregated scores).
        b1, b2 = assign("assessed", unesco, ("reviewer", "reviewer2"))
        world.assignments["published_assessment"] = b1
        for reviewer, assignment_id in (("reviewer", b1), ("reviewer2", b2)):
            services.submit_review(
                s,
                actor=who(reviewer),
                assignment_id=assignment_id,
                answers=complete_answers(fw, "Checked the official report."),
            )
        services.consolidate(
            s,
            actor=who("editor"),
            case_id=world.case_ids["assessed"],
            framework_id=unesco,
            lang="en",
        )
        services.publish_assessment(
            s, actor=who("editor"), case_id=world.case_ids["assessed"], framework_id=unesco
        )

        # A pending update of a public case (the public keeps the published version).
        data, number = workflow.working_data(s, s.get(workflow.Case, world.case_ids["published"]))
        workflow.update_case(
            s,
            actor=who("submitter"),
            ref=world.refs["published"],
            raw=data | {"name": f"Actualizado {m['pending_update']}"},
            base_version=number,
            comment="update",
        )

        # A correction with a private contact e-mail.
        correction = corrections.suggest_correction(
            s,
            case_ref=world.refs["assessed"],
            text="The start year is 2022, see the report.",
            contact_email=f"{m['contact_email']}@example.org",
        )
        world.correction_id = correction.id

        # Regulatory instruments: one public, one archived (hidden from the public).
        for key, title, status in (
            ("public", "Ley de prueba sobre IA", "in_force"),
            ("archived", f"Archivado {m['archived_instrument']}", "archived"),
        ):
            instrument = services.create_instrument(
                s,
                actor=who("editor"),
                raw={"country": "PER", "title": title, "type": "law", "status": status},
            )
            world.instruments[key] = instrument.id
    return world
