"""Mapping files: how the columns and values of a register become fields of our case record.

A mapping is YAML (see cases/importing/MAPPINGS.md). `load_mapping` checks it completely and
raises `MappingError` naming the mapping file and the key at fault; `apply_mapping` turns one
row of a register into a raw record for `cases.workflow.validate_record`, plus provenance
extras, and reports every value it cannot map instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pycountry
import yaml

from cases import vocabularies as vocab
from cases.importing.readers import (
    FILE_FORMATS,
    ReadError,
    cell_text,
    clean_text,
    fold_label,
    parse_date,
    parse_list,
)
from cases.services import RECORD_FIELDS
from cases.workflow import TEXT_LIMITS, URL_FIELDS, VOCABULARY_FIELDS, is_http_url

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
IDENTITY_REGISTER = "observatory"
SCHEMA_VERSION = 1
_REGISTER_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_MISSING = object()
# Keys of Case.provenance_detail the importer writes itself.
RESERVED_PROVENANCE = frozenset(
    {
        "register",
        "row",
        "file",
        "sha256",
        "imported_at",
        "first_imported_at",
        "by",
        "via",
        "original_id",
        "import_run",
        "fingerprint",
        "key",
    }
)

SINGLE_LINE_FIELDS = ("name", "acronym", "institution", "subnational_region", "developer_name")
LIST_FIELDS = {"techniques": "technique", "vulnerable_groups": "vulnerable_group"}
YEAR_FIELDS = ("year_started", "year_ended")
# Record fields a mapping may fill (sources has its own shape; last_verified is a date).
MAPPABLE_FIELDS = tuple(RECORD_FIELDS)
_TOP_KEYS = {
    "mapping",
    "register",
    "title",
    "description",
    "file",
    "detect",
    "optional",
    "key",
    "original_id",
    "defaults",
    "fields",
    "provenance",
}
_FILE_KEYS = {"format", "encoding", "sheet", "records", "date_order"}
_RULE_KEYS = {
    "column",
    "columns",
    "template",
    "separator",
    "values",
    "patterns",
    "otherwise",
    "default",
    "truncate",
    "split",
    "invalid",
}
_SOURCE_KEYS = {"url_column", "url", "title", "type"}


class MappingError(ValueError):
    """The mapping file is malformed; the message names the file and the key."""

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        super().__init__(f"{source}: {path}: {message}" if path else f"{source}: {message}")


@dataclass(frozen=True)
class Issue:
    """A problem with one row (or the file): `code` is stable, `message` is plain English."""

    code: str
    message: str
    severity: str = "error"  # error | warning
    field: str = ""
    column: str = ""
    value: str = ""

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
            "field": self.field,
            "column": self.column,
            "value": self.value,
        }


@dataclass(frozen=True)
class ValueMap:
    """Source value → target: exact (folded) values first, then regex patterns, then
    `otherwise` when given."""

    values: Mapping[str, Any]
    patterns: tuple[tuple[re.Pattern[str], Any], ...] = ()
    otherwise: Any = _MISSING

    def lookup(self, raw: Any) -> Any:
        """The target for `raw`, or _MISSING when nothing matches."""
        folded = fold_label(raw)
        if folded in self.values:
            return self.values[folded]
        text = clean_text(raw, single_line=True)
        for pattern, target in self.patterns:
            if pattern.search(text):
                return target
        return _MISSING


@dataclass(frozen=True)
class FieldRule:
    """How one field is filled from a row."""

    target: str
    path: str
    kind: str  # text | line | vocab | country | list | year | date | url | extra
    vocabulary: str | None = None
    columns: tuple[str, ...] = ()
    template: tuple[str, ...] = ()
    separator: str = "\n\n"
    value_map: ValueMap | None = None
    otherwise: Any = _MISSING
    default: Any = None
    truncate: bool = False
    split: tuple[str, ...] = (";", "|", "\n")
    invalid: str = "drop"

    def referenced_columns(self) -> set[str]:
        found = set(self.columns)
        for part in self.template:
            found.update(_PLACEHOLDER.findall(part))
        return found


@dataclass(frozen=True)
class SourceRule:
    """A source added to each case: a URL from a column (or a fixed one), a title template."""

    path: str
    url_column: str | None = None
    url: str = ""
    title: str = ""
    type: str = "official"

    def referenced_columns(self) -> set[str]:
        found = set(_PLACEHOLDER.findall(self.title))
        if self.url_column:
            found.add(self.url_column)
        return found


@dataclass(frozen=True)
class ImportMapping:
    """A checked mapping file."""

    source: str
    register: str
    title: str = ""
    file_format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    records: str | None = None
    date_order: str = "dmy"
    detect: tuple[str, ...] = ()
    optional: frozenset[str] = frozenset()
    key_candidates: tuple[tuple[str, ...], ...] = ()
    duplicates: str = "error"
    original_id: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    fields: Mapping[str, FieldRule] = field(default_factory=dict)
    sources: tuple[SourceRule, ...] = ()
    default_sources: tuple[dict, ...] = ()
    provenance: Mapping[str, FieldRule] = field(default_factory=dict)

    def source_columns(self) -> set[str]:
        """The columns the sources are made from."""
        found: set[str] = set()
        for source in self.sources:
            found |= source.referenced_columns()
        return found

    def referenced_columns(self) -> set[str]:
        """Every column the mapping reads (all must exist in the file)."""
        found: set[str] = set()
        for rule in (*self.fields.values(), *self.provenance.values()):
            found |= rule.referenced_columns()
        for source in self.sources:
            found |= source.referenced_columns()
        for candidate in self.key_candidates:
            found.update(candidate)
        if self.original_id:
            found.add(self.original_id)
        return found


@dataclass
class MappedRow:
    """A row turned into a raw record (for validate_record), provenance extras and issues."""

    raw: dict[str, Any]
    extras: dict[str, Any]
    original_id: str
    issues: list[Issue]


# --- loading ---------------------------------------------------------------------------------


def builtin_mappings() -> dict[str, Path]:
    """The shipped mappings by register key (file name without `.yaml`)."""
    return {path.stem: path for path in sorted(MAPPINGS_DIR.glob("*.yaml"))}


@lru_cache(maxsize=16)
def _load_builtin(path: Path, mtime: float) -> ImportMapping:
    return parse_mapping(path.read_text(encoding="utf-8"), source=path.name)


def builtin_mapping(register: str) -> ImportMapping:
    """The shipped mapping for a register key; KeyError when there is none."""
    path = builtin_mappings()[register]
    return _load_builtin(path, path.stat().st_mtime)


def load_mapping(path: str | Path) -> ImportMapping:
    """Read and check a mapping file; raise MappingError naming the file and the key."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise MappingError(path.name, "", f"cannot read the file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise MappingError(path.name, "", "the mapping file must be UTF-8") from None
    return parse_mapping(text, source=path.name)


