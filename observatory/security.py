"""Password hashing, permission checks used by services, safe redirects and HTTP headers."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash

from observatory.models import Role, User

# scrypt (werkzeug's default) is a deliberately slow, memory-hard hash.
PASSWORD_METHOD = "scrypt"  # nosec B105 # the name of the hash method
MIN_PASSWORD_LENGTH = 10
# Hash of a random string, checked when the e-mail is unknown so that a failed login takes the same
# time whether or not the account exists (no user enumeration by timing).
_DUMMY_HASH = generate_password_hash("not-a-real-password-8b1d", method=PASSWORD_METHOD)

ROLE_RANK = {Role.SUBMITTER: 1, Role.REVIEWER: 2, Role.EDITOR: 3, Role.ADMIN: 4}


class PermissionDenied(Exception):
    """The actor may not do this; views turn it into a 403 page."""


class NotFound(Exception):
    """The thing does not exist or is not visible to this actor; views turn it into a 404."""


def hash_password(password: str) -> str:
    """Return a salted slow hash of the password."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


def verify_password(user: User | None, password: str) -> bool:
    """Check a password; spends the same work when there is no such user."""
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


def has_role(actor: User | None, *roles: Role) -> bool:
    """Whether an active actor holds one of the roles (admins hold every role)."""
    if actor is None or not actor.is_active:
        return False
    return actor.role == Role.ADMIN or actor.role in {role.value for role in roles}


def require_role(actor: User | None, *roles: Role) -> User:
    """Return the actor if it holds one of the roles; raise PermissionDenied otherwise."""
    if not has_role(actor, *roles):
        raise PermissionDenied(f"requires one of: {', '.join(r.value for r in roles)}")
    assert actor is not None
    return actor


def require_active(actor: User | None) -> User:
    """Return the actor if it is a signed-in, active account."""
    if actor is None or not actor.is_active:
        raise PermissionDenied("requires an active account")
    return actor


def is_safe_next(target: str | None) -> bool:
    """A `next` URL is safe only as a local path on this site (no scheme, host or `//`)."""
    if not target:
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
    )


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # plotly.js sets style attributes on the SVG it draws.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


def set_security_headers(response: Response) -> Response:
    """Strict CSP and the other standard headers on every response."""
    headers = response.headers
    # Embeddable views opt out of frame-ancestors by setting their own policy first.
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if "Cache-Control" not in headers and not (request.endpoint or "").endswith("static"):
        headers["Cache-Control"] = "no-store" if _has_session_cookie() else "no-cache"
    headers.add("Vary", "Cookie")
    return response


def _has_session_cookie() -> bool:
    from flask import current_app

    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is `Secure` whenever the request came over HTTPS
    (directly, or behind PROXY_FIX trusted proxies saying X-Forwarded-Proto: https), even if
    SESSION_COOKIE_SECURE was left off."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(
            app.config["SESSION_COOKIE_SECURE"] or (has_request_context() and request.is_secure)
        )


def init_app(app: Flask) -> None:
    """Register the security headers and the session cookie policy."""
    app.session_interface = SessionInterface()
    app.after_request(set_security_headers)
