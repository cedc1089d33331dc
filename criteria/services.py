"""Use cases of criteria and review: frameworks, regulations, assignments, reviews, agreement,
consolidation and publication of assessments.

Every function that changes data checks the actor's permission itself and commits once; views
only translate error codes. Reviews are blind: nobody sees another reviewer's scores before
submitting their own, and nothing unpublished is ever returned to the public.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from cases import notifications as case_notifications
from cases import vocabularies as vocab
from cases.models import Case
from cases.notifications import editor_ids, notify
from cases.services import PUBLIC_STATES
from cases.text import fold
from cases.workflow import is_http_url
from criteria import agreement as agreement_rules
from criteria import scoring
from criteria.models import (
    Assessment,
    AssessmentScore,
    FrameworkVersion,
    RegulatoryInstrument,
    Review,
    ReviewAnswer,
    ReviewAssignment,
    ReviewerConflict,
)
from criteria.schema import (
    CheckItem,
    ChoiceItem,
    Framework,
    GateItem,
    Problem,
    PublishedVersionEditedError,
    RubricItem,
    SpecialAnswer,
    expected_file_name,
    framework_from_document,
    load_frameworks,
    read_yaml,
)
from observatory.accounts import audit
from observatory.db import bump_data_version
from observatory.i18n import _l
from observatory.models import Role, User, utcnow
from observatory.security import NotFound, PermissionDenied, has_role, require_active, require_role
from observatory.text import clean_text

FRAMEWORKS_DIR = Path(__file__).resolve().parent / "frameworks"
REGULATIONS_CSV = Path(__file__).resolve().parent / "data" / "lac-regulations.csv"

#: An editor assigns at least this many reviewers to a case for a framework version.
MIN_REVIEWERS = 2
#: How many recommendations are drafted from the weakest criteria.
RECOMMENDATION_COUNT = 3

SPECIAL_VALUES: tuple[str, ...] = tuple(answer.value for answer in SpecialAnswer)
ACTIVE_ASSIGNMENT = ("assigned", "submitted")

# Notification texts of this package, added to the shared table (rendered in the reader's
# language); the cases package owns the table but knows nothing about reviews.
case_notifications.MESSAGES.update(
    {
        "review.assigned": _l(
            "You were asked to review case %(ref)s under %(framework)s by %(due)s."
        ),
        "review.withdrawn": _l("Your review of case %(ref)s under %(framework)s was withdrawn."),
        "review.submitted": _l("A review of case %(ref)s under %(framework)s was submitted."),
        "review.conflict_declared": _l(
            "A reviewer declared a conflict of interest; their open review of case %(ref)s "
            "was withdrawn."
        ),
        "assessment.published": _l(
            "The assessment of case %(ref)s under %(framework)s was published."
        ),
    }
)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ReviewError(Exception):
    """A criteria or review request that cannot be honoured; `code` names why (views translate)."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


class ConflictOfInterest(ReviewError):
    """A reviewer cannot be assigned to a case: `reasons` lists the conflict codes.

    Codes: `self` (the editor assigning), `submitter` (submitted the case), `same-institution`
    (works for the case's or the submitter's institution), `declared` (the reviewer declared a
    conflict with this case or its institution).
    """

    def __init__(self, reviewer_id: int, reasons: Sequence[str]) -> None:
        super().__init__("conflict-of-interest", reviewer_id=reviewer_id, reasons=list(reasons))
        self.reviewer_id = reviewer_id
        self.reasons = list(reasons)


class FieldErrors(ReviewError):
    """Invalid input: `errors` maps a field (or an item key) to a list of error codes."""

    def __init__(self, errors: Mapping[str, Sequence[str]], code: str = "invalid-input") -> None:
        super().__init__(code, errors={key: list(codes) for key, codes in errors.items()})
        self.errors = {key: list(codes) for key, codes in errors.items()}


def _clean(value: Any) -> str:
    """Text as typed, without control characters or surrounding spaces."""
    return clean_text(value)


# --------------------------------------------------------------------------------------------
# Frameworks
# --------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    """JSON encoding of YAML values json cannot encode (dates, as ISO text)."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")


def framework_document(path: Path) -> dict:
    """The YAML document of a framework file as JSON data (dates as ISO text, keys as text).

    Its `criteria.schema.content_hash` equals the file's, so the stored copy can be re-checked.
    """
    raw = read_yaml(path.read_text(encoding="utf-8"), path)
    return json.loads(json.dumps(raw, default=_json_default))


def sync_frameworks(session: Session, directory: str | Path = FRAMEWORKS_DIR) -> list[str]:
    """Load every framework file of `directory` into FrameworkVersion rows; idempotent; commits.

    Each file is validated (criteria.schema.load_frameworks: the error names the file, the path
    inside it and the problem). A key+version not yet loaded is added with its document and
    content hash; one already loaded with the same hash is left alone (only its status may move,
    e.g. published -> retired, since status is not content). A file whose key+version is loaded
    with another content hash is refused with PublishedVersionEditedError naming the file:
    a change of content must be shipped as a new version. Nothing is written when any file is
    refused. Result: report lines for `observatory init`.
    """
    directory = Path(directory)
    frameworks = load_frameworks(directory)
    rows = {(row.key, row.version): row for row in session.exec(select(FrameworkVersion)).all()}
    added: list[str] = []
    status_changed: list[str] = []
    unchanged = 0
    for framework in frameworks:
        path = directory / expected_file_name(framework)
        row = rows.get((framework.key, framework.version))
        if row is None:
            session.add(
                FrameworkVersion(
                    key=framework.key,
                    version=framework.version,
                    status=framework.status,
                    method=framework.scoring.method,
                    title=framework.title.model_dump(exclude_none=True),
                    document=framework_document(path),
                    content_hash=framework.content_hash,
                )
            )
            added.append(framework.full_key)
        elif row.content_hash != framework.content_hash:
            session.rollback()
            raise PublishedVersionEditedError(
                path,
                [
                    Problem(
                        "",
                        f"{framework.full_key} is already loaded with other content (content "
                        f"hash {row.content_hash[:12]}…, file {framework.content_hash[:12]}…); "
                        "restore the file and ship the change as a new version",
                    )
                ],
            )
        elif row.status != framework.status:
            status_changed.append(f"{framework.full_key} ({row.status} -> {framework.status})")
            row.status = framework.status
            session.add(row)
        else:
            unchanged += 1
    if added or status_changed:
        bump_data_version(session)
    session.commit()
    lines = [f"Frameworks: {len(added)} added, {unchanged} unchanged."]
    lines += [f"  added {key}" for key in added]
    lines += [f"  status changed: {text}" for text in status_changed]
    return lines


_FRAMEWORK_CACHE: dict[str, Framework] = {}


def framework_of(version: FrameworkVersion) -> Framework:
    """The validated Framework of a stored version (cached by content hash: versions are
    immutable). The row's `status` is authoritative, not the document's."""
    framework = _FRAMEWORK_CACHE.get(version.content_hash)
    if framework is None:
        framework = framework_from_document(version.document, f"{version.key}@{version.version}")
        _FRAMEWORK_CACHE[version.content_hash] = framework
    return framework


def framework_by_hash(session: Session, content_hash: str, version_id: int) -> Framework:
    """The validated Framework with this content hash; the first time, read from version
    `version_id` (for callers that selected the version's columns, not its row)."""
    framework = _FRAMEWORK_CACHE.get(content_hash)
    if framework is None:
        framework = framework_of(session.get(FrameworkVersion, version_id))
    return framework


def list_frameworks(session: Session, *, actor: User | None = None) -> list[FrameworkVersion]:
    """Framework versions to show: published and retired ones (drafts only to editors),
    ordered by key then version."""
    statement = select(FrameworkVersion)
    if not has_role(actor, Role.EDITOR):
        statement = statement.where(FrameworkVersion.status != "draft")
    rows = list(session.exec(statement).all())
    return sorted(rows, key=lambda row: (row.key, _version_tuple(row.version)))


def open_frameworks(session: Session) -> list[FrameworkVersion]:
    """Published framework versions: the ones reviewers may be assigned to."""
    rows = session.exec(select(FrameworkVersion).where(FrameworkVersion.status == "published"))
    return sorted(rows.all(), key=lambda row: (row.key, _version_tuple(row.version)))


def get_framework_version(
    session: Session, key: str, version: str, *, actor: User | None = None
) -> FrameworkVersion:
    """One framework version by key and version; drafts only for editors. Raises NotFound."""
    row = session.exec(
        select(FrameworkVersion).where(
            FrameworkVersion.key == key, FrameworkVersion.version == version
        )
    ).first()
    if row is None or (row.status == "draft" and not has_role(actor, Role.EDITOR)):
        raise NotFound(f"{key}@{version}")
    return row


def _version_tuple(version: str) -> tuple[int, ...]:
    """A version such as 1.10 as numbers, so that it sorts after 1.9."""
    return tuple(int(part) for part in version.split(".") if part.isdigit())


# --------------------------------------------------------------------------------------------
# Regulatory instruments
# --------------------------------------------------------------------------------------------

#: Kinds of instrument (the shipped data uses all of them).
INSTRUMENT_TYPES: tuple[str, ...] = (
    "strategy",
    "law",
    "bill",
    "decree",
    "regulation",
    "policy",
    "guideline",
    "ethical_framework",
    "data_protection_law",
    "declaration",
)
#: Status of an instrument; never deleted: `repealed` or `archived` (hidden from the public).
INSTRUMENT_STATUSES: tuple[str, ...] = (
    "draft",
    "bill_pending",
    "adopted",
    "in_force",
    "superseded",
    "repealed",
    "archived",
)
CONFIDENCE_LEVELS: tuple[str, ...] = ("high", "medium", "low")
#: Country code of regional (Latin America and the Caribbean) instruments.
REGIONAL = "LAC"
HIDDEN_INSTRUMENT_STATUSES = ("archived",)
_PARTIAL_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
INSTRUMENT_LIMITS = {
    "title": 600,
    "title_en": 600,
    "issuing_body": 600,
    "relevance": 4000,
    "url": 1000,
}


def _valid_partial_date(text: str) -> bool:
    """Whether text is YYYY, YYYY-MM or YYYY-MM-DD and names a real date."""
    if not _PARTIAL_DATE.match(text):
        return False
    parts = [int(part) for part in text.split("-")]
    try:
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return False
    return True


