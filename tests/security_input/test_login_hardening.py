"""Login hardening beyond tests/observatory/test_auth.py: replayed cookies, Secure over HTTPS
(directly or behind a trusted proxy), one password check whether or not the account exists,
throttling of unknown e-mails and of one address trying many e-mails."""

from __future__ import annotations

import pytest
from werkzeug.http import parse_set_header

from observatory.db import get_engine
from tests.conftest import PASSWORD, csrf_from, csrf_token, login, make_app, make_user, post

COOKIE = "observatory_session"


def session_cookie(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_the_session_cookie_changes_at_sign_in(app, client):
    make_user(app, "editor", email="ed@example.org")
    csrf_token(client)  # an anonymous session exists (it holds the CSRF secret)
    before = session_cookie(client)
    assert before
    login(client, "ed@example.org")
    after = session_cookie(client)
    assert after and after != before


def test_a_copied_cookie_no_longer_works_after_sign_out(app, client):
    make_user(app, "editor", email="ed@example.org")
    login(client, "ed@example.org")
    stolen = session_cookie(client)
    assert client.get("/account/").status_code == 200
    post(client, "/account/logout")
    assert client.get("/account/").status_code == 302
    thief = app.test_client()
    thief.set_cookie(COOKIE, stolen)
    response = thief.get("/account/")
    assert response.status_code == 302 and "/account/login" in response.location
    # Signing in again (a new session) works, and the old cookie stays dead.
    login(client, "ed@example.org")
    assert client.get("/account/").status_code == 200
    assert thief.get("/account/").status_code == 302


def test_cookies_are_secure_over_https_and_not_over_http(app, client):
    make_user(app, "editor", email="ed@example.org")
    plain = login(client, "ed@example.org")
    assert all("Secure" not in c for c in set_cookies(plain))
    secure_client = app.test_client()
    token = csrf_token_over(secure_client, "https://localhost")
    response = secure_client.post(
        "/account/login",
        data={"email": "ed@example.org", "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/account/login"},  # checked by CSRF over HTTPS
    )
    assert response.status_code == 302
    cookies = set_cookies(response)
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)
    assert all("SameSite=Lax" in c for c in cookies)
    assert "Strict-Transport-Security" in response.headers


def csrf_token_over(client, base_url: str, headers: dict | None = None) -> str:
    html = client.get("/account/login", base_url=base_url, headers=headers or {}).get_data(True)
    return csrf_from(html, f"{base_url}/account/login")


@pytest.fixture
def proxied_app(database_url, tmp_path):
    application = make_app(database_url, tmp_path / "instance", PROXY_FIX=1)
    yield application
    get_engine(application).dispose()


def test_behind_a_trusted_proxy_x_forwarded_proto_makes_cookies_secure(proxied_app):
    client = proxied_app.test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    response = client.get("/account/login?lang=en", headers=https)
    cookies = set_cookies(response)
    assert cookies and all("Secure" in c for c in cookies)
    plain = proxied_app.test_client().get("/account/login?lang=en")
    assert all("Secure" not in c for c in set_cookies(plain))


def test_without_proxy_fix_a_forged_header_changes_nothing(app, client):
    response = client.get("/account/login?lang=en", headers={"X-Forwarded-Proto": "https"})
    assert all("Secure" not in c for c in set_cookies(response))
    assert "Strict-Transport-Security" not in response.headers


def test_unknown_email_and_wrong_password_both_check_one_hash(app, client, monkeypatch):
    make_user(app, "editor", email="ed@example.org")
    calls: list[str] = []
    import observatory.security as security

    real = security.check_password_hash
    monkeypatch.setattr(
        security, "check_password_hash", lambda h, p: calls.append(h[:6]) or real(h, p)
    )
    login(client, "ed@example.org", "wrong password!")
    known = list(calls)
    calls.clear()
    login(client, "nobody@example.org", "wrong password!")
    assert len(known) == len(calls) == 1
    assert known[0] == calls[0] == "scrypt"  # same slow hash on both paths


def test_an_unknown_email_is_throttled_like_a_known_one(app, client):
    client.get("/?lang=en")
    for _ in range(5):
        assert login(client, "nobody@example.org", "wrong password!").status_code == 401
    assert login(client, "nobody@example.org", "wrong password!").status_code == 429


def test_one_address_trying_many_emails_is_throttled(app, client):
    make_user(app, "editor", email="ed@example.org")
    statuses = [
        login(client, f"guess{n}@example.org", "wrong password!").status_code for n in range(20)
    ]
    assert statuses.count(401) == 20
    # 4 x LOGIN_MAX_FAILURES from one address: even a right password waits now.
    assert login(client, "ed@example.org").status_code == 429


def test_throttle_vary_header_is_not_an_oracle(app, client):
    """The 429 page says the same for an existing and an unknown e-mail."""
    make_user(app, "editor", email="ed@example.org")
    for email in ("ed@example.org", "nobody@example.org"):
        for _ in range(5):
            login(client, email, "wrong password!")
    known = login(client, "ed@example.org", "wrong password!")
    unknown = login(client, "nobody@example.org", "wrong password!")
    assert known.status_code == unknown.status_code == 429
    assert parse_set_header(known.headers.get("Vary", "")) == parse_set_header(
        unknown.headers.get("Vary", "")
    )
