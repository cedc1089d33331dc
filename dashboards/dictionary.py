"""The data dictionary of the published case record: every field, its type, allowed values and
meaning, shared by the /data page, the OpenAPI document and the exports. Pure (no database)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from babel.dates import format_date

from cases import vocabularies as vocab
from cases.citation import OBSERVATORY_NAME, bibtex_escape
from cases.models import Case
from cases.page_views import FIELD_LABELS, FIELD_VOCABULARIES, URL_FIELDS
from cases.services import RECORD_FIELDS
from observatory.i18n import _l

LICENCE_NAME = "CC BY 4.0"
LICENCE_ID = "CC-BY-4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
# Characters a URL keeps in a BibTeX `url` field (as in cases.citation).
URL_SAFE = "/:?#[]@!$&'()*+,;=%-._~"

# Field kinds: how a value is written (one JSON Schema per kind in the OpenAPI document).
TEXT, KEY, KEYS, COUNTRY, INTEGER, DATE, URL, SOURCES, DATETIME = (
    "text",
    "key",
    "keys",
    "country",
    "integer",
    "date",
    "url",
    "sources",
    "datetime",
)

KIND_LABELS = {
    TEXT: _l("Text"),
    KEY: _l("One key of a list"),
    KEYS: _l("List of keys"),
    COUNTRY: _l("Country code (ISO 3166-1 alpha-3)"),
    INTEGER: _l("Whole number"),
    DATE: _l("Date (YYYY-MM-DD)"),
    URL: _l("Web address (http or https)"),
    SOURCES: _l("List of sources (address, title, type, date accessed)"),
    DATETIME: _l("Date and time (ISO 8601, UTC)"),
}

DESCRIPTIONS = {
    "name": _l("Name of the system or project, as the institution calls it."),
    "acronym": _l("Short name or acronym of the system, if it has one."),
    "institution": _l("Public body that runs or commissioned the system."),
    "country": _l("Country of the institution."),
    "subnational_region": _l(
        "State, province, department or city, for subnational and municipal cases."
    ),
    "level": _l("Level of government of the institution."),
    "branch": _l("Branch of government of the institution, by the country's constitution."),
    "sector": _l("Policy area the system serves; each sector maps to a COFOG division."),
    "purpose": _l("What the system does and why, in plain words."),
    "techniques": _l("AI techniques the system uses (several may apply)."),
    "decision_role": _l(
        "How the output enters decisions about people: it informs a person, recommends, "
        "or decides automatically."
    ),
    "lifecycle_status": _l("Stage of the system: planned, pilot, in production or discontinued."),
    "year_started": _l("Year the system started (pilot or production)."),
    "year_ended": _l("Year the system was discontinued, if it was."),
    "developer_type": _l("Who built the system."),
    "developer_name": _l("Company, university or team that built the system."),
    "data_used": _l("Data the system uses or was trained on."),
    "personal_data": _l("Whether the system processes personal data."),
    "sensitive_data": _l(
        "Whether the system processes sensitive data (health, ethnicity, biometrics…)."
    ),
    "affected_groups": _l("People affected by the system's outputs."),
    "vulnerable_groups": _l(
        "Vulnerable groups named by UN General Assembly resolution 78/311 that the system concerns."
    ),
    "human_oversight": _l("How people supervise, check or override the system."),
    "appeal_mechanism": _l("How a person can contest a decision the system informed."),
    "documentation_url": _l("Public documentation of the system."),
    "source_code_url": _l("Published source code, if any."),
    "impact_assessment_url": _l("Published impact assessment, if any."),
    "legal_basis": _l("Law or regulation under which the system is used."),
    "known_concerns": _l("Concerns raised by oversight bodies, courts, researchers or the press."),
    "sources": _l("Public sources of the record, each with its address, title, type and date."),
    "record_language": _l("Language in which the record's free texts are written."),
    "confidence": _l("How well the sources support the record."),
    "last_verified": _l("Day an editor last checked the record against its sources."),
    # Published alongside the record.
    "ref": _l("Stable public reference: country code and number, e.g. BRA-0027."),
    "url": _l("Address of the case page."),
    "version": _l("Number of the published version of the record."),
    "published_at": _l("When the current version was published."),
    "provenance": _l("How the case entered the library."),
    "licence": _l("Licence of the record."),
}

EXTRA_LABELS = {
    "ref": _l("Reference"),
    "url": _l("Address"),
    "version": _l("Version"),
    "published_at": _l("Published"),
    "provenance": _l("Provenance"),
    "licence": _l("Licence"),
}

VOCABULARY_TITLES = {
    "branch": _l("Branch of government"),
    "level": _l("Government level"),
    "sector": _l("Sector"),
    "cofog": _l("COFOG division"),
    "technique": _l("AI technique"),
    "lifecycle_status": _l("Lifecycle status"),
    "decision_role": _l("Role in decisions"),
    "developer_type": _l("Developer"),
    "data_flag": _l("Yes, no or unknown"),
    "vulnerable_group": _l("Vulnerable group"),
    "source_type": _l("Type of source"),
    "confidence": _l("Confidence"),
    "provenance": _l("Provenance"),
    "record_language": _l("Language of the record"),
    "subregion": _l("Subregion"),
    "case_state": _l("Workflow state"),
    "country": _l("Country"),
}

# The public record = these fields, then the record fields (order of the exports' columns).
LEADING_FIELDS = ("ref", "url")
TRAILING_FIELDS = ("version", "published_at", "provenance", "licence")
EXPORT_COLUMNS: tuple[str, ...] = (*LEADING_FIELDS, *RECORD_FIELDS, *TRAILING_FIELDS)


@dataclass(frozen=True)
class FieldSpec:
    """One field of the published record."""

    name: str
    kind: str
    vocabulary: str | None = None  # a vocabulary name, or "country"
    max_length: int | None = None
    nullable: bool = False

    @property
    def label(self) -> str:
        """The field's label in the current language."""
        return str(FIELD_LABELS.get(self.name) or EXTRA_LABELS.get(self.name, self.name))

    @property
    def description(self) -> str:
        """What the field means, in the current language."""
        return str(DESCRIPTIONS.get(self.name, ""))

    @property
    def kind_label(self) -> str:
        """How values are written, in the current language."""
        return str(KIND_LABELS[self.kind])


