"""Backup and restore: every table, row by row, SQLite→SQLite, PG→PG and SQLite→PG; damaged
files, non-empty databases and accounts restored without password hashes."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from cases import corrections, workflow
from criteria import services
from observatory import accounts, backup
from observatory.bootstrap import initialise
from observatory.db import get_engine, make_engine, session_scope, upgrade_schema
from observatory.models import User
from tests.conftest import BACKEND, PASSWORD, make_app, make_user
from tests.criteria.test_services import rubric_answers
from tests.factories import create_case

STATES = ("draft", "submitted", "returned", "resubmitted", "published", "rejected")


# Many accounts; scrypt itself is tested elsewhere.
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _app(url: str, tmp_path: Path) -> Flask:
    return make_app(url, tmp_path / "instance")


def _sqlite_app(tmp_path: Path, name: str) -> Flask:
    url = f"sqlite:///{tmp_path / name}"
    engine = make_engine(url)
    upgrade_schema(engine)
    engine.dispose()
    return _app(url, tmp_path)


@pytest.fixture
def other_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """A second empty migrated database on the same back end as `app`."""
    if BACKEND != "postgresql":
        second = _sqlite_app(tmp_path, "other.sqlite3")
        yield second
        get_engine(second).dispose()
        return
    server = get_engine(app).url
    name = f"{server.database}_restore"
    admin = make_engine(server.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade_schema(engine)
    engine.dispose()
    second = _app(url, tmp_path)
    yield second
    get_engine(second).dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def fill(app: Flask) -> dict[str, int]:
    """Cases in every state with versions, reviews, a published assessment, corrections,
    users of every role (one deactivated) and audit events, all through the services."""
    with app.app_context():
        initialise(app)  # frameworks and regulations, as `observatory init` does
    people = {
        "submitter": make_user(app, "submitter", institution="Poder Judicial", country="PER").id,
        "editor": make_user(app, "editor").id,
        "admin": make_user(app, "admin").id,
        "r1": make_user(app, "reviewer", email="r1@example.org", institution="Uni A").id,
        "r2": make_user(app, "reviewer", email="r2@example.org", institution="Uni B").id,
        "gone": make_user(app, "reviewer", email="gone@example.org").id,
    }
    with app.test_request_context(), session_scope(app) as session:

        def who(key: str) -> User:
            return session.get(User, people[key])

        admin, editor, submitter = who("admin"), who("editor"), who("submitter")
        accounts.set_role(session, actor=admin, user_id=people["gone"], role="editor")
        accounts.set_active(session, actor=admin, user_id=people["gone"], active=False)
        accounts.authenticate(session, email="editor@example.org", password=PASSWORD, address="x")
        accounts.authenticate(session, email="editor@example.org", password="wrong", address="x")
        refs = {}
        moves = {
            "draft": [],
            "submitted": [("submitter", "submit")],
            "returned": [("submitter", "submit"), ("editor", "return")],
            "resubmitted": [
                ("submitter", "submit"),
                ("editor", "return"),
                ("submitter", "resubmit"),
            ],
            "published": [("submitter", "submit"), ("editor", "publish")],
            "rejected": [("submitter", "submit"), ("editor", "reject")],
            "withdrawn": [("submitter", "submit"), ("editor", "publish"), ("editor", "withdraw")],
        }
        for state, steps in moves.items():
            case = create_case(session, submitter=submitter, name=f"Sistema {state} «ñ» 😀")
            for actor, action in steps:
                workflow.transition_case(
                    session, actor=who(actor), ref=case.ref, action=action, reason="Porque sí."
                )
            refs[state] = case.ref
        # A published case with a pending update (a second, unpublished version).
        ref = refs["published"]
        data, number = workflow.working_data(
            session,
            session.exec(sa.select(workflow.Case).where(workflow.Case.ref == ref)).scalar_one(),
        )
        workflow.update_case(
            session,
            actor=submitter,
            ref=ref,
            raw=data | {"purpose": "Actualizado."},
            base_version=number,
            comment="update",
        )
        case_id = session.exec(
            sa.select(workflow.Case.id).where(workflow.Case.ref == ref)
        ).scalar_one()
        first = corrections.suggest_correction(
            session, case_ref=ref, text="El año de inicio es 2021.", contact_email="a@b.org"
        )
        corrections.suggest_correction(session, case_ref=ref, text="Otra corrección abierta.")
        corrections.answer_correction(
            session, correction_id=first.id, status="accepted", reply="Gracias.", actor=editor
        )
        version = services.get_framework_version(session, "unesco-2021", "1.0")
        fid = version.id
        assignments = services.assign_reviewers(
            session,
            actor=editor,
            case_id=case_id,
            framework_id=fid,
            reviewer_ids=[people["r1"], people["r2"]],
            due_date=datetime.now(UTC).date(),
        )
        answers = rubric_answers(services.framework_of(version), 3)
        for assignment, reviewer in zip(assignments, ("r1", "r2"), strict=True):
            services.submit_review(
                session, actor=who(reviewer), assignment_id=assignment.id, answers=answers
            )
        services.consolidate(session, actor=editor, case_id=case_id, framework_id=fid, lang="en")
        services.publish_assessment(session, actor=editor, case_id=case_id, framework_id=fid)
    return people


def table_rows(app: Flask) -> dict[str, list[dict]]:
    """Every row of every table, in primary-key order, with times in UTC."""
    rows = {}
    with get_engine(app).connect() as connection:
        for table in backup.backup_tables():
            result = connection.execute(backup._ordered(table)).mappings().all()
            rows[table.name] = [
                {key: _normal(value) for key, value in row.items()} for row in result
            ]
    return rows


def _normal(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def assert_same_rows(source: Flask, target: Flask, *, hashes: bool) -> None:
    before, after = table_rows(source), table_rows(target)
    assert set(before) == set(after)
    restored = after["audit_event"].pop()
    assert restored["action"] == "backup.restored"
    assert after["data_version"][0]["version"] > before["data_version"][0]["version"]
    before.pop("data_version"), after.pop("data_version")
    for account in after["user_account"]:
        original = next(u for u in before["user_account"] if u["id"] == account["id"])
        if hashes:
            assert account["password_hash"] == original["password_hash"]
        else:
            assert account["password_hash"] == backup.UNUSABLE_PASSWORD
        account["password_hash"] = original["password_hash"]
    for name, rows in before.items():
        assert rows == after[name], name


def test_backup_covers_every_table_of_the_schema(app, tmp_path):
    from sqlmodel import SQLModel

    summary = backup.write_backup(get_engine(app), tmp_path / "b.gz")
    assert set(summary.counts) == set(SQLModel.metadata.tables)
    assert backup.verify_backup(tmp_path / "b.gz").counts == summary.counts


def test_round_trip_on_the_same_back_end_gives_identical_rows(app, other_app, tmp_path):
    fill(app)
    file = tmp_path / "backup.jsonl.gz"
    summary = backup.write_backup(get_engine(app), file)
    assert summary.counts["assessment_score"] > 0 and summary.counts["review_answer"] > 0
    with gzip.open(file, "rt", encoding="utf-8") as stream:
        assert "pbkdf2" not in stream.read()  # no password hash left the database
    with other_app.app_context():
        initialise(other_app)  # a database after `observatory init` counts as empty
    restored = backup.restore_backup(get_engine(other_app), file)
    assert restored.counts == summary.counts
    assert_same_rows(app, other_app, hashes=False)
    _search_and_sequences_work(other_app)


def _search_and_sequences_work(app: Flask) -> None:
    from cases.search import CaseQuery, search_cases

    with app.app_context(), session_scope(app) as session:
        found = search_cases(session, CaseQuery.from_args({"q": "sistema withdrawn"}))
        assert found.total == 0  # withdrawn cases are not public
        found = search_cases(session, CaseQuery.from_args({"q": "sistema published"}))
        assert found.total == 1
    # New rows get fresh ids (PostgreSQL sequences were moved past the restored rows).
    make_user(app, "submitter", email="after-restore@example.org")


def test_password_hashes_only_when_asked(app, other_app, tmp_path):
    fill(app)
    file = tmp_path / "with-hashes.gz"
    assert backup.write_backup(get_engine(app), file, include_password_hashes=True)
    backup.restore_backup(get_engine(other_app), file)
    assert_same_rows(app, other_app, hashes=True)
    with other_app.app_context(), session_scope(other_app) as session:
        assert accounts.authenticate(
            session, email="editor@example.org", password=PASSWORD, address="y"
        )


def test_accounts_restored_without_a_hash_cannot_sign_in_until_given_a_password(
    app, other_app, tmp_path
):
    make_user(app, "editor")
    file = tmp_path / "b.gz"
    backup.write_backup(get_engine(app), file)
    backup.restore_backup(get_engine(other_app), file)
    with other_app.app_context(), session_scope(other_app) as session:
        for password in (PASSWORD, "", backup.UNUSABLE_PASSWORD):
            assert (
                accounts.authenticate(
                    session, email="editor@example.org", password=password, address="z"
                )
                is None
            )
        backup.set_password(session, email="editor@example.org", password="a new long pass")
        assert accounts.authenticate(
            session, email="editor@example.org", password="a new long pass", address="z"
        )


@pytest.mark.skipif(BACKEND != "postgresql", reason="needs the PostgreSQL test run")
def test_round_trip_from_sqlite_to_postgresql(app, tmp_path):
    source = _sqlite_app(tmp_path, "source.sqlite3")
    try:
        fill(source)
        file = tmp_path / "sqlite.gz"
        backup.write_backup(get_engine(source), file)
        backup.restore_backup(get_engine(app), file)
        assert_same_rows(source, app, hashes=False)
        _search_and_sequences_work(app)
    finally:
        get_engine(source).dispose()


def _damaged(file: Path, tmp_path: Path) -> dict[str, Path]:
    data = gzip.decompress(file.read_bytes())
    variants = {
        "truncated gzip": file.read_bytes()[: len(file.read_bytes()) // 2],
        "no end marker": gzip.compress(data[: data.rindex(b'{"end":true')]),
        "cut in a row": gzip.compress(data[: len(data) // 2]),
        "altered": gzip.compress(data.replace(b"Sistema", b"Sistemo", 1)),
        "not gzip": b"hello",
        "not a backup": gzip.compress(b'{"hello": 1}\n'),
        "empty": gzip.compress(b""),
    }
    paths = {}
    for name, content in variants.items():
        path = tmp_path / f"{name.replace(' ', '-')}.gz"
        path.write_bytes(content)
        paths[name] = path
    return paths


def test_damaged_files_are_refused_and_nothing_is_written(app, other_app, tmp_path):
    make_user(app, "editor")
    workflow_user = make_user(app, "submitter")
    with app.app_context(), session_scope(app) as session:
        create_case(session, submitter=session.get(User, workflow_user.id))
    file = tmp_path / "good.gz"
    backup.write_backup(get_engine(app), file)
    empty = table_rows(other_app)
    for name, path in _damaged(file, tmp_path).items():
        with pytest.raises(backup.BackupError) as caught:
            backup.restore_backup(get_engine(other_app), path)
        assert str(caught.value), name
        assert table_rows(other_app) == empty, name


def test_a_database_that_is_not_empty_is_refused_unless_replace(app, other_app, tmp_path):
    make_user(app, "editor")
    file = tmp_path / "b.gz"
    backup.write_backup(get_engine(app), file)
    make_user(other_app, "admin", email="someone@example.org")
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore_backup(get_engine(other_app), file)
    backup.restore_backup(get_engine(other_app), file, replace=True)
    emails = {row["email"] for row in table_rows(other_app)["user_account"]}
    assert emails == {"editor@example.org"}


def test_a_backup_from_another_schema_revision_is_refused(app, other_app, tmp_path):
    file = tmp_path / "b.gz"
    backup.write_backup(get_engine(app), file)
    with get_engine(other_app).begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    with pytest.raises(backup.BackupError, match="revision"):
        backup.restore_backup(get_engine(other_app), file)


def test_init_fills_only_the_tables_a_restore_replaces(app):
    with app.app_context():
        initialise(app)
    filled = {name for name, rows in table_rows(app).items() if rows}
    assert filled <= backup.SEEDED_TABLES


def test_rows_are_streamed_in_chunks(app, other_app, tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "CHUNK", 2)
    for n in range(5):
        make_user(app, "reviewer", email=f"r{n}@example.org")
    seen: list[tuple[str, int]] = []
    file = tmp_path / "b.gz"
    backup.write_backup(get_engine(app), file, progress=lambda t, n: seen.append((t, n)))
    assert ("user_account", 2) in seen and ("user_account", 5) in seen
    seen.clear()
    backup.restore_backup(get_engine(other_app), file, progress=lambda t, n: seen.append((t, n)))
    assert ("user_account", 4) in seen and ("user_account", 5) in seen
    assert len(table_rows(other_app)["user_account"]) == 5


def test_backup_and_restore_commands(app, other_app, tmp_path):
    from observatory.cli import main

    make_user(app, "editor")
    file = tmp_path / "cli.gz"
    env = {"OBSERVATORY_SECRET_KEY": "test-secret-key-not-for-production"}
    runner = app.test_cli_runner()
    result = runner.invoke(
        main, ["backup", str(file)], env=env | {"OBSERVATORY_DATABASE_URL": _url(app)}
    )
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output and oct(os.stat(file).st_mode)[-3:] == "600"
    other_env = env | {"OBSERVATORY_DATABASE_URL": _url(other_app)}
    result = runner.invoke(main, ["restore", str(file)], env=other_env)
    assert result.exit_code == 0, result.output
    assert "set-password" in result.output
    result = runner.invoke(main, ["restore", str(file)], env=other_env)
    assert result.exit_code == 1 and "not empty" in result.output
    result = runner.invoke(
        main,
        ["set-password", "--email", "editor@example.org"],
        env=other_env | {"OBSERVATORY_NEW_PASSWORD": "another long pass"},
    )
    assert result.exit_code == 0, result.output
    actions = [row["action"] for row in table_rows(app)["audit_event"]]
    assert "backup.created" in actions
    actions = [row["action"] for row in table_rows(other_app)["audit_event"]]
    assert actions[-2:] == ["backup.restored", "user.password_set"]


def _url(app: Flask) -> str:
    return get_engine(app).url.render_as_string(hide_password=False)
