"""The audit log: which actions are recorded, and the admin page with filters and pages (admins
only)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from observatory import accounts, backup
from observatory.db import get_engine, session_scope
from observatory.models import AuditEvent, User
from observatory.security import PermissionDenied
from tests.conftest import login, make_user
from tests.observatory.test_backup import fill

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _events(app) -> list[AuditEvent]:
    with session_scope(app) as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)).all())


def test_the_sensitive_actions_are_recorded_with_who_when_and_what(app, tmp_path):
    people = fill(app)
    backup.restore_backup(
        get_engine(app), backup.write_backup(get_engine(app), tmp_path / "b.gz").path, replace=True
    )
    events = _events(app)
    actions = {event.action for event in events}
    assert {
        "auth.login",
        "auth.login_failed",
        "user.created",
        "user.role_changed",
        "user.deactivated",
        "case.publish",
        "case.return",
        "case.reject",
        "case.withdraw",
        "assessment.published",
        "backup.restored",
    } <= actions
    # Submitters' own moves are workflow history, not audit events.
    assert "case.submit" not in actions and "case.resubmit" not in actions
    withdrawn = next(event for event in events if event.action == "case.withdraw")
    assert withdrawn.actor_id == people["editor"] and withdrawn.at is not None
    assert withdrawn.target and withdrawn.detail["reason"] == "Porque sí."
    assert withdrawn.detail["from_state"] == "published"
    published = next(event for event in events if event.action == "assessment.published")
    assert published.actor_id == people["editor"] and "unesco" in published.detail["framework"]
    changed = next(event for event in events if event.action == "user.role_changed")
    assert changed.actor_id == people["admin"] and changed.target == "gone@example.org"


def test_only_admins_see_the_audit_log(app, client):
    for role in ("submitter", "reviewer", "editor"):
        user = make_user(app, role)
        with session_scope(app) as session:
            with pytest.raises(PermissionDenied):
                accounts.list_audit_events(session, actor=session.get(User, user.id))
        client.get("/account/logout")
        login(client, user.email)
        assert client.get("/admin/audit").status_code == 403, role
    client.get("/account/logout")
    response = client.get("/admin/audit")
    assert response.status_code in (302, 401, 403)
    assert "auth.login" not in response.get_data(as_text=True)


def test_admin_page_filters_by_action_and_actor_and_pages(app, client, login_as):
    admin = login_as("admin")
    for n in range(60):
        make_user(app, "reviewer", email=f"r{n}@example.org")
    page = client.get("/admin/audit?lang=en").get_data(as_text=True)
    assert "<code>user.created</code>" in page
    assert "page 1 of" in page and 'rel="next"' in page
    filtered = client.get("/admin/audit?lang=en&action=auth.login").get_data(as_text=True)
    assert "<code>auth.login</code>" in filtered and "<code>user.created</code>" not in filtered
    prefix = client.get("/admin/audit?lang=en&action=user.").get_data(as_text=True)
    assert "<code>user.created</code>" in prefix and "<code>auth.login</code>" not in prefix
    by_admin = client.get("/admin/audit?lang=en&actor=admin@example.org").get_data(as_text=True)
    assert "<code>auth.login</code>" in by_admin and "r5@example.org" not in by_admin
    assert "<td>admin@example.org</td>" in by_admin  # the actor, by e-mail
    anonymous = client.get("/admin/audit?lang=en&actor=-").get_data(as_text=True)
    assert "r59@example.org" in anonymous  # accounts made from the command line
    nobody = client.get("/admin/audit?lang=en&actor=nobody@example.org").get_data(as_text=True)
    assert "0 events" in nobody
    last = client.get("/admin/audit?lang=en&page=999").get_data(as_text=True)
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert client.get("/admin/audit?page=abc&action=%00<script>").status_code == 200
    with session_scope(app) as session:
        result = accounts.list_audit_events(
            session, actor=session.get(User, admin.id), page=2, per_page=50
        )
    assert result.page == 2 and result.total == 62 and len(result.events) == 12
