"""Importing: mappings, the plan (row-by-row report) and the all-or-nothing write."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases.importing import (
    MappingError,
    builtin_mapping,
    builtin_mappings,
    parse_mapping,
    plan_import,
    run_import,
)
from cases.importing.mapping import apply_mapping
from cases.models import Case, CaseEvent, CaseTechnique, CaseVersion, ImportRun
from observatory.db import data_version, session_scope
from observatory.models import AuditEvent, User
from observatory.security import PermissionDenied
from tests.conftest import make_user
from tests.factories import CSV_HEADER, case_csv

HEADER = CSV_HEADER
ROWS = [
    [
        "A-1",
        "Asistente judicial",
        "Poder Judicial",
        "ARG",
        "national",
        "judicial",
        "justice",
        "Clasifica expedientes.",
        '["nlp", "classification"]',
        "En producción",
        "2021",
        "https://example.gob.ar/a",
    ],
    [
        "A-2",
        "Chatbot tributario",
        "Receita Federal",
        "bra",
        "Nacional",
        "Executive",
        "Tax administration",
        "Responde preguntas.",
        "['chatbot']",
        "pilot",
        "03/2022",
        "https://example.gov.br/b",
    ],
]

# A register the code has never seen, described by a mapping only.
MAPPING = """
mapping: 1
register: test-register
title: A test register
file: {date_order: mdy}
detect: [Ref, System]
key:
  columns: [[Ref], [Agency, System]]
original_id: Ref
defaults:
  country: CHL
  branch: executive
  level: national
  sources:
    - {url: "https://example.cl/registro", title: Registro de prueba, type: official}
fields:
  name: System
  institution: Agency
  purpose:
    template: ["{Goal}", "Benefits: {Benefit}"]
  sector:
    column: Area
    values: {Salud: health, "Hacienda – Impuestos": tax, Otro: null}
  techniques:
    column: Methods
    values: {ML: predictive_model, "Gen AI": generative_ai}
  year_started: Since
  lifecycle_status:
    column: Stage
    values: {Live: in_production, Test: pilot, "": unknown}
provenance:
  high_risk:
    column: Risk
    values: {"High": true, "Low": false, "": null}
