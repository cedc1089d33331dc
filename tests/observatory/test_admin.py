"""Administration: create accounts, change roles, deactivate (never delete), audit log."""

from __future__ import annotations

from sqlmodel import select

from observatory.db import session_scope
from observatory.models import AuditEvent, User
from tests.conftest import post


def test_admin_creates_an_account_and_changes_its_role(app, client, login_as):
    login_as("admin")
    response = post(
        client,
        "/admin/users",
        {
            "email": "new@example.org",
            "name": "Nueva",
            "role": "submitter",
            "institution": "Ministerio",
            "country": "col",
            "password": "long enough pass",
        },
    )
    assert response.status_code == 302
    with session_scope(app) as session:
        user = session.exec(select(User).where(User.email == "new@example.org")).one()
        assert user.country == "COL"
    post(client, f"/admin/users/{user.id}/role", {"role": "reviewer"})
    post(client, f"/admin/users/{user.id}/active", {})
    with session_scope(app) as session:
        user = session.get(User, user.id)
        assert user.role == "reviewer" and not user.is_active
        actions = set(session.exec(select(AuditEvent.action)).all())
    assert {"user.created", "user.role_changed", "user.deactivated"} <= actions
    page = client.get("/admin/audit?lang=en").get_data(as_text=True)
    assert "user.role_changed" in page


def test_duplicate_email_is_reported_on_the_field(app, client, login_as):
    login_as("admin")
    response = post(
        client,
        "/admin/users?lang=en",
        {"email": "admin@example.org", "role": "editor", "password": "long enough pass"},
    )
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_admin_cannot_demote_or_deactivate_themself(app, client, login_as):
    admin = login_as("admin")
    post(client, f"/admin/users/{admin.id}/role", {"role": "editor"})
    post(client, f"/admin/users/{admin.id}/active", {})
    with session_scope(app) as session:
        user = session.get(User, admin.id)
        assert user.role == "admin" and user.is_active


def test_audit_log_pages_keep_the_filter(app, client, login_as):
    from observatory.accounts import AUDIT_PAGE_SIZE, audit

    login_as("admin")
    with session_scope(app) as session:
        for n in range(3 * AUDIT_PAGE_SIZE):
            audit(session, actor=None, action="test.paged", target=f"t{n}")
        session.commit()
    page = client.get("/admin/audit?lang=en&action=test.paged&page=2").get_data(as_text=True)
    assert '<span aria-current="page">2</span>' in page
    for number in (1, 3):
        assert f'href="/admin/audit?action=test.paged&amp;page={number}"' in page
    assert "Page 2 of 3" in page