def _column_length(name: str) -> int | None:
    column = Case.__table__.c.get(name)
    length = getattr(column.type, "length", None) if column is not None else None
    return length if isinstance(length, int) else None


def _record_spec(name: str) -> FieldSpec:
    """The spec of a record field, read from the table model and the vocabularies."""
    if name == "country":
        return FieldSpec(name, COUNTRY, "country")
    if name in ("techniques", "vulnerable_groups"):
        return FieldSpec(name, KEYS, FIELD_VOCABULARIES[name])
    if name in FIELD_VOCABULARIES:
        return FieldSpec(name, KEY, FIELD_VOCABULARIES[name])
    if name in ("year_started", "year_ended"):
        return FieldSpec(name, INTEGER, nullable=True)
    if name == "last_verified":
        return FieldSpec(name, DATE, nullable=True)
    if name == "sources":
        return FieldSpec(name, SOURCES)
    if name in URL_FIELDS:
        return FieldSpec(name, URL, max_length=_column_length(name))
    return FieldSpec(name, TEXT, max_length=_column_length(name))


RECORD_SPECS: tuple[FieldSpec, ...] = tuple(_record_spec(name) for name in RECORD_FIELDS)
EXTRA_SPECS: Mapping[str, FieldSpec] = {
    "ref": FieldSpec("ref", TEXT, max_length=16),
    "url": FieldSpec("url", URL),
    "version": FieldSpec("version", INTEGER, nullable=True),
    "published_at": FieldSpec("published_at", DATETIME, nullable=True),
    "provenance": FieldSpec("provenance", KEY, "provenance"),
    "licence": FieldSpec("licence", TEXT),
}
ALL_SPECS: Mapping[str, FieldSpec] = {
    **{spec.name: spec for spec in RECORD_SPECS},
    **EXTRA_SPECS,
}

