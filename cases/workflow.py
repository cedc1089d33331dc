"""The case workflow: one explicit transition table, drafts, edits as versions, moderation."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, select

from cases import vocabularies as vocab
from cases.models import Case, CaseEvent, CaseTechnique, CaseVersion
from cases.notifications import editor_ids, notify
from cases.services import RECORD_FIELDS, build_search_text, next_ref, record_data
from cases.text import fold
from observatory.accounts import audit
from observatory.db import bump_data_version
from observatory.models import Role, User, utcnow
from observatory.security import NotFound, PermissionDenied, has_role, require_active
from observatory.text import clean_text

EDITORS = (Role.EDITOR,)
OWNER = "owner"  # the submitter who created the case (editors may act for them)


@dataclass(frozen=True)
class Transition:
    """A move from one state to another: who may make it and whether a reason is required."""

    action: str
    source: str
    target: str
    who: str | tuple[Role, ...]
    needs_reason: bool = False
    notify_kind: str = ""


# Every allowed move. No other code compares workflow states to decide what may happen.
TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit", "draft", "submitted", OWNER, notify_kind="case.submitted"),
    Transition("return", "submitted", "returned", EDITORS, True, "case.returned"),
    Transition("return", "resubmitted", "returned", EDITORS, True, "case.returned"),
    Transition("resubmit", "returned", "resubmitted", OWNER, notify_kind="case.resubmitted"),
    Transition("publish", "submitted", "published", EDITORS, notify_kind="case.published"),
    Transition("publish", "resubmitted", "published", EDITORS, notify_kind="case.published"),
    Transition("reject", "submitted", "rejected", EDITORS, True, "case.rejected"),
    Transition("reject", "resubmitted", "rejected", EDITORS, True, "case.rejected"),
    Transition(
        "propose_update", "published", "update_proposed", OWNER, notify_kind="case.update_proposed"
    ),
    Transition("publish", "update_proposed", "published", EDITORS, notify_kind="case.published"),
    Transition("return", "update_proposed", "published", EDITORS, True, "case.update_returned"),
    Transition("withdraw", "published", "withdrawn", EDITORS, True, "case.withdrawn"),
    Transition("withdraw", "update_proposed", "withdrawn", EDITORS, True, "case.withdrawn"),
)
EDITABLE_BY_OWNER = {"draft", "returned", "published", "update_proposed"}
EDITABLE_BY_EDITOR = EDITABLE_BY_OWNER | {"submitted", "resubmitted"}


class WorkflowError(Exception):
    """A workflow request that cannot be honoured; `code` names why (translated by views)."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


