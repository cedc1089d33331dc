"""Parser for the starter library of real LAC cases shipped in cases/data/lac-cases.csv."""

import csv
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypedDict
from urllib.parse import urlsplit

from cases import vocabularies

STARTER_CSV_PATH: Final[Path] = Path(__file__).resolve().parent / "data" / "lac-cases.csv"

COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "name",
    "country_iso3",
    "country",
    "branch",
    "government_level",
    "institution",
    "sector",
    "purpose",
    "ai_technique",
    "status",
    "year_started",
    "developer",
    "affected_groups",
    "known_concerns",
    "source_urls",
    "confidence",
)
# Controlled columns and the vocabulary each one is checked against.
_CONTROLLED: Final[Mapping[str, str]] = {
    "branch": "branch",
    "government_level": "level",
    "sector": "sector",
    "status": "lifecycle_status",
    "confidence": "confidence",
}
_REQUIRED_TEXT: Final[tuple[str, ...]] = ("name", "institution", "purpose")
_NAMED_DEVELOPERS: Final[frozenset[str]] = frozenset({"vendor", "academic"})
_UNKNOWN_TECHNIQUE: Final = "unknown"
_ID_PATTERN: Final = re.compile(r"[A-Z]{2,}-\d+")
_YEAR_RANGE: Final = range(1950, 2101)
# Second-level labels that only governments register under a country-code TLD
# (gob.mx, gov.br, jus.br, leg.br, mp.br, gub.uy, go.cr, govt.lc, gouv.ht, ...).
_OFFICIAL_SECOND_LEVEL: Final = frozenset(
    {"gob", "gov", "govt", "gub", "go", "gouv", "jus", "leg", "mp", "def", "mil"}
)
_OFFICIAL_TOP_LEVEL: Final = frozenset({"gov", "mil"})


class StarterDataError(ValueError):
    """A row of the starter CSV holds a value that cannot be used as is."""

    def __init__(
        self, row_id: str | None, column: str, value: object, reason: str, line: int | None = None
    ) -> None:
        self.row_id = row_id
        self.column = column
        self.value = value
        self.reason = reason
        self.line = line
        where = f"row {row_id}" if row_id else "row without id"
        if line is not None:
            where += f" (line {line})"
        super().__init__(f"{where}, column {column!r}: {reason}: {value!r}")


class SourceRef(TypedDict):
    """One source of a case: a URL, or a citation title when the CSV gives no URL."""

    url: str
    title: str
    type: str
    accessed: str | None


@dataclass(frozen=True, slots=True)
class StarterCase:
    """One validated row of the starter CSV, with controlled values as vocabulary keys."""

    source_id: str
    name: str
    country: str
    branch: str
    level: str
    institution: str
    sector: str
    purpose: str
    techniques: tuple[str, ...]
    lifecycle_status: str
    year_started: int | None
    developer_type: str
    developer_name: str | None
    affected_groups: str
    known_concerns: str
    sources: tuple[SourceRef, ...] = field(hash=False)
    confidence: str


def source_type_for_url(url: str) -> str:
    """Return "official" if the URL's host is a government domain, else "other".

    Government domains are those under gob., gov., jus., leg. and similar second-level labels of
    a country-code TLD, or under the .gov and .mil TLDs. Nothing else is guessed from the name.
    """
    host = (urlsplit(url).hostname or "").rstrip(".")
    labels = host.split(".")
    if labels[-1] in _OFFICIAL_TOP_LEVEL:
        return "official"
    if len(labels) >= 2 and len(labels[-1]) == 2 and labels[-2] in _OFFICIAL_SECOND_LEVEL:
        return "official"
    return "other"


class _Row:
    """One CSV record being validated; every error names its id, column and value."""

    def __init__(self, record: Mapping[str | None, object], line: int) -> None:
        self.record = record
        self.line = line
        self.row_id: str | None = None

    def error(self, column: str, value: object, reason: str) -> StarterDataError:
        """Build the error for `column` of this row."""
        return StarterDataError(self.row_id, column, value, reason, self.line)

    def text(self, column: str, *, required: bool = False) -> str:
        """Return the trimmed text of `column`; raise if it is required and empty."""
        value = self.record.get(column)
        if not isinstance(value, str):
            raise self.error(column, value, "missing field (row shorter than the header)")
        value = value.strip()
        if required and not value:
            raise self.error(column, value, "empty required value")
        return value

    def controlled(self, column: str, vocabulary: str, raw: str | None = None) -> str:
        """Return the vocabulary key of `column` (or of `raw`); raise on an unknown value."""
        value = self.text(column, required=True) if raw is None else raw
        key = vocabularies.normalise(vocabulary, value)
        if key is None:
            raise self.error(column, value, f"unknown {vocabulary} value")
        return key


