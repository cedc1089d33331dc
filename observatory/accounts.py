"""Account use cases: create, authenticate (throttled), passwords, roles, deactivation."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, func, select

from observatory.models import AuditEvent, LoginAttempt, Role, User, utcnow
from observatory.security import (
    MIN_PASSWORD_LENGTH,
    PermissionDenied,
    hash_password,
    require_role,
    verify_password,
)
from observatory.text import clean_text


class AccountError(ValueError):
    """A request about an account that cannot be honoured; the message is shown to the user."""


class LoginThrottled(Exception):
    """Too many failed logins recently for this e-mail or address."""


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures, in what window, before logins are refused for a while."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


def normalise_email(email: str) -> str:
    """Lower-case, stripped e-mail; the one form we store and compare."""
    return email.strip().lower()


def _email_key(email: str) -> str:
    # Hashing keeps login attempts for unknown e-mails from storing what people typed.
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def audit(session: Session, *, actor: User | None, action: str, target: str = "", **detail) -> None:
    """Add an audit event to the caller's transaction (no commit)."""
    session.add(
        AuditEvent(
            actor_id=actor.id if actor else None, action=action, target=target, detail=detail
        )
    )


def get_user_by_email(session: Session, email: str) -> User | None:
    """The account with this e-mail, if any."""
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role | str,
    actor: User | None,
    name: str = "",
    institution: str = "",
    country: str | None = None,
    bootstrap: bool = False,
) -> User:
    """Create an account and commit.

    `actor` must be an admin unless `bootstrap` is set (command line). Raises AccountError for a
    taken e-mail, an unknown role or a short password; PermissionDenied for a non-admin actor.
    """
    if not bootstrap:
        require_role(actor, Role.ADMIN)
    email = normalise_email(email)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or len(email) > 254:
        raise AccountError("invalid-email")
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError("unknown-role") from exc
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password-too-short")
    if get_user_by_email(session, email) is not None:
        raise AccountError("email-taken")
    user = User(
        email=email,
        name=clean_text(name),
        password_hash=hash_password(password),
        role=role.value,
        institution=clean_text(institution),
        country=(country or None),
    )
    session.add(user)
    session.flush()
    audit(session, actor=actor, action="user.created", target=email, role=role.value)
    session.commit()
    return user


def _recent_failures(session: Session, column, value: str, since: datetime) -> int:
    statement = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    )
    return int(session.exec(statement).one())


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    address: str,
    policy: ThrottlePolicy = ThrottlePolicy(),  # noqa: B008 - frozen dataclass, never mutated
) -> User | None:
    """Return the active user for these credentials, or None; records the attempt and commits.

    Raises LoginThrottled when the e-mail or the address had too many recent failures. The same
    None answers an unknown e-mail, a wrong password and a deactivated account, so callers cannot
    tell which (no enumeration).
    """
    key = _email_key(email)
    since = utcnow() - policy.window
    if (
        _recent_failures(session, LoginAttempt.email_key, key, since) >= policy.max_failures
        or _recent_failures(session, LoginAttempt.address, address, since)
        >= policy.max_failures * 4
    ):
        raise LoginThrottled()
    user = get_user_by_email(session, email)
    ok = verify_password(user, password) and user is not None and user.is_active
    session.add(LoginAttempt(email_key=key, address=address[:64], succeeded=ok))
    if ok:
        assert user is not None
        user.last_login_at = utcnow()
        audit(session, actor=user, action="auth.login", target=user.email)
    else:
        audit(session, actor=None, action="auth.login_failed", target="", address=address[:64])
    session.commit()
    return user if ok else None


def change_password(session: Session, *, user: User, current: str, new: str) -> None:
    """Change the user's own password after checking the current one; commits."""
    if not verify_password(user, current):
        raise AccountError("wrong-current-password")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise AccountError("password-too-short")
    user.password_hash = hash_password(new)
    session.add(user)
    audit(session, actor=user, action="user.password_changed", target=user.email)
    session.commit()


