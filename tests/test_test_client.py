"""The test client itself: a large upload leaves no temporary file to the garbage collector."""

from __future__ import annotations

import gc
import warnings
from io import BytesIO


def _unclosed_files_after(send) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        send()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_large_upload_leaves_no_file_open(client):
    # Over werkzeug's 500 KB threshold: the encoded body goes to a temporary file.
    def send():
        for _ in range(3):
            client.post("/admin/imports", data={"file": (BytesIO(b"x" * 600_000), "a.csv")})

    assert _unclosed_files_after(send) == []


def test_without_closing_the_body_the_file_is_left_open(app):
    # What BodyClosingClient (tests/conftest.py) is there for: werkzeug's own client leaks it.
    from flask.testing import FlaskClient

    plain = FlaskClient(app)
    leaked = _unclosed_files_after(
        lambda: plain.post("/admin/imports", data={"file": (BytesIO(b"x" * 600_000), "a.csv")})
    )
    assert leaked
