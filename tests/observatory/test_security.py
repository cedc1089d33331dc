"""Security baseline: CSRF on every POST, strict CSP without inline scripts, error pages."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.conftest import make_user

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def post_rules(app: Flask) -> list[str]:
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.methods - SAFE_METHODS:
            path = re.sub(r"<(?:int:)?(\w+)>", "1", rule.rule)
            rules.append(path)
    return sorted(rules)


def test_every_post_without_csrf_token_is_rejected(app, client, login_as):
    login_as("admin")
    paths = post_rules(app)
    assert paths, "no POST routes found"
    for path in paths:
        response = client.post(path, data={"anything": "x"})
        assert response.status_code == 400, path


def test_security_headers_and_no_inline_script(app, client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = response.get_data(as_text=True)
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_no_external_urls_in_pages(app, client):
    html = client.get("/").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)


@pytest.mark.parametrize(
    "lang, text",
    [("es", "Página no encontrada"), ("pt", "Página não encontrada"), ("en", "Page not found")],
)
def test_404_page_in_the_users_language(client, lang, text):
    response = client.get(f"/no/such/page?lang={lang}")
    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


def test_500_page_shows_no_traceback(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom?lang=en")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body and "secret internals" not in body
    assert "Traceback" not in body


def test_403_page(app, client, login_as):
    login_as("submitter")
    response = client.get("/admin/users?lang=pt")
    assert response.status_code == 403
    assert "Não permitido" in response.get_data(as_text=True)


def test_database_outage_is_a_503_page(app, client):
    from sqlalchemy.exc import OperationalError

    @app.route("/db-down")
    def db_down():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    response = client.get("/db-down?lang=en")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.get_data(as_text=True)


def test_demo_user_helper_does_not_leak_into_pages(app, client):
    make_user(app, "editor", email="ed@example.org")
    assert "ed@example.org" not in client.get("/").get_data(as_text=True)
