"""The test client itself: a large upload leaves no temporary file to the garbage collector."""

from __future__ import annotations

from io import BytesIO

from flask.testing import FlaskClient

from tests.conftest import unclosed_files_after

# Over werkzeug's 500 KB threshold: the encoded body goes to a temporary file.
LARGE_UPLOAD = b"x" * 600_000


def _upload(client) -> None:
    client.post("/admin/imports", data={"file": (BytesIO(LARGE_UPLOAD), "a.csv")})


def test_a_large_upload_leaves_no_file_open(client):
    assert unclosed_files_after(lambda: [_upload(client) for _ in range(3)]) == []


def test_without_closing_the_body_the_file_is_left_open(app):
    # What BodyClosingClient (tests/conftest.py) is there for: werkzeug's own client leaks it.
    assert unclosed_files_after(lambda: _upload(FlaskClient(app)))