def _parse_id(row: _Row, seen: set[str]) -> str:
    """Return the row's id after checking its format and uniqueness."""
    row_id = row.text("id", required=True)
    if not _ID_PATTERN.fullmatch(row_id):
        raise row.error("id", row_id, "malformed id (expected e.g. LAC-001)")
    if row_id in seen:
        raise row.error("id", row_id, "duplicate id")
    seen.add(row_id)
    return row_id


def _parse_country(row: _Row) -> str:
    """Return the ISO 3166-1 alpha-3 code of the row (the `country` name column is ignored)."""
    value = row.text("country_iso3", required=True)
    if not vocabularies.is_known_country(value):
        raise row.error("country_iso3", value, "unknown ISO 3166-1 alpha-3 code")
    return value.upper()


def _parse_techniques(row: _Row) -> tuple[str, ...]:
    """Return the technique keys of the `+`-joined column, dropping `unknown` beside others."""
    value = row.text("ai_technique", required=True)
    found: list[str] = []
    for part in value.split("+"):
        if not part.strip():
            raise row.error("ai_technique", value, "empty technique in '+'-joined list")
        key = vocabularies.normalise("technique", part)
        if key is None:
            raise row.error("ai_technique", value, f"unknown technique {part.strip()!r} in")
        if key not in found:
            found.append(key)
    if len(found) > 1 and _UNKNOWN_TECHNIQUE in found:
        found.remove(_UNKNOWN_TECHNIQUE)
    return tuple(found)


def _parse_year(row: _Row) -> int | None:
    """Return the start year, or None when the cell is empty."""
    value = row.text("year_started")
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or int(value) not in _YEAR_RANGE:
        raise row.error("year_started", value, "not a year between 1950 and 2100")
    return int(value)


def _parse_developer(row: _Row) -> tuple[str, str | None]:
    """Split `type` or `type:name` into a developer-type key and an optional name."""
    value = row.text("developer", required=True)
    kind, colon, name = value.partition(":")
    developer_type = row.controlled("developer", "developer_type", kind)
    name = name.strip()
    if colon and developer_type not in _NAMED_DEVELOPERS:
        raise row.error(
            "developer", value, "a developer name is only expected for vendor or academic"
        )
    return developer_type, name or None


def _parse_sources(row: _Row) -> tuple[SourceRef, ...]:
    """Split the `; `-joined sources into URL references (or citation titles without a URL)."""
    value = row.text("source_urls", required=True)
    sources: list[SourceRef] = []
    seen: set[str] = set()
    for part in (piece.strip() for piece in value.split("; ")):
        if not part or part in seen:
            continue
        seen.add(part)
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", part) or part.casefold().startswith("www."):
            parts = urlsplit(part)
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or re.search(r"\s", part)
            ):
                raise row.error("source_urls", part, "malformed URL")
            sources.append(
                {"url": part, "title": "", "type": source_type_for_url(part), "accessed": None}
            )
        else:
            # A bare citation (e.g. a newspaper headline): kept as a title, never turned into a URL.
            sources.append({"url": "", "title": part, "type": "other", "accessed": None})
    if not sources:
        raise row.error("source_urls", value, "no source")
    return tuple(sources)


def _parse_row(row: _Row, seen: set[str]) -> StarterCase:
    """Validate one record and build its StarterCase."""
    row.row_id = _parse_id(row, seen)
    if None in row.record:
        raise row.error("(extra fields)", row.record[None], "more fields than the header")
    developer_type, developer_name = _parse_developer(row)
    return StarterCase(
        source_id=row.row_id,
        name=row.text("name", required=True),
        country=_parse_country(row),
        branch=row.controlled("branch", _CONTROLLED["branch"]),
        level=row.controlled("government_level", _CONTROLLED["government_level"]),
        institution=row.text("institution", required=True),
        sector=row.controlled("sector", _CONTROLLED["sector"]),
        purpose=row.text("purpose", required=True),
        techniques=_parse_techniques(row),
        lifecycle_status=row.controlled("status", _CONTROLLED["status"]),
        year_started=_parse_year(row),
        developer_type=developer_type,
        developer_name=developer_name,
        affected_groups=row.text("affected_groups"),
        known_concerns=row.text("known_concerns"),
        sources=_parse_sources(row),
        confidence=row.controlled("confidence", _CONTROLLED["confidence"]),
    )


def parse_starter_csv(path: str | os.PathLike[str] = STARTER_CSV_PATH) -> list[StarterCase]:
    """Read and validate the starter CSV at `path` (default: the shipped copy).

    Returns the cases in file order. Reads UTF-8 (a BOM is tolerated); touches nothing else.
    Raises StarterDataError, naming the row id, the column and the value, on a missing column, a
    malformed or duplicate id, an unknown country, vocabulary value or year, or a malformed URL.
    Controlled values are matched with `vocabularies.normalise` and never guessed.
    """
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for column in COLUMNS:
            if column not in header:
                raise StarterDataError(None, column, header, "missing column in header", 1)
        seen: set[str] = set()
        return [_parse_row(_Row(record, reader.line_num), seen) for record in reader]