def validate_instrument(raw: Mapping[str, Any]) -> dict[str, str]:
    """Check and normalise an instrument record (pure).

    Input keys: country (ISO alpha-3 or LAC), title, title_en, type, status, issuing_body, date
    (YYYY, YYYY-MM or YYYY-MM-DD, or empty), relevance, url (http/https or empty), confidence.
    Result: the cleaned record. Raises FieldErrors with codes per field: required, too-long,
    unknown-country, unknown-value, bad-date, bad-url.
    """
    errors: dict[str, list[str]] = {}
    data: dict[str, str] = {}
    for name, limit in INSTRUMENT_LIMITS.items():
        data[name] = _clean(raw.get(name))
        if len(data[name]) > limit:
            errors.setdefault(name, []).append("too-long")
    if not data["title"]:
        errors.setdefault("title", []).append("required")
    data["country"] = _clean(raw.get("country")).upper()
    if data["country"] != REGIONAL and not vocab.is_known_country(data["country"]):
        errors.setdefault("country", []).append("unknown-country")
    for name, allowed, default in (
        ("type", INSTRUMENT_TYPES, ""),
        ("status", INSTRUMENT_STATUSES, ""),
        ("confidence", CONFIDENCE_LEVELS, "medium"),
    ):
        data[name] = _clean(raw.get(name)) or default
        if not data[name]:
            errors.setdefault(name, []).append("required")
        elif data[name] not in allowed:
            errors.setdefault(name, []).append("unknown-value")
    data["date"] = _clean(raw.get("date"))
    if data["date"] and not _valid_partial_date(data["date"]):
        errors.setdefault("date", []).append("bad-date")
    if data["url"] and not is_http_url(data["url"]):
        errors.setdefault("url", []).append("bad-url")
    if errors:
        raise FieldErrors(errors)
    return data


def _instrument_from_row(row: Mapping[str, str]) -> dict[str, str]:
    """An instrument record from a row of the shipped CSV file."""
    return {
        "country": row.get("country_iso3", ""),
        "title": row.get("title_original", ""),
        "title_en": row.get("title_en", ""),
        "type": row.get("type", ""),
        "status": row.get("status", ""),
        "issuing_body": row.get("issuing_body", ""),
        "date": row.get("date", ""),
        "relevance": row.get("public_sector_relevance", ""),
        "url": row.get("url", ""),
        "confidence": row.get("confidence", ""),
    }


def load_regulations(session: Session, path: str | Path = REGULATIONS_CSV) -> list[str]:
    """Load the shipped regulatory instruments (CSV) once; idempotent by `source_key` (= id).

    Rows already loaded are kept as editors may have updated them since. A malformed row is a
    bug in the shipped data: ValueError names its id and the problems and nothing is written.
    Bumps the data version when rows are added; commits. Result: report lines.
    """
    with Path(path).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    known = set(
        session.exec(
            select(RegulatoryInstrument.source_key).where(
                RegulatoryInstrument.source_key.is_not(None)
            )
        ).all()
    )
    added = 0
    for row in rows:
        key = _clean(row.get("id"))
        if not key:
            raise ValueError(f"{path}: a row has no id")
        try:
            data = validate_instrument(_instrument_from_row(row))
        except FieldErrors as error:
            session.rollback()
            raise ValueError(f"{path}: row {key}: {error.errors}") from None
        if key in known:
            continue
        session.add(RegulatoryInstrument(source_key=key, **data))
        known.add(key)
        added += 1
    if added:
        bump_data_version(session)
    session.commit()
    return [f"Regulatory instruments: {added} added, {len(rows) - added} already loaded."]


def create_instrument(
    session: Session, *, actor: User, raw: Mapping[str, Any]
) -> RegulatoryInstrument:
    """Add a regulatory instrument (editors only); commits.

    Raises PermissionDenied, FieldErrors (see validate_instrument).
    """
    require_role(actor, Role.EDITOR)
    data = validate_instrument(raw)
    instrument = RegulatoryInstrument(**data, updated_by_id=actor.id, updated_at=utcnow())
    session.add(instrument)
    bump_data_version(session)
    session.commit()
    return instrument


def update_instrument(
    session: Session, *, actor: User, instrument_id: int, raw: Mapping[str, Any]
) -> RegulatoryInstrument:
    """Change a regulatory instrument (editors only); commits. Instruments are never deleted:
    set the status to `repealed` or `archived` instead.

    Raises PermissionDenied, NotFound, FieldErrors.
    """
    require_role(actor, Role.EDITOR)
    instrument = session.get(RegulatoryInstrument, instrument_id)
    if instrument is None:
        raise NotFound(f"instrument {instrument_id}")
    data = validate_instrument(raw)
    for name, value in data.items():
        setattr(instrument, name, value)
    instrument.updated_by_id = actor.id
    instrument.updated_at = utcnow()
    session.add(instrument)
    bump_data_version(session)
    session.commit()
    return instrument


def get_instrument(session: Session, *, actor: User, instrument_id: int) -> RegulatoryInstrument:
    """One instrument for editing (editors only). Raises PermissionDenied, NotFound."""
    require_role(actor, Role.EDITOR)
    instrument = session.get(RegulatoryInstrument, instrument_id)
    if instrument is None:
        raise NotFound(f"instrument {instrument_id}")
    return instrument


def _instrument_order(instrument: RegulatoryInstrument) -> tuple:
    """Sort key: the regional group first, then by country, newest first, undated last."""
    return (
        instrument.country != REGIONAL,
        instrument.country,
        instrument.date == "",
        _negated(instrument.date),
        instrument.title,
    )


def _negated(text: str) -> tuple[int, ...]:
    """A partial date as negated numbers, so that newer dates sort first."""
    return tuple(-int(part) for part in text.split("-") if part.isdigit())


def instruments_by_country(
    session: Session,
    *,
    countries: Iterable[str] | None = None,
    actor: User | None = None,
) -> dict[str, list[RegulatoryInstrument]]:
    """Regulatory instruments grouped by country code (LAC, the regional ones, first).

    `countries` restricts the result. Archived instruments are left out except for editors.
    """
    statement = select(RegulatoryInstrument)
    if countries is not None:
        statement = statement.where(RegulatoryInstrument.country.in_(list(countries)))
    if not has_role(actor, Role.EDITOR):
        statement = statement.where(RegulatoryInstrument.status.notin_(HIDDEN_INSTRUMENT_STATUSES))
    grouped: dict[str, list[RegulatoryInstrument]] = {}
    for instrument in sorted(session.exec(statement).all(), key=_instrument_order):
        grouped.setdefault(instrument.country, []).append(instrument)
    return grouped


def instruments_for_country(session: Session, country: str) -> list[RegulatoryInstrument]:
    """The public instruments of one country (for country profiles), newest first."""
    return instruments_by_country(session, countries=[country.upper()]).get(country.upper(), [])


def instrument_counts(session: Session) -> dict[str, int]:
    """How many public instruments each country (and LAC) has."""
    statement = (
        select(RegulatoryInstrument.country, sa.func.count(RegulatoryInstrument.id))
        .where(RegulatoryInstrument.status.notin_(HIDDEN_INSTRUMENT_STATUSES))
        .group_by(RegulatoryInstrument.country)
    )
    return {country: int(n) for country, n in session.exec(statement).all()}


# --------------------------------------------------------------------------------------------
# Conflicts of interest and assignments
# --------------------------------------------------------------------------------------------