def set_role(session: Session, *, actor: User, user_id: int, role: Role | str) -> User:
    """Give an account another role (admins only; an admin cannot demote themself); commits."""
    require_role(actor, Role.ADMIN)
    user = _get_user(session, user_id)
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError("unknown-role") from exc
    if user.id == actor.id and role != Role.ADMIN:
        raise AccountError("cannot-demote-self")
    previous = user.role
    user.role = role.value
    session.add(user)
    audit(
        session,
        actor=actor,
        action="user.role_changed",
        target=user.email,
        previous=previous,
        role=role.value,
    )
    session.commit()
    return user


def set_active(session: Session, *, actor: User, user_id: int, active: bool) -> User:
    """Deactivate or reactivate an account (admins only; never yourself); commits.

    Accounts are never deleted: a deactivated account keeps its authorship but cannot sign in.
    """
    require_role(actor, Role.ADMIN)
    user = _get_user(session, user_id)
    if user.id == actor.id and not active:
        raise AccountError("cannot-deactivate-self")
    user.is_active = active
    session.add(user)
    audit(
        session,
        actor=actor,
        action="user.activated" if active else "user.deactivated",
        target=user.email,
    )
    session.commit()
    return user


def list_users(session: Session, *, actor: User) -> list[User]:
    """Every account, newest first (admins only)."""
    require_role(actor, Role.ADMIN)
    return list(session.exec(select(User).order_by(User.created_at.desc(), User.id.desc())).all())


AUDIT_PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditPage:
    """One page of audit events, newest first, with the e-mails of the actors on it."""

    events: list[AuditEvent]
    actors: dict[int, str]
    actions: list[str]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Number of pages (at least one)."""
        return max(1, -(-self.total // self.per_page))


def list_audit_events(
    session: Session,
    *,
    actor: User,
    action: str = "",
    actor_email: str = "",
    page: int = 1,
    per_page: int = AUDIT_PAGE_SIZE,
) -> AuditPage:
    """Audit events, newest first, filtered by action and by the actor's e-mail (admins only).

    `action` matches exactly, or a prefix when it ends with "." (e.g. "case."); `actor_email`
    "-" selects events without an actor (command line, anonymous). A page past the end gives
    the last one. Raises PermissionDenied for anyone but an admin.
    """
    require_role(actor, Role.ADMIN)
    conditions = []
    if action:
        if action.endswith("."):
            conditions.append(AuditEvent.action.startswith(action, autoescape=True))
        else:
            conditions.append(AuditEvent.action == action)
    if actor_email == "-":
        conditions.append(AuditEvent.actor_id.is_(None))
    elif actor_email:
        who = get_user_by_email(session, actor_email)
        conditions.append(AuditEvent.actor_id == (who.id if who else -1))
    total = int(session.exec(select(func.count()).select_from(AuditEvent).where(*conditions)).one())
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    statement = (
        select(AuditEvent)
        .where(*conditions)
        .order_by(sa.desc(AuditEvent.id))
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    events = list(session.exec(statement).all())
    ids = {event.actor_id for event in events if event.actor_id is not None}
    actors = (
        dict(session.exec(select(User.id, User.email).where(User.id.in_(ids))).all()) if ids else {}
    )
    actions = list(session.exec(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
    return AuditPage(events, actors, actions, total, page, per_page)


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("no-such-user")
    return user


__all__ = [
    "AccountError",
    "LoginThrottled",
    "PermissionDenied",
    "ThrottlePolicy",
    "authenticate",
    "change_password",
    "create_user",
    "list_users",
    "set_active",
    "set_role",
]


def _session_key(sid: str) -> str:
    return "session:" + hashlib.sha256(sid.encode()).hexdigest()[:32]


def end_session(session: Session, *, user: User | None, sid: str) -> None:
    """Record that the browser session `sid` signed out, so a copy of its cookie is refused."""
    if sid:
        audit(session, actor=user, action="auth.logout", target=_session_key(sid))
        session.commit()


def session_ended(session: Session, sid: str) -> bool:
    """Whether the browser session `sid` has signed out (its cookie may still be replayed)."""
    statement = (
        select(AuditEvent.id)
        .where(AuditEvent.action == "auth.logout", AuditEvent.target == _session_key(sid))
        .limit(1)
    )
    return session.exec(statement).first() is not None
