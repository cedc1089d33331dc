"""Controlled vocabularies of the case library: stable keys, translated labels and countries."""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import pycountry
import yaml
from babel import Locale, UnknownLocaleError

LANGUAGES: tuple[str, ...] = ("en", "es", "pt")
DEFAULT_LANGUAGE = "en"

# Fields an entry may carry besides its labels, per vocabulary.
_EXTRA_FIELDS: Mapping[str, frozenset[str]] = {"sector": frozenset({"cofog"})}
_COUNTRIES_SECTION = "lac_countries"
_OTHER_SUBREGION = "other"

Vocabulary = Mapping[str, Mapping[str, str]]


class VocabularyError(ValueError):
    """The vocabulary file is malformed (raised at import time, so a bad edit fails loudly)."""


@lru_cache(maxsize=4096)  # imports fold the same few values over and over
def _fold(text: str) -> str:
    """Fold text for tolerant matching: no accents, casefolded, one `_` between words."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    chars = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        if char.isspace() or char == "_" or unicodedata.category(char) == "Pd" or char == "\u2212":
            chars.append(" ")
        else:
            chars.append(char)
    return "_".join("".join(chars).casefold().split())


def _require_text(value: object, where: str) -> str:
    """Return value if it is a non-empty, trimmed string; raise VocabularyError otherwise."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise VocabularyError(f"{where}: expected a non-empty trimmed string, got {value!r}")
    return value


def _parse(data: Any) -> tuple[dict[str, Vocabulary], dict[str, str]]:
    """Check the loaded YAML and return (vocabularies, LAC country -> subregion)."""
    if not isinstance(data, dict):
        raise VocabularyError("vocabularies.yaml: top level must be a mapping")
    vocabularies: dict[str, Vocabulary] = {}
    for name, entries in data.items():
        _require_text(name, "vocabulary name")
        if name == _COUNTRIES_SECTION:
            continue
        if not isinstance(entries, dict) or not entries:
            raise VocabularyError(f"{name}: expected a non-empty mapping of keys to labels")
        allowed = set(LANGUAGES) | _EXTRA_FIELDS.get(name, frozenset())
        parsed: dict[str, Mapping[str, str]] = {}
        for key, entry in entries.items():
            _require_text(key, f"{name}: key")
            if not isinstance(entry, dict):
                raise VocabularyError(f"{name}.{key}: expected a mapping of labels")
            missing = set(LANGUAGES) | _EXTRA_FIELDS.get(name, frozenset())
            missing -= set(entry)
            unexpected = set(entry) - allowed
            if missing or unexpected:
                raise VocabularyError(
                    f"{name}.{key}: missing {sorted(missing)}, unexpected {sorted(unexpected)}"
                )
            parsed[key] = MappingProxyType(
                {
                    field: _require_text(value, f"{name}.{key}.{field}")
                    for field, value in entry.items()
                }
            )
        vocabularies[name] = MappingProxyType(parsed)

    for vocabulary in ("cofog", "sector", "subregion"):
        if vocabulary not in vocabularies:
            raise VocabularyError(f"vocabularies.yaml: missing vocabulary {vocabulary!r}")
    for sector, entry in vocabularies["sector"].items():
        if entry["cofog"] not in vocabularies["cofog"]:
            raise VocabularyError(f"sector.{sector}: unknown COFOG division {entry['cofog']!r}")

    countries = data.get(_COUNTRIES_SECTION)
    if not isinstance(countries, dict) or not countries:
        raise VocabularyError(f"vocabularies.yaml: missing {_COUNTRIES_SECTION}")
    for iso3, subregion in countries.items():
        if not isinstance(iso3, str) or pycountry.countries.get(alpha_3=iso3) is None:
            raise VocabularyError(f"{_COUNTRIES_SECTION}: unknown ISO 3166-1 alpha-3 {iso3!r}")
        if subregion not in vocabularies["subregion"]:
            raise VocabularyError(f"{_COUNTRIES_SECTION}.{iso3}: unknown subregion {subregion!r}")
    return vocabularies, dict(countries)


def _build_index(vocabularies: Mapping[str, Vocabulary]) -> dict[str, Mapping[str, str]]:
    """Map each folded key and label to its key, per vocabulary; refuse ambiguous forms."""
    index: dict[str, Mapping[str, str]] = {}
    for name, entries in vocabularies.items():
        forms: dict[str, str] = {}
        for key, entry in entries.items():
            for text in (key, *(entry[lang] for lang in LANGUAGES)):
                folded = _fold(text)
                if forms.setdefault(folded, key) != key:
                    raise VocabularyError(
                        f"{name}: {text!r} matches both {forms[folded]!r} and {key!r}"
                    )
        index[name] = MappingProxyType(forms)
    return index


_VOCABULARIES, _LAC_SUBREGIONS = _parse(
    yaml.safe_load((files(__package__) / "data" / "vocabularies.yaml").read_text(encoding="utf-8"))
)
_INDEX = _build_index(_VOCABULARIES)
_KEYS: Mapping[str, tuple[str, ...]] = {name: tuple(v) for name, v in _VOCABULARIES.items()}

