"""Corrections anyone may suggest on a public case, answered publicly by the editors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import has_request_context, url_for
from sqlmodel import Session, select

from cases.models import Case, Correction
from cases.notifications import editor_ids, notify
from cases.services import get_published_case
from observatory.db import bump_data_version
from observatory.models import Role, User, utcnow
from observatory.security import NotFound, require_role
from observatory.text import clean_text

TEXT_MIN = 10
TEXT_MAX = 5000
REPLY_MAX = 5000
URL_MAX = 1000
EMAIL_MAX = 254
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ANSWERS = ("accepted", "declined")
STATUSES = ("open", *ANSWERS)

KIND_SUGGESTED = "correction.suggested"
KIND_ANSWERED = "correction.answered"


class CorrectionError(ValueError):
    """A suggestion or answer that cannot be accepted as sent; `code` says why, `field` where."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class PublicCorrection:
    """A correction as the public sees it: never the contact e-mail or who sent it."""

    id: int
    status: str
    text: str
    source_url: str
    reply: str
    created_at: datetime
    replied_at: datetime | None


@dataclass(frozen=True)
class QueueItem:
    """An open correction with the case it concerns, for the editors' queue."""

    correction: Correction
    case_ref: str
    case_name: str


def is_web_url(value: str) -> bool:
    """Whether a URL is an absolute http(s) address with a host (no javascript:, data:…)."""
    if not value or any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


def _case_link(ref: str, correction_id: int | None = None) -> str:
    """Link from a notification to the correction on the case page."""
    anchor = f"correction-{correction_id}" if correction_id else "corrections"
    if has_request_context():
        return url_for("cases.detail", ref=ref, _anchor=anchor)
    return f"/cases/{ref}#{anchor}"


def _validate_suggestion(text: str, source_url: str, contact_email: str) -> None:
    """Raise CorrectionError for the first invalid field of a (stripped) suggestion."""
    if len(text) < TEXT_MIN:
        raise CorrectionError("text-too-short", "text")
    if len(text) > TEXT_MAX:
        raise CorrectionError("text-too-long", "text")
    if source_url and (len(source_url) > URL_MAX or not is_web_url(source_url)):
        raise CorrectionError("invalid-source-url", "source_url")
    if contact_email and (len(contact_email) > EMAIL_MAX or not EMAIL_PATTERN.match(contact_email)):
        raise CorrectionError("invalid-email", "contact_email")


def suggest_correction(
    session: Session,
    *,
    case_ref: str,
    text: str,
    source_url: str = "",
    contact_email: str = "",
    actor: User | None = None,
) -> Correction:
    """Record a suggested correction on a public case and tell the editors; commits.

    Anyone may suggest (no account needed); a signed-in active `actor` is kept as the author so
    they hear the answer. Text must be 10–5000 characters, `source_url` an http(s) URL and
    `contact_email` an e-mail address (both optional; the e-mail stays private). Raises NotFound
    when the case is not public and CorrectionError(code, field) on invalid input. Notifies every
    active editor and admin ("correction.suggested"; e-mailed too when SMTP is configured).
    """
    case = get_published_case(session, case_ref)
    text = clean_text(text)
    source_url = clean_text(source_url)
    contact_email = clean_text(contact_email)
    _validate_suggestion(text, source_url, contact_email)
    author_id = actor.id if actor is not None and actor.is_active else None
    correction = Correction(
        case_id=case.id,
        text=text,
        source_url=source_url,
        contact_email=contact_email,
        author_id=author_id,
    )
    session.add(correction)
    session.flush()
    notify(
        session,
        editor_ids(session),
        KIND_SUGGESTED,
        link=_case_link(case.ref, correction.id),
        ref=case.ref,
    )
    bump_data_version(session)  # the case page lists suggestions: cached pages must change
    session.commit()
    return correction


def answer_correction(
    session: Session, *, correction_id: int, status: str, reply: str, actor: User | None
) -> Correction:
    """Accept or decline an open correction with a public reply; commits.

    Editors and admins only (PermissionDenied otherwise). `status` is "accepted" or "declined";
    the reply is required (CorrectionError "invalid-status", "reply-required", "reply-too-long",
    "already-answered"). NotFound for an unknown id. The author, if they had an active account,
    gets a "correction.answered" Notification.
    """
    editor = require_role(actor, Role.EDITOR)
    correction = session.get(Correction, correction_id)
    if correction is None:
        raise NotFound(str(correction_id))
    if status not in ANSWERS:
        raise CorrectionError("invalid-status", "status")
    reply = clean_text(reply)
    if not reply:
        raise CorrectionError("reply-required", "reply")
    if len(reply) > REPLY_MAX:
        raise CorrectionError("reply-too-long", "reply")
    if correction.status != "open":
        raise CorrectionError("already-answered")
    correction.status = status
    correction.reply = reply
    correction.replied_by_id = editor.id
    correction.replied_at = utcnow()
    session.add(correction)
    if correction.author_id is not None:
        author = session.get(User, correction.author_id)
        if author is not None and author.is_active:
            ref = session.exec(select(Case.ref).where(Case.id == correction.case_id)).one()
            notify(
                session,
                [author.id],
                KIND_ANSWERED,
                link=_case_link(ref, correction.id),
                ref=ref,
                status=status,
            )
    bump_data_version(session)  # the reply is public on the case page
    session.commit()
    return correction


def corrections_for_case(session: Session, case_id: int) -> list[Correction]:
    """Every correction suggested on a case, newest first (full rows: editors' use)."""
    statement = (
        select(Correction)
        .where(Correction.case_id == case_id)
        .order_by(sa.desc(Correction.created_at), sa.desc(Correction.id))
    )
    return list(session.exec(statement).all())


# Built once: the case page runs it on every request. Only the public columns.
_CORRECTIONS = Correction.__table__
_PUBLIC_CORRECTIONS = (
    sa.select(
        _CORRECTIONS.c.id,
        _CORRECTIONS.c.status,
        _CORRECTIONS.c.text,
        _CORRECTIONS.c.source_url,
        _CORRECTIONS.c.reply,
        _CORRECTIONS.c.created_at,
        _CORRECTIONS.c.replied_at,
    )
    .where(_CORRECTIONS.c.case_id == sa.bindparam("case_id"))
    .order_by(sa.desc(_CORRECTIONS.c.created_at), sa.desc(_CORRECTIONS.c.id))
)


def public_corrections(session: Session, case_id: int) -> list[PublicCorrection]:
    """The corrections of a case as the public sees them (no e-mail, no author), newest first."""
    rows = session.connection().execute(_PUBLIC_CORRECTIONS, {"case_id": case_id})
    return [PublicCorrection(**row._mapping) for row in rows]


def open_corrections(session: Session, *, actor: User | None) -> list[QueueItem]:
    """The editors' queue: open corrections, oldest first, with their case.

    Editors and admins only (PermissionDenied otherwise). Reads only.
    """
    require_role(actor, Role.EDITOR)
    statement = (
        select(Correction, Case.ref, Case.name)
        .join(Case, Case.id == Correction.case_id)
        .where(Correction.status == "open")
        .order_by(Correction.created_at, Correction.id)
    )
    return [
        QueueItem(correction=correction, case_ref=ref, case_name=name)
        for correction, ref, name in session.exec(statement).all()
    ]
