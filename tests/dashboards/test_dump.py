"""The dump for archivists: dump → load into an empty database gives the same cases and
versions; loading is all or nothing; the public dump holds only public material."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from cases import workflow
from cases.models import Case, CaseEvent, CaseTechnique, CaseVersion
from cases.services import load_starter_library
from dashboards import dump as dump_module
from dashboards.dump import DumpError, load_dump, read_dump, write_dump
from observatory import cli
from observatory.db import get_engine, session_scope
from observatory.models import AuditEvent, User
from tests.conftest import _fresh_database, make_app, make_user
from tests.dashboards._opendata import SECRET, hidden_material
from tests.factories import valid_case_record


def record(**changes) -> dict:
    """A valid case record with a list field (vulnerable groups) that a dump must carry too."""
    return (
        valid_case_record(
            name="Sistema de priorización de expedientes", vulnerable_groups=["people_in_poverty"]
        )
        | changes
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def snapshot(session) -> dict[str, dict]:
    """Every case by reference with its techniques, versions and events (ids and accounts left
    out: they are not carried by a dump); timestamps to the second, in UTC."""
    cases = {}
    for case in session.exec(select(Case)).all():
        columns = case.model_dump(exclude={"id", "submitter_id"})
        for name in ("created_at", "updated_at", "published_at"):
            when = _utc(columns[name])
            columns[name] = when.replace(microsecond=0) if when else None
        techniques = session.exec(
            select(CaseTechnique.technique).where(CaseTechnique.case_id == case.id)
        ).all()
        versions = session.exec(
            select(CaseVersion).where(CaseVersion.case_id == case.id).order_by(CaseVersion.number)
        ).all()
        events = session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        ).all()
        cases[case.ref] = {
            "case": columns,
            "techniques": sorted(techniques),
            "versions": [
                (
                    v.number,
                    v.data,
                    v.comment,
                    v.published,
                    _utc(v.created_at).replace(microsecond=0),
                )
                for v in versions
            ],
            "events": [
                (
                    e.from_state,
                    e.to_state,
                    e.reason,
                    e.version_number,
                    _utc(e.at).replace(microsecond=0),
                )
                for e in events
            ],
        }
    return cases


@pytest.fixture
def busy_library(app):
    """The starter library plus cases in every workflow state made through the workflow
    service: drafts, returned, rejected, a published case with two versions, one with a
    pending update, a withdrawn one and a verified one."""
    submitter = make_user(app, "submitter", institution="Poder Judicial", country="PER")
    editor = make_user(app, "editor")
    with session_scope(app) as session:
        load_starter_library(session)
        sub, ed = session.get(User, submitter.id), session.get(User, editor.id)

        def new(**changes):
            return workflow.create_case(session, actor=sub, raw=record(**changes)).ref

        def move(ref, who, action, reason=""):
            workflow.transition_case(session, actor=who, ref=ref, action=action, reason=reason)

        new(name="Borrador")
        returned = new(name="Devuelto")
        move(returned, sub, "submit")
        move(returned, ed, "return", "Falta una fuente")
        rejected = new(name="Rechazado")
        move(rejected, sub, "submit")
        move(rejected, ed, "reject", "No es IA")
        for name in ("Publicado dos veces", "Con actualización pendiente", "Retirado"):
            ref = new(name=name)
            move(ref, sub, "submit")
            move(ref, ed, "publish")
            if name != "Retirado":
                workflow.update_case(
                    session,
                    actor=sub,
                    ref=ref,
                    raw=record(name=name, acronym="V2", year_ended=None),
                    base_version=1,
                    comment="acronym",
                )
            if name == "Publicado dos veces":
                move(ref, ed, "publish")
                workflow.mark_verified(session, actor=ed, ref=ref)
            if name == "Retirado":
                move(ref, ed, "withdraw", "Duplicado")
    return app


def test_full_dump_round_trip_gives_the_same_cases_and_versions(
    busy_library, database_template, tmp_path
):
    with session_scope(busy_library) as session:
        before = snapshot(session)
        path = tmp_path / "full.json"
        with path.open("wb") as handle:
            summary = write_dump(session, handle, scope="full")
    assert summary.cases == len(before) == 260 + 6
    assert summary.versions == sum(len(c["versions"]) for c in before.values())
    get_engine(busy_library).dispose()

    # An empty database (on PostgreSQL the same one, emptied).
    (tmp_path / "restore").mkdir()
    url = _fresh_database(database_template, tmp_path / "restore")
    restored = make_app(url, tmp_path / "instance2")
    try:
        with session_scope(restored) as session:
            assert session.exec(select(func.count()).select_from(Case)).one() == 0
            loaded = load_dump(session, path)
            assert (loaded.cases, loaded.versions, loaded.events) == (
                summary.cases,
                summary.versions,
                summary.events,
            )
        with session_scope(restored) as session:
            after = snapshot(session)
            audit = session.exec(select(AuditEvent).where(AuditEvent.action == "dump.load")).one()
            assert audit.detail["cases"] == summary.cases
        assert after.keys() == before.keys()
        for ref in before:
            assert after[ref] == before[ref], ref
        # The restored library is searchable (the full-text index follows the rows).
        client = restored.test_client()
        found = client.get("/api/v1/cases?q=publicado+dos").get_json()
        assert {item["name"] for item in found["items"]} >= {"Publicado dos veces"}
    finally:
        get_engine(restored).dispose()


def test_public_dump_holds_public_cases_and_published_versions_only(app, client):
    with session_scope(app) as session:
        load_starter_library(session)
        hidden_material(session)
        session.commit()
    response = client.get("/data/dump.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert SECRET.encode() not in response.data
    document = json.loads(response.data)
    assert document["format"] == dump_module.DUMP_FORMAT and document["scope"] == "public"
    assert document["licence"] == "CC BY 4.0"
    assert document["counts"]["cases"] == len(document["cases"]) == 261
    assert all(v["published"] for c in document["cases"] for v in c["versions"])
    assert all("events" not in case for case in document["cases"])
    pending = next(case for case in document["cases"] if case["ref"] == "URY-8000")
    assert pending["state"] == "published" and [v["number"] for v in pending["versions"]] == [1]
    starter = document["cases"][0]
    assert starter["provenance"] == "starter" and starter["source_key"].startswith("starter:")
    assert starter["provenance_detail"]["file"] == "lac-cases.csv"
    etag = response.headers["ETag"]
    assert client.get("/data/dump.json", headers={"If-None-Match": etag}).status_code == 304


def test_loading_refuses_cases_already_present_and_writes_nothing(app, tmp_path):
    with session_scope(app) as session:
        load_starter_library(session)
        path = tmp_path / "public.json"
        with path.open("wb") as handle:
            write_dump(session, handle, scope="public")
    with session_scope(app) as session:
        with pytest.raises(DumpError) as caught:
            load_dump(session, path)
        assert "already in the database" in caught.value.problems[0]
        assert len(caught.value.problems) >= 260
        assert session.exec(select(func.count()).select_from(Case)).one() == 260


def test_loading_is_all_or_nothing(app, tmp_path, monkeypatch):
    with session_scope(app) as session:
        load_starter_library(session)
        buffer = io.BytesIO()
        write_dump(session, buffer, scope="public")
    document = json.loads(buffer.getvalue())
    for entry in document["cases"]:  # new references, so nothing conflicts
        entry["ref"] = entry["ref"].replace("-", "-9")
        entry["source_key"] = None
    path = tmp_path / "renamed.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    original = dump_module._restore_case
    calls = []

    def failing(session, entry):
        calls.append(entry["ref"])
        if len(calls) == 100:
            raise ValueError("the disk is full")
        return original(session, entry)

    monkeypatch.setattr(dump_module, "_restore_case", failing)
    with session_scope(app) as session, pytest.raises(DumpError, match="nothing was loaded"):
        load_dump(session, path)
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 260


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda d: d.update(format="something else"), "not a case dump"),
        (lambda d: d.update(format_version=99), "format_version"),
        (lambda d: d["cases"][1].update(ref=d["cases"][0]["ref"]), "repeated ref"),
        (lambda d: d["cases"][0].update(state="lost"), "unknown state"),
        (lambda d: d["cases"][0]["record"].pop("sector"), "record lacks sector"),
        (lambda d: d["cases"][0]["versions"][0].update(number=0), "version numbers"),
        (lambda d: d["cases"][0].update(published_at="yesterday"), "not a timestamp"),
    ],
)
def test_read_dump_lists_problems(app, tmp_path, change, problem):
    with session_scope(app) as session:
        load_starter_library(session)
        buffer = io.BytesIO()
        write_dump(session, buffer, scope="public")
    document = json.loads(buffer.getvalue())
    change(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(DumpError) as caught:
        read_dump(path)
    assert problem in str(caught.value)


def test_not_json_is_a_dump_error(tmp_path):
    path = tmp_path / "nonsense.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DumpError, match="cannot read"):
        read_dump(path)


def test_dump_and_load_dump_commands_report_progress_and_a_summary(cli_env, app, tmp_path):
    with session_scope(app) as session:
        load_starter_library(session)
    output = tmp_path / "dump.json"
    result = CliRunner().invoke(cli.main, ["dump", "--scope", "full", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "Dumped 260 cases, 260 versions and 260 events (full)" in result.stdout
    assert "Dumping cases: 260/260 (100%)" in result.stderr
    assert json.loads(output.read_text(encoding="utf-8"))["counts"]["cases"] == 260

    refused = CliRunner().invoke(cli.main, ["load-dump", str(output)])
    assert refused.exit_code != 0
    assert "was not loaded (260 problems); nothing was written" in refused.output
    assert "already in the database" in refused.stderr

    with session_scope(app) as session:  # empty the library, then restore it
        for model in (CaseEvent, CaseVersion, CaseTechnique, Case):
            for row in session.exec(select(model)).all():
                session.delete(row)
            session.flush()
        session.commit()
    loaded = CliRunner().invoke(cli.main, ["load-dump", str(output)])
    assert loaded.exit_code == 0, loaded.output
    assert "Loaded 260 cases, 260 versions and 260 events" in loaded.stdout
    assert "Loading cases: 260/260 (100%)" in loaded.stderr
    with session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 260
