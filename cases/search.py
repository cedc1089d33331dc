"""Public case search: URL state (`CaseQuery`), full-text matching, facet counts and sorting."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from cases import vocabularies as vocab
from cases.models import Case, CaseTechnique
from cases.services import PUBLIC_STATES
from cases.text import search_terms

DEFAULT_PER_PAGE = 20
MAX_PAGE = 10_000
MAX_QUERY_LENGTH = 200
YEAR_MIN, YEAR_MAX = 1900, 2100
SORTS = ("relevance", "newest", "oldest", "name", "country")


@dataclass(frozen=True)
class Facet:
    """A filterable field: its URL parameter, `CaseQuery` attribute and vocabulary."""

    param: str
    attr: str
    vocabulary: str  # "country" for ISO 3166-1 alpha-3 codes, else a vocabulary name


FACETS: tuple[Facet, ...] = (
    Facet("country", "countries", "country"),
    Facet("branch", "branches", "branch"),
    Facet("level", "levels", "level"),
    Facet("sector", "sectors", "sector"),
    Facet("technique", "techniques", "technique"),
    Facet("status", "statuses", "lifecycle_status"),
    Facet("decision_role", "decision_roles", "decision_role"),
)
FACETS_BY_PARAM: Mapping[str, Facet] = {facet.param: facet for facet in FACETS}

# Columns of the single-valued facets; techniques live in their own table.
_COLUMNS: Mapping[str, Any] = {
    "country": Case.country,
    "branch": Case.branch,
    "level": Case.level,
    "sector": Case.sector,
    "status": Case.lifecycle_status,
    "decision_role": Case.decision_role,
}

# The full-text tables made by migration 0003 (SQLite: FTS5 over ai_case; PostgreSQL: tsvectors).
_SQLITE_FTS = sa.table("ai_case_fts", sa.column("rowid", sa.Integer))
_PG_FTS = sa.table("ai_case_fts", sa.column("case_id", sa.Integer), sa.column("document"))
_SIMPLE = sa.literal_column("'simple'::regconfig")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def _clean_value(facet: Facet, raw: str) -> str | None:
    """The canonical key for a submitted facet value, or None if it is not a known value."""
    if facet.vocabulary == "country":
        code = raw.strip().upper()
        return code if len(code) == 3 and vocab.is_known_country(code) else None
    return vocab.normalise(facet.vocabulary, raw)


def _int_or_none(raw: object, low: int, high: int) -> int | None:
    """`raw` as an int within [low, high], or None for anything else."""
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


def _getlist(args: Any, name: str) -> list[str]:
    """All values of a parameter from a MultiDict (or one value from a plain mapping)."""
    if hasattr(args, "getlist"):
        return [value for value in args.getlist(name) if isinstance(value, str)]
    value = args.get(name)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


@dataclass(frozen=True)
class CaseQuery:
    """The whole state of a search, as carried in the URL; hashable and always valid.

    `sort` is "" for the default order (relevance with search text, newest without), otherwise
    one of `SORTS`; `effective_sort` says which order applies.
    """

    q: str = ""
    countries: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    decision_roles: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    sort: str = ""
    page: int = 1
    per_page: int = field(default=DEFAULT_PER_PAGE)

    @classmethod
    def from_args(cls, args: Any) -> CaseQuery:
        """Read request arguments quietly: unknown values are dropped, bad numbers ignored.

        `args` is a MultiDict (`request.args`) or a plain mapping. Repeated facet parameters are
        OR-ed values of that facet. Never raises for user input.
        """
        q = " ".join((_getlist(args, "q") or [""])[0].split())[:MAX_QUERY_LENGTH]
        values: dict[str, tuple[str, ...]] = {}
        for facet in FACETS:
            cleaned: dict[str, None] = {}
            for raw in _getlist(args, facet.param):
                key = _clean_value(facet, raw)
                if key is not None:
                    cleaned[key] = None
            values[facet.attr] = tuple(cleaned)
        year_from = _int_or_none((_getlist(args, "year_from") or [""])[0], YEAR_MIN, YEAR_MAX)
        year_to = _int_or_none((_getlist(args, "year_to") or [""])[0], YEAR_MIN, YEAR_MAX)
        if year_from is not None and year_to is not None and year_from > year_to:
            year_from, year_to = year_to, year_from
        page = _int_or_none((_getlist(args, "page") or [""])[0], 1, 10**18) or 1
        query = cls(q=q, year_from=year_from, year_to=year_to, page=min(page, MAX_PAGE), **values)
        return query.sorted_by((_getlist(args, "sort") or [""])[0].strip())

    @property
    def terms(self) -> list[str]:
        """The search words: folded (no accents, lower case), letters and digits only, so they
        are inert in full-text query syntax; at most 12."""
        words = [token for term in search_terms(self.q) for token in _TOKEN.findall(term)]
        return words[:12]

    @property
    def default_sort(self) -> str:
        """The order used when none is chosen: relevance when there is search text."""
        return "relevance" if self.terms else "newest"

    @property
    def effective_sort(self) -> str:
        """The order that applies."""
        return self.sort or self.default_sort

    def values(self, facet: str) -> tuple[str, ...]:
        """The selected values of a facet (by URL parameter name)."""
        return getattr(self, FACETS_BY_PARAM[facet].attr)

    def is_selected(self, facet: str, value: str) -> bool:
        """Whether a facet value is among the active filters."""
        return value in self.values(facet)

    @property
    def active_filters(self) -> list[tuple[str, str]]:
        """(facet parameter, value) for every selected facet value, in facet order."""
        return [(facet.param, value) for facet in FACETS for value in self.values(facet.param)]

    @property
    def is_filtered(self) -> bool:
        """Whether any text, facet or year filter is active."""
        return bool(
            self.q or self.active_filters or self.year_from is not None or self.year_to is not None
        )

    def toggled(self, facet: str, value: str) -> CaseQuery:
        """The same search with one facet value added or removed, back on page 1."""
        current = self.values(facet)
        updated = tuple(v for v in current if v != value) if value in current else (*current, value)
        return replace(self, page=1, **{FACETS_BY_PARAM[facet].attr: updated})

    def without_text(self) -> CaseQuery:
        """The same search without search text (and with its default order), on page 1."""
        return replace(self, q="", page=1).sorted_by(self.sort)

    def without_years(self) -> CaseQuery:
        """The same search without the start-year range, on page 1."""
        return replace(self, year_from=None, year_to=None, page=1)

    def with_years(self, year_from: int | None, year_to: int | None) -> CaseQuery:
        """The same search with another start-year range, on page 1."""
        return replace(self, year_from=year_from, year_to=year_to, page=1)

    def cleared(self) -> CaseQuery:
        """No filters at all (keeps the chosen order when it still applies)."""
        return CaseQuery(per_page=self.per_page).sorted_by(self.sort)

    def sorted_by(self, sort: str) -> CaseQuery:
        """The same search in another order; unknown orders (and relevance without text, or
        the default order itself) give the default."""
        if sort not in SORTS or (sort == "relevance" and not self.terms):
            sort = ""
        if sort == self.default_sort:
            sort = ""
        return self if sort == self.sort else replace(self, sort=sort)

    def at_page(self, page: int) -> CaseQuery:
        """The same search on another page (clamped to 1..MAX_PAGE)."""
        return replace(self, page=min(max(int(page), 1), MAX_PAGE))

    def to_args(self) -> dict[str, str | list[str]]:
        """URL parameters for this state, defaults left out (`url_for("cases.index", **...)`)."""
        args: dict[str, str | list[str]] = {}
        if self.q:
            args["q"] = self.q
        for facet in FACETS:
            values = self.values(facet.param)
            if values:
                args[facet.param] = list(values)
        if self.year_from is not None:
            args["year_from"] = str(self.year_from)
        if self.year_to is not None:
            args["year_to"] = str(self.year_to)
        if self.sort:
            args["sort"] = self.sort
        if self.page > 1:
            args["page"] = str(self.page)
        return args


@dataclass(frozen=True)
class SearchResult:
    """One page of matching cases, the total, and facet counts over the filtered set.

    `facets[param]` lists (key, count) by descending count; a selected value that matches
    nothing is listed with 0 so it can still be unticked. `year_counts` lists (year, count) of
    the known start years, ignoring the year filter itself.
    """

    items: list[Case]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[tuple[str, int]]]
    year_counts: list[tuple[int, int]]

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def year_min(self) -> int | None:
        """Earliest start year among the cases the other filters select."""
        return self.year_counts[0][0] if self.year_counts else None

    @property
    def year_max(self) -> int | None:
        """Latest start year among the cases the other filters select."""
        return self.year_counts[-1][0] if self.year_counts else None


class _Filters:
    """The conditions of a search: one group per active facet (values OR-ed), the year range,
    and the search words; every group must hold (AND)."""

    def __init__(self, query: CaseQuery, dialect: str) -> None:
        self.query = query
        self.dialect = dialect
        self.terms = query.terms
        self.groups: dict[str, sa.ColumnElement[bool]] = {}
        for facet in FACETS:
            values = query.values(facet.param)
            if not values:
                continue
            if facet.param == "technique":
                with_technique = sa.select(CaseTechnique.case_id).where(
                    CaseTechnique.technique.in_(values)
                )
                self.groups[facet.param] = Case.id.in_(with_technique)
            else:
                self.groups[facet.param] = _COLUMNS[facet.param].in_(values)
        years = []
        if query.year_from is not None:
            years.append(Case.year_started >= query.year_from)
        if query.year_to is not None:
            years.append(Case.year_started <= query.year_to)
        if years:
            self.groups["year"] = sa.and_(*years)

    def text_match(self) -> sa.ColumnElement[bool] | None:
        """`ai_case.id IN (ids matching every word)`, or None without search words."""
        if not self.terms:
            return None
        if self.dialect == "postgresql":
            matching = sa.select(_PG_FTS.c.case_id).where(_pg_match(self.terms))
        else:
            matching = sa.select(_SQLITE_FTS.c.rowid).where(_sqlite_match(self.terms))
        return Case.id.in_(matching)

    def base(self, *, text: bool = True) -> list[sa.ColumnElement[bool]]:
        """Public cases only, and (with `text`) the search words."""
        conditions: list[sa.ColumnElement[bool]] = [Case.state.in_(PUBLIC_STATES)]
        match = self.text_match() if text else None
        if match is not None:
            conditions.append(match)
        return conditions

    def conditions(self, *, text: bool = True) -> list[sa.ColumnElement[bool]]:
        """Every filter (the WHERE of the result list)."""
        return [*self.base(text=text), *self.groups.values()]


def _sqlite_match(terms: list[str]) -> sa.ColumnElement[bool]:
    """`ai_case_fts MATCH '"w1"* "w2"*'`: every word, each as a prefix (implicit AND).

    A one-letter word must match a whole word: as a prefix it would match nearly everything.
    """
    expression = " ".join(f'"{term}"*' if len(term) > 1 else f'"{term}"' for term in terms)
    return sa.literal_column("ai_case_fts").op("MATCH")(sa.bindparam("fts_query", expression))


def _pg_tsquery(terms: list[str]) -> sa.ColumnElement[Any]:
    """`to_tsquery('simple', 'w1:* & w2:*')`: every word, each as a prefix (one letter: whole)."""
    expression = " & ".join(f"{term}:*" if len(term) > 1 else term for term in terms)
    return sa.func.to_tsquery(_SIMPLE, sa.bindparam("ts_query", expression))


def _pg_match(terms: list[str]) -> sa.ColumnElement[bool]:
    return _PG_FTS.c.document.op("@@")(_pg_tsquery(terms))


def _order_by(filters: _Filters, lang: str | None) -> list[Any]:
    """ORDER BY terms for the non-relevance orders, each ending on a unique tie-breaker."""
    # The folded text starts with the folded name: an accent-insensitive name order. Byte order
    # on PostgreSQL too (SQLite's default), so both back ends sort alike.
    name_key: Any = sa.func.substr(Case.search_text, 1, 80)
    if filters.dialect == "postgresql":
        name_key = name_key.collate("C")
    sort = filters.query.effective_sort
    if sort == "oldest":
        return [Case.year_started.asc().nulls_last(), name_key, Case.ref]
    if sort == "name":
        return [name_key, Case.ref]
    if sort == "country":
        # Countries by their name in the UI language, not by code.
        ordered = vocab.country_choices(lang or vocab.DEFAULT_LANGUAGE, only=vocab.LAC_COUNTRIES)
        position = sa.case(
            {code: index for index, (code, _name) in enumerate(ordered)},
            value=Case.country,
            else_=len(ordered),
        )
        return [position, Case.country, name_key, Case.ref]
    return [Case.year_started.desc().nulls_last(), sa.desc(Case.published_at), Case.ref]


def _page_ids_statement(filters: _Filters, lang: str | None) -> sa.Select:
    """SELECT of the ids of the matching cases, in the requested order (add LIMIT/OFFSET).

    Only ids and sort keys go through the sort; the page's rows are loaded afterwards, so
    deep pages and wide rows stay cheap.
    """
    query = filters.query
    if query.effective_sort != "relevance" or not filters.terms:
        return sa.select(Case.id).where(*filters.conditions()).order_by(*_order_by(filters, lang))
    # Relevance: join the matches with their score (the join is the text filter).
    if filters.dialect == "postgresql":
        tsquery = _pg_tsquery(filters.terms)
        ranked = (
            sa.select(
                _PG_FTS.c.case_id.label("id"),
                sa.func.ts_rank(_PG_FTS.c.document, tsquery).label("score"),
            )
            .where(_PG_FTS.c.document.op("@@")(tsquery))
            .subquery("ranked")
        )
        best_first = sa.desc(ranked.c.score)
    else:
        ranked = (
            sa.select(
                _SQLITE_FTS.c.rowid.label("id"),
                sa.func.bm25(sa.literal_column("ai_case_fts")).label("score"),
            )
            .where(_sqlite_match(filters.terms))
            .subquery("ranked")
        )
        best_first = ranked.c.score.asc()  # bm25: lower is better
    return (
        sa.select(Case.id)
        .join(ranked, ranked.c.id == Case.id)
        .where(*filters.conditions(text=False))
        .order_by(best_first, Case.ref)
    )


def _counts_statement(filters: _Filters) -> sa.CompoundSelect:
    """One statement for the total, every facet and the start years.

    The public cases matching the search words and failing at most one filter group are read
    once into a materialised CTE with a 0/1 column per group; each facet then counts the rows
    passing every *other* group (GROUP BY), so its counts ignore its own selection. Rows:
    (facet, value, count), with facet "total" and "year" besides the facet parameters.
    """
    flags = {
        name: sa.case((condition, 1), else_=0).label(f"pass_{name}")
        for name, condition in filters.groups.items()
    }
    where = filters.base()
    if len(flags) > 1:
        where.append(sum(flag.element for flag in flags.values()) >= len(flags) - 1)
    filtered = (
        sa.select(
            Case.id,
            *(_COLUMNS[param].label(param) for param in _COLUMNS),
            Case.year_started,
            *flags.values(),
        )
        .where(*where)
        .cte("filtered")
        .prefix_with("MATERIALIZED")
    )

    def passing(skip: str | None) -> list[sa.ColumnElement[bool]]:
        return [filtered.c[f"pass_{name}"] == 1 for name in flags if name != skip]

    def facet_label(name: str) -> sa.ColumnElement[str]:
        return sa.literal_column(f"'{name}'", sa.String).label("facet")

    count = sa.func.count().label("n")
    parts: list[sa.Select] = [
        sa.select(facet_label("total"), sa.literal_column("''", sa.String), count)
        .select_from(filtered)
        .where(*passing(None))
    ]
    for facet in FACETS:
        if facet.param == "technique":
            column = CaseTechnique.technique
            source = filtered.join(CaseTechnique, CaseTechnique.case_id == filtered.c.id)
        else:
            column = filtered.c[facet.param]
            source = filtered
        parts.append(
            sa.select(facet_label(facet.param), sa.cast(column, sa.String), count)
            .select_from(source)
            .where(*passing(facet.param))
            .group_by(column)
        )
    year = filtered.c.year_started
    parts.append(
        sa.select(facet_label("year"), sa.cast(year, sa.String), count)
        .select_from(filtered)
        .where(*passing("year"), year.is_not(None))
        .group_by(year)
    )
    return sa.union_all(*parts)


def search_cases(
    session: Session, query: CaseQuery, *, lang: str | None = None, with_facets: bool = True
) -> SearchResult:
    """Search the public cases (published or with an update proposed); read-only, no commit.

    Facets OR the values within one facet and AND the facets together; search words must all
    match (as prefixes, ignoring accents and case) in the name, acronym, institution or purpose.
    Each facet's counts apply every filter except that facet's own. `lang` orders countries by
    their name in that language when sorting by country. A page past the end gives the last.
    Three statements: the counts (`_counts_statement`), the page's ids, and their rows.
    `with_facets=False` (the API's list) counts only the total: no facet nor year counts.
    """
    dialect = session.get_bind().dialect.name
    filters = _Filters(query, dialect)

    grouped: dict[str, list[tuple[str, int]]] = {}
    if with_facets:
        for facet_name, value, number in session.execute(_counts_statement(filters)):
            grouped.setdefault(facet_name, []).append((value, int(number)))
        total = sum(number for _value, number in grouped.get("total", []))
    else:
        total = int(
            session.execute(
                sa.select(sa.func.count()).select_from(Case).where(*filters.conditions())
            ).scalar_one()
        )

    facets: dict[str, list[tuple[str, int]]] = {}
    for facet in FACETS:
        counts = sorted(grouped.get(facet.param, []), key=lambda pair: (-pair[1], pair[0]))
        present = {value for value, _number in counts}
        counts.extend((value, 0) for value in query.values(facet.param) if value not in present)
        facets[facet.param] = counts
    year_counts = sorted((int(year), number) for year, number in grouped.get("year", []))

    pages = max(1, -(-total // query.per_page))
    page = min(query.page, pages)
    items: list[Case] = []
    if total:
        statement = _page_ids_statement(filters, lang)
        offset = (page - 1) * query.per_page
        ids = list(session.scalars(statement.offset(offset).limit(query.per_page)))
        rows = {case.id: case for case in session.scalars(sa.select(Case).where(Case.id.in_(ids)))}
        items = [rows[case_id] for case_id in ids if case_id in rows]

    return SearchResult(
        items=items,
        total=total,
        page=page,
        per_page=query.per_page,
        facets=facets,
        year_counts=year_counts,
    )