def parse_mapping(text: str, *, source: str) -> ImportMapping:
    """Check the YAML text of a mapping; `source` names it in error messages."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", error)
        raise MappingError(source, where, f"not valid YAML ({problem})") from None
    return _Parser(source).mapping(document)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> MappingError:
        return MappingError(self.source, path, message)

    def mapping(self, doc: Any) -> ImportMapping:
        if not isinstance(doc, dict):
            raise self.fail("", "the top level must be a mapping of keys")
        unknown = set(doc) - _TOP_KEYS
        if unknown:
            raise self.fail(
                sorted(map(str, unknown))[0],
                f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})",
            )
        if doc.get("mapping") != SCHEMA_VERSION:
            raise self.fail("mapping", f"must be {SCHEMA_VERSION} (the version of this schema)")
        register = doc.get("register")
        if not isinstance(register, str) or not _REGISTER_PATTERN.fullmatch(register):
            raise self.fail(
                "register", "must be 2-40 lower-case letters, digits or dashes, e.g. us-omb-2025"
            )
        file_options = self.file_options(doc.get("file") or {})
        key_candidates, duplicates = self.key(doc.get("key"))
        defaults, default_sources = self.defaults(doc.get("defaults") or {})
        fields_doc = doc.get("fields")
        if not isinstance(fields_doc, dict) or not fields_doc:
            raise self.fail("fields", "must map record fields to columns")
        fields: dict[str, FieldRule] = {}
        sources: tuple[SourceRule, ...] = ()
        for name, spec in fields_doc.items():
            path = f"fields.{name}"
            if name == "sources":
                sources = self.sources(spec, path)
            elif name not in MAPPABLE_FIELDS:
                raise self.fail(path, f"unknown field (fields: {', '.join(MAPPABLE_FIELDS)})")
            else:
                fields[name] = self.rule(name, spec, path)
        provenance: dict[str, FieldRule] = {}
        for name, spec in (doc.get("provenance") or {}).items():
            if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
                raise self.fail(f"provenance.{name}", "names are lower_case_with_underscores")
            if name in RESERVED_PROVENANCE:
                raise self.fail(f"provenance.{name}", "this name is reserved")
            provenance[name] = self.rule(name, spec, f"provenance.{name}", extra=True)
        detect = self.columns_list(doc.get("detect") or [], "detect")
        optional = self.columns_list(doc.get("optional") or [], "optional")
        original_id = doc.get("original_id")
        if original_id is not None and not isinstance(original_id, str):
            raise self.fail("original_id", "must be a column name")
        title = doc.get("title") or ""
        if not isinstance(title, str):
            raise self.fail("title", "must be text")
        return ImportMapping(
            source=self.source,
            register=register,
            title=title,
            detect=tuple(detect),
            optional=frozenset(optional),
            key_candidates=key_candidates,
            duplicates=duplicates,
            original_id=original_id,
            defaults=defaults,
            fields=fields,
            sources=sources,
            default_sources=default_sources,
            provenance=provenance,
            **file_options,
        )

    def file_options(self, spec: Any) -> dict:
        if not isinstance(spec, dict):
            raise self.fail("file", "must be a mapping")
        unknown = set(spec) - _FILE_KEYS
        if unknown:
            raise self.fail(f"file.{sorted(unknown)[0]}", "unknown key")
        file_format = spec.get("format")
        if file_format is not None and file_format not in FILE_FORMATS:
            raise self.fail("file.format", f"must be one of {', '.join(FILE_FORMATS)}")
        encoding = spec.get("encoding")
        if encoding not in (None, "auto"):
            import codecs

            try:
                codecs.lookup(str(encoding))
            except LookupError:
                raise self.fail("file.encoding", f"unknown encoding {encoding!r}") from None
        date_order = spec.get("date_order", "dmy")
        if date_order not in ("dmy", "mdy"):
            raise self.fail("file.date_order", "must be dmy or mdy")
        return {
            "file_format": file_format,
            "encoding": None if encoding in (None, "auto") else str(encoding),
            "sheet": spec.get("sheet"),
            "records": spec.get("records"),
            "date_order": date_order,
        }

    def columns_list(self, value: Any, path: str) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(path, "must be a column name or a list of column names")
        return list(value)

    def key(self, spec: Any) -> tuple[tuple[tuple[str, ...], ...], str]:
        if spec is None:
            raise self.fail("key", "required: the columns that identify a record")
        if isinstance(spec, str | list):
            spec = {"columns": spec}
        if not isinstance(spec, dict) or set(spec) - {"columns", "duplicates"}:
            raise self.fail("key", "must have `columns` (and optionally `duplicates`)")
        raw = spec.get("columns")
        if isinstance(raw, str):
            raw = [[raw]]
        if not isinstance(raw, list) or not raw:
            raise self.fail("key.columns", "must list one or more candidate keys")
        if all(isinstance(item, str) for item in raw):
            raw = [raw]  # one candidate made of several columns
        candidates = tuple(
            tuple(self.columns_list(item, f"key.columns[{i}]")) for i, item in enumerate(raw)
        )
        duplicates = spec.get("duplicates", "error")
        if duplicates not in ("error", "number"):
            raise self.fail("key.duplicates", "must be `error` or `number`")
        return candidates, duplicates

    def defaults(self, spec: Any) -> tuple[dict, tuple[dict, ...]]:
        if not isinstance(spec, dict):
            raise self.fail("defaults", "must map fields to values")
        defaults: dict[str, Any] = {}
        sources: tuple[dict, ...] = ()
        for name, value in spec.items():
            path = f"defaults.{name}"
            if name == "sources":
                rules = self.sources(value, path, fixed=True)
                sources = tuple(
                    {"url": r.url, "title": r.title, "type": r.type, "accessed": None}
                    for r in rules
                )
                continue
            if name not in MAPPABLE_FIELDS:
                raise self.fail(path, "unknown field")
            defaults[name] = self.constant(name, value, path)
        return defaults, sources

    def constant(self, name: str, value: Any, path: str) -> Any:
        """Check a fixed value for a field (a default, a map target)."""
        if value is None:
            return None
        if name == "country":
            code = _country_code(value)
            if code is None:
                raise self.fail(path, f"{value!r} is not an ISO 3166-1 country")
            return code
        if name in VOCABULARY_FIELDS:
            return self.vocab_key(VOCABULARY_FIELDS[name], value, path)
        if name in LIST_FIELDS:
            items = value if isinstance(value, list) else [value]
            return [self.vocab_key(LIST_FIELDS[name], item, path) for item in items]
        if name in YEAR_FIELDS:
            if not isinstance(value, int) or isinstance(value, bool):
                raise self.fail(path, "must be a year")
            return value
        if name == "last_verified":
            if isinstance(value, date):
                return value
            raise self.fail(path, "must be a date (YYYY-MM-DD)")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(path, "must be text")
        return str(value)

    def vocab_key(self, vocabulary: str, value: Any, path: str) -> str:
        key = vocab.normalise(vocabulary, value if isinstance(value, str) else str(value))
        if key is None:
            raise self.fail(
                path,
                f"{value!r} is not a {vocabulary} key (keys: {', '.join(vocab.keys(vocabulary))})",
            )
        return key

    def rule(self, name: str, spec: Any, path: str, *, extra: bool = False) -> FieldRule:
        if isinstance(spec, str):
            spec = {"column": spec}
        if not isinstance(spec, dict):
            raise self.fail(path, "must be a column name or a mapping")
        unknown = set(spec) - _RULE_KEYS
        if unknown:
            raise self.fail(
                f"{path}.{sorted(unknown)[0]}",
                f"unknown key (allowed: {', '.join(sorted(_RULE_KEYS))})",
            )
        kind, vocabulary = _kind(name, extra)
        columns: list[str] = []
        if "column" in spec:
            columns = self.columns_list(spec["column"], f"{path}.column")
        if "columns" in spec:
            columns += self.columns_list(spec["columns"], f"{path}.columns")
        template = spec.get("template", ())
        if isinstance(template, str):
            template = (template,)
        if not isinstance(template, list | tuple) or not all(isinstance(t, str) for t in template):
            raise self.fail(f"{path}.template", "must be text or a list of texts")
        if columns and template:
            raise self.fail(path, "give either column(s) or a template, not both")
        if not columns and not template and "default" not in spec:
            raise self.fail(path, "needs a column, columns, a template or a default")
        if template and kind not in ("text", "line", "extra"):
            raise self.fail(f"{path}.template", "templates fill text fields only")
        target_name = None if extra else name
        value_map = None
        if "values" in spec or "patterns" in spec:
            if kind not in ("vocab", "country", "list", "extra"):
                raise self.fail(f"{path}.values", "value maps are for controlled fields")
            value_map = self.value_map(target_name, spec, path)
        otherwise = _MISSING
        if "otherwise" in spec:
            otherwise = self.target(target_name, spec["otherwise"], f"{path}.otherwise")
        default = None
        if "default" in spec:
            default = (
                spec["default"]
                if extra
                else self.constant(name, spec["default"], f"{path}.default")
            )
        split = spec.get("split", (";", "|", "\n"))
        if isinstance(split, str):
            split = (split,)
        if not isinstance(split, list | tuple) or not all(isinstance(s, str) and s for s in split):
            raise self.fail(f"{path}.split", "must be a separator or a list of separators")
        invalid = spec.get("invalid", "drop")
        if invalid not in ("drop", "error"):
            raise self.fail(f"{path}.invalid", "must be `drop` or `error`")
        truncate = spec.get("truncate", False)
        if not isinstance(truncate, bool):
            raise self.fail(f"{path}.truncate", "must be true or false")
        separator = spec.get("separator", "\n\n")
        if not isinstance(separator, str):
            raise self.fail(f"{path}.separator", "must be text")
        return FieldRule(
            target=name,
            path=path,
            kind=kind,
            vocabulary=vocabulary,
            columns=tuple(columns),
            template=tuple(template),
            separator=separator,
            value_map=value_map,
            otherwise=otherwise,
            default=default,
            truncate=truncate,
            split=tuple(split),
            invalid=invalid,
        )

    def target(self, name: str | None, value: Any, path: str) -> Any:
        """A value-map target: a vocabulary key (or null) for fields, any scalar for extras."""
        if name is None:
            if isinstance(value, list | dict):
                raise self.fail(path, "provenance values must be single values")
            return value
        if value is None:
            return None
        if name in LIST_FIELDS:
            items = value if isinstance(value, list) else [value]
            return tuple(self.vocab_key(LIST_FIELDS[name], item, path) for item in items)
        return self.constant(name, value, path)

    def value_map(self, name: str | None, spec: dict, path: str) -> ValueMap:
        values_doc = spec.get("values") or {}
        if not isinstance(values_doc, dict):
            raise self.fail(f"{path}.values", "must map source values to keys")
        values: dict[str, Any] = {}
        for raw, target in values_doc.items():
            if isinstance(raw, bool):
                raise self.fail(
                    f"{path}.values",
                    f'YAML read a key as {str(raw).lower()}: quote values such as "Yes", '
                    '"No", "On" and "Off"',
                )
            source_value = "" if raw is None else raw
            folded = fold_label(source_value)
            where = f"{path}.values[{source_value!r}]"
            checked = self.target(name, target, where)
            if folded in values and values[folded] != checked:
                raise self.fail(where, "the same value (ignoring case and dashes) maps twice")
            values[folded] = checked
        patterns: list[tuple[re.Pattern[str], Any]] = []
        patterns_doc = spec.get("patterns") or []
        if not isinstance(patterns_doc, list):
            raise self.fail(f"{path}.patterns", "must be a list of {match, value}")
        for index, item in enumerate(patterns_doc):
            where = f"{path}.patterns[{index}]"
            if not isinstance(item, dict) or set(item) != {"match", "value"}:
                raise self.fail(where, "must have exactly `match` (a regex) and `value`")
            try:
                pattern = re.compile(str(item["match"]), re.IGNORECASE)
            except re.error as error:
                raise self.fail(f"{where}.match", f"bad regular expression ({error})") from None
            patterns.append((pattern, self.target(name, item["value"], f"{where}.value")))
        return ValueMap(values=values, patterns=tuple(patterns))

    def sources(self, spec: Any, path: str, *, fixed: bool = False) -> tuple[SourceRule, ...]:
        if isinstance(spec, dict):
            spec = [spec]
        if not isinstance(spec, list) or not spec:
            raise self.fail(path, "must be a list of sources")
        rules = []
        for index, item in enumerate(spec):
            where = f"{path}[{index}]"
            if not isinstance(item, dict):
                raise self.fail(where, "must be a mapping with url or url_column, title, type")
            unknown = set(item) - _SOURCE_KEYS
            if unknown:
                raise self.fail(f"{where}.{sorted(unknown)[0]}", "unknown key")
            url_column = item.get("url_column")
            url = item.get("url") or ""
            if fixed and url_column:
                raise self.fail(f"{where}.url_column", "defaults take a fixed url")
            if bool(url_column) == bool(url):
                raise self.fail(where, "give either url (fixed) or url_column")
            if url and not is_http_url(str(url)):
                raise self.fail(f"{where}.url", f"{url!r} is not an http(s) URL")
            kind = item.get("type", "official")
            if not vocab.is_valid("source_type", kind):
                raise self.fail(
                    f"{where}.type", f"must be one of {', '.join(vocab.keys('source_type'))}"
                )
            title = item.get("title", "")
            if not isinstance(title, str):
                raise self.fail(f"{where}.title", "must be text")
            rules.append(
                SourceRule(path=where, url_column=url_column, url=str(url), title=title, type=kind)
            )
        return tuple(rules)


def _kind(name: str, extra: bool) -> tuple[str, str | None]:
    if extra:
        return "extra", None
    if name == "country":
        return "country", None
    if name in VOCABULARY_FIELDS:
        return "vocab", VOCABULARY_FIELDS[name]
    if name in LIST_FIELDS:
        return "list", LIST_FIELDS[name]
    if name in YEAR_FIELDS:
        return "year", None
    if name == "last_verified":
        return "date", None
    if name in URL_FIELDS:
        return "url", None
    if name in SINGLE_LINE_FIELDS:
        return "line", None
    return "text", None


def _country_code(value: Any) -> str | None:
    """ISO 3166-1 alpha-3 for a code (alpha-3 or alpha-2) or an exact English country name."""
    text = clean_text(value, single_line=True)
    if not text:
        return None
    if vocab.is_known_country(text):
        return text.upper()
    try:
        return pycountry.countries.lookup(text).alpha_3
    except LookupError:
        return None


def identity_mapping(columns: list[str]) -> ImportMapping:
    """The mapping for a file in our own format: columns named like the record fields.

    `techniques`, `vulnerable_groups` are list cells; `sources` holds one or more URLs; the key
    is the `id` column, else country + institution + name.
    """
    present = set(columns)
    fields: dict[str, FieldRule] = {}
    for name in MAPPABLE_FIELDS:
        if name in present and name != "sources":
            kind, vocabulary = _kind(name, False)
            fields[name] = FieldRule(
                target=name,
                path=f"fields.{name}",
                kind=kind,
                vocabulary=vocabulary,
                columns=(name,),
            )
    sources = ()
    if "sources" in present:
        sources = (SourceRule(path="fields.sources", url_column="sources", type="other"),)
    candidates = [c for c in (("id",), ("country", "institution", "name")) if set(c) <= present]
    return ImportMapping(
        source="(built-in observatory format)",
        register=IDENTITY_REGISTER,
        title="Observatory table",
        key_candidates=tuple(candidates) or (("name",),),
        original_id="id" if "id" in present else None,
        fields=fields,
        sources=sources,
    )


# --- applying --------------------------------------------------------------------------------


def render_template(parts: tuple[str, ...], values: Mapping[str, Any], separator: str) -> str:
    """Join the template parts whose columns are all non-empty, with `{column}` filled in."""
    rendered = []
    for part in parts:
        names = _PLACEHOLDER.findall(part)
        texts = {name: clean_text(values.get(name, "")) for name in names}
        if names and not all(texts.values()):
            continue
        rendered.append(_PLACEHOLDER.sub(lambda m, texts=texts: texts[m.group(1)], part))
    return separator.join(rendered)


class _RowMapper:
    def __init__(self, mapping: ImportMapping, values: Mapping[str, Any]) -> None:
        self.mapping = mapping
        self.values = values
        self.issues: list[Issue] = []

    def issue(
        self,
        code: str,
        message: str,
        rule: FieldRule | None = None,
        *,
        value: Any = "",
        severity: str = "error",
        column: str = "",
    ) -> None:
        self.issues.append(
            Issue(
                code=code,
                message=message,
                severity=severity,
                field=rule.target if rule else "",
                column=column or (", ".join(rule.columns) if rule else ""),
                value=cell_text(value)[:200],
            )
        )

    def cell(self, rule: FieldRule) -> tuple[Any, str]:
        """The first non-empty cell among the rule's columns (or its template), and the column."""
        if rule.template:
            return render_template(rule.template, self.values, rule.separator), ""
        for position, column in enumerate(rule.columns):
            value = self.values.get(column, "")
            if isinstance(value, list | tuple):
                present = bool(value)
            else:
                present = bool(cell_text(value).strip())
            if present:
                if position:
                    self.issue(
                        "fallback-column",
                        f"{rule.columns[0]} is empty: took {column} instead",
                        rule,
                        value=value,
                        severity="warning",
                        column=column,
                    )
                return value, column
        return "", rule.columns[0] if rule.columns else ""

    def controlled(self, rule: FieldRule, raw: Any, column: str) -> Any:
        """Map one controlled value: value map, then the vocabulary itself, else an issue."""
        if rule.value_map is not None:
            target = rule.value_map.lookup(raw)
            if target is not _MISSING:
                return target
        if rule.kind == "country":
            code = _country_code(raw)
            if code is not None:
                return code
        elif rule.vocabulary is not None:
            key = vocab.normalise(rule.vocabulary, clean_text(raw, single_line=True))
            if key is not None:
                return key
        if rule.otherwise is not _MISSING:
            return rule.otherwise
        what = "country" if rule.kind == "country" else (rule.vocabulary or "value")
        code = "unknown-country" if rule.kind == "country" else "unknown-value"
        self.issue(
            code,
            f"{column or rule.target}: {clean_text(raw, single_line=True)!r} is not a known "
            f"{what} (map it in {rule.path}.values of the mapping)",
            rule,
            value=raw,
            column=column,
        )
        return _MISSING

    def apply(self, rule: FieldRule) -> Any:
        """The value of one field, or _MISSING to leave it to defaults."""
        raw, column = self.cell(rule)
        empty = raw in ("", None) or (isinstance(raw, list | tuple) and not raw)
        if rule.kind in ("vocab", "country", "extra") and rule.value_map is not None and empty:
            # An explicit mapping of the empty value (e.g. "": unknown) counts as a value.
            target = rule.value_map.lookup("")
            if target is not _MISSING:
                return target
        if empty:
            if rule.default is not None:
                self.issue(
                    "default-used",
                    f"{column or rule.target} is empty: used the mapping's default "
                    f"{cell_text(rule.default)!r}",
                    rule,
                    severity="warning",
                    column=column,
                )
                return rule.default
            return _MISSING
        if rule.kind in ("vocab", "country"):
            return self.controlled(rule, raw, column)
        if rule.kind == "extra":
            if rule.value_map is None:
                return clean_text(raw) if not isinstance(raw, list | tuple) else list(raw)
            return self.controlled(rule, raw, column)
        if rule.kind == "list":
            return self.list_value(rule, raw, column)
        if rule.kind in ("year", "date"):
            return self.date_value(rule, raw, column)
        if rule.kind == "url":
            text = clean_text(raw, single_line=True)
            if is_http_url(text) and len(text) <= 1000:
                return text
            if rule.invalid == "error":
                self.issue(
                    "bad-url",
                    f"{column}: {text[:80]!r} is not a link",
                    rule,
                    value=raw,
                    column=column,
                )
                return _MISSING
            self.issue(
                "not-a-url",
                f"{column}: {text[:80]!r} is not a link; the field is left empty",
                rule,
                value=raw,
                severity="warning",
                column=column,
            )
            return _MISSING
        text = clean_text(raw, single_line=rule.kind == "line")
        limit = TEXT_LIMITS.get(rule.target)
        if rule.truncate and limit and len(text) > limit:
            self.issue(
                "truncated",
                f"{rule.target} was {len(text)} characters; cut to {limit}",
                rule,
                severity="warning",
                column=column,
            )
            text = text[: limit - 1].rstrip() + "…"
        return text

    def list_value(self, rule: FieldRule, raw: Any, column: str) -> Any:
        try:
            items = parse_list(raw, separators=rule.split)
        except ReadError as error:
            self.issue("bad-list", f"{column}: {error}", rule, value=raw, column=column)
            return _MISSING
        keys: list[str] = []
        failed = False
        for item in items:
            target = self.controlled(rule, item, column)
            if target is _MISSING:
                failed = True
                continue
            targets = target if isinstance(target, tuple | list) else (target,)
            for key in targets:
                if key is not None and key not in keys:
                    keys.append(key)
        if failed:
            return _MISSING
        if rule.target == "techniques" and len(keys) > 1 and "unknown" in keys:
            keys.remove("unknown")
        return keys

    def date_value(self, rule: FieldRule, raw: Any, column: str) -> Any:
        try:
            parsed = parse_date(raw, order=self.mapping.date_order)
        except ReadError as error:
            self.issue("bad-date", f"{column}: {error}", rule, value=raw, column=column)
            return _MISSING
        if parsed is None:
            return _MISSING
        return parsed.year if rule.kind == "year" else parsed

    def sources(self) -> list[dict]:
        found: list[dict] = []
        for rule in self.mapping.sources:
            title = clean_text(render_template((rule.title,), self.values, ""), single_line=True)
            urls = [rule.url] if rule.url else []
            if rule.url_column:
                try:
                    urls = parse_list(
                        self.values.get(rule.url_column, ""), separators=(";", "|", "\n", " ")
                    )
                except ReadError as error:
                    self.issue("bad-list", f"{rule.url_column}: {error}", column=rule.url_column)
                    continue
            for url in urls:
                if not is_http_url(url):
                    self.issues.append(
                        Issue(
                            "not-a-url",
                            f"{rule.url_column}: {url[:80]!r} is not a link; source left out",
                            "warning",
                            "sources",
                            rule.url_column or "",
                            url[:200],
                        )
                    )
                    continue
                found.append(
                    {"url": url, "title": title[:500], "type": rule.type, "accessed": None}
                )
        return found