# Vocabularies the record uses, in the order the /data page lists them (sector carries COFOG).
RECORD_VOCABULARIES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [spec.vocabulary for spec in ALL_SPECS.values() if spec.vocabulary not in (None, "country")]
        + ["source_type", "cofog", "subregion"]
    )
)


def vocabulary_entries(name: str) -> list[dict[str, str]]:
    """Every key of a vocabulary with its labels in es, pt and en (and COFOG for sectors)."""
    entries = []
    for key in vocab.keys(name):
        entry = {"key": key, **{lang: vocab.label(name, key, lang) for lang in vocab.LANGUAGES}}
        if name == "sector":
            entry["cofog"] = vocab.cofog_for_sector(key)
        entries.append(entry)
    return entries


def country_entries() -> list[dict[str, str | None]]:
    """The 33 LAC countries with their names in es, pt and en and their subregion."""
    return [
        {
            "key": code,
            **{lang: vocab.country_name(code, lang) for lang in vocab.LANGUAGES},
            "subregion": vocab.subregion_for_country(code),
        }
        for code in vocab.LAC_COUNTRIES
    ]


def all_vocabularies() -> dict[str, list[dict[str, Any]]]:
    """Every controlled list of the record (and the LAC countries), keyed by name."""
    lists: dict[str, list[dict[str, Any]]] = {
        name: vocabulary_entries(name) for name in vocab.VOCABULARY_NAMES
    }
    lists["country"] = country_entries()
    return lists


# --- how to cite the data set ----------------------------------------------------------------

_DATASET_TITLE = {
    "en": "Case library of government AI use cases in Latin America and the Caribbean",
    "es": "Biblioteca de casos de uso de IA en el gobierno de América Latina y el Caribe",
    "pt": "Biblioteca de casos de uso de IA no governo da América Latina e do Caribe",
}
_DATASET_TEMPLATES = {
    "en": "{observatory} ({year}). {title} [Data set]. {licence}. Retrieved {accessed}, from {url}",
    "es": "{observatory} ({year}). {title} [Conjunto de datos]. {licence}. "
    "Consultado el {accessed}, de {url}",
    "pt": "{observatory}. {title} [Conjunto de dados]. {licence}, {year}. "
    "Disponível em: {url}. Acesso em: {accessed}.",
}
_LOCALES = {"en": "en", "es": "es", "pt": "pt_BR"}


def cite_dataset(*, url: str, accessed: date, lang: str) -> str:
    """A plain-text reference to the whole data set in en, es or pt (others: en). Pure."""
    language = lang if lang in _DATASET_TEMPLATES else "en"
    return _DATASET_TEMPLATES[language].format(
        observatory=OBSERVATORY_NAME[language],
        year=accessed.year,
        title=_DATASET_TITLE[language],
        licence=LICENCE_NAME,
        accessed=format_date(accessed, "long", locale=_LOCALES[language]),
        url=url,
    )


def cite_dataset_bibtex(*, url: str, accessed: date) -> str:
    """A BibTeX `@misc` entry for the data set (the observatory as author). Pure."""
    name = bibtex_escape(OBSERVATORY_NAME["en"])
    fields = [
        ("author", "{" + name + "}"),
        ("title", "{" + bibtex_escape(_DATASET_TITLE["en"]) + "}"),
        ("year", str(accessed.year)),
        ("howpublished", "Data set"),
        ("url", quote(url, safe=URL_SAFE)),
        ("urldate", accessed.isoformat()),
        ("note", bibtex_escape(f"Licence {LICENCE_NAME}")),
    ]
    body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields)
    return f"@misc{{lac-ai-observatory-{accessed.year},\n{body}\n}}"
