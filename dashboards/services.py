"""Dashboards use cases: cached frames keyed by the data version, shaped into page-ready charts.

A request reads the data version (one small query), then asks the cache for what it needs. On a
miss, one aggregate query (`dashboards.queries`) fills a frame; `dashboards.aggregations` shapes
it, `dashboards.charts` draws it, and the finished chart (figure JSON, title, data table) is
cached too, per language. So a warm dashboard runs no query on the case or assessment tables.
Views get dataclasses with strings and plain numbers only: no pandas, no plotly.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from flask_babel import format_decimal
from sqlmodel import Session

from cases import vocabularies as vocab
from criteria.schema import BRANCHES, COMMON_TIERS
from dashboards import aggregations as agg
from dashboards import charts, queries
from dashboards.cache import get_cache
from dashboards.filters import MAX_COMPARE, MIN_COMPARE, DashboardFilters
from observatory.db import data_version
from observatory.i18n import _, _l
from observatory.security import NotFound

PAGES = ("region", "compare", "branches", "criteria", "country")
DEFAULT_COMPARE = 3
BRANCH_COLORS = dict(zip(BRANCHES, charts.PALETTE, strict=False))
TIER_COLORS = {
    "minimal": "#009E73",
    "limited": "#56B4E9",
    "high": "#E69F00",
    "prohibited": "#D55E00",
    "unassessed": charts.MISSING,
}
TIER_LABELS = {
    "minimal": _l("Minimal risk"),
    "limited": _l("Limited risk"),
    "high": _l("High risk"),
    "prohibited": _l("Prohibited"),
    "unassessed": _l("Not classified"),
}
INSTRUMENT_TYPES = {
    "law": _l("Law"),
    "bill": _l("Bill"),
    "strategy": _l("Strategy"),
    "policy": _l("Policy"),
    "regulation": _l("Regulation"),
    "decree": _l("Decree"),
    "guideline": _l("Guideline"),
    "declaration": _l("Declaration"),
    "ethical_framework": _l("Ethical framework"),
    "data_protection_law": _l("Data protection law"),
}
INSTRUMENT_STATUSES = {
    "in_force": _l("In force"),
    "adopted": _l("Adopted"),
    "bill_pending": _l("Bill pending"),
    "draft": _l("Draft"),
    "superseded": _l("Superseded"),
}
SCALES = {"rubric": (0.0, 4.0), "check": (0.0, 1.0)}
COUNTRY_LIST_SIZE = 100  # rows per page of a country report's case and high-risk lists


# --- what views receive ----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a data table: `kind` is text, int or float; `missing` is shown for None."""

    key: str
    label: str
    kind: str = "text"
    missing: str = ""


@dataclass(frozen=True)
class Table:
    """The numbers of one chart, as shown under it and as its CSV."""

    columns: tuple[Column, ...]
    rows: tuple[tuple, ...]
    # The same cells as shown on the page (numbers formatted for the language); see formatted().
    display: tuple[tuple[str, ...], ...] = ()

    def formatted(self) -> Table:
        """A copy whose `display` holds every cell formatted for the current language."""
        numbers: dict[tuple[type, Any], str] = {}  # counts repeat; Babel is slow per call

        def number(value: Any) -> str:
            key = (type(value), value)
            if key not in numbers:
                numbers[key] = format_decimal(value)
            return numbers[key]

        display = tuple(
            tuple(
                column.missing
                if value is None
                else number(value)
                if column.kind != "text"
                else str(value)
                for column, value in zip(self.columns, row, strict=True)
            )
            for row in self.rows
        )
        return replace(self, display=display)

    def cell_text(self, column: Column, value: Any) -> str:
        """A cell as written to the CSV (plain numbers, `missing` text for None)."""
        if value is None:
            return column.missing
        if column.kind == "float":
            return f"{float(value):.{agg.DECIMALS}f}".rstrip("0").rstrip(".")
        return str(value)

    def to_csv(self) -> str:
        """The table as CSV (UTF-8 text, header = column labels)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([column.label for column in self.columns])
        for row in self.rows:
            writer.writerow(
                [
                    self.cell_text(column, value)
                    for column, value in zip(self.columns, row, strict=True)
                ]
            )
        return buffer.getvalue()

    def to_dict(self) -> dict:
        return {
            "columns": [asdict(column) for column in self.columns],
            "rows": [list(row) for row in self.rows],
            "display": [list(row) for row in self.display],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Table:
        return cls(
            columns=tuple(Column(**column) for column in data["columns"]),
            rows=tuple(tuple(row) for row in data["rows"]),
            display=tuple(tuple(row) for row in data.get("display", ())),
        )


@dataclass(frozen=True)
class Chart:
    """One chart of a page: title (what is counted and n), figure JSON, table, notes."""

    page: str
    key: str
    title: str
    figure_json: str
    table: Table
    note: str = ""
    empty_message: str = ""

    @property
    def empty(self) -> bool:
        return not self.figure_json

    def to_dict(self) -> dict:
        data = asdict(self)
        data["table"] = self.table.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Chart:
        return cls(**{**data, "table": Table.from_dict(data["table"])})


@dataclass(frozen=True)
class CriterionInfo:
    """A scored criterion (rubric or checklist item) of a framework version."""

    key: str
    kind: str
    labels: dict
    scale: tuple[float, float]

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("es") or self.key


@dataclass(frozen=True)
class FrameworkInfo:
    """A framework version as the dashboards see it."""

    id: int
    key: str
    version: str
    status: str
    titles: dict
    assessments: int
    criteria: tuple[CriterionInfo, ...]

    @property
    def full_key(self) -> str:
        return f"{self.key}@{self.version}"

    def title(self, lang: str) -> str:
        """The full title and version, e.g. "UNESCO 2021 — Principles of … (v1.0)"."""
        name = self.titles.get(lang) or self.titles.get("es") or self.key
        return f"{name} (v{self.version})"

    def short_title(self, lang: str) -> str:
        """The title up to its first dash or colon, and the version: "UNESCO 2021 (v1.0)"."""
        name = self.titles.get(lang) or self.titles.get("es") or self.key
        short = name.split(" — ")[0].split(": ")[0].strip() or name
        return f"{short} (v{self.version})"

    def criterion(self, key: str) -> CriterionInfo | None:
        return next((item for item in self.criteria if item.key == key), None)


@dataclass(frozen=True)
class FilterOptions:
    """Choices offered by the filter form, labelled in the reader's language."""

    frameworks: list[tuple[str, str]]
    criteria: list[tuple[str, str]]
    sectors: list[tuple[str, str]]
    levels: list[tuple[str, str]]
    techniques: list[tuple[str, str]]
    statuses: list[tuple[str, str]]
    countries: list[tuple[str, str]]


@dataclass(frozen=True)
class ListPage:
    """Where one page of a long list stands: its number (from 1), its size and the total."""

    number: int
    size: int
    total: int

    @classmethod
    def of(cls, number: int, size: int, total: int) -> ListPage:
        """Page `number` of a list of `total` items, moved into range (1 .. the last page)."""
        pages = max(1, math.ceil(total / size))
        return cls(number=min(max(1, number), pages), size=size, total=total)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        """Position of the page's first item (1-based; 0 for an empty list)."""
        return self.offset + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.offset + self.size)