def _public_case(session: Session, case_id: int) -> Case:
    """A case in a public state; NotFound if missing, ReviewError(case-not-public) otherwise."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id}")
    if case.state not in PUBLIC_STATES:
        raise ReviewError("case-not-public")
    return case


def _framework_row(session: Session, framework_id: int) -> FrameworkVersion:
    """A framework version by id; NotFound if missing."""
    row = session.get(FrameworkVersion, framework_id)
    if row is None:
        raise NotFound(f"framework {framework_id}")
    return row


def _declared_conflicts(session: Session, reviewer_id: int) -> list[ReviewerConflict]:
    """The conflicts a reviewer declared."""
    statement = select(ReviewerConflict).where(ReviewerConflict.reviewer_id == reviewer_id)
    return list(session.exec(statement).all())


def conflict_reasons(
    session: Session, *, reviewer: User, case: Case, actor: User | None = None
) -> list[str]:
    """Why `reviewer` may not review `case` (empty when there is no conflict).

    Codes: `self` (the reviewer is the actor making the assignment), `submitter` (submitted the
    case), `same-institution` (the reviewer's institution, accent- and case-folded, is the
    case's institution or the submitter's), `declared` (the reviewer declared a conflict with
    this case or with its institution).
    """
    reasons: list[str] = []
    if actor is not None and reviewer.id == actor.id:
        reasons.append("self")
    submitter = session.get(User, case.submitter_id) if case.submitter_id else None
    if submitter is not None and reviewer.id == submitter.id:
        reasons.append("submitter")
    institutions = {fold(case.institution)}
    if submitter is not None and submitter.id != reviewer.id:
        institutions.add(fold(submitter.institution))
    institutions.discard("")
    if fold(reviewer.institution) in institutions:
        reasons.append("same-institution")
    for declared in _declared_conflicts(session, reviewer.id):
        if declared.case_id == case.id or (
            declared.institution and fold(declared.institution) in institutions
        ):
            reasons.append("declared")
            break
    return reasons


@dataclass(frozen=True)
class ReviewerOption:
    """A reviewer account an editor might assign, with any conflict with the case."""

    user: User
    reasons: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        """True when nothing stands in the way."""
        return not self.reasons


def reviewer_options(session: Session, *, actor: User, case_id: int) -> list[ReviewerOption]:
    """Active reviewer accounts with their conflicts with the case (editors only).

    Raises PermissionDenied, NotFound.
    """
    require_role(actor, Role.EDITOR)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id}")
    users = session.exec(
        select(User)
        .where(User.is_active.is_(True), User.role == Role.REVIEWER.value)
        .order_by(User.name, User.email)
    ).all()
    return [
        ReviewerOption(
            user=user,
            reasons=tuple(conflict_reasons(session, reviewer=user, case=case, actor=actor)),
        )
        for user in users
    ]


def _assignments(session: Session, case_id: int, framework_id: int) -> list[ReviewAssignment]:
    """Every assignment (withdrawn ones included) of a case under a framework version."""
    statement = (
        select(ReviewAssignment)
        .where(ReviewAssignment.case_id == case_id, ReviewAssignment.framework_id == framework_id)
        .order_by(ReviewAssignment.id)
    )
    return list(session.exec(statement).all())


def _assessment(session: Session, case_id: int, framework_id: int) -> Assessment | None:
    """The assessment (draft or published) of a case under a framework version, if any."""
    statement = select(Assessment).where(
        Assessment.case_id == case_id, Assessment.framework_id == framework_id
    )
    return session.exec(statement).first()


def _framework_label(row: FrameworkVersion) -> str:
    """`key@version`, as notifications name a framework version."""
    return f"{row.key}@{row.version}"


def assign_reviewers(
    session: Session,
    *,
    actor: User,
    case_id: int,
    framework_id: int,
    reviewer_ids: Sequence[int],
    due_date: date | None,
    today: date | None = None,
) -> list[ReviewAssignment]:
    """Assign reviewers to score a published case under a published framework version;
    commits once and notifies each reviewer.

    Rules: editors only; the case is public; the framework version is published; a due date,
    not in the past; every reviewer is an active reviewer account without a conflict of
    interest (see `conflict_reasons`: self, submitter, same institution, declared) and not
    already assigned; after this call the case has at least MIN_REVIEWERS active reviewers for
    that version; no published assessment exists for it. A reviewer whose assignment was
    withdrawn may be assigned again. All or nothing. Raises PermissionDenied, NotFound,
    ConflictOfInterest, ReviewError (`case-not-public`, `framework-not-open`,
    `due-date-required`, `due-date-past`, `no-reviewers`, `not-a-reviewer`, `already-assigned`,
    `too-few-reviewers`, `already-published`).
    """
    require_role(actor, Role.EDITOR)
    case = _public_case(session, case_id)
    framework = _framework_row(session, framework_id)
    if framework.status != "published":
        raise ReviewError("framework-not-open")
    if due_date is None:
        raise ReviewError("due-date-required")
    if due_date < (today or date.today()):
        raise ReviewError("due-date-past")
    ids = list(dict.fromkeys(int(rid) for rid in reviewer_ids))
    if not ids:
        raise ReviewError("no-reviewers")
    existing_assessment = _assessment(session, case.id, framework.id)
    if existing_assessment is not None and existing_assessment.status == "published":
        raise ReviewError("already-published")
    existing = {a.reviewer_id: a for a in _assignments(session, case.id, framework.id)}
    for reviewer_id in ids:
        reviewer = session.get(User, reviewer_id)
        if reviewer is None or not has_role(reviewer, Role.REVIEWER):
            raise ReviewError("not-a-reviewer", reviewer_id=reviewer_id)
        reasons = conflict_reasons(session, reviewer=reviewer, case=case, actor=actor)
        if reasons:
            raise ConflictOfInterest(reviewer_id, reasons)
        previous = existing.get(reviewer_id)
        if previous is not None and previous.status in ACTIVE_ASSIGNMENT:
            raise ReviewError("already-assigned", reviewer_id=reviewer_id)
    active = sum(1 for a in existing.values() if a.status in ACTIVE_ASSIGNMENT)
    if active + len(ids) < MIN_REVIEWERS:
        raise ReviewError("too-few-reviewers", minimum=MIN_REVIEWERS)
    created: list[ReviewAssignment] = []
    for reviewer_id in ids:
        assignment = existing.get(reviewer_id)
        if assignment is None:
            assignment = ReviewAssignment(
                case_id=case.id, framework_id=framework.id, reviewer_id=reviewer_id
            )
        has_submitted = assignment.id is not None and _latest_submitted(session, assignment.id)
        assignment.status = "submitted" if has_submitted else "assigned"
        assignment.assigned_by_id = actor.id
        assignment.due_date = due_date
        session.add(assignment)
        created.append(assignment)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        # Another editor assigned the same reviewer at the same moment.
        session.rollback()
        raise ReviewError("already-assigned") from error
    for assignment in created:
        notify(
            session,
            [assignment.reviewer_id],
            "review.assigned",
            link=f"/reviews/{assignment.id}",
            ref=case.ref,
            framework=_framework_label(framework),
            due=due_date.isoformat(),
        )
    session.commit()
    return created


def withdraw_assignment(session: Session, *, actor: User, assignment_id: int) -> ReviewAssignment:
    """Withdraw a reviewer who has not submitted (editors only); commits, notifies them.

    Raises PermissionDenied, NotFound, ReviewError (`already-submitted`, `already-withdrawn`,
    `already-published`).
    """
    require_role(actor, Role.EDITOR)
    assignment = session.get(ReviewAssignment, assignment_id)
    if assignment is None:
        raise NotFound(f"assignment {assignment_id}")
    if assignment.status == "withdrawn":
        raise ReviewError("already-withdrawn")
    if _latest_submitted(session, assignment.id) is not None:
        raise ReviewError("already-submitted")
    published = _assessment(session, assignment.case_id, assignment.framework_id)
    if published is not None and published.status == "published":
        raise ReviewError("already-published")
    assignment.status = "withdrawn"
    session.add(assignment)
    case = session.get(Case, assignment.case_id)
    framework = session.get(FrameworkVersion, assignment.framework_id)
    notify(
        session,
        [assignment.reviewer_id],
        "review.withdrawn",
        link="/reviews",
        ref=case.ref if case else "",
        framework=_framework_label(framework) if framework else "",
    )
    session.commit()
    return assignment


def declare_conflict(
    session: Session,
    *,
    actor: User,
    institution: str = "",
    case_ref: str = "",
    note: str = "",
) -> ReviewerConflict:
    """Record a conflict of interest the actor (a reviewer) declares; commits.

    Name an institution, a case (by reference) or both. Open (not yet submitted) assignments
    that the declaration now covers are withdrawn and the editors told. Raises
    PermissionDenied, FieldErrors (`institution`: required/too-long; `case_ref`: unknown-case;
    `note`: too-long).
    """
    require_role(actor, Role.REVIEWER)
    institution = _clean(institution)
    case_ref = _clean(case_ref).upper()
    note = _clean(note)
    errors: dict[str, list[str]] = {}
    if not institution and not case_ref:
        errors["institution"] = ["conflict-target-required"]
    if len(institution) > 300:
        errors.setdefault("institution", []).append("too-long")
    if len(note) > 1000:
        errors["note"] = ["too-long"]
    case = None
    if case_ref:
        case = session.exec(select(Case).where(Case.ref == case_ref)).first()
        if case is None:
            errors["case_ref"] = ["unknown-case"]
    if errors:
        raise FieldErrors(errors)
    conflict = ReviewerConflict(
        reviewer_id=actor.id,
        institution=institution,
        case_id=case.id if case else None,
        note=note,
    )
    session.add(conflict)
    session.flush()
    open_assignments = session.exec(
        select(ReviewAssignment).where(
            ReviewAssignment.reviewer_id == actor.id, ReviewAssignment.status == "assigned"
        )
    ).all()
    for assignment in open_assignments:
        assigned_case = session.get(Case, assignment.case_id)
        if assigned_case is None or _latest_submitted(session, assignment.id) is not None:
            continue
        if "declared" in conflict_reasons(session, reviewer=actor, case=assigned_case):
            assignment.status = "withdrawn"
            session.add(assignment)
            notify(
                session,
                editor_ids(session),
                "review.conflict_declared",
                link=f"/cases/{assigned_case.ref}/assign",
                ref=assigned_case.ref,
            )
    session.commit()
    return conflict


def my_conflicts(session: Session, *, actor: User) -> list[ReviewerConflict]:
    """The conflicts the actor declared, newest first (reviewers)."""
    require_role(actor, Role.REVIEWER)
    statement = (
        select(ReviewerConflict)
        .where(ReviewerConflict.reviewer_id == actor.id)
        .order_by(sa.desc(ReviewerConflict.id))
    )
    return list(session.exec(statement).all())


# --------------------------------------------------------------------------------------------
# Answers (pure helpers)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerIn:
    """A reviewer's answer to one criterion as entered.

    `value`: an int 0-4 (rubric), an option key (single choice), a list of option keys (multi
    choice), yes/no/unclear (gate) or yes/no (check), or None; `special`: not_applicable or
    insufficient_information (never both a value and a special answer).
    """

    value: Any = None
    special: str | None = None
    justification: str = ""
    evidence_url: str = ""

    @property
    def answer(self) -> scoring.Answer:
        """The answer as the scoring rules read it (the special answer, else the value)."""
        return self.special if self.special else self.value

    @property
    def is_blank(self) -> bool:
        """True when neither a value nor a special answer was given."""
        return self.special is None and self.value in (None, "", [], ())


def _is_extreme(item: Any, value: Any) -> bool:
    """Whether a rubric score is at an extreme level (0 or 4): it needs a justification."""
    return isinstance(item, RubricItem) and value in (0, 4)


def check_answers(
    framework: Framework, answers: Mapping[str, AnswerIn], *, complete: bool
) -> dict[str, list[str]]:
    """Problems of a set of answers, as {item key: [error codes]} (empty when fine; pure).

    Codes: unknown-item, value-and-special, special-not-allowed, invalid-value,
    answer-required (complete only: every item needs a value or a special answer),
    justification-required (complete only: rubric levels 0 and 4), too-long, bad-url,
    too-many-options (a multiple choice too long to store).
    """
    errors: dict[str, list[str]] = {}
    keys = {item.key for item in framework.items}
    for key in answers:
        if key not in keys:
            errors.setdefault(key, []).append("unknown-item")
    for item in framework.items:
        given = answers.get(item.key, AnswerIn())
        problems: list[str] = []
        if given.special is not None:
            if not given.is_blank and given.value not in (None, "", [], ()):
                problems.append("value-and-special")
            elif given.special not in SPECIAL_VALUES or SpecialAnswer(given.special) not in (
                item.allows
            ):
                problems.append("special-not-allowed")
        elif not given.is_blank:
            try:
                scoring.validate_answer(item, given.value)
            except scoring.InvalidAnswerError:
                problems.append("invalid-value")
            else:
                if isinstance(given.value, list | tuple) and len(",".join(given.value)) > 60:
                    problems.append("too-many-options")
        if complete and given.is_blank:
            problems.append("answer-required")
        if (
            complete
            and given.special is None
            and _is_extreme(item, given.value)
            and not _clean(given.justification)
        ):
            problems.append("justification-required")
        if len(_clean(given.justification)) > 4000:
            problems.append("too-long")
        evidence = _clean(given.evidence_url)
        if evidence and not is_http_url(evidence):
            problems.append("bad-url")
        elif len(evidence) > 1000:
            problems.append("too-long")
        if problems:
            errors[item.key] = problems
    return errors


def _number(value: float) -> int | float:
    """A whole float as an int (3.0 -> 3); other numbers unchanged."""
    return int(value) if float(value).is_integer() else float(value)


def _answer_row(review_id: int, item: Any, given: AnswerIn) -> ReviewAnswer:
    """The stored row of one answer (numbers, option keys, or the special answer)."""
    row = ReviewAnswer(
        review_id=review_id,
        item_key=item.key,
        justification=_clean(given.justification),
        evidence_url=_clean(given.evidence_url),
    )
    if given.special is not None:
        row.special = given.special
    elif isinstance(item, RubricItem):
        row.value_number = float(given.value)
    elif isinstance(given.value, list | tuple):
        # Option keys in file order; the column holds them comma-separated.
        order = [option.key for option in item.options]
        row.value_text = ",".join(sorted(given.value, key=order.index))
    else:
        row.value_text = given.value
    return row


def _answer_from_row(item: Any, row: ReviewAnswer) -> AnswerIn:
    """An answer as entered, read back from its stored row."""
    if row.special:
        value = None
    elif row.value_number is not None:
        value = _number(row.value_number)
    elif isinstance(item, ChoiceItem) and item.select == "multi":
        value = [key for key in (row.value_text or "").split(",") if key]
    else:
        value = row.value_text
    return AnswerIn(
        value=value,
        special=row.special,
        justification=row.justification,
        evidence_url=row.evidence_url,
    )


def _json_answer(value: scoring.Answer) -> Any:
    """An answer as plain JSON data (special answers as their text, tuples as lists)."""
    if isinstance(value, SpecialAnswer):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


# --------------------------------------------------------------------------------------------
# Reviews
# --------------------------------------------------------------------------------------------


def _latest_review(session: Session, assignment_id: int) -> Review | None:
    """The newest revision of an assignment's review (draft or submitted), if any."""
    statement = (
        select(Review)
        .where(Review.assignment_id == assignment_id)
        .order_by(sa.desc(Review.revision))
        .limit(1)
    )
    return session.exec(statement).first()


