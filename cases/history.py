"""Public history of a case: published versions and a readable diff between two snapshots."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.models import Case, CaseVersion
from cases.services import RECORD_FIELDS
from observatory.models import Role, User

# Compared as sets of keys: the order of techniques or groups carries no meaning.
SET_FIELDS = frozenset({"techniques", "vulnerable_groups"})
SOURCE_FIELD = "sources"
# Free texts shown as a word-level diff; any other text longer than this is treated the same.
LONG_TEXT_FIELDS = frozenset(
    {
        "purpose",
        "data_used",
        "affected_groups",
        "human_oversight",
        "appeal_mechanism",
        "legal_basis",
        "known_concerns",
    }
)
LONG_TEXT_LENGTH = 120
# Authors shown as "Editorial team" rather than by role (and never by name or e-mail).
EDITORIAL = "editorial"
_EDITORIAL_ROLES = frozenset({Role.EDITOR.value, Role.ADMIN.value})
_TOKENS = re.compile(r"(\s+)")

SegmentKind = Literal["equal", "added", "removed"]


@dataclass(frozen=True)
class Segment:
    """A run of text in a word-level diff: unchanged, added or removed."""

    kind: SegmentKind
    text: str


@dataclass(frozen=True)
class FieldChange:
    """How one field differs between two versions.

    `old` and `new` are the values as stored. For set fields (techniques, vulnerable groups) and
    sources, `added` and `removed` list the items that appeared or went away, and for sources
    `changed` holds (old, new) pairs of a source whose URL stayed but whose details changed. For
    long texts, `segments` is the word-level diff.
    """

    field: str
    old: Any
    new: Any
    kind: Literal["value", "set", "sources", "text"] = "value"
    added: tuple = ()
    removed: tuple = ()
    changed: tuple = ()
    segments: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class VersionView:
    """A published version as the public history shows it (no names, no e-mails)."""

    number: int
    created_at: datetime
    comment: str
    # EDITORIAL for editors, admins and system loads; else the author's role key.
    author_role: str
    changes: list[FieldChange] = field(default_factory=list)
    # The published version this one is compared with (None for the first).
    previous: int | None = None


def _empty(value: Any) -> bool:
    """None, "", [] and {} all mean "not recorded"."""
    return value is None or value == "" or value == [] or value == {}


def _source_key(source: Any) -> str:
    """Sources are matched by URL; one without a URL by its title."""
    if isinstance(source, dict):
        url = str(source.get("url") or "").strip()
        return url or "title:" + str(source.get("title") or "").strip()
    return str(source)


def word_diff(old: str, new: str) -> tuple[Segment, ...]:
    """Word-level diff of two texts: segments marked equal, added or removed, in reading order.

    Whitespace is kept, so joining the equal and added segments gives `new` and joining the equal
    and removed ones gives `old`. Neighbouring segments of the same kind are merged.
    """
    before = [token for token in _TOKENS.split(old or "") if token]
    after = [token for token in _TOKENS.split(new or "") if token]
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    segments: list[Segment] = []

    def push(kind: SegmentKind, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1].kind == kind:
            segments[-1] = Segment(kind, segments[-1].text + text)
        else:
            segments.append(Segment(kind, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            push("equal", before[i1:i2])
        else:
            push("removed", before[i1:i2])
            push("added", after[j1:j2])
    return tuple(segments)


def _set_change(name: str, old: Any, new: Any) -> FieldChange | None:
    """Items added and removed between two lists taken as sets; None if the sets are equal."""
    before, after = set(old or ()), set(new or ())
    if before == after:
        return None
    return FieldChange(
        field=name,
        old=sorted(before),
        new=sorted(after),
        kind="set",
        added=tuple(sorted(after - before)),
        removed=tuple(sorted(before - after)),
    )


def _sources_change(old: Any, new: Any) -> FieldChange | None:
    """Sources added, removed or edited (matched by URL); None if nothing changed."""
    before = {_source_key(source): source for source in old or ()}
    after = {_source_key(source): source for source in new or ()}
    added = tuple(after[key] for key in after if key not in before)
    removed = tuple(before[key] for key in before if key not in after)
    changed = tuple(
        (before[key], after[key]) for key in after if key in before and before[key] != after[key]
    )
    if not (added or removed or changed):
        return None
    return FieldChange(
        field=SOURCE_FIELD,
        old=list(old or ()),
        new=list(new or ()),
        kind="sources",
        added=added,
        removed=removed,
        changed=changed,
    )


def _value_change(name: str, old: Any, new: Any) -> FieldChange | None:
    """A plain old/new change, or a word diff for long texts; None if equal."""
    if old == new or (_empty(old) and _empty(new)):
        return None
    texts = isinstance(old or "", str) and isinstance(new or "", str)
    long = texts and (
        name in LONG_TEXT_FIELDS or max(len(old or ""), len(new or "")) > LONG_TEXT_LENGTH
    )
    if long:
        return FieldChange(
            field=name, old=old, new=new, kind="text", segments=word_diff(old or "", new or "")
        )
    return FieldChange(field=name, old=old, new=new)


def diff_versions(old: dict, new: dict) -> list[FieldChange]:
    """The fields that differ between two record snapshots, in record order.

    Techniques and vulnerable groups are compared as sets, sources by URL (added, removed, or
    changed details), long texts word by word; a missing key counts as empty, and empty values
    (None, "", []) are equal. Keys outside RECORD_FIELDS are compared after them, sorted. Pure.
    """
    extra = sorted((set(old) | set(new)) - set(RECORD_FIELDS))
    changes: list[FieldChange] = []
    for name in (*RECORD_FIELDS, *extra):
        before, after = old.get(name), new.get(name)
        if name in SET_FIELDS:
            change = _set_change(name, before, after)
        elif name == SOURCE_FIELD:
            change = _sources_change(before, after)
        else:
            change = _value_change(name, before, after)
        if change is not None:
            changes.append(change)
    return changes


def _author_role(role: str | None) -> str:
    """What the public learns of an author: EDITORIAL, or the role of an outside author."""
    if role is None or role in _EDITORIAL_ROLES:
        return EDITORIAL
    return role


def public_history(session: Session, case: Case) -> list[VersionView]:
    """The published versions of a case, newest first, each with its changes.

    Only versions marked published are read (drafts and a pending update never show); each is
    compared with the previous published one (`previous` is None for the oldest). Authors are
    reduced to EDITORIAL or their role. Reads only.
    """
    statement = (
        select(CaseVersion, User.role)
        .join(User, CaseVersion.author_id == User.id, isouter=True)
        .where(CaseVersion.case_id == case.id, CaseVersion.published.is_(True))
        .order_by(CaseVersion.number)
    )
    rows = session.exec(statement).all()
    views: list[VersionView] = []
    previous: CaseVersion | None = None
    for version, role in rows:
        views.append(
            VersionView(
                number=version.number,
                created_at=version.created_at,
                comment=version.comment,
                author_role=_author_role(role),
                changes=[] if previous is None else diff_versions(previous.data, version.data),
                previous=None if previous is None else previous.number,
            )
        )
        previous = version
    views.reverse()
    return views


# Built once: the case page runs it on every request.
_NEWEST_PUBLISHED = sa.select(sa.func.max(CaseVersion.__table__.c.number)).where(
    CaseVersion.__table__.c.case_id == sa.bindparam("case_id"),
    CaseVersion.__table__.c.published.is_(True),
)


def published_version_number(session: Session, case_id: int) -> int | None:
    """The number of the newest published version of a case (None if it has none)."""
    return session.connection().execute(_NEWEST_PUBLISHED, {"case_id": case_id}).scalar()


def verified_on(case: Case) -> date | None:
    """The day a case's facts were last checked: `last_verified`, else its publication day."""
    if case.last_verified is not None:
        return case.last_verified
    return case.published_at.date() if case.published_at is not None else None


def is_stale(verified: date | None, *, today: date, after_days: int) -> bool:
    """Whether a case verified on `verified` is "may be out of date" on `today`. Pure.

    Stale when more than `after_days` days have passed; a case never verified nor published is
    not flagged (it is not public).
    """
    return verified is not None and (today - verified).days > after_days