class _Column:
    """What one rule made of each distinct combination of the cells it reads.

    Register files repeat their values heavily (a few countries, sectors, levels, the same
    institutions), so each combination is mapped once and its value and issues are given again
    to every later row with the same cells. A rule whose cells are nearly all different (names,
    descriptions, links) stops remembering after a trial, so it costs little there.
    """

    TRIAL = 2000  # rows before the share of repeats is judged
    MIN_REPEATS = 0.2

    def __init__(self, columns: set[str]) -> None:
        self.columns = tuple(sorted(columns))
        self.memo: dict[Any, tuple[Any, tuple[Issue, ...]]] | None = {}
        self.seen = self.repeats = 0

    def values(
        self,
        mapping: ImportMapping,
        rows: list[Mapping[str, Any]],
        issues: list[list[Issue]],
        compute: Callable[[_RowMapper], Any],
    ) -> list[Any]:
        """`compute` for each row (given a mapper of that row), its issues added to the row's."""
        found: list[Any] = []
        columns = self.columns
        single = columns[0] if len(columns) == 1 else None
        for values, row_issues in zip(rows, issues, strict=True):
            memo = self.memo
            key: Any = None
            hit = None
            if memo is not None:
                if single is not None:
                    cell = values.get(single, "")
                    # 1, 1.0 and True are equal in Python but not as cells: keep the type.
                    key = cell if type(cell) is str else (type(cell), cell)
                else:
                    cells = tuple(values.get(column, "") for column in columns)
                    key = (cells, tuple(map(type, cells)))
                try:
                    hit = memo.get(key)
                except TypeError:  # a list or object cell (JSON) cannot be a key
                    key = None
                self.seen += 1
                if hit is not None:
                    self.repeats += 1
                elif self.seen >= self.TRIAL and self.repeats < self.MIN_REPEATS * self.seen:
                    self.memo = memo = None
            if hit is None:
                mapper = _RowMapper(mapping, values)
                value = compute(mapper)
                hit = (value, tuple(mapper.issues))
                if memo is not None and key is not None:
                    memo[key] = (_fresh(value), hit[1])
                found.append(value)
            else:
                found.append(_fresh(hit[0]))
            if hit[1]:
                row_issues.extend(hit[1])
        return found