def _latest_submitted(session: Session, assignment_id: int) -> Review | None:
    """The newest submitted revision of an assignment's review, if any."""
    statement = (
        select(Review)
        .where(Review.assignment_id == assignment_id, Review.status == "submitted")
        .order_by(sa.desc(Review.revision))
        .limit(1)
    )
    return session.exec(statement).first()


def _answers_of(session: Session, framework: Framework, review_id: int) -> dict[str, AnswerIn]:
    """The answers of one review revision, by criterion key."""
    rows = session.exec(select(ReviewAnswer).where(ReviewAnswer.review_id == review_id)).all()
    answers = {}
    for row in rows:
        try:
            item = framework.item(row.item_key)
        except KeyError:  # pragma: no cover - answers are checked against the framework
            continue
        answers[row.item_key] = _answer_from_row(item, row)
    return answers


@dataclass
class VisibleReview:
    """A review revision someone may see, with its answers.

    `reviewer_name` is set for editors only; reviewers see the others as "Reviewer n".
    """

    assignment_id: int
    reviewer_id: int
    reviewer_number: int
    reviewer_name: str | None
    revision: int
    status: str
    submitted_at: datetime | None
    amendment_reason: str
    answers: dict[str, AnswerIn]
    is_own: bool


@dataclass
class ReviewState:
    """What a reviewer's scoring page shows."""

    assignment: ReviewAssignment
    case: Case
    framework_version: FrameworkVersion
    framework: Framework
    review: Review | None  # the newest revision, if any
    answers: dict[str, AnswerIn]
    revisions: list[Review]
    others: list[VisibleReview]  # empty until the reviewer has submitted
    assessment_published: bool

    @property
    def submitted(self) -> bool:
        """The newest revision is submitted (read-only; an amendment starts a new one)."""
        return self.review is not None and self.review.status == "submitted"

    @property
    def has_submitted(self) -> bool:
        """Some revision was submitted (so the other reviewers' scores are visible)."""
        return any(review.status == "submitted" for review in self.revisions)

    @property
    def editable(self) -> bool:
        """The reviewer may save or submit answers now."""
        return not self.submitted and not self.assessment_published


def _own_assignment(session: Session, actor: User, assignment_id: int) -> ReviewAssignment:
    """The actor's own, active assignment; NotFound for anyone else's."""
    require_active(actor)
    assignment = session.get(ReviewAssignment, assignment_id)
    # Someone else's assignment is reported as missing: it is not theirs to know about.
    if assignment is None or assignment.reviewer_id != actor.id:
        raise NotFound(f"assignment {assignment_id}")
    if not has_role(actor, Role.REVIEWER):
        raise PermissionDenied("reviewers only")
    if assignment.status == "withdrawn":
        raise ReviewError("assignment-withdrawn")
    return assignment


def _is_published(session: Session, assignment: ReviewAssignment) -> bool:
    """Whether the assessment the assignment feeds is already published."""
    assessment = _assessment(session, assignment.case_id, assignment.framework_id)
    return assessment is not None and assessment.status == "published"


def open_review(session: Session, *, actor: User, assignment_id: int) -> ReviewState:
    """The actor's review of one assignment: newest revision and answers, and - only once the
    actor has submitted - the other reviewers' submitted scores. Writes nothing.

    Raises NotFound (no such assignment or not the actor's), PermissionDenied,
    ReviewError (`assignment-withdrawn`).
    """
    assignment = _own_assignment(session, actor, assignment_id)
    version = _framework_row(session, assignment.framework_id)
    framework = framework_of(version)
    revisions = list(
        session.exec(
            select(Review)
            .where(Review.assignment_id == assignment.id)
            .order_by(sa.desc(Review.revision))
        ).all()
    )
    review = revisions[0] if revisions else None
    answers = _answers_of(session, framework, review.id) if review else {}
    visible = reviews_visible_to(
        session, actor=actor, case_id=assignment.case_id, framework_id=assignment.framework_id
    )
    return ReviewState(
        assignment=assignment,
        case=session.get(Case, assignment.case_id),
        framework_version=version,
        framework=framework,
        review=review,
        answers=answers,
        revisions=revisions,
        others=[entry for entry in visible if not entry.is_own],
        assessment_published=_is_published(session, assignment),
    )


def _writable_draft(session: Session, assignment: ReviewAssignment) -> Review:
    """The draft revision to write to (created as revision 1 when there is none), locked.

    The guarded UPDATE takes the row lock and fails when the revision was submitted in the
    meantime (another tab, another request), so a submitted review is never overwritten.
    """
    review = _latest_review(session, assignment.id)
    if review is None:
        review = Review(assignment_id=assignment.id, revision=1, status="draft")
        session.add(review)
        try:
            session.flush()
        except sa.exc.IntegrityError as error:
            session.rollback()
            raise ReviewError("review-changed") from error
        return review
    if review.status != "draft":
        raise ReviewError("review-submitted")
    locked = session.execute(
        sa.update(Review)
        .where(Review.id == review.id, Review.status == "draft")
        .values(status="draft")
        .execution_options(synchronize_session=False)
    )
    if locked.rowcount != 1:
        session.rollback()
        raise ReviewError("review-submitted")
    return review


def _replace_answers(
    session: Session, framework: Framework, review: Review, answers: Mapping[str, AnswerIn]
) -> None:
    """Replace the answers of a draft revision with the given ones (blank ones left out)."""
    session.execute(sa.delete(ReviewAnswer).where(ReviewAnswer.review_id == review.id))
    for item in framework.items:
        given = answers.get(item.key)
        if given is None or (given.is_blank and not given.justification and not given.evidence_url):
            continue
        session.add(_answer_row(review.id, item, given))


def _prepare_write(
    session: Session, actor: User, assignment_id: int
) -> tuple[ReviewAssignment, FrameworkVersion, Framework]:
    """The actor's assignment and its framework, refusing once the assessment is published
    and when the reviewer has a conflict of interest with the case (ConflictOfInterest)."""
    assignment = _own_assignment(session, actor, assignment_id)
    if _is_published(session, assignment):
        raise ReviewError("assessment-published")
    # Conflicts are checked again at every write: one declared (or arising) after the
    # assignment stops the reviewer from changing scores, submitted ones included.
    case = session.get(Case, assignment.case_id)
    reasons = conflict_reasons(session, reviewer=actor, case=case) if case else []
    if reasons:
        raise ConflictOfInterest(actor.id, reasons)
    version = _framework_row(session, assignment.framework_id)
    return assignment, version, framework_of(version)


def save_review(
    session: Session, *, actor: User, assignment_id: int, answers: Mapping[str, AnswerIn]
) -> Review:
    """Save the actor's answers as a draft (incomplete answers allowed); commits.

    Every given answer must fit its criterion (see `check_answers`, complete=False). The draft
    (revision 1, or an amendment) is replaced as a whole. Raises NotFound, PermissionDenied,
    FieldErrors (code `invalid-answers`), ReviewError (`review-submitted` when the newest
    revision is submitted, `assessment-published`, `assignment-withdrawn`, `review-changed`).
    """
    assignment, _version, framework = _prepare_write(session, actor, assignment_id)
    errors = check_answers(framework, answers, complete=False)
    if errors:
        raise FieldErrors(errors, code="invalid-answers")
    review = _writable_draft(session, assignment)
    _replace_answers(session, framework, review, answers)
    session.commit()
    return review


