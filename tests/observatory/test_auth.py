"""Sign-in, throttling, no user enumeration, session renewal, password change, deactivation."""

from __future__ import annotations

import re

import pytest

from observatory import accounts
from observatory.db import session_scope
from observatory.models import Role
from tests.conftest import PASSWORD, login, make_user, post


def test_login_and_logout(app, client):
    make_user(app, "editor", email="ed@example.org")
    response = login(client, "ed@example.org")
    assert response.status_code == 302
    assert "My account" in client.get("/?lang=en").get_data(as_text=True)
    response = post(client, "/account/logout")
    assert response.status_code == 302
    assert "Sign in" in client.get("/?lang=en").get_data(as_text=True)


def test_logout_needs_post_with_csrf(app, client):
    assert client.get("/account/logout").status_code == 405
    assert client.post("/account/logout").status_code == 400


def test_wrong_password_and_unknown_email_look_the_same(app, client):
    make_user(app, "reviewer", email="rev@example.org")
    wrong = login(client, "rev@example.org", "not the password")
    unknown = login(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401

    def page(response) -> str:
        html = response.get_data(as_text=True).replace("nobody@example.org", "rev@example.org")
        return re.sub(r'name="csrf_token"[^>]*>', "", html)  # tokens carry a timestamp

    assert page(wrong) == page(unknown)


def test_repeated_failures_are_throttled_even_with_the_right_password(app, client):
    make_user(app, "submitter", email="sub@example.org")
    client.get("/?lang=en")
    for _ in range(5):
        assert login(client, "sub@example.org", "wrong password!").status_code == 401
    response = login(client, "sub@example.org", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_login_renews_the_session(app, client):
    make_user(app, "editor", email="ed@example.org")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "ed@example.org")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["user_id"]


def test_session_cookie_is_httponly_and_samesite(app, client):
    make_user(app, "editor", email="ed@example.org")
    response = login(client, "ed@example.org")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/cases", "/cases"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_next_redirect_is_only_local(app, client, target, expected):
    make_user(app, "editor", email="ed@example.org")
    response = post(
        client, f"/account/login?next={target}", {"email": "ed@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.location == expected


def test_change_password(app, client, login_as):
    user = login_as("reviewer")
    bad = post(
        client,
        "/account/password",
        {
            "current_password": "nope",
            "new_password": "another long pass",
            "confirm": "another long pass",
        },
    )
    assert bad.status_code == 400
    good = post(
        client,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "another long pass",
            "confirm": "another long pass",
        },
    )
    assert good.status_code == 302
    post(client, "/account/logout")
    assert login(client, user.email, "another long pass").status_code == 302


def test_deactivated_user_is_signed_out_and_cannot_sign_in(app, client, login_as):
    user = login_as("submitter")
    admin = make_user(app, "admin", email="root@example.org")
    with session_scope(app) as session:
        accounts.set_active(
            session, actor=session.get(type(admin), admin.id), user_id=user.id, active=False
        )
    assert client.get("/cases/mine").status_code == 302  # back to the sign-in page
    assert login(client, user.email).status_code == 401


def test_role_required_pages(app, client, login_as):
    assert client.get("/admin/users").status_code == 302
    login_as("editor")
    assert client.get("/admin/users").status_code == 403


def test_services_refuse_the_wrong_actor(app):
    editor = make_user(app, "editor", email="ed@example.org")
    with session_scope(app) as session, pytest.raises(accounts.PermissionDenied):
        accounts.create_user(
            session, email="x@example.org", password=PASSWORD, role=Role.ADMIN, actor=editor
        )


def test_passwords_are_stored_slow_hashed(app):
    user = make_user(app, "editor", email="ed@example.org")
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash
