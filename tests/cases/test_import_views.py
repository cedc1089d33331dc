"""The editor's import pages: upload, preview and report, confirm, history; limits and roles."""

from __future__ import annotations

import io
import re
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from cases.models import Case, ImportRun
from observatory.db import session_scope
from tests.cases.test_import_service import HEADER, MAPPING, ROWS, csv_bytes, custom_rows
from tests.conftest import csrf_token

TOKEN_FIELD = re.compile(r'name="token"[^>]*value="([0-9a-f]{32})"')


def upload(client, data: bytes, name: str = "cases.csv", **fields):
    payload = {
        "csrf_token": csrf_token(client, "/imports"),
        "file": (io.BytesIO(data), name),
        "file_format": "auto",
        "status": "published",
    }
    payload.update(fields)
    return client.post("/imports", data=payload, content_type="multipart/form-data")


def confirm(client, token: str):
    return client.post(
        "/imports/confirm",
        data={"csrf_token": csrf_token(client, "/imports"), "token": token},
    )


def case_count(app) -> int:
    with session_scope(app) as session:
        return session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()


def uploads(app) -> list[Path]:
    folder = Path(app.instance_path) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_the_upload_page_is_for_editors_only(client, login_as):
    assert client.get("/imports").status_code == 302  # anonymous: sign in first
    login_as("submitter")
    assert client.get("/imports").status_code == 403
    assert client.get("/imports/history").status_code == 403
    assert client.post("/imports/confirm", data={"token": "0" * 32}).status_code in (400, 403)


def test_upload_preview_then_confirm_imports_and_lists_the_run(app, client, login_as):
    login_as("editor")
    page = client.get("/imports")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.get_data(True)
    response = upload(client, csv_bytes(HEADER, ROWS))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Asistente judicial" in html and "Chatbot tributario" in html  # the preview
    token = TOKEN_FIELD.search(html).group(1)
    assert case_count(app) == 0  # nothing before the confirmation
    response = confirm(client, token)
    assert response.status_code == 302 and response.headers["Location"].endswith("/imports/history")
    assert case_count(app) == 2
    assert uploads(app) == []  # the stored upload is gone once imported
    history = client.get("/imports/history").get_data(as_text=True)
    assert "cases.csv" in history and "observatory" in history
    # A token is single use.
    assert confirm(client, token).status_code == 404


def test_a_broken_file_shows_the_row_report_and_imports_nothing(app, client, login_as):
    login_as("editor")
    client.get("/?lang=en")  # the messages below are checked in English
    data = csv_bytes(HEADER, [ROWS[0], [*ROWS[1][:3], "Atlantis", *ROWS[1][4:]]])
    response = upload(client, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was imported" in html and "Atlantis" in html
    assert 'name="token"' not in html
    assert case_count(app) == 0 and uploads(app) == []


def test_a_file_with_bad_encoding_is_reported(app, client, login_as):
    login_as("editor")
    response = upload(client, b"name,institution,country\nCaf\x81,X,ARG\n")
    assert response.status_code == 400
    assert "0x81" in response.get_data(as_text=True)
    assert case_count(app) == 0


def test_a_custom_mapping_can_be_uploaded(app, client, login_as):
    login_as("editor")
    response = upload(
        client,
        custom_rows(),
        name="registro.csv",
        mapping=(io.BytesIO(MAPPING.encode()), "registro.yaml"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "test-register" in html and "registro.yaml" in html
    assert confirm(client, TOKEN_FIELD.search(html).group(1)).status_code == 302
    assert case_count(app) == 2


def test_a_broken_mapping_is_reported_with_its_name_and_key(app, client, login_as):
    login_as("editor")
    response = upload(
        client,
        custom_rows(),
        mapping=(io.BytesIO(b"mapping: 1\nregister: x1\nkey: a\nfields: {nmae: a}\n"), "m.yaml"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "m.yaml: fields.nmae" in html


def test_the_client_file_name_never_becomes_a_path(app, client, login_as, tmp_path):
    login_as("editor")
    response = upload(client, csv_bytes(HEADER, ROWS), name="../../../evil/../cases.csv")
    assert response.status_code == 200
    stored = uploads(app)
    assert stored and all(re.fullmatch(r"[0-9a-f]{32}\.(data|json)", p.name) for p in stored)
    assert not (Path(app.instance_path).parent / "evil").exists()
    token = TOKEN_FIELD.search(response.get_data(as_text=True)).group(1)
    confirm(client, token)
    with session_scope(app) as session:
        run = session.exec(select(ImportRun)).one()
        assert run.file_name == "cases.csv"


def test_a_forged_token_is_refused(app, client, login_as):
    login_as("editor")
    assert confirm(client, "../../etc/passwd").status_code == 400
    assert confirm(client, "f" * 32).status_code == 404


def test_another_editors_upload_cannot_be_confirmed(app, client, login_as):
    login_as("editor")
    html = upload(client, csv_bytes(HEADER, ROWS)).get_data(as_text=True)
    token = TOKEN_FIELD.search(html).group(1)
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/imports")})
    login_as("admin", email="admin@example.org")
    assert confirm(client, token).status_code == 404
    assert case_count(app) == 0


def test_an_oversize_upload_gets_the_413_page(app, client, login_as):
    login_as("editor")
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = upload(client, b"name,institution,country\n" + b"x,y,ARG\n" * 1000)
    assert response.status_code == 413
    assert "413" in response.get_data(as_text=True)  # the error page, not a traceback
    assert case_count(app) == 0


def test_only_allowed_file_types(app, client, login_as):
    login_as("editor")
    client.get("/?lang=en")  # the message below is checked in English
    response = upload(client, b"<?php echo 1; ?>", name="shell.php")
    assert response.status_code == 400
    assert "CSV, XLSX or JSON" in response.get_data(as_text=True)
    assert uploads(app) == []