def submit_review(
    session: Session, *, actor: User, assignment_id: int, answers: Mapping[str, AnswerIn]
) -> Review:
    """Save and submit the actor's answers; commits, notifies the editors.

    Every criterion needs a value or a special answer (not applicable / insufficient
    information, where the criterion allows it), and rubric levels 0 and 4 a justification.
    After this the revision is read-only and the actor sees the other reviewers' submitted
    scores. Two reviewers submitting at once write separate rows; the same review submitted
    twice at once is refused the second time (`review-submitted`). Raises NotFound,
    PermissionDenied, FieldErrors (`invalid-answers`), ReviewError (see `save_review`).
    """
    assignment, version, framework = _prepare_write(session, actor, assignment_id)
    errors = check_answers(framework, answers, complete=True)
    if errors:
        raise FieldErrors(errors, code="invalid-answers")
    review = _writable_draft(session, assignment)
    _replace_answers(session, framework, review, answers)
    now = utcnow()
    done = session.execute(
        sa.update(Review)
        .where(Review.id == review.id, Review.status == "draft")
        .values(status="submitted", submitted_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # pragma: no cover - the row is locked by _writable_draft
        session.rollback()
        raise ReviewError("review-submitted")
    review.status, review.submitted_at = "submitted", now
    assignment.status = "submitted"
    session.add(assignment)
    case = session.get(Case, assignment.case_id)
    notify(
        session,
        [uid for uid in editor_ids(session) if uid != actor.id],
        "review.submitted",
        link=f"/assessments/{case.ref}/{version.key}/{version.version}",
        ref=case.ref,
        framework=_framework_label(version),
    )
    session.commit()
    return review


def amend_review(session: Session, *, actor: User, assignment_id: int, reason: str) -> Review:
    """Start an amendment of the actor's submitted review: a new draft revision (previous +1)
    with the reason, pre-filled with the submitted answers; commits.

    The submitted revision stays as it was and keeps counting until the amendment is submitted.
    Raises NotFound, PermissionDenied, ReviewError (`reason-required`, `reason-too-long`,
    `not-submitted`, `amendment-in-progress`, `assessment-published`, `review-changed`).
    """
    assignment, _version, framework = _prepare_write(session, actor, assignment_id)
    reason = _clean(reason)
    if not reason:
        raise ReviewError("reason-required")
    if len(reason) > 2000:
        raise ReviewError("reason-too-long")
    latest = _latest_review(session, assignment.id)
    if latest is None:
        raise ReviewError("not-submitted")
    if latest.status != "submitted":
        raise ReviewError("amendment-in-progress" if latest.revision > 1 else "not-submitted")
    amendment = Review(
        assignment_id=assignment.id,
        revision=latest.revision + 1,
        status="draft",
        amendment_reason=reason,
    )
    session.add(amendment)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        session.rollback()
        raise ReviewError("review-changed") from error
    _replace_answers(session, framework, amendment, _answers_of(session, framework, latest.id))
    session.commit()
    return amendment


def reviews_visible_to(
    session: Session, *, actor: User | None, case_id: int, framework_id: int
) -> list[VisibleReview]:
    """The reviews of a case under a framework version that the actor may see (blindness).

    Editors: every reviewer's newest submitted revision (never drafts). A reviewer of the case:
    their own newest revision (draft or submitted) and, only once they have submitted one,
    the others' newest submitted revisions. Anyone else (the public included): PermissionDenied.
    """
    require_active(actor)
    assignments = [
        a for a in _assignments(session, case_id, framework_id) if a.status in ACTIVE_ASSIGNMENT
    ]
    is_editor = has_role(actor, Role.EDITOR)
    own = next((a for a in assignments if a.reviewer_id == actor.id), None)
    if own is None and not is_editor:
        raise PermissionDenied("not a reviewer of this case")
    sees_others = is_editor or (own is not None and _latest_submitted(session, own.id) is not None)
    framework = framework_of(_framework_row(session, framework_id))
    names = {}
    if is_editor and assignments:
        users = session.exec(
            select(User).where(User.id.in_([a.reviewer_id for a in assignments]))
        ).all()
        names = {user.id: user.name or user.email for user in users}
    visible = []
    for number, assignment in enumerate(assignments, start=1):
        is_own = own is not None and assignment.id == own.id
        if is_own:
            review = _latest_review(session, assignment.id)
        elif sees_others:
            review = _latest_submitted(session, assignment.id)
        else:
            continue
        if review is None:
            continue
        visible.append(
            VisibleReview(
                assignment_id=assignment.id,
                reviewer_id=assignment.reviewer_id,
                reviewer_number=number,
                reviewer_name=names.get(assignment.reviewer_id) if is_editor else None,
                revision=review.revision,
                status=review.status,
                submitted_at=review.submitted_at,
                amendment_reason=review.amendment_reason,
                answers=_answers_of(session, framework, review.id),
                is_own=is_own,
            )
        )
    return visible


@dataclass(frozen=True)
class QueueItem:
    """One assignment in a reviewer's queue."""

    assignment: ReviewAssignment
    case_ref: str
    case_name: str
    framework_key: str
    framework_version: str
    framework_title: dict
    review_status: str  # not_started | draft | submitted | amendment_draft
    revision: int | None
    overdue: bool
    published: bool


def reviewer_queue(session: Session, *, actor: User, today: date | None = None) -> list[QueueItem]:
    """The actor's assignments (withdrawn ones left out): open ones first, by due date.

    Raises PermissionDenied for accounts that are not reviewers.
    """
    require_role(actor, Role.REVIEWER)
    today = today or date.today()
    assignments = session.exec(
        select(ReviewAssignment).where(
            ReviewAssignment.reviewer_id == actor.id,
            ReviewAssignment.status.in_(ACTIVE_ASSIGNMENT),
        )
    ).all()
    items = []
    for assignment in assignments:
        case = session.get(Case, assignment.case_id)
        version = session.get(FrameworkVersion, assignment.framework_id)
        latest = _latest_review(session, assignment.id)
        if latest is None:
            status = "not_started"
        elif latest.status == "submitted":
            status = "submitted"
        else:
            status = "amendment_draft" if latest.revision > 1 else "draft"
        items.append(
            QueueItem(
                assignment=assignment,
                case_ref=case.ref,
                case_name=case.name,
                framework_key=version.key,
                framework_version=version.version,
                framework_title=dict(version.title),
                review_status=status,
                revision=latest.revision if latest else None,
                overdue=status in ("not_started", "draft")
                and assignment.due_date is not None
                and assignment.due_date < today,
                published=_is_published(session, assignment),
            )
        )
    items.sort(
        key=lambda item: (
            item.review_status == "submitted",
            item.assignment.due_date or date.max,
            item.case_ref,
        )
    )
    return items


# --------------------------------------------------------------------------------------------
# Agreement (pure helpers + read services)
# --------------------------------------------------------------------------------------------

#: {reviewer: {item key: answer}} for one case.
CaseRatings = Mapping[Any, Mapping[str, scoring.Answer]]


def ordinal_value(item: Any, answer: scoring.Answer) -> float | int | None:
    """An answer on its criterion's ordered scale, for ordinal alpha and the disagreement flag.

    Rubric: the level. Single choice: the option's points; multiple choice: the points chosen.
    Check: yes 1, no 0. Gates (nominal), special answers and blanks: None (missing, never 0).
    """
    if answer is None or scoring.special_answer(answer) is not None:
        return None
    if isinstance(item, RubricItem):
        return answer
    if isinstance(item, ChoiceItem):
        return scoring.choice_points(item, answer)
    if isinstance(item, CheckItem):
        return 1 if answer == "yes" else 0
    return None


def nominal_value(item: Any, answer: scoring.Answer) -> str | None:
    """A gate's answer (yes/no/unclear) for nominal alpha; None for other items and specials."""
    if isinstance(item, GateItem) and answer in ("yes", "no", "unclear"):
        return str(answer)
    return None


def item_flagged(item: Any, answers: Iterable[scoring.Answer]) -> bool:
    """Whether reviewers disagree on one criterion (pure).

    Rubric: levels differ by 2 or more (criteria.agreement.disagreement_flag). Single choice:
    chosen options 2 or more positions apart on the option list. Gates and checks: someone
    answered yes and someone no. Special answers and blanks never count as a level.
    """
    answers = [a for a in answers if a is not None and scoring.special_answer(a) is None]
    if isinstance(item, RubricItem):
        return agreement_rules.disagreement_flag(answers)
    if isinstance(item, ChoiceItem) and item.select == "single":
        order = [option.key for option in item.options]
        return agreement_rules.disagreement_flag([order.index(a) for a in answers if a in order])
    if isinstance(item, GateItem | CheckItem):
        return "yes" in answers and "no" in answers
    return False


@dataclass(frozen=True)
class Agreement:
    """Inter-rater agreement of a set of reviews.

    `alpha` is Krippendorff's ordinal alpha over the ordered criteria (rubric levels, option
    points, checks) when there are any, else nominal alpha over gate answers; both are kept.
    None = undefined (too little data, or no variation at all).
    """

    alpha: float | None
    level: str | None  # "ordinal" | "nominal" | None
    ordinal: agreement_rules.AlphaResult | None
    nominal: agreement_rules.AlphaResult | None
    percent: float | None
    n_reviewers: int
    n_cases: int
    flagged: tuple[str, ...] = ()


def agreement_for(framework: Framework, ratings: Mapping[Any, CaseRatings]) -> Agreement:
    """Agreement of reviewers over one or more cases of one framework version (pure).

    Input: {case: {reviewer: {item key: answer}}}. Units are (case, criterion) pairs. Flags are
    listed only for a single case. Special answers are missing data, never zeros.
    """
    ordinal: dict[Any, dict[Any, dict[str, Any]]] = {}
    nominal: dict[Any, dict[Any, dict[str, Any]]] = {}
    reviewers: set[Any] = set()
    for case, by_reviewer in ratings.items():
        for reviewer, answers in by_reviewer.items():
            reviewers.add(reviewer)
            for item in framework.items:
                answer = answers.get(item.key)
                number = ordinal_value(item, answer)
                if number is not None:
                    ordinal.setdefault(case, {}).setdefault(reviewer, {})[item.key] = number
                label = nominal_value(item, answer)
                if label is not None:
                    nominal.setdefault(case, {}).setdefault(reviewer, {})[item.key] = label
    ordinal_result = agreement_rules.alpha_overall(ordinal, "ordinal") if ordinal else None
    nominal_result = agreement_rules.alpha_overall(nominal, "nominal") if nominal else None
    if ordinal_result is not None:
        alpha, level = ordinal_result.alpha, "ordinal"
    elif nominal_result is not None:
        alpha, level = nominal_result.alpha, "nominal"
    else:
        alpha, level = None, None
    everything: list[list[Any]] = []
    reviewer_list = sorted(reviewers, key=str)
    units = [(case, item.key) for case in ratings for item in framework.items]
    for reviewer in reviewer_list:
        row = []
        for case, key in units:
            answer = ratings[case].get(reviewer, {}).get(key)
            row.append(None if answer is None else json.dumps(_json_answer(answer)))
        everything.append(row)
    percent = agreement_rules.percent_agreement(everything) if everything else None
    flagged: tuple[str, ...] = ()
    if len(ratings) == 1:
        (by_reviewer,) = ratings.values()
        flagged = tuple(
            item.key
            for item in framework.items
            if item_flagged(item, (answers.get(item.key) for answers in by_reviewer.values()))
        )
    return Agreement(
        alpha=alpha,
        level=level,
        ordinal=ordinal_result,
        nominal=nominal_result,
        percent=percent,
        n_reviewers=len(reviewers),
        n_cases=len(ratings),
        flagged=flagged,
    )


def _submitted_reviews(
    session: Session, framework_id: int, case_ids: Sequence[int] | None = None
) -> dict[int, dict[int, tuple[ReviewAssignment, Review]]]:
    """{case id: {reviewer id: (assignment, newest submitted revision)}} of active assignments."""
    statement = select(ReviewAssignment).where(
        ReviewAssignment.framework_id == framework_id,
        ReviewAssignment.status.in_(ACTIVE_ASSIGNMENT),
    )
    if case_ids is not None:
        statement = statement.where(ReviewAssignment.case_id.in_(list(case_ids)))
    result: dict[int, dict[int, tuple[ReviewAssignment, Review]]] = {}
    for assignment in session.exec(statement.order_by(ReviewAssignment.id)).all():
        review = _latest_submitted(session, assignment.id)
        if review is not None:
            result.setdefault(assignment.case_id, {})[assignment.reviewer_id] = (
                assignment,
                review,
            )
    return result


def _ratings(
    session: Session, framework: Framework, reviews: Mapping[int, Mapping[int, tuple]]
) -> dict[int, dict[int, dict[str, scoring.Answer]]]:
    """{case: {reviewer: {criterion: answer}}} of the given submitted revisions."""
    return {
        case_id: {
            reviewer_id: {
                key: answer.answer
                for key, answer in _answers_of(session, framework, review.id).items()
            }
            for reviewer_id, (_assignment, review) in by_reviewer.items()
        }
        for case_id, by_reviewer in reviews.items()
    }


def case_agreement(session: Session, *, actor: User, case_id: int, framework_id: int) -> Agreement:
    """Agreement of the submitted reviews of one case under one framework version, with the
    flagged criteria. Editors, and reviewers of the case once they have submitted.

    Raises PermissionDenied (the public, other accounts, reviewers who have not submitted).
    """
    require_active(actor)
    if not has_role(actor, Role.EDITOR):
        own = [
            a
            for a in _assignments(session, case_id, framework_id)
            if a.reviewer_id == actor.id and a.status in ACTIVE_ASSIGNMENT
        ]
        if not own or _latest_submitted(session, own[0].id) is None:
            raise PermissionDenied("agreement is shown after submitting")
    framework = framework_of(_framework_row(session, framework_id))
    reviews = _submitted_reviews(session, framework_id, [case_id])
    return agreement_for(framework, _ratings(session, framework, reviews) or {case_id: {}})


def framework_agreement(
    session: Session, *, framework_id: int, actor: User | None = None
) -> Agreement:
    """Agreement over every case of a framework version.

    Editors: all submitted reviews. Anyone else: only the cases whose assessment under this
    version is published (nothing unpublished leaks).
    """
    framework = framework_of(_framework_row(session, framework_id))
    case_ids = None
    if not has_role(actor, Role.EDITOR):
        case_ids = list(
            session.exec(
                select(Assessment.case_id).where(
                    Assessment.framework_id == framework_id, Assessment.status == "published"
                )
            ).all()
        )
    reviews = _submitted_reviews(session, framework_id, case_ids)
    return agreement_for(framework, _ratings(session, framework, reviews))


# --------------------------------------------------------------------------------------------
# Consolidation (pure helpers)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsolidatedItem:
    """The proposed consolidated answer of one criterion, with what it was made from."""

    key: str
    value: scoring.Answer  # None when nobody answered
    n_answers: int
    n_not_applicable: int
    n_insufficient: int
    flagged: bool


def _special_or_none(value: Any) -> Any:
    """A SpecialAnswer as its text; anything else unchanged."""
    return value.value if isinstance(value, SpecialAnswer) else value


def consolidate_item(framework: Framework, item: Any, answers: Sequence[scoring.Answer]) -> Any:
    """The consolidated answer of one criterion from the reviewers' answers (pure).

    Rubric: the median (framework's rule for even counts, by default the lower middle level).
    Check: the median of yes=1/no=0 with the lower middle (a tie reads "no": not shown to be
    disclosed). Single choice: the median of the options' points, the upper middle for impact
    questions and the lower one for mitigation (the cautious side), as an option some reviewer
    chose. Multiple choice: the options at least half of the answering reviewers chose (impact)
    or more than half (mitigation). Gate: unanimous answers stand, any disagreement is
    "unclear". With no real answer, the special answer most reviewers gave (None if nobody
    answered). Special answers never count as zero.
    """
    given = [a for a in answers if a is not None]
    real = [a for a in given if scoring.special_answer(a) is None]
    specials = [a for a in given if scoring.special_answer(a) is not None]
    if isinstance(item, GateItem):
        return _special_or_none(scoring.consolidate_gate(given))
    if not real:
        return _special_or_none(scoring.consolidate_median(specials).value)
    if isinstance(item, RubricItem):
        even = getattr(getattr(framework.scoring, "consolidation", None), "even_count", "lower")
        value = scoring.consolidate_median(real, even_count=even).value
        return _number(value)
    if isinstance(item, CheckItem):
        value = scoring.consolidate_median([1 if a == "yes" else 0 for a in real]).value
        return "yes" if value == 1 else "no"
    if isinstance(item, ChoiceItem) and item.select == "single":
        points = {option.key: option.points for option in item.options}
        even = "upper" if item.role == "impact" else "lower"
        target = scoring.consolidate_median([points[a] for a in real], even_count=even).value
        return next(
            option.key for option in item.options if option.key in real and option.points == target
        )
    # Multiple choice.
    counts = {option.key: sum(1 for a in real if option.key in a) for option in item.options}
    needed = len(real) / 2
    chosen = [
        key for key, n in counts.items() if (n >= needed if item.role == "impact" else n > needed)
    ]
    return chosen


def consolidate_answers(
    framework: Framework, by_reviewer: CaseRatings
) -> dict[str, ConsolidatedItem]:
    """The proposed consolidated answer of every criterion of one case (pure; see
    `consolidate_item`), with counts and the disagreement flag."""
    result = {}
    for item in framework.items:
        answers = [answers.get(item.key) for answers in by_reviewer.values()]
        given = [a for a in answers if a is not None]
        result[item.key] = ConsolidatedItem(
            key=item.key,
            value=consolidate_item(framework, item, answers),
            n_answers=len(given),
            n_not_applicable=sum(
                1 for a in given if scoring.special_answer(a) is SpecialAnswer.NOT_APPLICABLE
            ),
            n_insufficient=sum(
                1
                for a in given
                if scoring.special_answer(a) is SpecialAnswer.INSUFFICIENT_INFORMATION
            ),
            flagged=item_flagged(item, answers),
        )
    return result


def score_summary(
    framework: Framework, values: Mapping[str, scoring.Answer], *, as_of: date | None = None
) -> dict[str, Any]:
    """Score consolidated answers by the framework's method (pure; JSON-ready).

    Keys: common_tier, tier_provisional, level_key (tree outcome or impact level, else None),
    overall_kind and overall (rubric mean 0-4 when enough criteria were scored, disclosure
    share 0-1, or impact level 1-4; None when insufficient), and the method's details.
    Raises scoring.InvalidAnswerError.
    """
    answers = {key: value for key, value in values.items() if value is not None}
    result = scoring.score_framework(framework, answers, as_of=as_of)
    summary: dict[str, Any] = {
        "common_tier": result.common_tier.tier,
        "tier_provisional": result.common_tier.provisional,
        "level_key": None,
        "overall_kind": None,
        "overall": None,
    }
    if result.rubric is not None:
        summary["rubric"] = {
            "mean": result.rubric.mean,
            "n_used": result.rubric.n_used,
            "n_not_applicable": result.rubric.n_not_applicable,
            "n_insufficient": result.rubric.n_insufficient,
            "sufficient": result.rubric.sufficient,
        }
        summary["overall_kind"] = "rubric_mean"
        summary["overall"] = result.rubric.mean if result.rubric.sufficient else None
    if result.disclosure is not None:
        summary["disclosure"] = {
            "share": result.disclosure.share,
            "n_disclosed": result.disclosure.n_disclosed,
            "n_not_disclosed": result.disclosure.n_not_disclosed,
            "n_not_applicable": result.disclosure.n_not_applicable,
            "n_insufficient": result.disclosure.n_insufficient,
            "sufficient": result.disclosure.sufficient,
        }
        summary["overall_kind"] = "disclosure_share"
        summary["overall"] = result.disclosure.share if result.disclosure.sufficient else None
    if result.impact is not None:
        impact = result.impact
        summary["impact"] = {
            "level": impact.level_key,
            "cautious_level": impact.cautious_level_key,
            "raw_impact": impact.score.raw_impact,
            "adjusted_impact": impact.score.adjusted_impact,
            "max_impact": impact.score.max_impact,
            "mitigation": impact.score.mitigation,
            "max_mitigation": impact.score.max_mitigation,
            "discount_applied": impact.score.mitigation_discount_applied,
            "complete": impact.complete,
        }
        summary["level_key"] = impact.cautious_level_key
        summary["overall_kind"] = "impact_level"
        summary["overall"] = impact.cautious_score.level
    if result.tree is not None:
        tree = result.tree
        summary["tree"] = {
            "outcome": tree.outcome,
            "cautious_outcome": tree.cautious_outcome,
            "plausible_outcomes": list(tree.plausible_outcomes),
            "needs_legal_review": tree.needs_legal_review,
            "unclear_gates": list(tree.unclear_gates),
            "insufficient_gates": list(tree.insufficient_gates),
        }
        summary["level_key"] = tree.cautious_outcome
    return summary


def draft_recommendations(
    framework: Framework,
    values: Mapping[str, scoring.Answer],
    lang: str,
    *,
    limit: int = RECOMMENDATION_COUNT,
) -> list[str]:
    """Recommendations for the weakest criteria, from the framework's own guidance (pure).

    For each of the `limit` weakest safeguard criteria (criteria.scoring.weakest_items):
    rubric -> the guidance of the next level up; check -> what the item asks to disclose;
    mitigation question -> its best option. In language `lang` (the framework's texts).
    """
    answers = {key: value for key, value in values.items() if value is not None}
    texts = []
    for weak in scoring.weakest_items(framework, answers, limit=limit):
        item = framework.item(weak.key)
        label = item.label.get(lang)
        if isinstance(item, RubricItem):
            current = float(weak.answer)
            target = min(4, math.floor(current) + 1)
            guidance = item.levels[target].guidance.get(lang)
            texts.append(f"{label} ({_number(current)} → {target}): {guidance}")
        elif isinstance(item, CheckItem):
            detail = item.description.get(lang) if item.description else label
            texts.append(f"{label}: {detail}")
        elif isinstance(item, ChoiceItem):
            best = max(item.options, key=lambda option: option.points)
            texts.append(f"{label}: {best.label.get(lang)}")
    return texts


# --------------------------------------------------------------------------------------------
# Consolidation and publication
# --------------------------------------------------------------------------------------------


def _require_consolidator(
    session: Session, actor: User, case_id: int, framework_id: int
) -> list[ReviewAssignment]:
    """Check the actor may consolidate (an editor, not a reviewer of the case)."""
    require_role(actor, Role.EDITOR)
    assignments = _assignments(session, case_id, framework_id)
    if any(a.reviewer_id == actor.id and a.status in ACTIVE_ASSIGNMENT for a in assignments):
        raise ReviewError("reviewer-cannot-consolidate")
    return assignments


def _items_result(
    framework: Framework,
    values: Mapping[str, scoring.Answer],
    proposals: Mapping[str, ConsolidatedItem],
) -> dict[str, dict]:
    """Per criterion: the chosen value, the proposal, whether it was edited, the flag and counts."""
    items = {}
    for item in framework.items:
        proposal = proposals.get(item.key)
        value = values.get(item.key)
        median = proposal.value if proposal else None
        items[item.key] = {
            "value": _json_answer(value),
            "median": _json_answer(median),
            "edited": _json_answer(value) != _json_answer(median),
            "flagged": bool(proposal and proposal.flagged),
            "n_answers": proposal.n_answers if proposal else 0,
            "n_not_applicable": proposal.n_not_applicable if proposal else 0,
            "n_insufficient": proposal.n_insufficient if proposal else 0,
        }
    return items


def _apply_scores(
    assessment: Assessment, framework: Framework, values: Mapping[str, Any], as_of: date
) -> dict:
    """Score the values by the framework's rules onto the assessment; returns the summary."""
    summary = score_summary(framework, values, as_of=as_of)
    assessment.common_tier = summary["common_tier"]
    assessment.tier_provisional = summary["tier_provisional"]
    assessment.overall_score = summary["overall"]
    return summary


def consolidate(
    session: Session,
    *,
    actor: User,
    case_id: int,
    framework_id: int,
    lang: str,
    today: date | None = None,
) -> Assessment:
    """Draft (or redraft) the assessment of a case under a framework version from the submitted
    reviews; commits.

    Per criterion the proposed value (`consolidate_item`: the median for ordinal scores) and
    the disagreement flag; the tier or impact level by the framework's rules; agreement alpha;
    the number of reviewers; recommendations drafted from the guidance of the weakest criteria
    in language `lang`. The raw reviews are kept untouched; the revisions used are recorded.
    Editors only, and not one of the case's reviewers. Raises PermissionDenied, NotFound,
    ReviewError (`case-not-public`, `reviewer-cannot-consolidate`, `too-few-reviews`,
    `already-published`, `assessment-changed`).
    """
    _require_consolidator(session, actor, case_id, framework_id)
    case = _public_case(session, case_id)
    version = _framework_row(session, framework_id)
    framework = framework_of(version)
    reviews = _submitted_reviews(session, framework_id, [case.id]).get(case.id, {})
    if len(reviews) < MIN_REVIEWERS:
        raise ReviewError("too-few-reviews", minimum=MIN_REVIEWERS)
    assessment = _assessment(session, case.id, framework_id)
    if assessment is not None and assessment.status == "published":
        raise ReviewError("already-published")
    if assessment is None:
        assessment = Assessment(case_id=case.id, framework_id=framework_id)
    else:  # a publication at the same moment must not be turned back into a draft
        _lock_draft_assessment(session, assessment)
    ratings = _ratings(session, framework, {case.id: reviews})[case.id]
    proposals = consolidate_answers(framework, ratings)
    values = {key: proposal.value for key, proposal in proposals.items()}
    agreement = agreement_for(framework, {case.id: ratings})
    as_of = today or date.today()
    summary = _apply_scores(assessment, framework, values, as_of)
    assessment.result = {
        "items": _items_result(framework, values, proposals),
        "flags": list(agreement.flagged),
        "scores": summary,
        "reviews": sorted(
            [assignment.id, review.revision] for assignment, review in reviews.values()
        ),
        "agreement_level": agreement.level,
        "percent_agreement": agreement.percent,
        "as_of": as_of.isoformat(),
    }
    assessment.n_reviewers = len(reviews)
    assessment.alpha = agreement.alpha
    assessment.recommendations = draft_recommendations(framework, values, lang)
    assessment.status = "draft"
    session.add(assessment)
    try:
        session.commit()
    except sa.exc.IntegrityError as error:
        # Another editor drafted it at the same moment.
        session.rollback()
        raise ReviewError("assessment-changed") from error
    return assessment


def _lock_draft_assessment(session: Session, assessment: Assessment) -> None:
    """Lock the draft row; ReviewError(already-published) if it was published meanwhile."""
    locked = session.execute(
        sa.update(Assessment)
        .where(Assessment.id == assessment.id, Assessment.status == "draft")
        .values(status="draft")
        .execution_options(synchronize_session=False)
    )
    if locked.rowcount != 1:
        session.rollback()
        raise ReviewError("already-published")


def _draft_assessment(session: Session, case_id: int, framework_id: int) -> Assessment:
    """The draft assessment; ReviewError if there is none or it is published."""
    assessment = _assessment(session, case_id, framework_id)
    if assessment is None:
        raise ReviewError("not-consolidated")
    if assessment.status == "published":
        raise ReviewError("already-published")
    return assessment


def update_consolidation(
    session: Session,
    *,
    actor: User,
    case_id: int,
    framework_id: int,
    values: Mapping[str, scoring.Answer],
    recommendations: Sequence[str],
    method_note: str = "",
) -> Assessment:
    """Record the editor's consolidated values, recommendations and method note on the draft
    assessment; the tier, level and overall score are recomputed by the framework's rules;
    commits.

    `values` may cover some criteria only (the others keep their value); each must fit its
    criterion. Recommendations: blank lines dropped, at most 20 of at most 2000 characters.
    Raises PermissionDenied, ReviewError (`not-consolidated`, `already-published`,
    `reviewer-cannot-consolidate`), FieldErrors (per item key: invalid-value; `recommendations`
    or `method_note`: too-long / too-many).
    """
    _require_consolidator(session, actor, case_id, framework_id)
    assessment = _draft_assessment(session, case_id, framework_id)
    framework = framework_of(_framework_row(session, framework_id))
    errors: dict[str, list[str]] = {}
    current = {key: entry.get("value") for key, entry in assessment.result["items"].items()}
    for key, value in values.items():
        try:
            item = framework.item(key)
            scoring.validate_answer(item, value)
        except KeyError:
            errors[key] = ["unknown-item"]
        except scoring.InvalidAnswerError:
            errors[key] = ["invalid-value"]
        else:
            current[key] = value
    cleaned = [_clean(text) for text in recommendations if _clean(text)]
    if any(len(text) > 2000 for text in cleaned):
        errors["recommendations"] = ["too-long"]
    if len(cleaned) > 20:
        errors.setdefault("recommendations", []).append("too-many")
    method_note = _clean(method_note)
    if len(method_note) > 2000:
        errors["method_note"] = ["too-long"]
    if errors:
        raise FieldErrors(errors)
    _lock_draft_assessment(session, assessment)
    as_of = date.fromisoformat(assessment.result.get("as_of") or date.today().isoformat())
    summary = _apply_scores(assessment, framework, current, as_of)
    items = {}
    for key, entry in assessment.result["items"].items():
        value = _json_answer(current.get(key))
        items[key] = dict(entry, value=value, edited=value != entry.get("median"))
    assessment.result = dict(assessment.result, items=items, scores=summary)
    assessment.recommendations = cleaned
    assessment.method_note = method_note
    session.add(assessment)
    session.commit()
    return assessment


def _pending_reviews(session: Session, assignments: Sequence[ReviewAssignment]) -> list[int]:
    """Active assignments whose newest revision is not submitted (not started, draft, amendment)."""
    pending = []
    for assignment in assignments:
        if assignment.status not in ACTIVE_ASSIGNMENT:
            continue
        latest = _latest_review(session, assignment.id)
        if latest is None or latest.status != "submitted":
            pending.append(assignment.id)
    return pending


def _current_revisions(session: Session, case_id: int, framework_id: int) -> list[list[int]]:
    """Sorted [assignment id, revision] of the newest submitted revisions of a case."""
    reviews = _submitted_reviews(session, framework_id, [case_id]).get(case_id, {})
    return sorted([assignment.id, review.revision] for assignment, review in reviews.values())


def publish_assessment(
    session: Session, *, actor: User, case_id: int, framework_id: int
) -> Assessment:
    """Publish the draft assessment of a case under a framework version; commits once.

    Checks: editors only and not one of the case's reviewers; the case is public; every active
    reviewer has submitted (no review or amendment in progress); the draft was made from the
    reviews as they are now (else redraft). Writes one AssessmentScore row per criterion (what
    dashboards aggregate), bumps the data version and notifies the reviewers and the case's
    submitter. Two editors publishing at once: the second gets `already-published`.
    Raises PermissionDenied, NotFound, ReviewError (`not-consolidated`, `already-published`,
    `case-not-public`, `reviews-pending`, `consolidation-stale`, `reviewer-cannot-consolidate`).
    """
    assignments = _require_consolidator(session, actor, case_id, framework_id)
    case = _public_case(session, case_id)
    version = _framework_row(session, framework_id)
    framework = framework_of(version)
    assessment = _draft_assessment(session, case.id, framework_id)
    if _pending_reviews(session, assignments):
        raise ReviewError("reviews-pending")
    if assessment.result.get("reviews") != _current_revisions(session, case.id, framework_id):
        raise ReviewError("consolidation-stale")
    _lock_draft_assessment(session, assessment)
    session.refresh(assessment)  # publish what a redraft at the same moment wrote
    now = utcnow()
    session.execute(
        sa.delete(AssessmentScore).where(AssessmentScore.assessment_id == assessment.id)
    )
    for item in framework.items:
        entry = assessment.result["items"].get(item.key, {})
        session.add(_score_row(assessment, item, entry.get("value"), bool(entry.get("flagged"))))
    assessment.status = "published"
    assessment.published_at = now
    assessment.published_by_id = actor.id
    session.add(assessment)
    audit(
        session,
        actor=actor,
        action="assessment.published",
        target=case.ref,
        framework=_framework_label(version),
        assessment_id=assessment.id,
    )
    bump_data_version(session)
    recipients = [a.reviewer_id for a in assignments if a.status in ACTIVE_ASSIGNMENT]
    recipients.append(case.submitter_id)
    notify(
        session,
        [uid for uid in recipients if uid != actor.id],
        "assessment.published",
        link=f"/cases/{case.ref}",
        ref=case.ref,
        framework=_framework_label(version),
    )
    session.commit()
    return assessment


def _score_row(assessment: Assessment, item: Any, value: Any, flagged: bool) -> AssessmentScore:
    """A consolidated value as dashboards read it: numbers in value_number (rubric level,
    choice points, check yes=1/no=0), option keys and gate answers in value_text, special
    answers in `special` (never a number)."""
    row = AssessmentScore(
        assessment_id=assessment.id,
        item_key=item.key,
        case_id=assessment.case_id,
        framework_id=assessment.framework_id,
        flagged=flagged,
    )
    if value is None:
        return row
    if isinstance(value, str) and value in SPECIAL_VALUES:
        row.special = value
        return row
    if isinstance(item, RubricItem):
        row.value_number = float(value)
    elif isinstance(item, ChoiceItem):
        row.value_text = ",".join(value) if isinstance(value, list) else value
        row.value_number = float(scoring.choice_points(item, value))
    elif isinstance(item, CheckItem):
        row.value_text = value
        row.value_number = 1.0 if value == "yes" else 0.0
    else:
        row.value_text = value
    return row


# --------------------------------------------------------------------------------------------
# Editor read models
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentRow:
    """An assignment as the editor's pages list it."""

    assignment: ReviewAssignment
    reviewer_name: str
    framework_key: str
    framework_version: str
    review_status: str  # not_started | draft | submitted | amendment_draft | withdrawn
    revision: int | None


def case_assignments(session: Session, *, actor: User, case_id: int) -> list[AssignmentRow]:
    """Every assignment of a case (all framework versions), for editors.

    Drafts are reported only as "draft": their answers stay private. Raises PermissionDenied.
    """
    require_role(actor, Role.EDITOR)
    assignments = session.exec(
        select(ReviewAssignment)
        .where(ReviewAssignment.case_id == case_id)
        .order_by(ReviewAssignment.framework_id, ReviewAssignment.id)
    ).all()
    rows = []
    for assignment in assignments:
        reviewer = session.get(User, assignment.reviewer_id)
        version = session.get(FrameworkVersion, assignment.framework_id)
        latest = _latest_review(session, assignment.id)
        if assignment.status == "withdrawn":
            status = "withdrawn"
        elif latest is None:
            status = "not_started"
        elif latest.status == "submitted":
            status = "submitted"
        else:
            status = "amendment_draft" if latest.revision > 1 else "draft"
        rows.append(
            AssignmentRow(
                assignment=assignment,
                reviewer_name=(reviewer.name or reviewer.email) if reviewer else "",
                framework_key=version.key,
                framework_version=version.version,
                review_status=status,
                revision=latest.revision if latest else None,
            )
        )
    return rows


@dataclass(frozen=True)
class OverviewRow:
    """One case under one framework version in review, for the editors' list."""

    case_ref: str
    case_name: str
    framework_key: str
    framework_version: str
    framework_title: dict
    n_assigned: int
    n_submitted: int
    assessment_status: str  # none | draft | published
    next_due: date | None


def assessment_overview(session: Session, *, actor: User) -> list[OverviewRow]:
    """Every case and framework version with active assignments or an assessment (editors)."""
    require_role(actor, Role.EDITOR)
    pairs: dict[tuple[int, int], list[ReviewAssignment]] = {}
    for assignment in session.exec(
        select(ReviewAssignment).where(ReviewAssignment.status.in_(ACTIVE_ASSIGNMENT))
    ).all():
        pairs.setdefault((assignment.case_id, assignment.framework_id), []).append(assignment)
    for assessment in session.exec(select(Assessment)).all():
        pairs.setdefault((assessment.case_id, assessment.framework_id), [])
    rows = []
    for (case_id, framework_id), assignments in pairs.items():
        case = session.get(Case, case_id)
        version = session.get(FrameworkVersion, framework_id)
        assessment = _assessment(session, case_id, framework_id)
        submitted = sum(1 for a in assignments if a.status == "submitted")
        open_due = [a.due_date for a in assignments if a.status == "assigned" and a.due_date]
        rows.append(
            OverviewRow(
                case_ref=case.ref,
                case_name=case.name,
                framework_key=version.key,
                framework_version=version.version,
                framework_title=dict(version.title),
                n_assigned=len(assignments),
                n_submitted=submitted,
                assessment_status=assessment.status if assessment else "none",
                next_due=min(open_due) if open_due else None,
            )
        )
    order = {"none": 0, "draft": 1, "published": 2}
    rows.sort(key=lambda row: (order[row.assessment_status], row.case_ref, row.framework_key))
    return rows


@dataclass
class ConsolidationView:
    """What the editor's consolidation page shows."""

    case: Case
    framework_version: FrameworkVersion
    framework: Framework
    reviews: list[VisibleReview]  # submitted only
    n_pending: int  # active reviewers without a submitted revision, or with an amendment open
    proposals: dict[str, ConsolidatedItem]
    agreement: Agreement
    framework_agreement: Agreement
    assessment: Assessment | None
    stale: bool  # the draft was made from other revisions than the current ones

    @property
    def can_consolidate(self) -> bool:
        """Enough submitted reviews and nothing published yet."""
        published = self.assessment is not None and self.assessment.status == "published"
        return len(self.reviews) >= MIN_REVIEWERS and not published

    @property
    def can_publish(self) -> bool:
        """A current draft and no review in progress."""
        return (
            self.assessment is not None
            and self.assessment.status == "draft"
            and self.n_pending == 0
            and not self.stale
        )


def consolidation_view(
    session: Session, *, actor: User, case_id: int, framework_id: int
) -> ConsolidationView:
    """The consolidation page of a case under a framework version (editors, not its reviewers):
    submitted reviews side by side, proposed values, flags, alpha, the draft or published
    assessment. Drafts of reviews are never shown. Raises PermissionDenied, NotFound,
    ReviewError (`reviewer-cannot-consolidate`).
    """
    assignments = _require_consolidator(session, actor, case_id, framework_id)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id}")
    version = _framework_row(session, framework_id)
    framework = framework_of(version)
    reviews = [
        review
        for review in reviews_visible_to(
            session, actor=actor, case_id=case_id, framework_id=framework_id
        )
        if review.status == "submitted"
    ]
    ratings = {
        review.reviewer_id: {key: answer.answer for key, answer in review.answers.items()}
        for review in reviews
    }
    assessment = _assessment(session, case_id, framework_id)
    stale = (
        assessment is not None
        and assessment.status == "draft"
        and assessment.result.get("reviews") != _current_revisions(session, case_id, framework_id)
    )
    return ConsolidationView(
        case=case,
        framework_version=version,
        framework=framework,
        reviews=reviews,
        n_pending=len(_pending_reviews(session, assignments)),
        proposals=consolidate_answers(framework, ratings),
        agreement=agreement_for(framework, {case_id: ratings}),
        framework_agreement=framework_agreement(session, framework_id=framework_id, actor=actor),
        assessment=assessment,
        stale=stale,
    )


# --------------------------------------------------------------------------------------------
# Published assessments (public read model)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedCriterion:
    """A consolidated criterion of a published assessment.

    `value` is the consolidated answer (level, option key(s), yes/no/unclear) or None;
    `special` is not_applicable / insufficient_information; `value_label` the level's or
    option's label per language when the framework has one.
    """

    key: str
    kind: str
    group: str | None
    label: dict[str, str]
    value: Any
    special: str | None
    value_label: dict[str, str] | None
    flagged: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key": self.key,
            "kind": self.kind,
            "group": self.group,
            "label": self.label,
            "value": self.value,
            "special": self.special,
            "value_label": self.value_label,
            "flagged": self.flagged,
        }


