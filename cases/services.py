"""Use cases of the case library: create, load the starter library, read published cases."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, func, select

from cases.models import Case, CaseEvent, CaseTechnique, CaseVersion
from cases.starter import STARTER_CSV_PATH, StarterCase, parse_starter_csv
from cases.text import fold
from observatory.db import bump_data_version
from observatory.models import utcnow
from observatory.security import NotFound

PUBLIC_STATES = ("published", "update_proposed")

# The fields of a case record (what a version snapshots and what a form edits).
RECORD_FIELDS = (
    "name",
    "acronym",
    "institution",
    "country",
    "subnational_region",
    "level",
    "branch",
    "sector",
    "purpose",
    "techniques",
    "decision_role",
    "lifecycle_status",
    "year_started",
    "year_ended",
    "developer_type",
    "developer_name",
    "data_used",
    "personal_data",
    "sensitive_data",
    "affected_groups",
    "vulnerable_groups",
    "human_oversight",
    "appeal_mechanism",
    "documentation_url",
    "source_code_url",
    "impact_assessment_url",
    "legal_basis",
    "known_concerns",
    "sources",
    "record_language",
    "confidence",
    "last_verified",
)


# Statements of the case page, built once (it runs them on every request; building a
# statement costs about as much as running it).
_TECHNIQUES_OF_CASE = sa.select(CaseTechnique.__table__.c.technique).where(
    CaseTechnique.__table__.c.case_id == sa.bindparam("case_id")
)
_CASE_BY_REF = sa.select(Case.__table__).where(Case.__table__.c.ref == sa.bindparam("ref"))


def case_techniques(session: Session, case_id: int) -> list[str]:
    """The technique keys of a case, sorted."""
    rows = session.connection().execute(_TECHNIQUES_OF_CASE, {"case_id": case_id})
    return sorted(rows.scalars())


def record_data(case: Case, techniques: Iterable[str]) -> dict:
    """A JSON-serialisable snapshot of the case record (for versions and exports)."""
    data = {name: getattr(case, name) for name in RECORD_FIELDS if name != "techniques"}
    data["techniques"] = sorted(techniques)
    if isinstance(data["last_verified"], date):
        data["last_verified"] = data["last_verified"].isoformat()
    return data


def build_search_text(case: Case) -> str:
    """Folded text the full-text index covers: name, acronym, institution and purpose."""
    return fold(" ".join([case.name, case.acronym, case.institution, case.purpose]))


def next_ref(session: Session, country: str) -> str:
    """The next free public reference for a country, e.g. `BRA-0027`."""
    prefix = f"{country}-"
    # Text order breaks past 9999 ("BRA-9999" > "BRA-10000"): take the longest refs first.
    longest = session.exec(
        select(func.max(func.length(Case.ref))).where(Case.ref.startswith(prefix))
    ).one()
    if not longest:
        return f"{prefix}0001"
    highest = session.exec(
        select(func.max(Case.ref)).where(
            Case.ref.startswith(prefix), func.length(Case.ref) == longest
        )
    ).one()
    number = int(highest.split("-")[1]) + 1
    return f"{prefix}{number:04d}"


def _starter_case(session: Session, row: StarterCase) -> Case:
    now = utcnow()
    case = Case(
        ref=next_ref(session, row.country),
        state="published",
        name=row.name,
        institution=row.institution,
        country=row.country,
        level=row.level,
        branch=row.branch,
        sector=row.sector,
        purpose=row.purpose,
        lifecycle_status=row.lifecycle_status,
        year_started=row.year_started,
        developer_type=row.developer_type,
        developer_name=row.developer_name or "",
        affected_groups=row.affected_groups,
        known_concerns=row.known_concerns,
        sources=[dict(source) for source in row.sources],
        record_language="en",
        confidence=row.confidence,
        provenance="starter",
        provenance_detail={"source_id": row.source_id, "file": STARTER_CSV_PATH.name},
        source_key=f"starter:{row.source_id}",
        published_at=now,
        created_at=now,
        updated_at=now,
    )
    case.search_text = build_search_text(case)
    return case


def load_starter_library(session: Session) -> tuple[int, int]:
    """Load the shipped starter cases as published cases; commits once (all or nothing).

    Cases already present (same starter id) are kept as they are, so running it again adds
    nothing. Returns (added, already present).
    """
    rows = parse_starter_csv(STARTER_CSV_PATH)
    present = set(
        session.exec(select(Case.source_key).where(Case.source_key.startswith("starter:"))).all()
    )
    added = 0
    for row in rows:
        if f"starter:{row.source_id}" in present:
            continue
        case = _starter_case(session, row)
        session.add(case)
        session.flush()
        for technique in row.techniques:
            session.add(CaseTechnique(case_id=case.id, technique=technique))
        session.add(
            CaseVersion(
                case_id=case.id,
                number=1,
                data=record_data(case, row.techniques),
                comment="Loaded from the starter library",
                published=True,
            )
        )
        session.add(
            CaseEvent(
                case_id=case.id,
                from_state="draft",
                to_state="published",
                reason="starter library",
                version_number=1,
            )
        )
        added += 1
    if added:
        bump_data_version(session)
    session.commit()
    return added, len(rows) - added


@dataclass(frozen=True)
class CasePage:
    """A page of published cases and the total."""

    items: list[Case]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_published(session: Session, *, page: int = 1, per_page: int = 25) -> CasePage:
    """Published cases, newest first, one page of them."""
    page = max(1, page)
    base = select(Case).where(Case.state.in_(PUBLIC_STATES))
    total = int(session.exec(select(func.count()).select_from(base.subquery())).one())
    items = session.exec(
        base.order_by(sa.desc(Case.published_at), Case.ref)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return CasePage(items=list(items), total=total, page=page, per_page=per_page)


def get_published_case(session: Session, ref: str) -> Case:
    """The public case with this reference; NotFound if absent or not public."""
    case = session.exec(select(Case).where(Case.ref == ref.upper())).first()
    if case is None or case.state not in PUBLIC_STATES:
        raise NotFound(ref)
    return case


def published_case_record(session: Session, ref: str) -> sa.Row:
    """The public case with this reference as a read-only row with the same attributes as a
    Case (what the case page reads: one Core query, no ORM bookkeeping); NotFound if absent or
    not public."""
    row = session.connection().execute(_CASE_BY_REF, {"ref": ref.upper()}).first()
    if row is None or row.state not in PUBLIC_STATES:
        raise NotFound(ref)
    return row


def cases_of_submitter(session: Session, *, actor_id: int) -> list[Case]:
    """Every case an account submitted, newest first."""
    statement = select(Case).where(Case.submitter_id == actor_id).order_by(sa.desc(Case.updated_at))
    return list(session.exec(statement).all())
