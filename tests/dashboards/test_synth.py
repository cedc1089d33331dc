"""The synthetic library (`observatory synth`): what it writes, that it is deterministic and
follows the starter library, that search finds it, and that its reviewers can never sign in."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import func, select
from werkzeug.security import check_password_hash

from cases.models import Case, CaseEvent, CaseTechnique, CaseVersion
from cases.search import CaseQuery, search_cases
from cases.services import build_search_text, get_published_case, load_starter_library
from cases.starter import parse_starter_csv
from criteria import services as criteria_services
from criteria.models import (
    Assessment,
    AssessmentScore,
    Review,
    ReviewAnswer,
    ReviewAssignment,
)
from criteria.schema import load_framework_file
from dashboards import synth
from observatory import accounts
from observatory.app import create_app
from observatory.db import data_version, get_engine, session_scope
from observatory.models import User
from observatory.security import verify_password
from tests.conftest import BACKEND, _fresh_database, login, make_user

UNESCO = Path(__file__).resolve().parents[2] / "criteria" / "frameworks" / "unesco-2021@1.0.yaml"
CRITERIA = 10


def _count(session, model, *where) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def _generate(app, **options) -> synth.SynthReport:
    with app.app_context(), session_scope(app) as session:
        return synth.generate(session, **options)


def _snapshot(app) -> dict[str, list[tuple]]:
    """Everything the generator writes that does not depend on the clock, in id order."""
    tables = {
        "ai_case": "id, ref, name, institution, country, level, branch, sector, purpose, "
        "lifecycle_status, year_started, year_ended, developer_type, search_text",
        "ai_case_technique": "case_id, technique",
        "review_assignment": "id, case_id, reviewer_id",
        "review_answer": "review_id, item_key, value_number, value_text, special",
        "assessment": "id, case_id, overall_score, alpha, n_reviewers, common_tier",
        "assessment_score": "assessment_id, item_key, value_number, special, flagged",
    }
    with get_engine(app).connect() as connection:
        return {
            table: [
                tuple(row)
                for row in connection.execute(sa.text(f"SELECT {columns} FROM {table}")).all()
            ]
            for table, columns in tables.items()
        }


def test_generate_writes_cases_reviews_and_published_assessments(app):
    with app.app_context(), session_scope(app) as session:
        criteria_services.sync_frameworks(session)
        before = data_version(session)
        report = synth.generate(session, cases=40, reviews_per_case=3, seed=11)
        assert data_version(session) == before + 1  # bumped once
        synthetic = Case.provenance == "import"
        assert _count(session, Case, synthetic) == 40
        assert _count(session, Case, Case.state == "published") == 40
        assert _count(session, CaseVersion, CaseVersion.published.is_(True)) == 40
        assert _count(session, CaseEvent) == 40
        assert _count(session, CaseTechnique) >= 40
        assert _count(session, ReviewAssignment, ReviewAssignment.status == "submitted") == 120
        assert _count(session, Review, Review.status == "submitted") == 120
        assert _count(session, ReviewAnswer) == 120 * CRITERIA
        assert _count(session, Assessment, Assessment.status == "published") == 40
        assert _count(session, AssessmentScore) == 40 * CRITERIA
        assert (report.cases, report.reviews, report.answers) == (40, 120, 1200)
        assert (report.assessments, report.scores) == (40, 400)

        case = session.exec(select(Case).order_by(Case.id)).first()
        assert case.name.startswith(f"Synthetic case {case.id:06d}")
        assert case.provenance_detail == {"register": "synthetic", "seed": 11}
        assert case.search_text == build_search_text(case)
        assert case.published_at is not None and case.last_verified is not None
        version = session.exec(select(CaseVersion).where(CaseVersion.case_id == case.id)).one()
        assert version.data["name"] == case.name and version.number == 1

        # Each case: distinct reviewers, and an assessment as the editor's consolidation
        # would make it (median per criterion, mean of the ten, reviewers counted).
        assignments = session.exec(
            select(ReviewAssignment).where(ReviewAssignment.case_id == case.id)
        ).all()
        assert len({a.reviewer_id for a in assignments}) == 3
        assessment = session.exec(select(Assessment).where(Assessment.case_id == case.id)).one()
        assert assessment.n_reviewers == 3
        assert assessment.result["reviews"] == sorted([a.id, 1] for a in assignments)
        framework = load_framework_file(UNESCO)
        ratings = {}
        for assignment in assignments:
            review = session.exec(select(Review).where(Review.assignment_id == assignment.id)).one()
            answers = criteria_services._answers_of(session, framework, review.id)
            ratings[assignment.reviewer_id] = {key: a.answer for key, a in answers.items()}
        proposals = criteria_services.consolidate_answers(framework, ratings)
        values = {key: proposal.value for key, proposal in proposals.items()}
        summary = criteria_services.score_summary(framework, values, as_of=date.today())
        assert assessment.overall_score == summary["overall"]
        assert assessment.result["scores"] == summary
        agreement = criteria_services.agreement_for(framework, {case.id: ratings})
        assert assessment.alpha == pytest.approx(agreement.alpha)
        assert assessment.result["percent_agreement"] == agreement.percent
        for key, proposal in proposals.items():
            assert assessment.result["items"][key]["value"] == proposal.value
            assert assessment.result["items"][key]["flagged"] == proposal.flagged
        # The public read model shows it.
        published = criteria_services.published_assessments(session, case.id)
        assert [p.framework_key for p in published] == ["unesco-2021"]


def test_generate_without_reviews_adds_cases_only(app):
    report = _generate(app, cases=5, reviews_per_case=0, seed=1)
    assert (report.cases, report.reviews, report.assessments) == (5, 0, 0)
    assert report.reviewers_used == 0


def test_refs_continue_each_countrys_numbering_and_ids_stay_free(app):
    with app.app_context(), session_scope(app) as session:
        load_starter_library(session)
        starter = Counter(row.country for row in parse_starter_csv())
    _generate(app, cases=30, seed=3)
    second = _generate(app, cases=30, seed=4)
    assert second.reviewers_created == 0  # the synthetic reviewers are reused
    with app.app_context(), session_scope(app) as session:
        refs = session.exec(select(Case.ref)).all()
        assert len(refs) == len(set(refs)) == 260 + 60
        by_country: dict[str, list[int]] = {}
        for ref in refs:
            country, number = ref.split("-")
            by_country.setdefault(country, []).append(int(number))
        for country, numbers in by_country.items():
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), country
            assert len(numbers) >= starter[country]
        # New rows made the ordinary way get fresh ids (PostgreSQL sequences were moved).
        highest = session.exec(select(func.max(Case.id))).one()
    user = make_user(app, "editor", email="after-synth@example.org")
    with app.app_context(), session_scope(app) as session:
        case = Case(
            ref="URY-9999",
            name="A case added the ordinary way",
            institution="Agencia",
            country="URY",
            level="national",
            branch="executive",
            sector="health",
        )
        session.add(case)
        session.commit()
        assert case.id == highest + 1
        assert user.id > max(session.exec(select(ReviewAssignment.reviewer_id)).all())


def test_same_seed_same_library_whatever_the_processes(
    app, database_template, tmp_path, monkeypatch
):
    monkeypatch.setattr(synth, "CHUNK_SIZE", 7)  # several batches from a few cases
    first = _generate(app, cases=30, seed=5, processes=0)
    assert first.processes == 0
    snapshot = _snapshot(app)
    get_engine(app).dispose()

    (tmp_path / "second").mkdir()
    url = _fresh_database(database_template, tmp_path / "second")
    second_app = create_app({**app.config, "DATABASE_URL": url})
    try:
        second = _generate(second_app, cases=30, seed=5, processes=2)
        assert second.processes == 2
        assert _snapshot(second_app) == snapshot
    finally:
        get_engine(second_app).dispose()


def test_records_depend_on_the_seed_only():
    assert list(synth.sample_records(20, seed=1)) == list(synth.sample_records(20, seed=1))
    assert list(synth.sample_records(20, seed=1)) != list(synth.sample_records(20, seed=2))


def _tvd(left: Counter, right: Counter) -> float:
    """Total variation distance between two empirical distributions."""
    n_left, n_right = sum(left.values()), sum(right.values())
    keys = set(left) | set(right)
    return sum(abs(left[k] / n_left - right[k] / n_right) for k in keys) / 2


def test_distributions_follow_the_starter_library():
    rows = parse_starter_csv()
    records = list(synth.sample_records(3000, seed=9))
    for field, limit in (
        ("country", 0.08),
        ("branch", 0.04),
        ("level", 0.04),
        ("sector", 0.06),
        ("lifecycle_status", 0.04),
        ("year_started", 0.06),
        ("developer_type", 0.04),
    ):
        starter = Counter(getattr(row, field) for row in rows)
        sampled = Counter(record[field] for record in records)
        assert _tvd(starter, sampled) < limit, field
        assert set(sampled) <= set(starter), field
    starter = Counter(t for row in rows for t in row.techniques)
    sampled = Counter(t for record in records for t in record["techniques"])
    assert _tvd(starter, sampled) < 0.05
    top = [country for country, _n in Counter(r["country"] for r in records).most_common(2)]
    assert top[0] == "BRA"


def test_reviewer_answers_respect_each_item(app):
    framework = load_framework_file(UNESCO)
    rng = random.Random(1)
    answers = [
        (item, synth.reviewer_answer(item, rng.uniform(-1, 5), rng))
        for _ in range(200)
        for item in framework.items
    ]
    for item, answer in answers:
        criteria_services.scoring.validate_answer(item, answer)
    assert {a for _item, a in answers} >= {0, 1, 2, 3, 4, "insufficient_information"}


def test_search_finds_synthetic_cases_by_facets_and_text(app, client):
    _generate(app, cases=120, seed=8)
    with app.app_context(), session_scope(app) as session:
        counts = Counter(
            (country, branch)
            for country, branch in session.exec(select(Case.country, Case.branch)).all()
        )
        (country, branch), expected = counts.most_common(1)[0]
        query = CaseQuery(q="synthetic", countries=(country,), branches=(branch,))
        result = search_cases(session, query)
        assert result.total == expected > 0
        assert all(case.name.startswith("Synthetic case") for case in result.items)
        assert dict(result.facets["country"])[country] == expected
        assert search_cases(session, CaseQuery(q="synthetic")).total == 120
        # A word of a modelled purpose, accent- and case-insensitively, by prefix.
        case = result.items[0]
        word = max(case.purpose.split(), key=len).strip(".,;:()").lower()
        found = search_cases(session, CaseQuery(q=word[:6], countries=(country,))).total
        assert found >= 1
        ref = case.ref
        assert get_published_case(session, ref).id == case.id
    response = client.get(f"/cases?q=synthetic&country={country}&branch={branch}")
    assert response.status_code == 200
    assert "Synthetic case" in response.get_data(as_text=True)
    assert client.get(f"/cases/{ref}").status_code == 200


def test_no_synthetic_reviewer_can_sign_in(app, client):
    _generate(app, cases=10, seed=2)
    with app.app_context(), session_scope(app) as session:
        reviewers = session.exec(select(User).where(User.email.like("synthetic-reviewer-%"))).all()
        assert len(reviewers) == synth.reviewer_pool_size(10, 3)
        for user in reviewers:
            assert user.password_hash == synth.UNUSABLE_PASSWORD_HASH
            assert not user.is_active
            assert user.role == "reviewer"
            for guess in ("", "!", synth.UNUSABLE_PASSWORD_HASH, "correct horse battery"):
                assert not verify_password(user, guess)
                assert not check_password_hash(user.password_hash, guess)
        # Even reactivated by an admin, the account has no password that works.
        user = reviewers[0]
        user.is_active = True
        session.add(user)
        session.commit()
        assert (
            accounts.authenticate(session, email=user.email, password="!", address="test") is None
        )
        email = user.email
    response = login(client, email, "!")
    assert response.status_code != 302


def test_synth_command_reports_what_it_added(app, database_url):
    from observatory.cli import main

    runner = CliRunner()
    env = {
        "OBSERVATORY_DATABASE_URL": database_url,
        "OBSERVATORY_SECRET_KEY": "a-long-random-test-secret-key-for-the-cli-0123456789",
        "OBSERVATORY_ENV": "production",
        "OBSERVATORY_INSTANCE_PATH": str(Path(app.config["INSTANCE_PATH"])),
    }
    result = runner.invoke(
        main, ["synth", "--cases", "6", "--reviews-per-case", "2", "--seed", "3"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "Added 6 synthetic cases" in result.output
    assert "12 reviews, 120 answers, 6 published assessments with 60 scores" in result.output
    assert " s." in result.output
    bad = runner.invoke(main, ["synth", "--cases", "1", "--framework", "nope@9"], env=env)
    assert bad.exit_code != 0 and "unknown framework version" in bad.output


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's own foreign-key check")
def test_sqlite_foreign_keys_hold(app):
    _generate(app, cases=15, seed=4)
    with get_engine(app).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
