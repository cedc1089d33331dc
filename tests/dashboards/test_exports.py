"""Downloads of a filtered case list: CSV, XLSX and JSON hold exactly the rows of the list (all
pages), spreadsheet formulas are neutralised, and the OMB 2025 layout; the `export` command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cases.services import RECORD_FIELDS, load_starter_library
from dashboards import exports
from dashboards.crosswalk import OMB_2025_COLUMNS, crosswalk, omb_2025_row
from dashboards.dictionary import EXPORT_COLUMNS
from observatory import cli
from observatory.db import session_scope
from tests.dashboards._opendata import add_case, page_refs

# The header of the published 2025 inventory CSV, in its order.
OMB_HEADER = (
    "agency,agency_name,id,use_case_name,agency_bureau,contact_email,is_withheld,"
    "development_stage,is_high_impact,HI_justification,topic_area,classification,problem_solved,"
    "benefits,system_outputs,operational_date,contracting_usage,vendor_name,have_ato,"
    "system_name_ato,data_description,link_to_data,has_pii,pia_url,demographic_features,"
    "has_custom_code,code_url,hi_testing_conducted,hi_assessment_completed,hi_potential_impacts,"
    "hi_independent_review,hi_ongoing_monitoring,hi_training_established,hi_failsafe_presence,"
    "hi_appeal_process,hi_public_consultation"
).split(",")
SEARCHES = [
    {},
    {"country": ["BRA"]},
    {"branch": ["judicial", "legislative"], "sort": "name"},
    {"q": "tribunal"},
    {"country": ["ARG", "CHL", "MEX"], "technique": ["nlp"], "sort": "oldest"},
    {"country": ["ZZZ"]},
]
HOSTILE = {
    "name": '=HYPERLINK("http://x.example/steal","click")',
    "acronym": "-2+3",
    "institution": "@SUM(A1:A9)",
    "purpose": "+cmd|' /C calc'!A0",
    "developer_name": "\tTabbed",
    "data_used": "\rCarriage",
}


@pytest.fixture
def library(app):
    with session_scope(app) as session:
        load_starter_library(session)
    return app


def _query(params: dict) -> str:
    pairs = []
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append(f"{name}={item}")
    return "&".join(["lang=en", *pairs])


def _csv_rows(data: bytes) -> list[dict]:
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx_rows(data: bytes, sheet: str = "cases") -> tuple[list, list[list]]:
    workbook = load_workbook(io.BytesIO(data))
    rows = [list(row) for row in workbook[sheet].iter_rows(values_only=True)]
    return rows[0], rows[1:]


@pytest.mark.parametrize("params", SEARCHES)
def test_every_format_has_exactly_the_rows_of_the_list(library, client, db_session, params):
    expected = page_refs(db_session, **params)
    query = _query(params)
    as_csv = client.get(f"/cases/export.csv?{query}")
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    assert [row["ref"] for row in _csv_rows(as_csv.data)] == expected
    header, rows = _xlsx_rows(client.get(f"/cases/export.xlsx?{query}").data)
    assert header == list(EXPORT_COLUMNS)
    assert [row[0] for row in rows] == expected
    document = json.loads(client.get(f"/cases/export.json?{query}").data)
    assert [item["ref"] for item in document["items"]] == expected
    assert document["total"] == len(expected) and document["licence"] == "CC BY 4.0"


def test_the_page_number_does_not_limit_the_export(library, client, db_session):
    everything = page_refs(db_session, country=["BRA"])
    assert len(everything) > 20  # more than one page of /cases
    rows = _csv_rows(client.get("/cases/export.csv?country=BRA&page=2").data)
    assert [row["ref"] for row in rows] == everything


def test_json_export_keeps_the_record_structure(library, client):
    item = json.loads(client.get("/cases/export.json?country=URY").data)["items"][0]
    assert list(item) == list(EXPORT_COLUMNS)
    assert isinstance(item["techniques"], list) and isinstance(item["sources"], list)
    api = client.get(f"/api/v1/cases/{item['ref']}").get_json()
    assert {key: api[key] for key in EXPORT_COLUMNS} == item


def test_csv_cells_are_flat(library, client):
    row = _csv_rows(client.get("/cases/export.csv?country=URY").data)[0]
    assert set(row) == set(EXPORT_COLUMNS)
    assert row["url"].endswith(f"/cases/{row['ref']}")
    assert row["sources"].startswith("http") and "{" not in row["sources"]
    assert row["licence"] == "CC BY 4.0"


def test_formula_injection_is_neutralised_in_csv_and_xlsx(app, client):
    with session_scope(app) as session:
        add_case(session, ref="URY-0500", country="URY", **HOSTILE)
        session.commit()
    row = _csv_rows(client.get("/cases/export.csv?country=URY").data)[0]
    for field, value in HOSTILE.items():
        assert row[field] == "'" + value, field
    header, rows = _xlsx_rows(client.get("/cases/export.xlsx?country=URY").data)
    cells = dict(zip(header, rows[0], strict=True))
    for field, value in HOSTILE.items():
        # (XML turns a carriage return into a line feed when the workbook is read back.)
        assert cells[field] == "'" + value.replace("\r", "\n"), field
    workbook = load_workbook(io.BytesIO(client.get("/cases/export.xlsx?country=URY").data))
    for cell in workbook["cases"][2]:
        assert cell.data_type != "f", cell.coordinate
    # The OMB layout is neutralised too; JSON keeps the text as it is.
    omb = _csv_rows(client.get("/cases/export.csv?country=URY&layout=omb-2025").data)[0]
    assert omb["use_case_name"] == "'" + HOSTILE["name"]
    item = json.loads(client.get("/cases/export.json?country=URY").data)["items"][0]
    assert item["name"] == HOSTILE["name"]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("", ""),
        (2021, 2021),
        (None, None),
    ],
)
def test_neutralise(value, expected):
    assert exports.neutralise(value) == expected


def test_xlsx_drops_characters_excel_cannot_hold():
    data = exports.to_xlsx(["a"], [["bell\x07 and nul\x00"]])
    _header, rows = _xlsx_rows(data)
    assert rows == [["bell and nul"]]


def test_omb_layout_headers_and_values(library, client):
    assert list(OMB_2025_COLUMNS) == OMB_HEADER
    data = client.get("/cases/export.csv?layout=omb-2025&country=BRA").data
    rows = _csv_rows(data)
    assert list(rows[0]) == OMB_HEADER
    api = {
        item["ref"]: item
        for item in client.get("/api/v1/cases?country=BRA&per_page=100").get_json()["items"]
    }
    for row in rows:
        record = api[row["id"]]
        assert row["use_case_name"] == record["name"]
        assert row["agency_name"] == record["institution"]
        assert row["is_withheld"] == "No"
        assert row["development_stage"] in {"Pre-deployment", "Pilot", "Deployed", "Retired", ""}
        assert row["operational_date"] == str(record["year_started"] or "")
        assert row["is_high_impact"] == ""  # never derived
    header, _rows = _xlsx_rows(client.get("/cases/export.xlsx?layout=omb-2025").data)
    assert header == OMB_HEADER
    document = json.loads(client.get("/cases/export.json?layout=omb-2025&country=BRA").data)
    assert document["layout"] == "omb-2025" and list(document["items"][0]) == OMB_HEADER


def test_omb_row_maps_values_through_the_crosswalk():
    record = {
        "ref": "PER-0001",
        "name": "Sistema",
        "institution": "Poder Judicial",
        "lifecycle_status": "in_production",
        "techniques": ["rule_based", "nlp", "generative_ai"],
        "sector": "social_protection",
        "year_started": 2021,
        "developer_type": "in_house",
        "developer_name": "Equipo interno",
        "personal_data": "unknown",
        "purpose": "Clasifica",
        "data_used": "Expedientes",
        "source_code_url": "https://example.org/code",
    }
    row = omb_2025_row(record)
    assert row["development_stage"] == "Deployed"
    assert row["classification"] == "Generative AI"  # the first in the table's order
    assert row["topic_area"] == "Benefits Processing"
    assert row["contracting_usage"] == "In-house Development"
    assert row["vendor_name"] == ""  # built in-house: no vendor
    assert row["has_pii"] == ""  # unknown stays empty
    assert row["code_url"] == "https://example.org/code"
    assert row["operational_date"] == "2021"


def test_crosswalk_covers_every_field_and_names_real_omb_columns():
    fields = [row.field for row in crosswalk()]
    assert set(RECORD_FIELDS) <= set(fields) and len(fields) == len(set(fields))
    assert set(EXPORT_COLUMNS) <= set(fields)
    for row in crosswalk():
        assert not row.omb_2025 or row.omb_2025 in OMB_2025_COLUMNS
        # Honest: every field without an OMB counterpart says why.
        if not row.omb_2025:
            assert row.notes, row.field


def test_unknown_layout_is_refused(client):
    assert client.get("/cases/export.csv?layout=pstw").status_code == 400
    assert client.get("/cases/export.pdf").status_code == 404


def test_export_etag_gives_304(library, client):
    first = client.get("/cases/export.csv?country=BRA")
    etag = first.headers["ETag"]
    again = client.get("/cases/export.csv?country=BRA", headers={"If-None-Match": etag})
    assert again.status_code == 304
    other = client.get("/cases/export.csv?country=ARG", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_export_command_writes_the_filtered_rows_with_progress(
    cli_env, library, db_session, tmp_path
):
    output = tmp_path / "bra.csv"
    result = CliRunner().invoke(
        cli.main,
        [
            "export",
            "--format",
            "csv",
            "--country",
            "BRA",
            "--sort",
            "name",
            "-o",
            str(output),
            "--base-url",
            "https://observatory.example.org",
        ],
    )
    assert result.exit_code == 0, result.output
    expected = page_refs(db_session, country=["BRA"], sort="name")
    rows = _csv_rows(output.read_bytes())
    assert [row["ref"] for row in rows] == expected
    assert rows[0]["url"] == f"https://observatory.example.org/cases/{rows[0]['ref']}"
    assert f"Exported {len(expected)} of {len(expected)} cases" in result.stdout
    assert "country=BRA" in result.stdout
    assert f"Reading cases: {len(expected)}/{len(expected)} (100%)" in result.stderr


def test_export_command_omb_layout_xlsx(cli_env, library, tmp_path):
    output = tmp_path / "omb.xlsx"
    result = CliRunner().invoke(
        cli.main, ["export", "--format", "xlsx", "--layout", "omb-2025", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    header, rows = _xlsx_rows(output.read_bytes())
    assert header == OMB_HEADER and len(rows) == 260
    assert "OMB 2025 layout" in result.stdout


def test_crosswalk_document_covers_every_row():
    document = (Path(__file__).resolve().parents[2] / "docs" / "crosswalk.md").read_text(
        encoding="utf-8"
    )
    for row in crosswalk():
        assert f"| `{row.field}` |" in document, row.field
    for column in OMB_2025_COLUMNS:
        assert column in document, column