class CaseValidationError(WorkflowError):
    """The record has invalid fields: `errors` maps field → list of error codes."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid-record", errors=errors)
        self.errors = errors


REF_ATTEMPTS = 5


def _claim(session: Session, case: Case) -> bool:
    """Lock the case row if it is still in the state this request read.

    The guarded UPDATE waits for anyone writing the case at the same moment; it matches no row
    when they moved the case meanwhile, and then the transaction is rolled back (False).
    """
    claimed = session.execute(
        sa.update(Case)
        .where(Case.id == case.id, Case.state == case.state)
        .values(state=case.state)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 1:
        session.refresh(case)  # what a write that finished meanwhile left
        return True
    session.rollback()
    return False


class EditConflict(WorkflowError):
    """Someone saved the case after the editor opened it; both versions are attached."""

    def __init__(self, mine: dict, theirs: CaseVersion) -> None:
        super().__init__("edit-conflict")
        self.mine = mine
        self.theirs = theirs


def find_transition(state: str, action: str) -> Transition | None:
    """The transition for an action in a state, if the table has one."""
    return next((t for t in TRANSITIONS if t.source == state and t.action == action), None)


def is_owner(actor: User | None, case: Case) -> bool:
    """Whether the actor submitted this case."""
    return actor is not None and case.submitter_id is not None and actor.id == case.submitter_id


def may(actor: User | None, transition: Transition, case: Case) -> bool:
    """Whether the actor may make this transition on this case."""
    if actor is None or not actor.is_active:
        return False
    if has_role(actor, *EDITORS):
        return True  # editors may also act for a submitter
    if transition.who == OWNER:
        return is_owner(actor, case)
    return False


def allowed_actions(actor: User | None, case: Case) -> list[Transition]:
    """Transitions the actor may make on the case now (for buttons; services re-check)."""
    return [t for t in TRANSITIONS if t.source == case.state and may(actor, t, case)]


def may_edit(actor: User | None, case: Case) -> bool:
    """Whether the actor may change the record in its current state."""
    if actor is None or not actor.is_active:
        return False
    if has_role(actor, *EDITORS):
        return case.state in EDITABLE_BY_EDITOR
    return is_owner(actor, case) and case.state in EDITABLE_BY_OWNER


def may_view(actor: User | None, case: Case) -> bool:
    """Whether the actor may see the working copy of a case (owner or editor)."""
    return (
        actor is not None
        and actor.is_active
        and (has_role(actor, *EDITORS) or is_owner(actor, case))
    )


# --- validation -----------------------------------------------------------------------------

TEXT_LIMITS = {
    "name": 300,
    "acronym": 40,
    "institution": 300,
    "subnational_region": 200,
    "purpose": 5000,
    "developer_name": 300,
    "data_used": 3000,
    "affected_groups": 2000,
    "human_oversight": 3000,
    "appeal_mechanism": 3000,
    "legal_basis": 2000,
    "known_concerns": 5000,
}
URL_FIELDS = ("documentation_url", "source_code_url", "impact_assessment_url")
VOCABULARY_FIELDS = {
    "level": "level",
    "branch": "branch",
    "sector": "sector",
    "decision_role": "decision_role",
    "lifecycle_status": "lifecycle_status",
    "developer_type": "developer_type",
    "personal_data": "data_flag",
    "sensitive_data": "data_flag",
    "record_language": "record_language",
    "confidence": "confidence",
}
MIN_YEAR = 1950


# What almost every address looks like: `http(s)://` and a plain ASCII host, then the end or a
# path, query or fragment. Matching it settles the question without urlsplit, which was most
# of the cost of checking an import's addresses (two per row); anything else goes through it.
_PLAIN_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.\-:@%_~!$&'()*+,;=]+(?:[/?#]|\Z)", re.IGNORECASE)


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host and no spaces."""
    if " " in value:
        return False
    if _PLAIN_HTTP_URL.match(value):
        return True
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        return False
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _clean_text(value: Any) -> str:
    # Keep what people wrote, but not control characters (see observatory.text) or stray spaces.
    return clean_text(value)


def validate_record(raw: dict, *, for_submission: bool) -> dict:
    """Check and normalise a case record; raise CaseValidationError with every problem.

    Drafts need only a name, institution and country; submission needs the whole core record
    and at least one source.
    """
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}

    def fail(name: str, code: str) -> None:
        errors.setdefault(name, []).append(code)

    for name, limit in TEXT_LIMITS.items():
        data[name] = _clean_text(raw.get(name))
        if len(data[name]) > limit:
            fail(name, "too-long")
    for name in ("name", "institution"):
        if not data[name]:
            fail(name, "required")
    country = _clean_text(raw.get("country")).upper()
    data["country"] = country
    if not vocab.is_known_country(country):
        fail("country", "unknown-country")
    defaults = {
        "decision_role": "unknown",
        "lifecycle_status": "unknown",
        "developer_type": "unknown",
        "personal_data": "unknown",
        "sensitive_data": "unknown",
        "record_language": "en",
        "confidence": "medium",
    }
    for name, vocabulary in VOCABULARY_FIELDS.items():
        value = _clean_text(raw.get(name)) or defaults.get(name, "")
        data[name] = value
        if value and not vocab.is_valid(vocabulary, value):
            fail(name, "unknown-value")
        elif not value and for_submission:
            fail(name, "required")
    if for_submission and not data["purpose"]:
        fail("purpose", "required")
    data["techniques"] = sorted({_clean_text(t) for t in raw.get("techniques") or [] if t})
    for technique in data["techniques"]:
        if not vocab.is_valid("technique", technique):
            fail("techniques", "unknown-value")
    data["vulnerable_groups"] = sorted(
        {_clean_text(g) for g in raw.get("vulnerable_groups") or [] if g}
    )
    for group in data["vulnerable_groups"]:
        if not vocab.is_valid("vulnerable_group", group):
            fail("vulnerable_groups", "unknown-value")
    this_year = date.today().year
    for name in ("year_started", "year_ended"):
        value = raw.get(name)
        if value in (None, ""):
            data[name] = None
            continue
        try:
            data[name] = int(value)
        except (TypeError, ValueError):
            data[name] = None
            fail(name, "not-a-year")
            continue
        if not MIN_YEAR <= data[name] <= this_year + 5:
            fail(name, "implausible-year")
    if data["year_started"] and data["year_ended"] and data["year_ended"] < data["year_started"]:
        fail("year_ended", "before-start")
    # Conditional rules.
    # Conditional rules: a draft may be incomplete, a submission may not.
    if for_submission and data["developer_type"] == "vendor" and not data["developer_name"]:
        fail("developer_name", "vendor-name-required")
    if for_submission and data["lifecycle_status"] == "discontinued" and not data["year_ended"]:
        fail("year_ended", "end-year-required")
    for name in URL_FIELDS:
        data[name] = _clean_text(raw.get(name))
        if data[name] and not is_http_url(data[name]):
            fail(name, "bad-url")
        if len(data[name]) > 1000:
            fail(name, "too-long")
    data["sources"] = []
    for source in raw.get("sources") or []:
        url = _clean_text(source.get("url"))
        title = _clean_text(source.get("title"))
        if not url and not title:
            continue
        kind = _clean_text(source.get("type")) or "other"
        accessed = source.get("accessed") or None
        if isinstance(accessed, date):
            accessed = accessed.isoformat()
        if url and not is_http_url(url):
            fail("sources", "bad-url")
        if not vocab.is_valid("source_type", kind):
            fail("sources", "unknown-value")
        data["sources"].append(
            {"url": url, "title": title[:500], "type": kind, "accessed": accessed}
        )
    if for_submission and not any(s["url"] for s in data["sources"]):
        fail("sources", "source-required")
    last_verified = raw.get("last_verified")
    data["last_verified"] = (
        last_verified.isoformat() if isinstance(last_verified, date) else (last_verified or None)
    )
    if errors:
        raise CaseValidationError(errors)
    return data


