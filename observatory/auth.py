"""Sign-in, sign-out, password change, the current user on `g`, and access decorators."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from observatory import accounts
from observatory.db import get_session
from observatory.forms import ChangePasswordForm, LoginForm
from observatory.i18n import _, _l
from observatory.models import Role, User
from observatory.security import has_role, is_safe_next

bp = Blueprint("auth", __name__, url_prefix="/account")

ACCOUNT_ERRORS = {
    "invalid-email": _l("That is not a valid e-mail address."),
    "unknown-role": _l("Unknown role."),
    "password-too-short": _l("The password is too short."),
    "email-taken": _l("An account with that e-mail already exists."),
    "wrong-current-password": _l("The current password is not right."),
    "cannot-demote-self": _l("You cannot remove your own administrator role."),
    "cannot-deactivate-self": _l("You cannot deactivate your own account."),
    "no-such-user": _l("No such account."),
}


def role_label(role: str) -> str:
    """The translated name of a role."""
    from observatory.forms import ROLE_CHOICES

    return str(dict(ROLE_CHOICES).get(role, role))


def account_error_message(error: accounts.AccountError) -> str:
    """The translated message for an AccountError code."""
    return str(ACCOUNT_ERRORS.get(str(error), error))


def load_current_user() -> None:
    """Put the signed-in, still-active user (or None) on `g.user` for this request."""
    user_id = session.get("user_id")
    g.user = None
    if user_id is not None:
        user = get_session().get(User, user_id)
        sid = session.get("sid", "")
        if sid and accounts.session_ended(get_session(), sid):
            user = None  # a copy of a cookie that signed out
        if user is not None and user.is_active:
            g.user = user
        else:
            # Deactivated (or removed) while signed in: end the session at once.
            session.clear()


def login_required(view: Callable) -> Callable:
    """Redirect anonymous visitors to the sign-in page, coming back afterwards."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def role_required(*roles: Role) -> Callable:
    """Require sign-in and one of the roles (admins pass every check); 403 otherwise."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not has_role(g.user, *roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _client_address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password."""
    form = LoginForm()
    next_url = request.args.get("next")
    status = 200
    if form.validate_on_submit():
        config = current_app.config
        policy = accounts.ThrottlePolicy(
            max_failures=config["LOGIN_MAX_FAILURES"],
            window=timedelta(seconds=config["LOGIN_WINDOW_SECONDS"]),
        )
        try:
            user = accounts.authenticate(
                get_session(),
                email=form.email.data,
                password=form.password.data,
                address=_client_address(),
                policy=policy,
            )
        except accounts.LoginThrottled:
            flash(_("Too many failed attempts. Please wait a few minutes and try again."), "error")
            return render_template("auth/login.html", form=form), 429
        if user is not None:
            # A new session on sign-in: nothing from before survives (session fixation).
            session.clear()
            session["user_id"] = user.id
            session["sid"] = secrets.token_hex(16)
            session.permanent = True
            flash(_("Welcome, %(name)s.", name=user.name or user.email), "success")
            return redirect(next_url if is_safe_next(next_url) else url_for("dashboards.home"))
        # In the form's error summary (role="alert"), so screen readers announce it at once.
        form.form_errors.append(_("E-mail or password not recognised."))
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST only, CSRF-checked)."""
    from observatory.forms import ButtonForm

    if not ButtonForm().validate_on_submit():
        abort(400)
    accounts.end_session(get_session(), user=g.get("user"), sid=session.get("sid", ""))
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("dashboards.home"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change your own password."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                get_session(),
                user=g.user,
                current=form.current_password.data,
                new=form.new_password.data,
            )
        except accounts.AccountError as error:
            form.current_password.errors = [account_error_message(error)]
        else:
            flash(_("Your password was changed."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/password.html", form=form), 400 if form.errors else 200


@bp.route("/")
@login_required
def account():
    """Your account: role, institution, links to your work."""
    return render_template("auth/account.html", user=g.user)


def init_app(app: Flask) -> None:
    """Load the current user before every request and expose role checks to templates."""
    app.before_request(load_current_user)

    @app.context_processor
    def _user_context() -> dict:
        user = g.get("user")
        return {
            "current_user": user,
            "user_has_role": lambda *names: has_role(user, *(Role(n) for n in names)),
            "role_label": role_label,
        }
