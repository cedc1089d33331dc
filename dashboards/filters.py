"""Dashboard filters: one frozen, hashable dataclass read quietly from the URL and written back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

from cases import vocabularies as vocab

YEAR_MIN, YEAR_MAX = 1950, 2100
MAX_COMPARE = 6
MIN_COMPARE = 2
_FRAMEWORK = re.compile(r"^[a-z0-9][a-z0-9._-]{0,59}@[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")
_ITEM_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")

# URL parameter -> (attribute, vocabulary) of the multi-valued case filters.
CASE_FILTERS: tuple[tuple[str, str, str], ...] = (
    ("sector", "sectors", "sector"),
    ("level", "levels", "level"),
    ("technique", "techniques", "technique"),
    ("status", "statuses", "lifecycle_status"),
)


def _getlist(args: Any, name: str) -> list[str]:
    """Every string value of a parameter in a MultiDict (or a plain mapping)."""
    if hasattr(args, "getlist"):
        values = args.getlist(name)
    else:
        value = args.get(name) if isinstance(args, Mapping) else None
        values = value if isinstance(value, list | tuple) else [value]
    return [value for value in values if isinstance(value, str)]


def _first(args: Any, name: str) -> str:
    values = _getlist(args, name)
    return values[0].strip() if values else ""


def _year(raw: str) -> int | None:
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if YEAR_MIN <= value <= YEAR_MAX else None


@dataclass(frozen=True)
class DashboardFilters:
    """Everything that selects what a dashboard shows; hashable, so it is part of cache keys.

    `framework` is a framework version as `key@version` ("" = the default one, resolved by the
    service), `criterion` an item key of that version for the map ("" = count cases), years
    bound `year_started` (inclusive), the tuples are OR-ed values of one case field, and
    `countries` are the 2-6 countries of the comparison page.
    """

    framework: str = ""
    criterion: str = ""
    year_from: int | None = None
    year_to: int | None = None
    sectors: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Any) -> DashboardFilters:
        """Read request arguments; anything malformed or unknown is dropped, never an error."""
        framework = _first(args, "framework")
        framework = framework if _FRAMEWORK.match(framework) else ""
        criterion = _first(args, "criterion")
        criterion = criterion if _ITEM_KEY.match(criterion) else ""
        year_from = _year(_first(args, "year_from"))
        year_to = _year(_first(args, "year_to"))
        if year_from is not None and year_to is not None and year_from > year_to:
            year_from, year_to = year_to, year_from
        values: dict[str, tuple[str, ...]] = {}
        for param, attr, vocabulary in CASE_FILTERS:
            keys = (vocab.normalise(vocabulary, raw) for raw in _getlist(args, param))
            values[attr] = tuple(sorted({key for key in keys if key}))
        countries: list[str] = []
        for raw in _getlist(args, "country"):
            code = raw.strip().upper()
            if vocab.is_known_country(code) and code not in countries:
                countries.append(code)
        return cls(
            framework=framework,
            criterion=criterion,
            year_from=year_from,
            year_to=year_to,
            countries=tuple(countries[:MAX_COMPARE]),
            **values,
        )

    def to_args(self) -> list[tuple[str, str]]:
        """URL parameters of this state, in a stable order (empty values left out)."""
        args: list[tuple[str, str]] = []
        if self.framework:
            args.append(("framework", self.framework))
        if self.criterion:
            args.append(("criterion", self.criterion))
        if self.year_from is not None:
            args.append(("year_from", str(self.year_from)))
        if self.year_to is not None:
            args.append(("year_to", str(self.year_to)))
        for param, attr, _vocabulary in CASE_FILTERS:
            args.extend((param, value) for value in getattr(self, attr))
        args.extend(("country", code) for code in self.countries)
        return args

    def url_args(self) -> dict[str, list[str]]:
        """`to_args()` as `url_for` keyword arguments (lists for repeated parameters)."""
        args: dict[str, list[str]] = {}
        for name, value in self.to_args():
            args.setdefault(name, []).append(value)
        return args

    def query_string(self) -> str:
        """`to_args()` as a URL query string (without `?`)."""
        return urlencode(self.to_args(), safe="@")

    def case_key(self) -> str:
        """Cache key of the filters that select cases (not framework, criterion or countries)."""
        return replace(self, framework="", criterion="", countries=()).query_string()

    @property
    def case_filtered(self) -> bool:
        """Whether any filter narrows the set of cases."""
        return bool(
            self.year_from is not None
            or self.year_to is not None
            or self.sectors
            or self.levels
            or self.techniques
            or self.statuses
        )

    def with_(self, **changes: Any) -> DashboardFilters:
        """A copy with some fields changed."""
        return replace(self, **changes)


FILTER_FIELDS = tuple(field.name for field in fields(DashboardFilters))
