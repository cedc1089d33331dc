"""Read services of the publishing layer (API, exports, feeds): public records, every row of a
search, counts and recent publications. Only public cases and published versions; never commits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.models import Case, CaseEvent, CaseTechnique, CaseVersion
from cases.search import CaseQuery, search_cases
from cases.services import PUBLIC_STATES, record_data
from dashboards.dictionary import EXPORT_COLUMNS, LICENCE_NAME

# A function giving the public address of a case from its reference (None: no addresses).
Linker = Callable[[str], str] | None

EXPORT_BATCH = 500
# The dimensions `GET /api/v1/stats` may group by, and the column each reads.
STAT_DIMENSIONS: dict[str, str] = {
    "country": "country",
    "branch": "branch",
    "level": "level",
    "sector": "sector",
    "year": "year_started",
}


def iso_utc(value: datetime | None) -> str | None:
    """A timestamp as ISO 8601 in UTC (`2024-05-01T12:00:00Z`); naive values are taken as UTC
    (SQLite returns them without a zone)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def techniques_by_case(session: Session, case_ids: Iterable[int]) -> dict[int, list[str]]:
    """The sorted technique keys of each case (one query)."""
    ids = list(case_ids)
    found: dict[int, list[str]] = {case_id: [] for case_id in ids}
    if not ids:
        return found
    rows = session.exec(
        select(CaseTechnique.case_id, CaseTechnique.technique).where(CaseTechnique.case_id.in_(ids))
    ).all()
    for case_id, technique in rows:
        found[case_id].append(technique)
    return {case_id: sorted(values) for case_id, values in found.items()}


def published_version_numbers(session: Session, case_ids: Iterable[int]) -> dict[int, int]:
    """The newest published version number of each case that has one (one query)."""
    ids = list(case_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(CaseVersion.case_id, sa.func.max(CaseVersion.number))
        .where(CaseVersion.case_id.in_(ids), CaseVersion.published.is_(True))
        .group_by(CaseVersion.case_id)
    ).all()
    return {case_id: int(number) for case_id, number in rows}


def public_record(
    case: Case, techniques: Iterable[str], *, version: int | None, link: Linker = None
) -> dict[str, Any]:
    """The published record of a case as the exports and the API give it (dictionary order:
    `dictionary.EXPORT_COLUMNS`). Pure."""
    values = record_data(case, techniques)
    values.update(
        ref=case.ref,
        url=link(case.ref) if link else "",
        version=version,
        published_at=iso_utc(case.published_at),
        provenance=case.provenance,
        licence=LICENCE_NAME,
    )
    return {name: values[name] for name in EXPORT_COLUMNS}


def public_records(session: Session, cases: Sequence[Case], *, link: Linker = None) -> list[dict]:
    """The published records of public cases, in the given order (two queries in all)."""
    ids = [case.id for case in cases]
    techniques = techniques_by_case(session, ids)
    versions = published_version_numbers(session, ids)
    return [
        public_record(case, techniques[case.id], version=versions.get(case.id), link=link)
        for case in cases
    ]


def search_batches(
    session: Session, query: CaseQuery, *, lang: str | None = None, batch_size: int = EXPORT_BATCH
) -> Iterator[tuple[int, list[Case]]]:
    """Every case of a search, page after page: (total, the page's cases) in the list's order.

    The same search as the `/cases` page (`cases.search.search_cases`), only with larger pages,
    so the rows are exactly the rows of the filtered list across all its pages.
    """
    page = 1
    while True:
        result = search_cases(session, replace(query, page=page, per_page=batch_size), lang=lang)
        if result.page != page:  # the list ended (the search gives the last page instead)
            return
        yield result.total, result.items
        if page >= result.pages:
            return
        page += 1


def all_search_results(
    session: Session, query: CaseQuery, *, lang: str | None = None
) -> tuple[int, list[Case]]:
    """(total, every case of the search in the list's order), all pages at once."""
    total, cases = 0, []
    for batch_total, batch in search_batches(session, query, lang=lang):
        total = batch_total
        cases.extend(batch)
    return total, cases


def case_counts(
    session: Session, query: CaseQuery, group_by: Sequence[str], *, lang: str | None = None
) -> dict[str, Any]:
    """Counts of the cases a search selects, grouped by the given dimensions.

    `group_by` holds names of `STAT_DIMENSIONS` (KeyError otherwise). Returns `{"total": n,
    "group_by": [...], "groups": [{<dimension>: value, ..., "count": n}]}`, largest groups first;
    an unknown start year is null. The counts add up to the total of the `/cases` list.
    """
    columns = [STAT_DIMENSIONS[name] for name in group_by]
    counts: Counter[tuple] = Counter()
    total = 0
    for batch_total, cases in search_batches(session, query, lang=lang):
        total = batch_total
        counts.update(tuple(getattr(case, column) for column in columns) for case in cases)

    def order(item: tuple[tuple, int]) -> tuple:
        values, number = item
        return (-number, *((value is None, str(value)) for value in values))

    groups = [
        {**dict(zip(group_by, values, strict=True)), "count": number}
        for values, number in sorted(counts.items(), key=order)
    ]
    return {"total": total, "group_by": list(group_by), "groups": groups}


@dataclass(frozen=True)
class Publication:
    """A public case as a feed shows it: its record and when it was first and last published."""

    case: Case
    record: dict[str, Any]
    first_published: datetime | None
    updated: datetime


def recent_publications(
    session: Session, *, country: str | None = None, limit: int = 50, link: Linker = None
) -> list[Publication]:
    """The public cases most recently published or updated (newest first), optionally of one
    country. `updated` is the last publication (a published update counts); `first_published`
    the first. Three queries."""
    statement = select(Case).where(Case.state.in_(PUBLIC_STATES))
    if country:
        statement = statement.where(Case.country == country)
    last = sa.func.coalesce(Case.published_at, Case.updated_at)
    cases = list(session.exec(statement.order_by(last.desc(), Case.ref).limit(limit)).all())
    ids = [case.id for case in cases]
    first: dict[int, datetime] = {}
    if ids:
        rows = session.exec(
            select(CaseEvent.case_id, sa.func.min(CaseEvent.at))
            .where(CaseEvent.case_id.in_(ids), CaseEvent.to_state == "published")
            .group_by(CaseEvent.case_id)
        ).all()
        first = dict(rows)
    records = public_records(session, cases, link=link)
    return [
        Publication(
            case=case,
            record=record,
            first_published=first.get(case.id),
            updated=case.published_at or case.updated_at,
        )
        for case, record in zip(cases, records, strict=True)
    ]


def published_versions(session: Session, case: Case) -> list[CaseVersion]:
    """The published versions of a case, oldest first (pending updates never)."""
    statement = (
        select(CaseVersion)
        .where(CaseVersion.case_id == case.id, CaseVersion.published.is_(True))
        .order_by(CaseVersion.number)
    )
    return list(session.exec(statement).all())
