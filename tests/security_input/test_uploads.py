"""Hostile uploads on the import page: wrong types, bombs, garbage, traversal, size, encodings.

Whatever the file, the editor gets a report (or the translated 413 page), never a 500, no file
lands outside the upload folder, and nothing is imported unless the whole file is.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from tests.cases.test_import_service import HEADER, ROWS, csv_bytes
from tests.cases.test_import_views import TOKEN_FIELD, case_count, confirm, upload, uploads

# Werkzeug's test client spools request bodies over 500 kB to a temporary file it never closes;
# the warning would surface in whichever test runs next.
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def zip_bomb() -> bytes:
    """A tiny .xlsx whose sheet inflates to ~60 MB of XML (compression ratio ~1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"/>',
        )
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 60_000_000)
    return buffer.getvalue()


def garbage_xlsx() -> bytes:
    """A zip that looks like a workbook but whose parts are not XML."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", b"\x00\xff not xml")
        archive.writestr("xl/workbook.xml", b"<broken")
    return buffer.getvalue()


@pytest.fixture
def editor(app, client, login_as):
    login_as("editor")
    client.get("/?lang=en")  # messages are checked in English


@pytest.mark.parametrize(
    "name, data",
    [
        ("picture.csv", PNG),
        ("picture.xlsx", PNG),
        ("picture.json", PNG),
        ("bomb.xlsx", zip_bomb()),
        ("garbage.xlsx", garbage_xlsx()),
        ("empty.csv", b""),
        ("empty.xlsx", b""),
        ("nul.csv", b"name,institution\x00,country\n\x00\x00\x00,y,ARG\n"),
        ("utf16.csv", csv_bytes(HEADER, ROWS).decode().encode("utf-16")),
        ("latin.csv", "name;institución\nSistema;Ministério\n".encode("cp1252")),
        ("broken.json", b'{"records": [{"name": "x"'),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000),
        ("scalar.json", b"42"),
        ("open-quote.csv", csv_bytes(HEADER, ROWS) + b'"never closed,\n'),
        ("huge-field.csv", b"name,institution,country\n" + b"x" * 3_000_000 + b",y,ARG\n"),
    ],
)
def test_a_hostile_file_gets_a_report_and_imports_nothing(app, client, editor, name, data):
    response = upload(client, data, name=name)
    assert response.status_code in (200, 400), f"{name}: {response.status_code}"
    html = response.get_data(as_text=True)
    assert "Traceback" not in html
    if response.status_code == 200:
        # Read, but with nothing importable at once (the report says why row by row).
        match = TOKEN_FIELD.search(html)
        if match:
            confirm(client, match.group(1))
    else:
        assert uploads(app) == []  # a refused file is not kept
    assert case_count(app) in (0, 1, 2)
    if name in {"picture.csv", "bomb.xlsx", "garbage.xlsx", "broken.json", "picture.xlsx"}:
        assert response.status_code == 400 and case_count(app) == 0


@pytest.mark.parametrize(
    "name",
    [
        "../../x.csv",
        "..\\..\\x.csv",
        "/etc/cron.d/x.csv",
        "C:\\Windows\\x.csv",
        "x\x00.csv",
        "....//....//x.csv",
        "%2e%2e%2fx.csv",
    ],
)
def test_a_traversal_file_name_is_never_a_path(app, client, editor, name, tmp_path):
    before = set(Path(app.instance_path).parent.rglob("*"))
    response = upload(client, csv_bytes(HEADER, ROWS), name=name)
    assert response.status_code in (200, 400)
    stored = uploads(app)
    assert all(re.fullmatch(r"[0-9a-f]{32}\.(data|json)", p.name) for p in stored)
    after = set(Path(app.instance_path).parent.rglob("*"))
    assert all(str(p).startswith(app.instance_path) for p in after - before)
    assert not any(p.name.endswith("x.csv") for p in after)
    shown = response.get_data(as_text=True)
    assert "/etc/" not in shown and "..\\" not in shown and "../" not in shown


@pytest.mark.parametrize("lang, title", [("en", "File too large"), ("es", "Archivo demasiado")])
def test_an_oversize_upload_gets_a_translated_413_page(app, client, editor, lang, title):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    client.get(f"/?lang={lang}")
    response = upload(client, b"name,institution,country\n" + b"x,y,ARG\n" * 2000)
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert title in html and f'lang="{lang}"' in html
    assert case_count(app) == 0 and uploads(app) == []


def test_a_file_with_one_bad_row_imports_nothing(app, client, editor):
    rows = [ROWS[0], ROWS[1][:3]]  # the second row is cut short
    response = upload(client, csv_bytes(HEADER, rows))
    html = response.get_data(as_text=True)
    match = TOKEN_FIELD.search(html)
    if match:
        confirm(client, match.group(1))
    assert case_count(app) in (0, 2)  # all or nothing, never one of two
