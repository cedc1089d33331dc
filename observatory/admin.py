"""Administration pages: accounts (create, role, deactivate) and the audit log."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from observatory import accounts
from observatory.auth import account_error_message, role_required
from observatory.db import get_session
from observatory.forms import ROLE_CHOICES, ActiveForm, NewUserForm, RoleForm
from observatory.i18n import _
from observatory.models import Role

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def users():
    """List accounts and create a new one."""
    form = NewUserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                get_session(),
                email=form.email.data,
                password=form.password.data,
                role=form.role.data,
                actor=g.user,
                name=form.name.data or "",
                institution=form.institution.data or "",
                country=(form.country.data or "").upper() or None,
            )
        except accounts.AccountError as error:
            form.email.errors = [account_error_message(error)]
            status = 400
        else:
            flash(_("Account %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    elif form.errors:
        status = 400
    people = accounts.list_users(get_session(), actor=g.user)
    return render_template(
        "admin/users.html",
        form=form,
        people=people,
        role_form=RoleForm(),
        active_form=ActiveForm(),
        role_choices=ROLE_CHOICES,
    ), status


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@role_required(Role.ADMIN)
def change_role(user_id: int):
    """Give an account another role."""
    form = RoleForm()
    if form.validate_on_submit():
        try:
            user = accounts.set_role(
                get_session(), actor=g.user, user_id=user_id, role=form.role.data
            )
            flash(_("%(email)s is now: %(role)s.", email=user.email, role=user.role), "success")
        except accounts.AccountError as error:
            flash(account_error_message(error), "error")
    else:
        flash(_("The form was not valid; please try again."), "error")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@role_required(Role.ADMIN)
def change_active(user_id: int):
    """Deactivate or reactivate an account (accounts are never deleted)."""
    form = ActiveForm()
    if form.validate_on_submit():
        try:
            user = accounts.set_active(
                get_session(), actor=g.user, user_id=user_id, active=bool(form.active.data)
            )
            message = (
                _("%(email)s was reactivated.")
                if user.is_active
                else _("%(email)s was deactivated.")
            )
            flash(message % {"email": user.email}, "success")
        except accounts.AccountError as error:
            flash(account_error_message(error), "error")
    else:
        flash(_("The form was not valid; please try again."), "error")
    return redirect(url_for("admin.users"))


def _printable(text: str) -> str:
    # PostgreSQL refuses NUL in a query parameter; no action or e-mail has control characters.
    return "".join(ch for ch in text if ch.isprintable()).strip()


@bp.route("/audit")
@role_required(Role.ADMIN)
def audit_log():
    """Audit events, newest first, filtered by action and actor, in pages."""
    action, actor = (_printable(request.args.get(name, ""))[:254] for name in ("action", "actor"))
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    result = accounts.list_audit_events(
        get_session(), actor=g.user, action=action, actor_email=actor, page=min(page, 10**6)
    )
    return render_template("admin/audit.html", result=result, action=action, actor=actor)