@dataclass
class CountryProfile:
    """The lists of a country report; cases and high-risk systems one page at a time."""

    iso3: str
    name: str
    cases: list[dict] = field(default_factory=list)
    instruments: list[dict] = field(default_factory=list)
    high_risk: list[dict] = field(default_factory=list)
    cases_page: ListPage = ListPage(1, COUNTRY_LIST_SIZE, 0)
    high_risk_page: ListPage = ListPage(1, COUNTRY_LIST_SIZE, 0)


@dataclass
class DashboardPage:
    """Everything a dashboard template shows."""

    name: str
    filters: DashboardFilters
    lang: str
    version: int
    framework: FrameworkInfo | None
    options: FilterOptions
    charts: list[Chart]
    headline: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    country: CountryProfile | None = None
    country_list: list[tuple[str, str, int]] = field(default_factory=list)
    # Page numbers of long lists (e.g. {"page": 3}): part of this page's own URL, not of its
    # charts' links.
    list_pages: dict[str, int] = field(default_factory=dict)

    @property
    def url_args(self) -> dict[str, list[str]]:
        """The page's filters (and language) as `url_for` keyword arguments."""
        return {**self.filters.url_args(), "lang": [self.lang]}

    def query_string(self) -> str:
        """The filters and the list page numbers beyond the first, as a URL query string."""
        pages = urlencode([(name, n) for name, n in self.list_pages.items() if n > 1])
        return "&".join(part for part in (self.filters.query_string(), pages) if part)

    def list_args(self, name: str, number: int) -> dict[str, Any]:
        """`url_for` arguments of this page with list `name` at page `number` (the other lists
        stay where they are; first pages are left out of the URL)."""
        pages = {**self.list_pages, name: number}
        return {**self.url_args, **{key: n for key, n in pages.items() if n > 1}}

    def case_library_args(self) -> dict[str, list[str]]:
        """The cases this page counts, as arguments of the case list and its exports (`/cases`
        reads the same parameters: years, sector, level, technique, status, country)."""
        countries = (self.country.iso3,) if self.country else self.filters.countries
        cases = self.filters.with_(framework="", criterion="", countries=countries)
        return {**cases.url_args(), "lang": [self.lang]}

    def chart(self, key: str) -> Chart:
        for chart in self.charts:
            if chart.key == key:
                return chart
        raise NotFound(key)


# --- cached frames ---------------------------------------------------------------------------


def _frame(rows: Iterable[tuple], columns: Sequence[str], dtypes: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(rows), columns=list(columns))
    return frame.astype(dtypes)


