"""SQL aggregate statements for the dashboards (one function per question), nothing else.

Every function takes a session and returns plain rows (tuples in the order of the matching
`*_COLUMNS` constant); `dashboards.services` turns them into frames and caches them. Cases are
always restricted to the public states, assessments to published ones of one framework version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, func, select

from cases.models import Case, CaseTechnique
from cases.services import PUBLIC_STATES
from criteria.models import Assessment, AssessmentScore, FrameworkVersion, RegulatoryInstrument
from criteria.services import HIDDEN_INSTRUMENT_STATUSES
from dashboards.filters import DashboardFilters

PUBLISHED = "published"
HIGH_RISK_TIERS = ("high", "prohibited")

CUBE_COLUMNS = ("country", "branch", "level", "sector", "status", "year", "cases")
TECHNIQUE_COLUMNS = ("country", "branch", "technique", "cases")
INSTITUTION_COLUMNS = ("country", "institutions")
SCORE_COLUMNS = ("criterion", "country", "branch", "value", "count")
TIER_COLUMNS = ("country", "branch", "tier", "assessments")
FRAMEWORK_COLUMNS = ("id", "key", "version", "status", "title", "document", "assessments")
CASE_LIST_COLUMNS = ("ref", "name", "institution", "branch", "level", "sector", "status", "year")
HIGH_RISK_COLUMNS = ("ref", "name", "institution", "branch", "tier", "framework", "framework_id")
INSTRUMENT_COLUMNS = ("title", "title_en", "type", "status", "date", "issuing_body", "url")


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


def case_conditions(filters: DashboardFilters) -> list[Any]:
    """WHERE conditions on `ai_case` for the public cases the filters select."""
    conditions: list[Any] = [Case.state.in_(PUBLIC_STATES)]
    if filters.year_from is not None:
        conditions.append(Case.year_started >= filters.year_from)
    if filters.year_to is not None:
        conditions.append(Case.year_started <= filters.year_to)
    if filters.sectors:
        conditions.append(Case.sector.in_(filters.sectors))
    if filters.levels:
        conditions.append(Case.level.in_(filters.levels))
    if filters.statuses:
        conditions.append(Case.lifecycle_status.in_(filters.statuses))
    if filters.techniques:
        with_technique = select(CaseTechnique.case_id).where(
            CaseTechnique.technique.in_(filters.techniques)
        )
        conditions.append(Case.id.in_(with_technique))
    return conditions


def _rows(session: Session, statement) -> list[tuple]:
    # Core execution on the session's connection: these are plain column tuples, and the ORM's
    # per-row loading machinery costs more than the framing of a large cube. `all()` fetches in
    # one call (iterating the result fetches row by row, slow with psycopg).
    return [tuple(row) for row in session.connection().execute(statement).all()]


def case_cube(session: Session, filters: DashboardFilters) -> list[tuple]:
    """Published cases counted by country, branch, level, sector, lifecycle status and start
    year (`CUBE_COLUMNS`); every case breakdown of the dashboards is a sum over these rows."""
    dimensions = (
        Case.country,
        Case.branch,
        Case.level,
        Case.sector,
        Case.lifecycle_status,
        Case.year_started,
    )
    statement = (
        select(*dimensions, func.count(Case.id))
        .where(*case_conditions(filters))
        .group_by(*dimensions)
    )
    return _rows(session, statement)


def technique_counts(session: Session, filters: DashboardFilters) -> list[tuple]:
    """Published cases per country, branch and AI technique (`TECHNIQUE_COLUMNS`); a case with
    several techniques counts once under each."""
    statement = (
        select(
            Case.country,
            Case.branch,
            CaseTechnique.technique,
            func.count(func.distinct(Case.id)),
        )
        .join(CaseTechnique, CaseTechnique.case_id == Case.id)
        .where(*case_conditions(filters))
        .group_by(Case.country, Case.branch, CaseTechnique.technique)
    )
    return _rows(session, statement)


def institution_counts(session: Session, filters: DashboardFilters) -> list[tuple]:
    """Distinct institutions with a published case, per country (`INSTITUTION_COLUMNS`)."""
    statement = (
        select(Case.country, func.count(func.distinct(Case.institution)))
        .where(*case_conditions(filters))
        .group_by(Case.country)
    )
    return _rows(session, statement)


def framework_versions(session: Session) -> list[tuple]:
    """Framework versions with the number of published assessments (`FRAMEWORK_COLUMNS`);
    drafts without any published assessment are left out."""
    published = (
        select(Assessment.framework_id, func.count(Assessment.id).label("n"))
        .where(Assessment.status == PUBLISHED)
        .group_by(Assessment.framework_id)
        .subquery()
    )
    n = func.coalesce(published.c.n, 0)
    statement = (
        select(
            FrameworkVersion.id,
            FrameworkVersion.key,
            FrameworkVersion.version,
            FrameworkVersion.status,
            FrameworkVersion.title,
            FrameworkVersion.document,
            n,
        )
        .outerjoin(published, published.c.framework_id == FrameworkVersion.id)
        .where(sa.or_(FrameworkVersion.status != "draft", n > 0))
        .order_by(FrameworkVersion.key, FrameworkVersion.version)
    )
    return _rows(session, statement)


def score_histogram(session: Session, framework_id: int, filters: DashboardFilters) -> list[tuple]:
    """How many published assessments gave each consolidated value to each criterion, per
    country and branch (`SCORE_COLUMNS`), for one framework version. Special answers (no
    number) are left out; means, intervals, medians and distributions all follow from these
    counts."""
    statement = (
        select(
            AssessmentScore.item_key,
            Case.country,
            Case.branch,
            AssessmentScore.value_number,
            func.count(),
        )
        .join(Assessment, Assessment.id == AssessmentScore.assessment_id)
        .join(Case, Case.id == Assessment.case_id)
        .where(
            Assessment.status == PUBLISHED,
            Assessment.framework_id == framework_id,
            AssessmentScore.framework_id == framework_id,
            AssessmentScore.value_number.is_not(None),
            *case_conditions(filters),
        )
        .group_by(AssessmentScore.item_key, Case.country, Case.branch, AssessmentScore.value_number)
    )
    return _rows(session, statement)


def tier_counts(session: Session, framework_id: int, filters: DashboardFilters) -> list[tuple]:
    """Published assessments of one framework version per country, branch and common risk
    tier (`TIER_COLUMNS`)."""
    statement = (
        select(Case.country, Case.branch, Assessment.common_tier, func.count(Assessment.id))
        .join(Case, Case.id == Assessment.case_id)
        .where(
            Assessment.status == PUBLISHED,
            Assessment.framework_id == framework_id,
            *case_conditions(filters),
        )
        .group_by(Case.country, Case.branch, Assessment.common_tier)
    )
    return _rows(session, statement)


def country_cases(
    session: Session, country: str, filters: DashboardFilters, *, limit: int, offset: int = 0
) -> list[tuple]:
    """One page of the published cases of one country, by name (`CASE_LIST_COLUMNS`); their
    number is the country's sum in `case_cube`."""
    statement = (
        select(
            Case.ref,
            Case.name,
            Case.institution,
            Case.branch,
            Case.level,
            Case.sector,
            Case.lifecycle_status,
            Case.year_started,
        )
        .where(Case.country == country, *case_conditions(filters))
        .order_by(Case.name, Case.ref)
        .limit(limit)
        .offset(offset)
    )
    return _rows(session, statement)