VOCABULARY_NAMES: tuple[str, ...] = tuple(_VOCABULARIES)
LAC_COUNTRIES: tuple[str, ...] = tuple(sorted(_LAC_SUBREGIONS))


def _vocabulary(name: str) -> Vocabulary:
    """Return the entries of a vocabulary; raise KeyError for an unknown vocabulary name."""
    try:
        return _VOCABULARIES[name]
    except KeyError:
        raise KeyError(f"unknown vocabulary {name!r}") from None


def _language(lang: str | None) -> str:
    """Reduce a locale tag ("pt-BR", "es_MX") to a label language, English if unsupported."""
    primary = re.split(r"[-_]", (lang or "").strip(), maxsplit=1)[0].casefold()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def keys(name: str) -> tuple[str, ...]:
    """Return the keys of vocabulary `name` in file order; KeyError if the name is unknown."""
    _vocabulary(name)
    return _KEYS[name]


def label(name: str, key: str, lang: str) -> str:
    """Return the label of `key` in `lang`, falling back to English, then to the key itself.

    `lang` may be a locale tag such as "pt-BR". Raises KeyError for an unknown vocabulary name.
    """
    entry = _vocabulary(name).get(key)
    if entry is None:
        return key
    return entry[_language(lang)]


def choices(name: str, lang: str) -> list[tuple[str, str]]:
    """Return (key, label) pairs of vocabulary `name` in file order, labelled in `lang`."""
    return [(key, label(name, key, lang)) for key in keys(name)]


def is_valid(name: str, key: object) -> bool:
    """Tell whether `key` is exactly one of the keys of vocabulary `name` (no normalisation)."""
    return isinstance(key, str) and key in _vocabulary(name)


def normalise(name: str, raw: object) -> str | None:
    """Match messy input to a key of vocabulary `name`, or return None; never guesses.

    Leading and trailing spaces, case, accents, and the difference between spaces, hyphens,
    dashes and underscores are ignored. The input may be the key or a label in any language
    ("NLP" -> "nlp", "En producción" -> "in_production"). Anything else gives None.
    """
    forms = _INDEX.get(name)
    if forms is None:
        raise KeyError(f"unknown vocabulary {name!r}")
    if not isinstance(raw, str):
        return None
    return forms.get(_fold(raw))


def cofog_for_sector(key: str) -> str:
    """Return the COFOG division ("01"-"10") of a sector key; KeyError for an unknown sector."""
    entry = _VOCABULARIES["sector"].get(key)
    if entry is None:
        raise KeyError(f"unknown sector {key!r}")
    return entry["cofog"]


def _country(iso3: object) -> Any | None:
    """Return pycountry's record for an ISO 3166-1 alpha-3 code (any case), or None."""
    if not isinstance(iso3, str):
        return None
    code = iso3.strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        return None
    return pycountry.countries.get(alpha_3=code)


def is_known_country(iso3: object) -> bool:
    """Tell whether `iso3` is an ISO 3166-1 alpha-3 code (any country, not only LAC)."""
    return _country(iso3) is not None


def subregion_for_country(iso3: str) -> str | None:
    """Return the subregion key of a country: its LAC subregion, "other" for any other known
    country, None for a code that is not ISO 3166-1 alpha-3."""
    country = _country(iso3)
    if country is None:
        return None
    return _LAC_SUBREGIONS.get(country.alpha_3, _OTHER_SUBREGION)


@lru_cache(maxsize=64)
def _babel_locale(lang: str) -> Locale | None:
    """Return the Babel locale for a tag such as "es" or "pt-BR", or None if CLDR lacks it."""
    try:
        return Locale.parse(lang.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def country_name(iso3: str, lang: str) -> str:
    """Return the country's name in `lang` from CLDR (via Babel).

    Falls back to pycountry's English (common) name when CLDR has no name for the locale, and to
    the code itself when `iso3` is not an ISO 3166-1 alpha-3 code.
    """
    country = _country(iso3)
    if country is None:
        return iso3
    locale = _babel_locale(lang) if isinstance(lang, str) else None
    name = locale.territories.get(country.alpha_2) if locale is not None else None
    return name or getattr(country, "common_name", None) or country.name


def _sort_key(text: str) -> tuple[str, str]:
    """Sort key that ignores accents and case, then breaks ties on the exact text."""
    decomposed = unicodedata.normalize("NFKD", text)
    base = "".join(char for char in decomposed if not unicodedata.combining(char))
    return base.casefold(), text


def country_choices(lang: str, only: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Return (ISO3, localised name) pairs sorted by name, ignoring accents and case.

    `only` restricts the list (e.g. `LAC_COUNTRIES`); by default every ISO 3166-1 country is
    listed. Raises ValueError if `only` holds a code that is not ISO 3166-1 alpha-3.
    """
    if only is None:
        codes = [country.alpha_3 for country in pycountry.countries]
    else:
        codes = []
        for code in only:
            country = _country(code)
            if country is None:
                raise ValueError(f"unknown ISO 3166-1 alpha-3 code {code!r}")
            if country.alpha_3 not in codes:
                codes.append(country.alpha_3)
    pairs = [(code, country_name(code, lang)) for code in codes]
    return sorted(pairs, key=lambda pair: _sort_key(pair[1]))