class MappingMemo:
    """The remembered values of every rule of one mapping, kept over the blocks of one file.

    Everything a rule computes depends only on the cells it reads and on the mapping, so a memo
    serves one mapping only.
    """

    def __init__(self, mapping: ImportMapping) -> None:
        self.mapping = mapping
        self.fields = {name: _Column(r.referenced_columns()) for name, r in mapping.fields.items()}
        self.sources = _Column(mapping.source_columns())
        self.provenance = {
            name: _Column(rule.referenced_columns()) for name, rule in mapping.provenance.items()
        }


def _fresh(value: Any) -> Any:
    """A copy of a remembered value that a row may own (lists, and the dicts of sources)."""
    if isinstance(value, list):
        return [dict(item) if isinstance(item, dict) else item for item in value]
    return value


def apply_mapping(mapping: ImportMapping, values: Mapping[str, Any]) -> MappedRow:
    """Turn one row into a raw record, provenance extras and issues (never raises for data)."""
    return map_rows(mapping, [values])[0]


def map_rows(
    mapping: ImportMapping, rows: list[Mapping[str, Any]], memo: MappingMemo | None = None
) -> list[MappedRow]:
    """`apply_mapping` for many rows, column by column: each rule maps each distinct
    combination of its cells once (remembered over calls that share the `memo`). Each row's
    issues come in the same order as from `apply_mapping`: fields, sources, provenance."""
    if memo is None:
        memo = MappingMemo(mapping)
    elif memo.mapping is not mapping:
        raise ValueError("the memo was made for another mapping")
    raws: list[dict[str, Any]] = [{} for _ in rows]
    issues: list[list[Issue]] = [[] for _ in rows]
    for name, rule in mapping.fields.items():
        column = memo.fields[name].values(
            mapping, rows, issues, lambda mapper, rule=rule: mapper.apply(rule)
        )
        for raw, value in zip(raws, column, strict=True):
            if value is not _MISSING and value is not None and value != "":
                raw[name] = value
    if mapping.defaults:
        for raw in raws:
            for name, value in mapping.defaults.items():
                if raw.get(name) in (None, "", []):
                    raw[name] = value
    column = memo.sources.values(mapping, rows, issues, lambda mapper: mapper.sources())
    for raw, sources in zip(raws, column, strict=True):
        seen = {source["url"] for source in sources}
        sources += [dict(s) for s in mapping.default_sources if s["url"] not in seen]
        if sources:
            raw["sources"] = sources
    extras: list[dict[str, Any]] = [{} for _ in rows]
    for name, rule in mapping.provenance.items():
        column = memo.provenance[name].values(
            mapping, rows, issues, lambda mapper, rule=rule: mapper.apply(rule)
        )
        for extra, value in zip(extras, column, strict=True):
            extra[name] = None if value is _MISSING else value
    mapped = []
    for values, raw, extra, row_issues in zip(rows, raws, extras, issues, strict=True):
        original_id = ""
        if mapping.original_id:
            original_id = clean_text(values.get(mapping.original_id, ""), single_line=True)
        mapped.append(MappedRow(raw=raw, extras=extra, original_id=original_id, issues=row_issues))
    return mapped