def _high_risk_conditions(country: str, filters: DashboardFilters) -> list[Any]:
    return [
        Case.country == country,
        Assessment.status == PUBLISHED,
        Assessment.common_tier.in_(HIGH_RISK_TIERS),
        *case_conditions(filters),
    ]


def high_risk_cases(
    session: Session, country: str, filters: DashboardFilters, *, limit: int, offset: int = 0
) -> list[tuple]:
    """One page of the published cases of one country that a published assessment put in a high
    or prohibited common tier, with the framework version that did (`HIGH_RISK_COLUMNS`)."""
    statement = (
        select(
            Case.ref,
            Case.name,
            Case.institution,
            Case.branch,
            Assessment.common_tier,
            FrameworkVersion.key + "@" + FrameworkVersion.version,
            FrameworkVersion.id,
        )
        .join(Assessment, Assessment.case_id == Case.id)
        .join(FrameworkVersion, FrameworkVersion.id == Assessment.framework_id)
        .where(*_high_risk_conditions(country, filters))
        .order_by(Case.name, FrameworkVersion.key, FrameworkVersion.version, Case.ref)
        .limit(limit)
        .offset(offset)
    )
    return _rows(session, statement)


def high_risk_count(session: Session, country: str, filters: DashboardFilters) -> int:
    """How many rows `high_risk_cases` has in all (a case once per framework version)."""
    statement = (
        select(func.count())
        .select_from(Case)
        .join(Assessment, Assessment.case_id == Case.id)
        .where(*_high_risk_conditions(country, filters))
    )
    return int(session.connection().execute(statement).scalar_one())


def country_instruments(session: Session, country: str) -> list[tuple]:
    """A country's public AI laws, strategies, bills and other instruments, newest first
    (`INSTRUMENT_COLUMNS`); archived ones are left out, as on /regulations."""
    statement = (
        select(
            RegulatoryInstrument.title,
            RegulatoryInstrument.title_en,
            RegulatoryInstrument.type,
            RegulatoryInstrument.status,
            RegulatoryInstrument.date,
            RegulatoryInstrument.issuing_body,
            RegulatoryInstrument.url,
        )
        .where(
            RegulatoryInstrument.country == country,
            RegulatoryInstrument.status.notin_(HIDDEN_INSTRUMENT_STATUSES),
        )
        .order_by(RegulatoryInstrument.date.desc(), RegulatoryInstrument.title)
    )
    return _rows(session, statement)