"""


def csv_bytes(header, rows, encoding="utf-8") -> bytes:
    return case_csv(rows, header=header, encoding=encoding)


def custom_rows(*changes: dict) -> bytes:
    header = [
        "Ref",
        "System",
        "Agency",
        "Goal",
        "Benefit",
        "Area",
        "Methods",
        "Since",
        "Stage",
        "Risk",
    ]
    base = [
        {
            "Ref": "R1",
            "System": "Triage",
            "Agency": "Minsal",
            "Goal": "Prioriza pacientes.",
            "Benefit": "Menos espera",
            "Area": "salud",
            "Methods": "['ML']",
            "Since": "Jan-23",
            "Stage": "Live",
            "Risk": "High",
        },
        {
            "Ref": "",
            "System": "Fiscalizador",
            "Agency": "SII",
            "Goal": "",
            "Benefit": "",
            "Area": "Hacienda - impuestos",
            "Methods": "ML; Gen AI",
            "Since": "2024-05-01",
            "Stage": "",
            "Risk": "",
        },
    ]
    for index, change in enumerate(changes):
        base[index].update(change)
    return csv_bytes(header, [[row[c] for c in header] for row in base])


def count(session, model) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


@pytest.fixture
def editor(app):
    return make_user(app, "editor")


def run(session, editor_id, data, **options):
    actor = session.get(User, editor_id) if editor_id else None
    options.setdefault("file_name", "cases.csv")
    return run_import(session, actor=actor, data=data, **options)


# --- mappings --------------------------------------------------------------------------------


class TestMappings:
    def test_the_shipped_mappings_load(self):
        assert {"us-omb-2025", "uk-atrs"} <= set(builtin_mappings())
        omb = builtin_mapping("us-omb-2025")
        assert omb.defaults["country"] == "USA" and omb.defaults["branch"] == "executive"
        assert builtin_mapping("uk-atrs").defaults["country"] == "GBR"

    @pytest.mark.parametrize(
        ("text", "where"),
        [
            ("mapping: 1\nregister: x1\nkey: a\nfields: {nmae: a}", "fields.nmae"),
            (
                "mapping: 1\nregister: x1\nkey: a\nfields: {sector: {column: a, values: {b: "
                "spaceflight}}}",
                "fields.sector.values['b']",
            ),
            ("mapping: 1\nregister: Bad Name\nkey: a\nfields: {name: a}", "register"),
            ("mapping: 1\nregister: x1\nfields: {name: a}", "key"),
            (
                "mapping: 1\nregister: x1\nkey: a\ndefaults: {country: Atlantis}\n"
                "fields: {name: a}",
                "defaults.country",
            ),
            (
                "mapping: 1\nregister: x1\nkey: a\nfields: {personal_data: {column: a, values: "
                "{Yes: 'yes'}}}",
                "fields.personal_data.values",
            ),
            (
                "mapping: 1\nregister: x1\nkey: a\nfields: {sector: {column: a, patterns: "
                "[{match: '(', value: health}]}}",
                "fields.sector.patterns[0].match",
            ),
            ("mapping: 1\nregister: x1\nkey: a\nfields: {name: a}\nextra: 1", "extra"),
            ("mapping: 1\nregister: x1\nkey: a\nfields: [name: a", "line"),
        ],
    )
    def test_errors_name_the_mapping_file_and_the_key(self, text, where):
        with pytest.raises(MappingError) as caught:
            parse_mapping(text, source="mine.yaml")
        assert str(caught.value).startswith("mine.yaml: ")
        assert where in str(caught.value)

    def test_values_match_whatever_the_case_dashes_and_spaces(self):
        mapping = parse_mapping(MAPPING, source="m.yaml")
        mapped = apply_mapping(
            mapping,
            {
                "Ref": "R",
                "System": " Triage ",
                "Agency": "Minsal",
                "Goal": "x",
                "Benefit": "",
                "Area": "HACIENDA —  impuestos",
                "Methods": '["gen ai", "ml"]',
                "Since": "1/2/2020",
                "Stage": "live",
                "Risk": "low",
            },
        )
        assert mapped.issues == []
        assert mapped.raw["sector"] == "tax"
        assert mapped.raw["techniques"] == ["generative_ai", "predictive_model"]
        assert mapped.raw["year_started"] == 2020
        assert mapped.raw["purpose"] == "x"
        assert mapped.extras == {"high_risk": False}

    def test_unknown_values_are_reported_not_guessed(self):
        mapping = parse_mapping(MAPPING, source="m.yaml")
        mapped = apply_mapping(
            mapping,
            {
                "Ref": "R",
                "System": "S",
                "Agency": "A",
                "Goal": "",
                "Benefit": "",
                "Area": "Spaze",
                "Methods": "ML; Quantum",
                "Since": "someday",
                "Stage": "Live",
                "Risk": "Medium",
            },
        )
        codes = {(issue.code, issue.column, issue.value) for issue in mapped.issues}
        assert ("unknown-value", "Area", "Spaze") in codes
        assert ("unknown-value", "Methods", "Quantum") in codes
        assert ("bad-date", "Since", "someday") in codes
        assert ("unknown-value", "Risk", "Medium") in codes
        assert "fields.sector.values" in next(
            i.message for i in mapped.issues if i.column == "Area"
        )


# --- planning --------------------------------------------------------------------------------


def test_a_file_in_the_observatory_format_is_planned_row_by_row(app):
    with session_scope(app) as session:
        report = plan_import(session, data=csv_bytes(HEADER, ROWS), file_name="x.csv")
    assert report.ok, [row.errors for row in report.rows]
    assert report.register == "observatory"
    assert [row.action for row in report.rows] == ["new", "new"]
    first, second = (row.data for row in report.rows)
    assert first["techniques"] == ["classification", "nlp"]
    assert first["lifecycle_status"] == "in_production"
    assert second["country"] == "BRA" and second["level"] == "national"
    assert second["sector"] == "tax" and second["year_started"] == 2022
    assert first["last_verified"] == date.today().isoformat()
    assert report.rows[0].key == "observatory:a-1"


def test_an_unknown_register_asks_for_a_mapping(app):
    with session_scope(app) as session:
        report = plan_import(session, data=b"foo,bar\n1,2\n", file_name="x.csv")
    assert not report.ok
    assert report.file_errors[0].code == "unknown-register"


def test_a_mapping_that_reads_missing_columns_is_a_file_error(app):
    with session_scope(app) as session:
        report = plan_import(
            session,
            data=b"Ref,System\n1,2\n",
            file_name="x.csv",
            mapping=parse_mapping(MAPPING, source="m.yaml"),
        )
    assert report.file_errors[0].code == "missing-columns"
    assert "m.yaml" in report.file_errors[0].message and "Agency" in report.file_errors[0].message


def test_keys_are_unique_in_a_file_unless_rows_are_identical(app):
    rows = [ROWS[0], ROWS[0], [*ROWS[1][:1], "Otro nombre", *ROWS[1][2:]]]
    rows[2][0] = "A-1"
    with session_scope(app) as session:
        report = plan_import(session, data=csv_bytes(HEADER, rows), file_name="x.csv")
    assert [row.action for row in report.rows] == ["new", "duplicate", "new"]
    # A-1 collides three times; the fallback key (country + institution + name) separates
    # the third row, the second is identical to the first and is imported once.
    assert report.ok
    assert report.rows[1].warnings[0].code == "duplicate-skipped"
    rows[1] = [*ROWS[0][:7], "Otro propósito", *ROWS[0][8:]]
    with session_scope(app) as session:
        report = plan_import(session, data=csv_bytes(HEADER, rows), file_name="x.csv")
    assert not report.ok
    assert {issue.code for row in report.rows for issue in row.errors} == {"duplicate-key"}


# --- writing ---------------------------------------------------------------------------------


def test_import_publishes_cases_with_provenance_versions_and_a_run(app, editor):
    before = None
    with session_scope(app) as session:
        before = data_version(session)
        report = run(session, editor.id, csv_bytes(HEADER, ROWS))
    assert report.written and report.counts["new"] == 2
    with session_scope(app) as session:
        cases = session.exec(select(Case).order_by(Case.ref)).all()
        assert [c.ref for c in cases] == ["ARG-0001", "BRA-0001"]
        case = cases[0]
        assert case.state == "published" and case.provenance == "import"
        assert case.published_at is not None and case.last_verified == date.today()
        assert case.source_key == "observatory:a-1"
        detail = case.provenance_detail
        assert detail["register"] == "observatory" and detail["row"] == 2
        assert detail["file"] == "cases.csv" and detail["by"] == editor.id
        assert detail["original_id"] == "A-1" and len(detail["sha256"]) == 64
        assert detail["import_run"] == report.run_id
        version = session.exec(select(CaseVersion).where(CaseVersion.case_id == case.id)).one()
        assert version.number == 1 and version.published and version.data["name"] == case.name
        techniques = session.exec(
            select(CaseTechnique.technique).where(CaseTechnique.case_id == case.id)
        ).all()
        assert sorted(techniques) == ["classification", "nlp"]
        assert session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id)
        ).one().to_state == ("published")
        run_row = session.exec(select(ImportRun)).one()
        assert run_row.register_key == "observatory" and run_row.counts["new"] == 2
        assert run_row.actor_id == editor.id and run_row.finished_at is not None
        audit = session.exec(
            select(AuditEvent).where(AuditEvent.action == "import.completed")
        ).one()
        assert audit.actor_id == editor.id and audit.detail["counts"]["new"] == 2
        assert data_version(session) > before
        assert case.search_text and "asistente" in case.search_text


def test_references_continue_after_the_highest_in_use(app, editor):
    with session_scope(app) as session:
        run(session, editor.id, csv_bytes(HEADER, ROWS[:1]))
    rows = [[*ROWS[0]], [*ROWS[0]]]
    rows[0][0], rows[0][1] = "A-5", "Segundo sistema"
    rows[1][0], rows[1][1] = "A-6", "Tercer sistema"
    with session_scope(app) as session:
        run(session, editor.id, csv_bytes(HEADER, rows))
        refs = session.exec(select(Case.ref).order_by(Case.ref)).all()
    assert refs == ["ARG-0001", "ARG-0002", "ARG-0003"]


def test_importing_the_same_file_again_adds_nothing(app, editor):
    data = csv_bytes(HEADER, ROWS)
    with session_scope(app) as session:
        run(session, editor.id, data)
        version = data_version(session)
    with session_scope(app) as session:
        report = run(session, editor.id, data)
        assert report.counts["unchanged"] == 2 and report.counts["new"] == 0
        assert count(session, Case) == 2 and count(session, CaseVersion) == 2
        assert data_version(session) == version


def test_a_changed_row_becomes_a_new_published_version(app, editor):
    with session_scope(app) as session:
        run(session, editor.id, csv_bytes(HEADER, ROWS))
    changed = [
        ROWS[0][:7] + ["Clasifica y prioriza expedientes.", '["nlp"]'] + ROWS[0][9:],
        ROWS[1],
    ]
    with session_scope(app) as session:
        report = run(session, editor.id, csv_bytes(HEADER, changed))
        assert [row.action for row in report.rows] == ["changed", "unchanged"]
    with session_scope(app) as session:
        case = session.exec(select(Case).where(Case.ref == "ARG-0001")).one()
        assert case.purpose == "Clasifica y prioriza expedientes." and case.version_number == 2
        versions = session.exec(
            select(CaseVersion).where(CaseVersion.case_id == case.id).order_by(CaseVersion.number)
        ).all()
        assert [(v.number, v.published) for v in versions] == [(1, True), (2, True)]
        techniques = session.exec(
            select(CaseTechnique.technique).where(CaseTechnique.case_id == case.id)
        ).all()
        assert techniques == ["nlp"]
        assert count(session, Case) == 2


def test_submitted_imports_go_to_the_moderation_queue(app, editor):
    with session_scope(app) as session:
        run(session, editor.id, csv_bytes(HEADER, ROWS), status="submitted")
        cases = session.exec(select(Case)).all()
        assert {c.state for c in cases} == {"submitted"}
        assert all(c.published_at is None and c.last_verified is None for c in cases)
        assert not any(session.exec(select(CaseVersion.published)).all())


def test_a_changed_row_of_a_published_case_in_submitted_mode_is_a_pending_update(app, editor):
    with session_scope(app) as session:
        run(session, editor.id, csv_bytes(HEADER, ROWS))
    changed = [ROWS[0][:7] + ["Nuevo propósito."] + ROWS[0][8:]]
    with session_scope(app) as session:
        run(session, editor.id, csv_bytes(HEADER, changed), status="submitted")
        case = session.exec(select(Case).where(Case.ref == "ARG-0001")).one()
        assert case.state == "update_proposed"
        assert case.purpose == "Clasifica expedientes."  # the public version is kept
        latest = session.exec(
            select(CaseVersion).where(CaseVersion.case_id == case.id, CaseVersion.number == 2)
        ).one()
        assert latest.data["purpose"] == "Nuevo propósito." and not latest.published


def test_withdrawn_cases_are_left_alone(app, editor):
    with session_scope(app) as session:
        run(session, editor.id, csv_bytes(HEADER, ROWS))
        session.execute(sa.update(Case).where(Case.ref == "ARG-0001").values(state="withdrawn"))
        session.commit()
    changed = [ROWS[0][:7] + ["Otro."] + ROWS[0][8:]]
    with session_scope(app) as session:
        report = run(session, editor.id, csv_bytes(HEADER, changed))
        assert report.rows[0].action == "skipped"
        assert session.exec(select(Case.purpose).where(Case.ref == "ARG-0001")).one() == (
            "Clasifica expedientes."
        )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (csv_bytes(HEADER, [ROWS[0], ROWS[1][:5]]), "truncated-row"),
        (csv_bytes(HEADER, [ROWS[0], [*ROWS[1][:3], "Atlantis", *ROWS[1][4:]]]), "unknown-country"),
        (csv_bytes(HEADER, ROWS).replace(b"Receita", b"Rec\x81\x9dita"), "bad-encoding"),
        (csv_bytes(HEADER, ROWS) + b'A-3,"Cortado', "malformed-csv"),
        (
            csv_bytes(HEADER, [ROWS[0], [*ROWS[1][:6], "Spaceflight", *ROWS[1][7:]]]),
            "unknown-value",
        ),
        (csv_bytes(HEADER, [ROWS[0], [*ROWS[1][:8], "['nlp'", *ROWS[1][9:]]]), "bad-list"),
        (csv_bytes(HEADER, [ROWS[0], [*ROWS[1][:10], "next year", ROWS[1][11]]]), "bad-date"),
        (csv_bytes(HEADER, [ROWS[0], [*ROWS[1][:1], "", *ROWS[1][2:]]]), "required"),
    ],
)
def test_a_broken_file_gives_a_clear_report_and_writes_nothing(app, editor, data, code):
    with session_scope(app) as session:
        report = run(session, editor.id, data)
    assert not report.ok and not report.written
    codes = {issue.code for issue in report.file_errors} | {
        issue.code for row in report.rows for issue in row.errors
    }
    assert code in codes
    with session_scope(app) as session:
        assert count(session, Case) == 0
        assert count(session, CaseVersion) == 0
        assert count(session, ImportRun) == 0
        audits = select(AuditEvent).where(AuditEvent.action == "import.completed")
        assert session.exec(audits).all() == []


def test_the_report_names_row_column_and_value(app, editor):
    data = csv_bytes(HEADER, [ROWS[0], [*ROWS[1][:3], "Atlantis", *ROWS[1][4:]]])
    with session_scope(app) as session:
        report = run(session, editor.id, data)
    [row] = report.error_rows
    [issue] = row.errors
    assert (row.number, issue.field, issue.column, issue.value) == (
        3,
        "country",
        "country",
        "Atlantis",
    )


def test_a_failure_while_writing_rolls_everything_back(app, editor, monkeypatch):
    from cases.importing import service

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_write_changes", broken)
    with session_scope(app) as session:
        run(session, editor.id, csv_bytes(HEADER, ROWS[:1]))
    changed = [ROWS[0][:7] + ["Otro."] + ROWS[0][8:], ROWS[1]]
    with session_scope(app) as session, pytest.raises(RuntimeError):
        run(session, editor.id, csv_bytes(HEADER, changed))
    with session_scope(app) as session:
        assert count(session, Case) == 1 and count(session, ImportRun) == 1


def test_a_dry_run_checks_everything_and_writes_nothing(app, editor):
    with session_scope(app) as session:
        report = run(session, editor.id, csv_bytes(HEADER, ROWS), dry_run=True)
        assert report.ok and not report.written and report.counts["new"] == 2
        assert count(session, Case) == 0 and count(session, ImportRun) == 0


def test_only_editors_import(app):
    submitter = make_user(app, "submitter")
    with session_scope(app) as session, pytest.raises(PermissionDenied):
        run(session, submitter.id, csv_bytes(HEADER, ROWS))


def test_a_custom_mapping_imports_a_register_the_code_never_saw(app, editor):
    mapping = parse_mapping(MAPPING, source="test.yaml")
    with session_scope(app) as session:
        report = run(session, editor.id, custom_rows(), mapping=mapping)
        assert report.ok and report.written, [r.errors for r in report.rows]
    with session_scope(app) as session:
        cases = session.exec(select(Case).order_by(Case.ref)).all()
        assert [c.ref for c in cases] == ["CHL-0001", "CHL-0002"]
        triage, fiscal = cases
        assert triage.source_key == "test-register:r1"
        assert fiscal.source_key == "test-register:sii|fiscalizador"  # no Ref: agency + name
        assert triage.sector == "health" and triage.year_started == 2023
        assert triage.purpose == "Prioriza pacientes.\n\nBenefits: Menos espera"
        assert triage.lifecycle_status == "in_production" and fiscal.lifecycle_status == "unknown"
        assert triage.provenance_detail["high_risk"] is True
        assert fiscal.provenance_detail["high_risk"] is None
        assert triage.sources == [
            {
                "url": "https://example.cl/registro",
                "title": "Registro de prueba",
                "type": "official",
                "accessed": None,
            }
        ]
        high = session.execute(
            sa.select(sa.func.count()).where(
                Case.provenance_detail["high_risk"].as_boolean() == sa.true()
            )
        ).scalar_one()
        assert high == 1
    with session_scope(app) as session:
        again = run(session, editor.id, custom_rows(), mapping=mapping)
        assert again.counts["unchanged"] == 2
        changed = run(session, editor.id, custom_rows({"Risk": "Low"}), mapping=mapping)
        assert [row.action for row in changed.rows] == ["changed", "unchanged"]


def test_auto_detects_a_shipped_register_by_its_columns(app, editor):
    data = json.dumps(
        {
            "meta": {"n_records": 1},
            "records": [
                {
                    "publishing_body": "Leeds City Council",
                    "tool_name": "Triage assistant",
                    "url": "https://www.gov.uk/algorithmic-transparency-records/x",
                    "published": "2025-01-02T03:04:05Z",
                    "description": "Helps triage requests.",
                }
            ],
        }
    ).encode()
    with session_scope(app) as session:
        report = run(session, editor.id, data, file_name="atrs.json")
        assert report.register == "uk-atrs" and report.written
        case = session.exec(select(Case)).one()
        assert (case.country, case.level, case.branch) == ("GBR", "municipal", "executive")
        assert case.purpose == "Helps triage requests."
        assert case.provenance_detail["record_published"] == "2025-01-02T03:04:05Z"


def test_the_command_shows_progress_and_a_summary(app, runner, tmp_path, monkeypatch):
    from cases.cli import import_command

    path = tmp_path / "cases.csv"
    path.write_bytes(csv_bytes(HEADER, ROWS))
    monkeypatch.setattr("observatory.app.create_app", lambda *a, **k: app)
    result = runner.invoke(import_command, [str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Checking rows" in result.output
    assert "2 rows — 2 new" in result.output and "Dry run" in result.output
    result = runner.invoke(import_command, [str(path), "--status", "submitted"])
    assert result.exit_code == 0, result.output
    assert "Imported as submitted" in result.output
    broken = tmp_path / "broken.csv"
    broken.write_bytes(csv_bytes(HEADER, [[*ROWS[0][:3], "XXX", *ROWS[0][4:]]]))
    result = runner.invoke(import_command, [str(broken)])
    assert result.exit_code == 1
    assert "row 2" in result.output and "nothing was imported" in result.output


def _as_xlsx() -> bytes:
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in ROWS:
        values = list(row)
        values[10] = datetime(int(row[10][-4:]), 1, 1) if "/" in row[10] else int(row[10])
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _as_json() -> bytes:
    records = []
    for row in ROWS:
        record = dict(zip(HEADER, row, strict=True))
        record["techniques"] = json.loads(record["techniques"].replace("'", '"'))
        record["sources"] = [record["sources"]]
        records.append(record)
    return json.dumps({"records": records}, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    ("file_name", "make"),
    [
        ("cases.xlsx", _as_xlsx),
        ("cases.json", _as_json),
        ("cases.csv", lambda: csv_bytes(HEADER, ROWS, encoding="cp1252")),
        ("cases.csv", lambda: b"\xef\xbb\xbf" + csv_bytes(HEADER, ROWS)),
    ],
)
def test_every_file_format_gives_the_same_cases(app, editor, file_name, make):
    with session_scope(app) as session:
        report = run(session, editor.id, make(), file_name=file_name)
        assert report.written, [row.errors for row in report.rows]
        cases = session.exec(select(Case).order_by(Case.ref)).all()
        assert [(c.name, c.lifecycle_status, c.year_started) for c in cases] == [
            ("Asistente judicial", "in_production", 2021),
            ("Chatbot tributario", "pilot", 2022),
        ]
        assert cases[0].sources[0]["url"] == "https://example.gob.ar/a"
    with session_scope(app) as session:
        assert run(session, editor.id, csv_bytes(HEADER, ROWS)).counts["unchanged"] == 2
