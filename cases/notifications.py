"""In-app notifications for whoever a change concerns, and e-mail when SMTP is configured."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlmodel import Session, select

from cases.models import Notification
from observatory.i18n import _l
from observatory.models import Role, User, utcnow

log = logging.getLogger(__name__)

# How each kind reads; parameters fill the placeholders, in the reader's language at display time.
MESSAGES = {
    "case.submitted": _l("Case %(ref)s was submitted for moderation."),
    "case.resubmitted": _l("Case %(ref)s was resubmitted after changes."),
    "case.returned": _l("Case %(ref)s was returned to you: %(reason)s"),
    "case.rejected": _l("Case %(ref)s was rejected: %(reason)s"),
    "case.published": _l("Case %(ref)s was published."),
    "case.update_proposed": _l("An update to case %(ref)s is waiting for moderation."),
    "case.update_returned": _l("Your update to case %(ref)s was not published: %(reason)s"),
    "case.withdrawn": _l("Case %(ref)s was withdrawn: %(reason)s"),
    "correction.suggested": _l("A correction was suggested for case %(ref)s."),
    "correction.answered": _l("Your correction to case %(ref)s was answered."),
}


def render(notification: Notification) -> str:
    """The notification's text in the current language."""
    template = MESSAGES.get(notification.kind)
    if template is None:
        return notification.kind
    params = {"ref": "", "reason": ""} | dict(notification.params)
    return str(template) % params


def editor_ids(session: Session) -> list[int]:
    """Active editors and admins: they hear about everything waiting for moderation."""
    statement = select(User.id).where(
        User.is_active.is_(True), User.role.in_([Role.EDITOR.value, Role.ADMIN.value])
    )
    return list(session.exec(statement).all())


def notify(
    session: Session, user_ids: Iterable[int | None], kind: str, *, link: str = "", **params
) -> None:
    """Add a notification for each account (in the caller's transaction) and send e-mails."""
    recipients = sorted({uid for uid in user_ids if uid is not None})
    for user_id in recipients:
        session.add(Notification(user_id=user_id, kind=kind, params=params, link=link))
    if recipients and has_app_context():
        _send_emails(session, recipients, Notification(user_id=0, kind=kind, params=params))


def _send_emails(session: Session, user_ids: list[int], sample: Notification) -> None:
    config = current_app.config
    emails = list(session.exec(select(User.email).where(User.id.in_(user_ids))).all())
    text = render(sample)
    if not config.get("MAIL_SERVER"):
        if config.get("ENV") == "development":
            log.info("e-mail (not sent, no SMTP configured) to %s: %s", ", ".join(emails), text)
        return
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            for address in emails:
                message = EmailMessage()
                message["From"] = config["MAIL_SENDER"]
                message["To"] = address
                message["Subject"] = str(_l("LAC AI Observatory"))
                message.set_content(text)
                smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        # The in-app notification is the record; a mail outage must not undo the change.
        log.warning("could not send notification e-mails", exc_info=True)


def notifications_for(session: Session, *, user: User, limit: int = 100) -> list[Notification]:
    """The account's latest notifications, newest first."""
    statement = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(sa.desc(Notification.id))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def unread_count(session: Session, *, user: User) -> int:
    """How many of the account's notifications are unread."""
    statement = select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return int(session.exec(statement).one())


def mark_all_read(session: Session, *, user: User) -> None:
    """Mark the account's notifications read; commits."""
    session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    session.commit()
