"""SQL aggregate statements for the dashboards (one function per question), nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, func, select

from cases.models import Case
from cases.services import PUBLIC_STATES


@dataclass(frozen=True)
class Headline:
    """Headline counts of the published library."""

    cases: int
    countries: int
    institutions: int


def headline_counts(session: Session) -> Headline:
    """Published cases, and the distinct countries and institutions they come from."""
    statement = select(
        func.count(Case.id),
        func.count(func.distinct(Case.country)),
        func.count(func.distinct(Case.institution)),
    ).where(Case.state.in_(PUBLIC_STATES))
    cases, countries, institutions = session.exec(statement).one()
    return Headline(cases=int(cases), countries=int(countries), institutions=int(institutions))


def cases_by_branch(session: Session) -> list[tuple[str, int]]:
    """Published cases per branch of government, largest first."""
    statement = (
        select(Case.branch, func.count(Case.id))
        .where(Case.state.in_(PUBLIC_STATES))
        .group_by(Case.branch)
        .order_by(func.count(Case.id).desc(), Case.branch)
    )
    return [(branch, int(n)) for branch, n in session.exec(statement).all()]