# --- duplicates -----------------------------------------------------------------------------


def possible_duplicates(
    session: Session, *, data: dict, exclude_id: int | None = None, limit: int = 5
) -> list[Case]:
    """Cases from the same institution (and country) with a similar name."""
    institution = fold(data.get("institution", ""))
    name = fold(data.get("name", ""))
    if not institution or not name:
        return []
    statement = select(Case).where(
        Case.country == data.get("country"), Case.state.notin_(["rejected", "withdrawn"])
    )
    if exclude_id is not None:
        statement = statement.where(Case.id != exclude_id)
    matches = []
    for case in session.exec(statement).all():
        if fold(case.institution) != institution:
            continue
        ratio = difflib.SequenceMatcher(None, fold(case.name), name).ratio()
        if ratio >= 0.6:
            matches.append((ratio, case))
    matches.sort(key=lambda pair: -pair[0])
    return [case for _ratio, case in matches[:limit]]


# --- writing ---------------------------------------------------------------------------------


def _latest_version(session: Session, case_id: int) -> CaseVersion | None:
    statement = (
        select(CaseVersion)
        .where(CaseVersion.case_id == case_id)
        .order_by(sa.desc(CaseVersion.number))
        .limit(1)
    )
    return session.exec(statement).first()


def _apply(case: Case, data: dict) -> None:
    for name in RECORD_FIELDS:
        if name in ("techniques", "last_verified"):
            continue
        setattr(case, name, data[name])
    lv = data.get("last_verified")
    case.last_verified = date.fromisoformat(lv) if isinstance(lv, str) and lv else None
    case.search_text = build_search_text(case)
    case.updated_at = utcnow()


def _set_techniques(session: Session, case: Case, techniques: list[str]) -> None:
    session.execute(sa.delete(CaseTechnique).where(CaseTechnique.case_id == case.id))
    for technique in techniques:
        session.add(CaseTechnique(case_id=case.id, technique=technique))


def create_case(session: Session, *, actor: User, raw: dict, comment: str = "") -> Case:
    """Create a draft case owned by the actor (a submitter, editor or admin); commits.

    Raises CaseValidationError, PermissionDenied.
    """
    require_active(actor)
    if not has_role(actor, Role.SUBMITTER, Role.EDITOR):
        raise PermissionDenied("submitters and editors create cases")
    data = validate_record(raw, for_submission=False)
    now = utcnow()
    case = Case(
        ref="pending",
        state="draft",
        submitter_id=actor.id,
        provenance="submission",
        provenance_detail={"via": "form"},
        created_at=now,
        version_number=1,
        name=data["name"],
        institution=data["institution"],
        country=data["country"],
        level=data["level"],
        branch=data["branch"],
        sector=data["sector"],
    )
    _apply(case, data)
    for attempt in range(REF_ATTEMPTS):
        # Two cases created at once may pick the same next reference: the unique constraint
        # refuses the second, which then takes the next free one.
        case.ref = next_ref(session, data["country"])
        session.add(case)
        try:
            session.flush()
            break
        except sa.exc.IntegrityError:
            session.rollback()
            if attempt == REF_ATTEMPTS - 1:
                raise
    _set_techniques(session, case, data["techniques"])
    session.add(
        CaseVersion(
            case_id=case.id,
            number=1,
            data=data,
            author_id=actor.id,
            comment=_clean_text(comment) or "created",
        )
    )
    session.add(
        CaseEvent(
            case_id=case.id, from_state="", to_state="draft", actor_id=actor.id, version_number=1
        )
    )
    session.commit()
    return case


