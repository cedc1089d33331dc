"""The test server itself: a browser resetting its connection leaves no file open behind it."""

from __future__ import annotations

import socket
import struct
import time

from tests.browser.conftest import serving
from tests.conftest import unclosed_files_after


def _request_then_reset(port: int, path: str) -> None:
    """Send a request and reset the connection (RST, as chromium does when a page closes)."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        time.sleep(0.002)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_reset_connections_leave_no_static_file_open(app):
    # Without the wrapper in `serving`, werkzeug leaves ~90% of these files to the collector.
    def reset_fifty_requests() -> None:
        with serving(app) as base:
            port = int(base.rsplit(":", 1)[1])
            for _ in range(50):
                _request_then_reset(port, "/static/favicon.svg")

    assert unclosed_files_after(reset_fifty_requests) == []