def _number(value: Any) -> Any:
    """A plain Python number for tables (None for NaN)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, agg.DECIMALS)
    return value


class Context:
    """What one request needs: its data version, resolved filters and lazily cached frames."""

    def __init__(self, session: Session, filters: DashboardFilters, lang: str) -> None:
        self.session = session
        self.lang = lang
        self.version = data_version(session)
        self.cache = get_cache()
        self.frameworks = [
            _framework_from_dict(item)
            for item in self._cached("frameworks", "", lambda: _frameworks_payload(session))
        ]
        self.framework = self._pick_framework(filters.framework)
        criterion = filters.criterion
        if not self.framework or not self.framework.criterion(criterion):
            criterion = ""
        self.filters = filters.with_(
            framework=self.framework.full_key if self.framework else "", criterion=criterion
        )

    def _cached(self, name: str, params: str, compute: Callable[[], Any]) -> Any:
        return self.cache.get_or_compute(self.version, name, params, compute)

    def _pick_framework(self, wanted: str) -> FrameworkInfo | None:
        for framework in self.frameworks:
            if framework.full_key == wanted:
                return framework
        if not self.frameworks:
            return None
        # The default: the version with most published assessments, else the first published.
        return max(
            self.frameworks,
            key=lambda f: (f.assessments, f.status == "published", -self.frameworks.index(f)),
        )

    # frames

    @cached_property
    def cube(self) -> pd.DataFrame:
        return self._cube_for(self.filters)

    @cached_property
    def all_cube(self) -> pd.DataFrame:
        """The cube without any filter (which countries have cases at all)."""
        return self._cube_for(DashboardFilters())

    def _cube_for(self, filters: DashboardFilters) -> pd.DataFrame:
        return self._cached(
            "cube",
            filters.case_key(),
            lambda: _frame(
                queries.case_cube(self.session, filters),
                queries.CUBE_COLUMNS,
                {"year": "Int64", "cases": "int64"},
            ),
        )

    @cached_property
    def techniques(self) -> pd.DataFrame:
        return self._cached(
            "techniques",
            self.filters.case_key(),
            lambda: _frame(
                queries.technique_counts(self.session, self.filters),
                queries.TECHNIQUE_COLUMNS,
                {"cases": "int64"},
            ),
        )

    @cached_property
    def institutions(self) -> pd.DataFrame:
        return self._cached(
            "institutions",
            self.filters.case_key(),
            lambda: _frame(
                queries.institution_counts(self.session, self.filters),
                queries.INSTITUTION_COLUMNS,
                {"institutions": "int64"},
            ),
        )

    @cached_property
    def scores(self) -> pd.DataFrame:
        """The score histogram of the selected framework version (empty without one)."""
        if self.framework is None:
            return _frame([], queries.SCORE_COLUMNS, {"value": "float64", "count": "int64"})
        framework_id = self.framework.id
        return self._cached(
            "scores",
            f"{framework_id}|{self.filters.case_key()}",
            lambda: _frame(
                queries.score_histogram(self.session, framework_id, self.filters),
                queries.SCORE_COLUMNS,
                {"value": "float64", "count": "int64"},
            ),
        )

    @cached_property
    def tiers(self) -> pd.DataFrame:
        if self.framework is None:
            return _frame([], queries.TIER_COLUMNS, {"assessments": "int64"})
        framework_id = self.framework.id
        return self._cached(
            "tiers",
            f"{framework_id}|{self.filters.case_key()}",
            lambda: _frame(
                queries.tier_counts(self.session, framework_id, self.filters),
                queries.TIER_COLUMNS,
                {"assessments": "int64"},
            ),
        )

    def country_frame(self, name: str, iso3: str, page: ListPage | None = None) -> pd.DataFrame:
        """A country's instruments, or one page of its case or high-risk list (cached like the
        rest)."""
        if name == "instruments":
            return self._cached(
                "country_instruments",
                iso3,
                lambda: _frame(
                    queries.country_instruments(self.session, iso3),
                    queries.INSTRUMENT_COLUMNS,
                    {},
                ),
            )
        if page is None:
            raise ValueError(f"the {name} list of a country is read one page at a time")
        if name == "cases":
            query, columns, dtypes = (
                queries.country_cases,
                queries.CASE_LIST_COLUMNS,
                {"year": "Int64"},
            )
        else:
            query, columns, dtypes = (
                queries.high_risk_cases,
                queries.HIGH_RISK_COLUMNS,
                {"framework_id": "int64"},
            )
        return self._cached(
            f"country_{name}",
            f"{iso3}|{page.size}|{page.number}|{self.filters.case_key()}",
            lambda: _frame(
                query(self.session, iso3, self.filters, limit=page.size, offset=page.offset),
                columns,
                dtypes,
            ),
        )

    def high_risk_total(self, iso3: str) -> int:
        return self._cached(
            "country_high_risk_total",
            f"{iso3}|{self.filters.case_key()}",
            lambda: queries.high_risk_count(self.session, iso3, self.filters),
        )

    # labels

    def country(self, iso3: str) -> str:
        return vocab.country_name(iso3, self.lang)

    def label(self, vocabulary: str, key: str) -> str:
        return vocab.label(vocabulary, key, self.lang)

    def n(self, value: int) -> str:
        return format_decimal(int(value))

    @property
    def framework_name(self) -> str:
        return self.framework.short_title(self.lang) if self.framework else ""

    @property
    def assessments(self) -> int:
        return int(self.tiers["assessments"].sum()) if not self.tiers.empty else 0


def _frameworks_payload(session: Session) -> list[dict]:
    """Framework versions and their scored criteria, as cacheable JSON."""
    payload = []
    for row in queries.framework_versions(session):
        record = dict(zip(queries.FRAMEWORK_COLUMNS, row, strict=True))
        document = record["document"] or {}
        criteria = [
            {
                "key": item["key"],
                "kind": item["kind"],
                "labels": dict(item.get("label") or {}),
                "scale": list(SCALES[item["kind"]]),
            }
            for item in document.get("items", [])
            if isinstance(item, dict) and item.get("kind") in SCALES and item.get("key")
        ]
        payload.append(
            {
                "id": int(record["id"]),
                "key": record["key"],
                "version": record["version"],
                "status": record["status"],
                "titles": dict(record["title"] or document.get("title") or {}),
                "assessments": int(record["assessments"]),
                "criteria": criteria,
            }
        )
    return payload


def _framework_from_dict(data: dict) -> FrameworkInfo:
    return FrameworkInfo(
        id=data["id"],
        key=data["key"],
        version=data["version"],
        status=data["status"],
        titles=data["titles"],
        assessments=data["assessments"],
        criteria=tuple(
            CriterionInfo(
                key=item["key"],
                kind=item["kind"],
                labels=item["labels"],
                scale=(float(item["scale"][0]), float(item["scale"][1])),
            )
            for item in data["criteria"]
        ),
    )


# --- tables ----------------------------------------------------------------------------------


def _wide_table(
    wide: pd.DataFrame, first: str, labels: Sequence[str], *, total: bool = True
) -> Table:
    """A wide count frame (index = row labels) as a table with an optional Total column."""
    columns = [Column("label", first)] + [
        Column(f"c{position}", str(name), "int") for position, name in enumerate(wide.columns)
    ]
    if total:
        columns.append(Column("total", _("Total"), "int"))
    rows = []
    for label, (_index, values) in zip(labels, wide.iterrows(), strict=True):
        cells = [_number(value) for value in values]
        if total:
            cells.append(int(sum(cells)))
        rows.append((str(label), *cells))
    return Table(tuple(columns), tuple(rows))


def _stats_columns(lang_missing: str) -> list[Column]:
    return [
        Column("n", _("Published assessments (n)"), "int"),
        Column("mean", _("Mean"), "float", lang_missing),
        Column("ci_low", _("Interval low (95%)"), "float", lang_missing),
        Column("ci_high", _("Interval high (95%)"), "float", lang_missing),
    ]


def _stats_cells(row: Any) -> tuple:
    return (
        int(row["n"]),
        _number(row["mean"]),
        _number(row["ci_low"]),
        _number(row["ci_high"]),
    )


def _insufficient() -> str:
    return _("insufficient data")


def _hover_stats(ctx: Context, label: str, row: Any) -> str:
    if not row["sufficient"]:
        return _("%(what)s: insufficient data (n = %(n)s)", what=label, n=ctx.n(row["n"]))
    return _(
        "%(what)s: %(mean)s (95%% interval %(low)s–%(high)s, n = %(n)s)",
        what=label,
        mean=format_decimal(row["mean"]),
        low=format_decimal(row["ci_low"]),
        high=format_decimal(row["ci_high"]),
        n=ctx.n(row["n"]),
    )


def _score_note(ctx: Context) -> str:
    return _(
        "Means of consolidated scores with 95%% t-intervals, from %(framework)s only (versions "
        "are never mixed). Values based on fewer than %(min)s published assessments are shown "
        "as “insufficient data”, not as a number.",
        min=agg.MIN_N,
        framework=ctx.framework.title(ctx.lang) if ctx.framework else "",
    )


def _empty_chart(page: str, key: str, title: str, table: Table, message: str) -> Chart:
    return Chart(page, key, title, "", table, empty_message=message)


def _no_scores_message(ctx: Context) -> str:
    if ctx.framework is None:
        return _("No evaluation framework is loaded yet.")
    return _(
        "No published assessments under %(framework)s match these filters yet.",
        framework=ctx.framework.title(ctx.lang),
    )


# --- chart builders --------------------------------------------------------------------------


def _map_chart(ctx: Context, page: str) -> Chart:
    countries = list(vocab.LAC_COUNTRIES)
    criterion = ctx.framework.criterion(ctx.filters.criterion) if ctx.framework else None
    if criterion is None:
        counts = agg.count_by(ctx.cube, ["country"])
        counts = agg.complete_countries(counts, countries, fill={"cases": 0})
        counts["name"] = [ctx.country(code) for code in counts["country"]]
        counts = counts.sort_values(["cases", "name"], ascending=[False, True])
        counts["value"] = counts["cases"].astype(float)
        counts["hover"] = [
            f"{name}: {ctx.n(n)}" for name, n in zip(counts["name"], counts["cases"], strict=True)
        ]
        fig = charts.choropleth_map(counts, value_label=_("Cases"))
        total = int(counts["cases"].sum())
        k = int((counts["cases"] > 0).sum())
        title = _(
            "Published cases per country (n = %(n)s cases in %(k)s countries)",
            n=ctx.n(total),
            k=ctx.n(k),
        )
        table = Table(
            (
                Column("country", _("Country")),
                Column("iso3", _("ISO code")),
                Column("cases", _("Cases"), "int"),
            ),
            tuple(
                (name, code, int(n))
                for name, code, n in zip(
                    counts["name"], counts["country"], counts["cases"], strict=True
                )
            ),
        )
        note = _("Small Caribbean states are marked with a dot in the colour of their count.")
        return Chart(page, "map", title, fig.to_json(), table, note=note)
    hist = ctx.scores[ctx.scores["criterion"] == criterion.key]
    stats = agg.score_stats(hist, ["country"], scale=criterion.scale)
    stats = agg.complete_countries(
        stats,
        countries,
        fill={
            "n": 0,
            "sufficient": False,
            "mean": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "median": math.nan,
        },
    )
    stats["name"] = [ctx.country(code) for code in stats["country"]]
    stats = stats.sort_values("name", key=lambda s: s.str.casefold())
    stats["value"] = stats["mean"]
    stats["hover"] = [_hover_stats(ctx, row["name"], row) for _i, row in stats.iterrows()]
    fig = charts.choropleth_map(
        stats,
        value_label=_("Mean score"),
        colorscale=charts.SCORE_SCALE,
        scale=criterion.scale,
        missing_label=_insufficient(),
    )
    total = int(stats["n"].sum())
    title = _(
        "Mean score on “%(criterion)s” per country — %(framework)s (n = %(n)s published "
        "assessments)",
        criterion=criterion.label(ctx.lang),
        framework=ctx.framework_name,
        n=ctx.n(total),
    )
    table = Table(
        (
            Column("country", _("Country")),
            Column("iso3", _("ISO code")),
            *_stats_columns(_insufficient()),
        ),
        tuple((row["name"], row["country"], *_stats_cells(row)) for _i, row in stats.iterrows()),
    )
    if total == 0:
        return _empty_chart(page, "map", title, table, _no_scores_message(ctx))
    return Chart(page, "map", title, fig.to_json(), table, note=_score_note(ctx))


def _branch_by_country(ctx: Context, page: str) -> Chart:
    wide = agg.crosstab(ctx.cube, "country", "branch", column_order=BRANCHES)
    names = [ctx.country(code) for code in wide.index]
    display = wide.set_axis(names, axis=0).set_axis(
        [ctx.label("branch", key) for key in BRANCHES], axis=1
    )
    total = int(wide.to_numpy().sum())
    title = _("Published cases by branch of government and country (n = %(n)s)", n=ctx.n(total))
    table = _wide_table(display, _("Country"), names)
    if wide.empty:
        return _empty_chart(page, "branches", title, table, _("No published cases match."))
    fig = charts.stacked_bars(
        display, value_label=_("Cases"), colors=[BRANCH_COLORS[key] for key in BRANCHES]
    )
    return Chart(page, "branches", title, fig.to_json(), table)


def _sector_by_country(ctx: Context, page: str) -> Chart:
    wide = agg.crosstab(ctx.cube, "country", "sector")
    if not wide.empty:
        wide = wide[wide.sum(axis=0).sort_values(ascending=False, kind="stable").index]
    names = [ctx.country(code) for code in wide.index]
    display = wide.set_axis(names, axis=0).set_axis(
        [ctx.label("sector", key) for key in wide.columns], axis=1
    )
    total = int(wide.to_numpy().sum())
    title = _("Published cases by sector and country (n = %(n)s)", n=ctx.n(total))
    table = _wide_table(display, _("Country"), names)
    if wide.empty:
        return _empty_chart(page, "sectors", title, table, _("No published cases match."))
    fig = charts.heatmap(display, value_label=_("Cases"))
    return Chart(page, "sectors", title, fig.to_json(), table)


def _timeline(ctx: Context, page: str, cube: pd.DataFrame | None = None) -> Chart:
    cube = ctx.cube if cube is None else cube
    wide = agg.yearly(cube, "branch", column_order=BRANCHES)
    display = wide.set_axis([str(year) for year in wide.index], axis=0).set_axis(
        [ctx.label("branch", key) for key in BRANCHES], axis=1
    )
    known = int(wide.to_numpy().sum())
    total = int(cube["cases"].sum()) if not cube.empty else 0
    title = _(
        "Published cases by year started and branch (n = %(n)s with a known start year, of "
        "%(total)s)",
        n=ctx.n(known),
        total=ctx.n(total),
    )
    table = _wide_table(display, _("Year started"), list(display.index))
    if wide.empty:
        return _empty_chart(page, "timeline", title, table, _("No start years are known."))
    fig = charts.stacked_bars(
        display,
        value_label=_("Cases"),
        colors=[BRANCH_COLORS[key] for key in BRANCHES],
        horizontal=False,
    )
    return Chart(page, "timeline", title, fig.to_json(), table)


def _counts_chart(
    ctx: Context,
    page: str,
    key: str,
    frame: pd.DataFrame,
    *,
    by: str,
    vocabulary: str,
    title: str,
    heading: str,
    order: Sequence[str] | None = None,
    note: str = "",
) -> Chart:
    counts = agg.count_by(frame, [by], order=order)
    counts["label"] = [ctx.label(vocabulary, value) for value in counts[by]]
    table = Table(
        (Column("label", heading), Column("cases", _("Cases"), "int")),
        tuple((label, int(n)) for label, n in zip(counts["label"], counts["cases"], strict=True)),
    )
    if counts["cases"].sum() == 0:
        return _empty_chart(page, key, title, table, _("No published cases match."))
    fig = charts.bars(counts, category="label", value="cases", value_label=_("Cases"))
    return Chart(page, key, title, fig.to_json(), table, note=note)


def _status_chart(ctx: Context, page: str) -> Chart:
    total = int(ctx.cube["cases"].sum()) if not ctx.cube.empty else 0
    return _counts_chart(
        ctx,
        page,
        "status",
        ctx.cube,
        by="status",
        vocabulary="lifecycle_status",
        order=vocab.keys("lifecycle_status"),
        title=_("Published cases by lifecycle status (n = %(n)s)", n=ctx.n(total)),
        heading=_("Lifecycle status"),
    )


def _technique_chart(ctx: Context, page: str) -> Chart:
    total = int(ctx.cube["cases"].sum()) if not ctx.cube.empty else 0
    return _counts_chart(
        ctx,
        page,
        "techniques",
        ctx.techniques,
        by="technique",
        vocabulary="technique",
        title=_(
            "Published cases by AI technique (n = %(n)s cases; a case may use several)",
            n=ctx.n(total),
        ),
        heading=_("AI technique"),
    )


def _criteria_grid(
    ctx: Context, stats: pd.DataFrame, series: str, series_keys: Sequence[str]
) -> pd.DataFrame:
    """Stats for every criterion of the framework × every series key (n = 0 where absent)."""
    criteria = ctx.framework.criteria if ctx.framework else ()
    pairs = [(item.key, key) for item in criteria for key in series_keys]
    grid = pd.DataFrame(
        {
            "criterion": pd.Series([pair[0] for pair in pairs], dtype="str"),
            series: pd.Series([pair[1] for pair in pairs], dtype="str"),
        }
    )
    merged = grid.merge(stats, on=["criterion", series], how="left")
    merged["n"] = merged["n"].fillna(0).astype("int64")
    merged["sufficient"] = merged["sufficient"].astype("boolean").fillna(False).astype(bool)
    return merged


def _keys(criteria: Iterable[CriterionInfo]) -> pd.Series:
    return pd.Series([item.key for item in criteria], dtype="str")


def _scaled_stats(
    ctx: Context, hist: pd.DataFrame, by: Sequence[str], *, decimals: int | None = agg.DECIMALS
) -> pd.DataFrame:
    """score_stats per criterion, each clipped to its own scale."""
    parts = []
    for item in ctx.framework.criteria if ctx.framework else ():
        part = hist[hist["criterion"] == item.key]
        if not part.empty:
            parts.append(agg.score_stats(part, by, scale=item.scale, decimals=decimals))
    if not parts:
        return agg.score_stats(hist.iloc[0:0], by)
    return pd.concat(parts, ignore_index=True)


def _mean_chart(
    ctx: Context,
    page: str,
    key: str,
    *,
    series: str,
    series_keys: Sequence[str],
    series_label: Callable[[str], str],
    hist: pd.DataFrame,
    title: str,
    series_heading: str,
    colors: Sequence[str] = charts.PALETTE,
) -> Chart:
    stats = _scaled_stats(ctx, hist, ["criterion", series])
    grid = _criteria_grid(ctx, stats, series, series_keys)
    labels = {
        item.key: item.label(ctx.lang) for item in (ctx.framework.criteria if ctx.framework else ())
    }
    grid["criterion_label"] = [labels[c] for c in grid["criterion"]]
    grid["series_label"] = [series_label(k) for k in grid[series]]
    grid["hover"] = [
        _hover_stats(ctx, f"{row['criterion_label']} · {row['series_label']}", row)
        for _i, row in grid.iterrows()
    ]
    table = Table(
        (
            Column("criterion", _("Criterion")),
            Column("series", series_heading),
            *_stats_columns(_insufficient()),
        ),
        tuple(
            (row["criterion_label"], row["series_label"], *_stats_cells(row))
            for _i, row in grid.iterrows()
        ),
    )
    if grid.empty or int(grid["n"].sum()) == 0:
        return _empty_chart(page, key, title, table, _no_scores_message(ctx))
    if not grid["sufficient"].any():
        message = _(
            "Every value here is based on fewer than %(min)s published assessments: "
            "insufficient data.",
            min=agg.MIN_N,
        )
        return _empty_chart(page, key, title, table, message)
    scale = _overall_scale(ctx)
    fig = charts.mean_bars(
        grid,
        category="criterion_label",
        series="series_label",
        value_label=_("Mean score"),
        scale=scale,
        series_order=[series_label(k) for k in series_keys],
        colors=colors,
        missing_label=_insufficient(),
    )
    return Chart(page, key, title, fig.to_json(), table, note=_score_note(ctx))


def _overall_scale(ctx: Context) -> tuple[float, float]:
    criteria = ctx.framework.criteria if ctx.framework else ()
    if not criteria:
        return (0.0, 4.0)
    return (min(c.scale[0] for c in criteria), max(c.scale[1] for c in criteria))


def _compare_criteria(ctx: Context, page: str) -> Chart:
    countries = ctx.filters.countries
    hist = ctx.scores[ctx.scores["country"].isin(list(countries))]
    names = ", ".join(ctx.country(code) for code in countries)
    title = _(
        "Mean score per criterion: %(countries)s — %(framework)s (n = %(n)s published assessments)",
        countries=names,
        framework=ctx.framework_name,
        n=ctx.n(_assessments_in(ctx, countries=countries)),
    )
    return _mean_chart(
        ctx,
        page,
        "criteria",
        series="country",
        series_keys=countries,
        series_label=ctx.country,
        hist=hist,
        title=title,
        series_heading=_("Country"),
    )


def _assessments_in(
    ctx: Context, *, countries: Sequence[str] | None = None, branches: Sequence[str] | None = None
) -> int:
    tiers = ctx.tiers
    if countries is not None:
        tiers = tiers[tiers["country"].isin(list(countries))]
    if branches is not None:
        tiers = tiers[tiers["branch"].isin(list(branches))]
    return int(tiers["assessments"].sum()) if not tiers.empty else 0


def _compare_branches(ctx: Context, page: str) -> Chart:
    countries = list(ctx.filters.countries)
    cube = ctx.cube[ctx.cube["country"].isin(countries)]
    wide = agg.crosstab(cube, "branch", "country", column_order=countries, index_order=BRANCHES)
    labels = [ctx.label("branch", key) for key in BRANCHES]
    display = wide.set_axis(labels, axis=0).set_axis([ctx.country(c) for c in countries], axis=1)
    total = int(wide.to_numpy().sum())
    title = _(
        "Published cases by branch of government: %(countries)s (n = %(n)s)",
        countries=", ".join(ctx.country(code) for code in countries),
        n=ctx.n(total),
    )
    table = _wide_table(display, _("Branch of government"), labels)
    if total == 0:
        return _empty_chart(page, "branches", title, table, _("No published cases match."))
    fig = charts.stacked_bars(display, value_label=_("Cases"), horizontal=False, barmode="group")
    return Chart(page, "branches", title, fig.to_json(), table)


def _branch_counts(ctx: Context, page: str) -> Chart:
    counts = agg.count_by(ctx.cube, ["branch"], order=BRANCHES)
    countries = (
        ctx.cube[ctx.cube["cases"] > 0].groupby("branch")["country"].nunique()
        if not ctx.cube.empty
        else pd.Series(dtype="int64")
    )
    counts["label"] = [ctx.label("branch", key) for key in counts["branch"]]
    total = int(counts["cases"].sum())
    title = _("Published cases per branch of government (n = %(n)s)", n=ctx.n(total))
    table = Table(
        (
            Column("label", _("Branch of government")),
            Column("cases", _("Cases"), "int"),
            Column("countries", _("Countries with cases"), "int"),
        ),
        tuple(
            (label, int(n), int(countries.get(key, 0)))
            for key, label, n in zip(
                counts["branch"], counts["label"], counts["cases"], strict=True
            )
        ),
    )
    if total == 0:
        return _empty_chart(page, "counts", title, table, _("No published cases match."))
    fig = charts.bars(counts, category="label", value="cases", value_label=_("Cases"))
    return Chart(page, "counts", title, fig.to_json(), table)


def _sector_by_branch(ctx: Context, page: str) -> Chart:
    wide = agg.crosstab(ctx.cube, "sector", "branch", column_order=BRANCHES)
    labels = [ctx.label("sector", key) for key in wide.index]
    display = wide.set_axis(labels, axis=0).set_axis(
        [ctx.label("branch", key) for key in BRANCHES], axis=1
    )
    total = int(wide.to_numpy().sum())
    title = _("Published cases by sector and branch of government (n = %(n)s)", n=ctx.n(total))
    table = _wide_table(display, _("Sector"), labels)
    if wide.empty:
        return _empty_chart(page, "sectors", title, table, _("No published cases match."))
    fig = charts.heatmap(display, value_label=_("Cases"))
    return Chart(page, "sectors", title, fig.to_json(), table)


def _branch_scores(ctx: Context, page: str) -> Chart:
    title = _(
        "Mean score per criterion and branch of government — %(framework)s (n = %(n)s "
        "published assessments)",
        framework=ctx.framework_name,
        n=ctx.n(ctx.assessments),
    )
    return _mean_chart(
        ctx,
        page,
        "scores",
        series="branch",
        series_keys=BRANCHES,
        series_label=lambda key: ctx.label("branch", key),
        hist=ctx.scores,
        title=title,
        series_heading=_("Branch of government"),
        colors=[BRANCH_COLORS[key] for key in BRANCHES],
    )


def _branch_tiers(ctx: Context, page: str) -> Chart:
    wide = agg.crosstab(
        ctx.tiers,
        "branch",
        "tier",
        value="assessments",
        column_order=COMMON_TIERS,
        index_order=BRANCHES,
    )
    labels = [ctx.label("branch", key) for key in BRANCHES]
    display = wide.set_axis(labels, axis=0).set_axis(
        [str(TIER_LABELS.get(key, key)) for key in COMMON_TIERS], axis=1
    )
    total = int(wide.to_numpy().sum())
    title = _(
        "Published assessments by common risk tier and branch — %(framework)s (n = %(n)s)",
        framework=ctx.framework_name,
        n=ctx.n(total),
    )
    table = _wide_table(display, _("Branch of government"), labels)
    note = _(
        "The common risk tier is the observatory's convention for comparing frameworks, not a "
        "legal classification."
    )
    if total == 0:
        return _empty_chart(page, "tiers", title, table, _no_scores_message(ctx))
    fig = charts.stacked_bars(
        display, value_label=_("Assessments"), colors=[TIER_COLORS[key] for key in COMMON_TIERS]
    )
    return Chart(page, "tiers", title, fig.to_json(), table, note=note)


def _weakest(ctx: Context, page: str) -> Chart:
    stats = _scaled_stats(ctx, ctx.scores, ["criterion"])
    criteria = ctx.framework.criteria if ctx.framework else ()
    grid = pd.DataFrame({"criterion": _keys(criteria)}).merge(stats, on="criterion", how="left")
    grid["n"] = grid["n"].fillna(0).astype("int64")
    grid["sufficient"] = grid["sufficient"].astype("boolean").fillna(False).astype(bool)
    ranked = agg.rank_weakest(grid)
    labels = {item.key: item.label(ctx.lang) for item in criteria}
    ranked["criterion_label"] = [labels[key] for key in ranked["criterion"]]
    ranked["series"] = _("Region")
    ranked["hover"] = [
        _hover_stats(ctx, row["criterion_label"], row) for _i, row in ranked.iterrows()
    ]
    title = _(
        "Criteria from weakest to strongest: regional mean score — %(framework)s (n = %(n)s "
        "published assessments)",
        framework=ctx.framework_name,
        n=ctx.n(ctx.assessments),
    )
    table = Table(
        (
            Column("rank", _("Rank"), "int"),
            Column("criterion", _("Criterion")),
            *_stats_columns(_insufficient()),
            Column("median", _("Median"), "float", _insufficient()),
        ),
        tuple(
            (position + 1, row["criterion_label"], *_stats_cells(row), _number(row["median"]))
            for position, (_i, row) in enumerate(ranked.iterrows())
        ),
    )
    if ranked.empty or not ranked["sufficient"].any():
        return _empty_chart(page, "weakest", title, table, _no_scores_message(ctx))
    fig = charts.mean_bars(
        ranked,
        category="criterion_label",
        series="series",
        value_label=_("Mean score"),
        scale=_overall_scale(ctx),
        missing_label=_insufficient(),
        legend=False,
    )
    return Chart(page, "weakest", title, fig.to_json(), table, note=_score_note(ctx))


def _distribution(ctx: Context, page: str) -> Chart:
    criteria = ctx.framework.criteria if ctx.framework else ()
    wide = agg.value_distribution(ctx.scores)
    wide = wide.reindex([item.key for item in criteria]).fillna(0).astype("int64")
    values = [column for column in wide.columns if column != "n"]
    labels = [item.label(ctx.lang) for item in criteria]
    display = (
        wide[values]
        .set_axis(labels, axis=0)
        .set_axis([format_decimal(value) for value in values], axis=1)
    )
    title = _(
        "Consolidated values per criterion — %(framework)s (n = %(n)s published assessments)",
        framework=ctx.framework_name,
        n=ctx.n(ctx.assessments),
    )
    table = _wide_table(display, _("Criterion"), labels)
    table = Table(
        table.columns[:-1] + (Column("n", _("Published assessments (n)"), "int"),),
        table.rows,
    )
    if not values or int(wide["n"].sum()) == 0:
        return _empty_chart(page, "distribution", title, table, _no_scores_message(ctx))
    fig = charts.stacked_bars(
        display,
        value_label=_("Assessments"),
        colors=charts.sequential_colors(len(values)),
        legend_title=_("Value"),
    )
    note = _("Each bar counts the published assessments that gave the criterion each value.")
    return Chart(page, "distribution", title, fig.to_json(), table, note=note)


def _country_counts(ctx: Context, page: str, iso3: str, key: str) -> Chart:
    cube = ctx.cube[ctx.cube["country"] == iso3]
    total = int(cube["cases"].sum()) if not cube.empty else 0
    name = ctx.country(iso3)
    specs = {
        "branch": (
            "branch",
            "branch",
            BRANCHES,
            _("Branch of government"),
            _("Published cases in %(country)s by branch of government (n = %(n)s)"),
        ),
        "level": (
            "level",
            "level",
            vocab.keys("level"),
            _("Government level"),
            _("Published cases in %(country)s by level of government (n = %(n)s)"),
        ),
        "sector": (
            "sector",
            "sector",
            None,
            _("Sector"),
            _("Published cases in %(country)s by sector (n = %(n)s)"),
        ),
    }
    by, vocabulary, order, heading, title = specs[key]
    return _counts_chart(
        ctx,
        page,
        key,
        cube,
        by=by,
        vocabulary=vocabulary,
        order=order,
        heading=heading,
        title=title % {"country": name, "n": ctx.n(total)},
    )


def _country_scores(ctx: Context, page: str, iso3: str) -> Chart:
    name = ctx.country(iso3)
    # Unrounded country means feed the median; what is shown is rounded once, below.
    country_stats = _scaled_stats(ctx, ctx.scores, ["criterion", "country"], decimals=None)
    medians = agg.regional_median(country_stats) if not country_stats.empty else None
    mine = country_stats[country_stats["country"] == iso3] if not country_stats.empty else None
    if mine is not None:
        mine = mine.round(dict.fromkeys(("mean", "ci_low", "ci_high", "median"), agg.DECIMALS))
    criteria = ctx.framework.criteria if ctx.framework else ()
    grid = pd.DataFrame({"criterion": _keys(criteria)})
    if mine is not None:
        grid = grid.merge(mine.drop(columns="country"), on="criterion", how="left")
    else:
        grid = grid.assign(n=0, mean=math.nan, ci_low=math.nan, ci_high=math.nan, sufficient=False)
    if medians is not None:
        grid = grid.merge(medians, on="criterion", how="left")
    else:
        grid = grid.assign(regional_median=math.nan, countries=0)
    grid["n"] = grid["n"].fillna(0).astype("int64")
    grid["countries"] = grid["countries"].fillna(0).astype("int64")
    grid["sufficient"] = grid["sufficient"].astype("boolean").fillna(False).astype(bool)
    labels = {item.key: item.label(ctx.lang) for item in criteria}
    grid["criterion_label"] = [labels[key] for key in grid["criterion"]]
    grid["hover"] = [_hover_stats(ctx, row["criterion_label"], row) for _i, row in grid.iterrows()]
    title = _(
        "Mean score per criterion in %(country)s against the regional median — %(framework)s "
        "(n = %(n)s published assessments in %(country)s)",
        country=name,
        framework=ctx.framework_name,
        n=ctx.n(_assessments_in(ctx, countries=[iso3])),
    )
    table = Table(
        (
            Column("criterion", _("Criterion")),
            *_stats_columns(_insufficient()),
            Column("regional_median", _("Regional median"), "float", _insufficient()),
            Column("countries", _("Countries in the median"), "int"),
        ),
        tuple(
            (
                row["criterion_label"],
                *_stats_cells(row),
                _number(row["regional_median"]),
                int(row["countries"]),
            )
            for _i, row in grid.iterrows()
        ),
    )
    note = (
        _score_note(ctx)
        + " "
        + _(
            "The regional median is the median of the country means of the countries with at least "
            "%(min)s published assessments.",
            min=agg.MIN_N,
        )
    )
    if grid.empty or not (grid["sufficient"].any() or grid["regional_median"].notna().any()):
        return _empty_chart(page, "scores", title, table, _no_scores_message(ctx))
    fig = charts.against_median(
        grid,
        category="criterion_label",
        value_label=_("Mean score"),
        series_label=name,
        median_label=_("Regional median"),
        scale=_overall_scale(ctx),
        missing_label=_insufficient(),
    )
    return Chart(page, "scores", title, fig.to_json(), table, note=note)


# Page -> ordered (chart key, builder). Country builders take the ISO code as a third argument.
PAGE_CHARTS: dict[str, tuple[tuple[str, Callable[..., Chart]], ...]] = {
    "region": (
        ("map", _map_chart),
        ("branches", _branch_by_country),
        ("sectors", _sector_by_country),
        ("timeline", _timeline),
        ("status", _status_chart),
        ("techniques", _technique_chart),
    ),
    "compare": (("criteria", _compare_criteria), ("branches", _compare_branches)),
    "branches": (
        ("counts", _branch_counts),
        ("sectors", _sector_by_branch),
        ("scores", _branch_scores),
        ("tiers", _branch_tiers),
    ),
    "criteria": (("weakest", _weakest), ("distribution", _distribution)),
    "countries": (),
    "country": (
        ("branch", lambda ctx, page, iso3: _country_counts(ctx, page, iso3, "branch")),
        ("level", lambda ctx, page, iso3: _country_counts(ctx, page, iso3, "level")),
        ("sector", lambda ctx, page, iso3: _country_counts(ctx, page, iso3, "sector")),
        (
            "timeline",
            lambda ctx, page, iso3: _timeline(ctx, page, ctx.cube[ctx.cube["country"] == iso3]),
        ),
        ("scores", _country_scores),
    ),
}


def _build_chart(ctx: Context, page: str, key: str, iso3: str = "") -> Chart:
    builders = dict(PAGE_CHARTS[page])
    if key not in builders:
        raise NotFound(key)
    params = f"{iso3}|{ctx.lang}|{ctx.filters.query_string()}"

    def compute() -> dict:
        chart = builders[key](ctx, page, iso3) if page == "country" else builders[key](ctx, page)
        return replace(chart, table=chart.table.formatted()).to_dict()

    return Chart.from_dict(ctx._cached(f"chart:{page}:{key}", params, compute))


# --- pages -----------------------------------------------------------------------------------


def _options(ctx: Context, *, countries: Iterable[str] = ()) -> FilterOptions:
    lang = ctx.lang
    criteria = ctx.framework.criteria if ctx.framework else ()
    return FilterOptions(
        frameworks=[(f.full_key, f.title(lang)) for f in ctx.frameworks],
        criteria=[(item.key, item.label(lang)) for item in criteria],
        sectors=vocab.choices("sector", lang),
        levels=vocab.choices("level", lang),
        techniques=[pair for pair in vocab.choices("technique", lang) if pair[0] != "unknown"],
        statuses=vocab.choices("lifecycle_status", lang),
        countries=vocab.country_choices(
            lang, only=sorted(set(vocab.LAC_COUNTRIES) | set(countries))
        ),
    )


def _summary(ctx: Context) -> list[str]:
    """The active filters in words (shown above the charts and printed with a report)."""
    filters = ctx.filters
    parts = []
    if ctx.framework is not None:
        parts.append(_("Framework: %(framework)s", framework=ctx.framework.title(ctx.lang)))
    if filters.year_from is not None or filters.year_to is not None:
        low = str(filters.year_from) if filters.year_from is not None else "…"
        high = str(filters.year_to) if filters.year_to is not None else "…"
        parts.append(_("Started: %(years)s", years=f"{low}–{high}"))
    for values, vocabulary, heading in (
        (filters.sectors, "sector", _("Sector")),
        (filters.levels, "level", _("Government level")),
        (filters.techniques, "technique", _("AI technique")),
        (filters.statuses, "lifecycle_status", _("Lifecycle status")),
    ):
        if values:
            labels = ", ".join(ctx.label(vocabulary, key) for key in values)
            parts.append(f"{heading}: {labels}")
    return parts


def _page(ctx: Context, name: str, *, iso3: str = "", **extra: Any) -> DashboardPage:
    charts_ = [_build_chart(ctx, name, key, iso3) for key, _builder in PAGE_CHARTS[name]]
    countries = ctx.all_cube["country"].unique().tolist() if not ctx.all_cube.empty else []
    return DashboardPage(
        name=name,
        filters=ctx.filters,
        lang=ctx.lang,
        version=ctx.version,
        framework=ctx.framework,
        options=_options(ctx, countries=countries),
        charts=charts_,
        summary=_summary(ctx),
        **extra,
    )


def _headline(ctx: Context, cube: pd.DataFrame, institutions: int, assessments: int) -> list:
    cases = int(cube["cases"].sum()) if not cube.empty else 0
    countries = int(cube.loc[cube["cases"] > 0, "country"].nunique()) if not cube.empty else 0
    return [
        (_("published cases"), cases),
        (_("countries"), countries),
        (_("institutions"), institutions),
        (_("published assessments"), assessments),
    ]


def region_page(session: Session, filters: DashboardFilters, lang: str) -> DashboardPage:
    """The region dashboard: headline figures, map, branches, sectors, timeline, breakdowns."""
    ctx = Context(session, filters, lang)
    page = _page(ctx, "region")
    institutions = int(ctx.institutions["institutions"].sum()) if not ctx.institutions.empty else 0
    page.headline = _headline(ctx, ctx.cube, institutions, ctx.assessments)
    return page


def compare_page(session: Session, filters: DashboardFilters, lang: str) -> DashboardPage:
    """Two to six countries side by side; without a valid choice, the countries with most cases."""
    notes = []
    if len(filters.countries) < MIN_COMPARE:
        ctx = Context(session, filters, lang)
        top = agg.count_by(ctx.all_cube, ["country"])["country"].tolist()
        chosen = list(filters.countries) + [c for c in top if c not in filters.countries]
        filters = filters.with_(
            countries=tuple(chosen[: max(DEFAULT_COMPARE, len(filters.countries))])
        )
        notes.append(
            _(
                "Choose %(low)s to %(high)s countries to compare; until then the countries with "
                "most published cases are shown.",
                low=MIN_COMPARE,
                high=MAX_COMPARE,
            )
        )
    ctx = Context(session, filters, lang)
    return _page(ctx, "compare", notes=notes)


def branches_page(session: Session, filters: DashboardFilters, lang: str) -> DashboardPage:
    """Executive, legislative, judicial and autonomous bodies compared across countries."""
    return _page(Context(session, filters, lang), "branches")


def criteria_page(session: Session, filters: DashboardFilters, lang: str) -> DashboardPage:
    """Which criteria are weakest across the region, and the distribution of each."""
    return _page(Context(session, filters, lang), "criteria")


def countries_index(session: Session, filters: DashboardFilters, lang: str) -> DashboardPage:
    """Every country with a report: ISO code, name and published cases (name order)."""
    ctx = Context(session, filters, lang)
    page = _page(ctx, "countries")
    counts = agg.count_by(ctx.cube, ["country"])
    cases = dict(zip(counts["country"], counts["cases"], strict=True))
    page.country_list = [
        (code, name, int(cases.get(code, 0))) for code, name in page.options.countries
    ]
    return page


def _check_country(ctx: Context, iso3: str) -> str:
    code = (iso3 or "").strip().upper()
    known = set(vocab.LAC_COUNTRIES)
    if not ctx.all_cube.empty:
        known |= set(ctx.all_cube["country"])
    if code not in known:
        raise NotFound(iso3)
    return code


def country_page(
    session: Session,
    iso3: str,
    filters: DashboardFilters,
    lang: str,
    *,
    cases_page: int = 1,
    high_risk_page: int = 1,
) -> DashboardPage:
    """A country report, with page `cases_page` of its case list and `high_risk_page` of its
    high-risk list (`COUNTRY_LIST_SIZE` rows each; numbers out of range mean the nearest page).
    NotFound for a code that is neither LAC nor has published cases."""
    ctx = Context(session, filters, lang)
    code = _check_country(ctx, iso3)
    page = _page(ctx, "country", iso3=code)
    cube = ctx.cube[ctx.cube["country"] == code]
    institutions = ctx.institutions
    n_institutions = int(institutions.loc[institutions["country"] == code, "institutions"].sum())
    page.headline = _headline(ctx, cube, n_institutions, _assessments_in(ctx, countries=[code]))[
        0:1
    ] + [
        (_("institutions"), n_institutions),
        (
            _("sectors"),
            int(cube.loc[cube["cases"] > 0, "sector"].nunique()) if not cube.empty else 0,
        ),
        (_("published assessments"), _assessments_in(ctx, countries=[code])),
    ]
    total = int(cube["cases"].sum()) if not cube.empty else 0
    page.country = _country_profile(
        ctx,
        code,
        ListPage.of(cases_page, COUNTRY_LIST_SIZE, total),
        ListPage.of(high_risk_page, COUNTRY_LIST_SIZE, ctx.high_risk_total(code)),
    )
    page.list_pages = {
        "page": page.country.cases_page.number,
        "risk_page": page.country.high_risk_page.number,
    }
    return page


def _country_profile(
    ctx: Context, iso3: str, cases_page: ListPage, high_risk_page: ListPage
) -> CountryProfile:
    profile = CountryProfile(
        iso3=iso3, name=ctx.country(iso3), cases_page=cases_page, high_risk_page=high_risk_page
    )
    for record in ctx.country_frame("cases", iso3, cases_page).to_dict("records"):
        profile.cases.append(
            {
                **record,
                "year": None if pd.isna(record["year"]) else int(record["year"]),
                "branch_label": ctx.label("branch", record["branch"]),
                "level_label": ctx.label("level", record["level"]),
                "sector_label": ctx.label("sector", record["sector"]),
                "status_label": ctx.label("lifecycle_status", record["status"]),
            }
        )
    titles = {f.id: f.title(ctx.lang) for f in ctx.frameworks}
    for record in ctx.country_frame("high_risk", iso3, high_risk_page).to_dict("records"):
        profile.high_risk.append(
            {
                **record,
                "branch_label": ctx.label("branch", record["branch"]),
                "tier_label": str(TIER_LABELS.get(record["tier"], record["tier"])),
                "framework_title": titles.get(int(record["framework_id"]), record["framework"]),
            }
        )
    for record in ctx.country_frame("instruments", iso3).to_dict("records"):
        profile.instruments.append(
            {
                **record,
                "type_label": str(INSTRUMENT_TYPES.get(record["type"], record["type"])),
                "status_label": str(INSTRUMENT_STATUSES.get(record["status"], record["status"])),
            }
        )
    return profile


def chart_for(
    session: Session, page: str, key: str, filters: DashboardFilters, lang: str, iso3: str = ""
) -> tuple[Chart, DashboardPage]:
    """One chart (for its CSV or embeddable view) and a page shell with the resolved filters.

    Raises NotFound for an unknown page, chart or country.
    """
    if not PAGE_CHARTS.get(page):
        raise NotFound(page)
    if page == "compare":
        shell = compare_page(session, filters, lang)
        return shell.chart(key), shell
    ctx = Context(session, filters, lang)
    if page == "country":
        iso3 = _check_country(ctx, iso3)
    chart = _build_chart(ctx, page, key, iso3)
    shell = DashboardPage(
        name=page,
        filters=ctx.filters,
        lang=lang,
        version=ctx.version,
        framework=ctx.framework,
        options=_options(ctx),
        charts=[chart],
        country=CountryProfile(iso3=iso3, name=ctx.country(iso3)) if iso3 else None,
    )
    return chart, shell


def home_summary(session: Session, lang: str) -> tuple[queries.Headline, list[tuple[str, int]]]:
    """The home page's live counts: headline figures and published cases per branch (key, n),
    largest first. Cached by data version (the figures do not depend on the language)."""
    ctx = Context(session, DashboardFilters(), lang)

    def compute() -> dict:
        cube = ctx.cube
        institutions = ctx.institutions["institutions"]
        by_branch = agg.count_by(cube, ["branch"])
        return {
            "cases": int(cube["cases"].sum()) if not cube.empty else 0,
            "countries": int(cube["country"].nunique()) if not cube.empty else 0,
            "institutions": int(institutions.sum()) if not institutions.empty else 0,
            "by_branch": [
                [key, int(n)]
                for key, n in zip(by_branch["branch"], by_branch["cases"], strict=True)
            ],
        }

    summary = ctx._cached("home_summary", "", compute)
    headline = queries.Headline(
        cases=summary["cases"], countries=summary["countries"], institutions=summary["institutions"]
    )
    return headline, [(key, n) for key, n in summary["by_branch"]]