def get_case_for(session: Session, *, ref: str, actor: User | None) -> Case:
    """A case the actor may see in its working state (owner or editor); NotFound otherwise."""
    case = session.exec(select(Case).where(Case.ref == ref.upper())).first()
    if case is None or not may_view(actor, case):
        raise NotFound(ref)
    return case


def working_data(session: Session, case: Case) -> tuple[dict, int]:
    """The newest version of the record (a pending update if any) and its number."""
    latest = _latest_version(session, case.id)
    if latest is None:  # pragma: no cover - every case is created with a version
        techniques = [
            t.technique
            for t in session.exec(
                select(CaseTechnique).where(CaseTechnique.case_id == case.id)
            ).all()
        ]
        return record_data(case, techniques), case.version_number
    return dict(latest.data), latest.number


def update_case(
    session: Session, *, actor: User, ref: str, raw: dict, base_version: int, comment: str = ""
) -> Case:
    """Save an edit as a new version; commits.

    Drafts and returned cases change in place (a new unpublished version). A published case
    keeps its public version: the edit becomes a pending update (state update_proposed) until an
    editor publishes it. `base_version` is the version the form was opened on: if someone saved
    since, EditConflict is raised and nothing is written. Raises CaseValidationError,
    PermissionDenied, NotFound.
    """
    case = get_case_for(session, ref=ref, actor=actor)
    if not may_edit(actor, case):
        raise PermissionDenied("this case cannot be edited now")
    data = validate_record(raw, for_submission=case.state not in ("draft",))
    if not _claim(session, case):  # moved (published, returned…) while the form was open
        raise EditConflict(mine=data, theirs=_latest_version(session, case.id))
    latest = _latest_version(session, case.id)
    latest_number = latest.number if latest else case.version_number
    if base_version != latest_number:
        raise EditConflict(mine=data, theirs=latest)
    number = latest_number + 1
    try:
        session.add(
            CaseVersion(
                case_id=case.id,
                number=number,
                data=data,
                author_id=actor.id,
                comment=_clean_text(comment),
            )
        )
        if case.state in ("published", "update_proposed"):
            if case.state == "published":
                _move(
                    session,
                    case,
                    find_transition("published", "propose_update"),
                    actor,
                    reason=_clean_text(comment),
                    version_number=number,
                )
        else:
            _apply(case, data)
            _set_techniques(session, case, data["techniques"])
            case.version_number = number
            session.add(case)
        session.commit()
    except sa.exc.IntegrityError as error:
        # Two saves at the same moment: the unique (case, number) lets only one through.
        session.rollback()
        raise EditConflict(mine=data, theirs=_latest_version(session, case.id)) from error
    return case


def _move(
    session: Session,
    case: Case,
    transition: Transition | None,
    actor: User,
    *,
    reason: str,
    version_number: int | None = None,
) -> None:
    assert transition is not None
    session.add(
        CaseEvent(
            case_id=case.id,
            from_state=case.state,
            to_state=transition.target,
            actor_id=actor.id,
            reason=reason,
            version_number=version_number or case.version_number,
        )
    )
    case.state = transition.target
    case.updated_at = utcnow()
    session.add(case)
    if transition.notify_kind:
        link = f"/cases/{case.ref}/edit"
        if transition.who == OWNER:
            recipients = editor_ids(session)
        else:
            recipients = [case.submitter_id]
        notify(
            session,
            [r for r in recipients if r != actor.id],
            transition.notify_kind,
            link=link,
            ref=case.ref,
            reason=reason,
        )