@dataclass(frozen=True)
class PublishedAssessment:
    """A published assessment of a case, as the public case page and the API show it."""

    id: int
    case_id: int
    framework_key: str
    framework_version: str
    framework_title: dict[str, str]
    method: str
    criteria: list[PublishedCriterion]
    common_tier: str
    tier_provisional: bool
    level_key: str | None
    level_label: dict[str, str] | None
    overall_kind: str | None
    overall_score: float | None
    n_reviewers: int
    alpha: float | None
    recommendations: list[str]
    method_note: str
    published_at: datetime | None
    is_example: bool
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the API and exports)."""
        return {
            "framework": {
                "key": self.framework_key,
                "version": self.framework_version,
                "title": self.framework_title,
                "method": self.method,
            },
            "criteria": [criterion.as_dict() for criterion in self.criteria],
            "common_tier": self.common_tier,
            "tier_provisional": self.tier_provisional,
            "level": {"key": self.level_key, "label": self.level_label} if self.level_key else None,
            "overall": {"kind": self.overall_kind, "value": self.overall_score},
            "n_reviewers": self.n_reviewers,
            "alpha": self.alpha,
            "flags": self.flags,
            "recommendations": self.recommendations,
            "method_note": self.method_note,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "is_example": self.is_example,
        }


def _texts(localized: Any) -> dict[str, str]:
    """A LocalizedText as a {language: text} dict (empty for None)."""
    return localized.model_dump(exclude_none=True) if localized is not None else {}


def value_label(framework: Framework, item: Any, value: Any) -> dict[str, str] | None:
    """Labels (per language) of a consolidated value: the rubric level's label (whole levels),
    the option label(s); None for gates, checks, special answers and blanks."""
    if value is None or (isinstance(value, str) and value in SPECIAL_VALUES):
        return None
    if isinstance(item, RubricItem) and framework.rubric_levels:
        if float(value).is_integer():
            return _texts(framework.rubric_levels.get(int(value)))
        return None
    if isinstance(item, ChoiceItem):
        chosen = value if isinstance(value, list) else [value]
        options = [option for option in item.options if option.key in chosen]
        languages = options[0].label.model_dump(exclude_none=True) if options else {}
        return {lang: ", ".join(option.label.get(lang) for option in options) for lang in languages}
    return None


def level_label(framework: Framework, key: str | None) -> dict[str, str] | None:
    """Labels of a tree outcome or impact level key, per language."""
    if key is None:
        return None
    for outcome in getattr(framework.scoring, "outcomes", ()):
        if outcome.key == key:
            return _texts(outcome.label)
    for level in getattr(framework.scoring, "levels", ()):
        if level.key == key:
            return _texts(level.label)
    return None


# One Core statement, built once (it runs on every case page, and the ORM's bookkeeping costs
# more than the query): the published assessments of a case with their framework version's
# columns, if the case is public.
_ASSESSMENTS, _VERSIONS, _CASES = Assessment.__table__, FrameworkVersion.__table__, Case.__table__
_PUBLISHED_ASSESSMENTS = (
    sa.select(
        _ASSESSMENTS,
        _VERSIONS.c.key.label("framework_key"),
        _VERSIONS.c.version.label("framework_version"),
        _VERSIONS.c.title.label("framework_title"),
        _VERSIONS.c.method.label("framework_method"),
        _VERSIONS.c.content_hash.label("framework_hash"),
    )
    .join(_VERSIONS, _VERSIONS.c.id == _ASSESSMENTS.c.framework_id)
    .join(_CASES, _CASES.c.id == _ASSESSMENTS.c.case_id)
    .where(
        _ASSESSMENTS.c.case_id == sa.bindparam("case_id"),
        _ASSESSMENTS.c.status == "published",
        _CASES.c.state.in_(PUBLIC_STATES),
    )
    .order_by(sa.desc(_ASSESSMENTS.c.published_at), sa.desc(_ASSESSMENTS.c.id))
)


def published_assessments(session: Session, case_id: int) -> list[PublishedAssessment]:
    """The published assessments of a public case, newest first (anyone may read them).

    Only assessments with status published of a case in a public state: drafts, reviews and
    non-public cases never appear. Reads only.
    """
    results = []
    for row in session.connection().execute(_PUBLISHED_ASSESSMENTS, {"case_id": case_id}):
        framework = framework_by_hash(session, row.framework_hash, row.framework_id)
        items = row.result.get("items", {})
        criteria = []
        for item in framework.items:
            entry = items.get(item.key, {})
            value = entry.get("value")
            special = value if isinstance(value, str) and value in SPECIAL_VALUES else None
            criteria.append(
                PublishedCriterion(
                    key=item.key,
                    kind=item.kind,
                    group=item.group,
                    label=_texts(item.label),
                    value=None if special else value,
                    special=special,
                    value_label=value_label(framework, item, value),
                    flagged=bool(entry.get("flagged")),
                )
            )
        scores = row.result.get("scores", {})
        results.append(
            PublishedAssessment(
                id=row.id,
                case_id=row.case_id,
                framework_key=row.framework_key,
                framework_version=row.framework_version,
                framework_title=dict(row.framework_title),
                method=row.framework_method,
                criteria=criteria,
                common_tier=row.common_tier,
                tier_provisional=row.tier_provisional,
                level_key=scores.get("level_key"),
                level_label=level_label(framework, scores.get("level_key")),
                overall_kind=scores.get("overall_kind"),
                overall_score=row.overall_score,
                n_reviewers=row.n_reviewers,
                alpha=row.alpha,
                recommendations=list(row.recommendations),
                method_note=row.method_note,
                published_at=row.published_at,
                is_example=row.is_example,
                flags=list(row.result.get("flags", [])),
            )
        )
    return results