def transition_case(
    session: Session, *, actor: User, ref: str, action: str, reason: str = ""
) -> Case:
    """Make a workflow move named by `action`; commits.

    Checks the table, the actor's right and the reason; submitting also checks the record is
    complete. Publishing applies the newest version and marks it public. Raises WorkflowError
    (`no-such-transition`, `reason-required`), CaseValidationError, PermissionDenied, NotFound.
    """
    case = get_case_for(session, ref=ref, actor=actor)
    transition = find_transition(case.state, action)
    if transition is None:
        raise WorkflowError("no-such-transition", state=case.state, action=action)
    if not may(actor, transition, case):
        raise PermissionDenied(f"{action} on a {case.state} case")
    reason = _clean_text(reason)
    if transition.needs_reason and not reason:
        raise WorkflowError("reason-required")
    if not _claim(session, case):  # another editor moved it at the same moment
        raise WorkflowError("case-changed")
    latest = _latest_version(session, case.id)
    if action in ("submit", "resubmit", "publish") and latest is not None:
        validate_record(latest.data, for_submission=True)
    if transition.target == "published" and latest is not None:
        _apply(case, latest.data)
        _set_techniques(session, case, latest.data.get("techniques", []))
        case.version_number = latest.number
        case.published_at = utcnow()
        if not case.last_verified:
            case.last_verified = date.today()
        latest.published = True
        session.add(latest)
    _move(session, case, transition, actor, reason=reason)
    if transition.who != OWNER:  # editorial decisions: publish, return, reject, withdraw
        audit(
            session,
            actor=actor,
            action=f"case.{action}",
            target=case.ref,
            from_state=transition.source,
            to_state=transition.target,
            reason=reason[:500],
        )
    if transition.source in ("published", "update_proposed") or transition.target in (
        "published",
        "withdrawn",
    ):
        bump_data_version(session)
    session.commit()
    return case


# --- reading ---------------------------------------------------------------------------------


@dataclass
class MyCase:
    """A submitter's case with its state and every reason an editor gave."""

    case: Case
    events: list[CaseEvent] = field(default_factory=list)


def my_cases(session: Session, *, actor: User) -> list[MyCase]:
    """The actor's own cases, newest change first, each with its workflow events."""
    require_active(actor)
    cases = list(
        session.exec(
            select(Case).where(Case.submitter_id == actor.id).order_by(sa.desc(Case.updated_at))
        ).all()
    )
    events: dict[int, list[CaseEvent]] = {case.id: [] for case in cases}
    if cases:
        for event in session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id.in_(list(events)))
            .order_by(sa.desc(CaseEvent.id))
        ).all():
            events[event.case_id].append(event)
    return [MyCase(case=case, events=events[case.id]) for case in cases]


def case_events(session: Session, case_id: int) -> list[CaseEvent]:
    """The workflow events of a case, newest first."""
    return list(
        session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(sa.desc(CaseEvent.id))
        ).all()
    )


QUEUE_STATES = ("submitted", "resubmitted", "update_proposed")
QUEUE_SORTS = {
    "oldest": Case.updated_at.asc(),
    "newest": Case.updated_at.desc(),
    "country": Case.country.asc(),
    "branch": Case.branch.asc(),
}


def moderation_queue(
    session: Session,
    *,
    actor: User,
    countries: list[str] | None = None,
    branches: list[str] | None = None,
    states: list[str] | None = None,
    sort: str = "oldest",
) -> list[Case]:
    """Cases waiting for an editor, filtered by country, branch and state (editors only)."""
    if not has_role(actor, *EDITORS):
        raise PermissionDenied("editors only")
    wanted = [s for s in (states or []) if s in QUEUE_STATES] or list(QUEUE_STATES)
    statement = select(Case).where(Case.state.in_(wanted))
    if countries:
        statement = statement.where(Case.country.in_(countries))
    if branches:
        statement = statement.where(Case.branch.in_(branches))
    order = QUEUE_SORTS.get(sort, QUEUE_SORTS["oldest"])
    return list(session.exec(statement.order_by(order, Case.id)).all())


def stale_cases(session: Session, *, actor: User, older_than_days: int) -> list[Case]:
    """Published cases not verified for longer than the limit (editors only)."""
    if not has_role(actor, *EDITORS):
        raise PermissionDenied("editors only")
    cutoff = date.fromordinal(date.today().toordinal() - older_than_days)
    statement = (
        select(Case)
        .where(
            Case.state.in_(["published", "update_proposed"]),
            # Never verified since loading: the publication date stands in for the check.
            sa.func.coalesce(Case.last_verified, sa.func.date(Case.published_at)) < cutoff,
        )
        .order_by(Case.last_verified.asc().nulls_first(), Case.ref)
    )
    return list(session.exec(statement).all())


def mark_verified(session: Session, *, actor: User, ref: str) -> Case:
    """Record that an editor checked a published case today; commits."""
    if not has_role(actor, *EDITORS):
        raise PermissionDenied("editors only")
    case = get_case_for(session, ref=ref, actor=actor)
    case.last_verified = date.today()
    session.add(case)
    session.add(
        CaseEvent(
            case_id=case.id,
            from_state=case.state,
            to_state=case.state,
            actor_id=actor.id,
            reason="verified",
        )
    )
    bump_data_version(session)
    session.commit()
    return case
