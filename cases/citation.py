"""How to cite a case: a formatted reference in the UI language and a BibTeX entry."""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import quote

from babel.dates import format_date

from cases.models import Case

# The observatory as the publisher of every case record, per citation language.
OBSERVATORY_NAME = {
    "en": "Observatory of AI in Government — Latin America and the Caribbean",
    "es": "Observatorio de IA en el Gobierno — América Latina y el Caribe",
    "pt": "Observatório de IA no Governo — América Latina e Caribe",
}
_TEXT_TEMPLATES = {
    "en": "{author} ({year}). {title} [AI use case {ref}]. In {observatory}. "
    "Retrieved {accessed}, from {url}",
    "es": "{author} ({year}). {title} [caso de uso de IA {ref}]. En {observatory}. "
    "Consultado el {accessed}, de {url}",
    "pt": "{author}. {title} [caso de uso de IA {ref}]. In: {observatory}, {year}. "
    "Disponível em: {url}. Acesso em: {accessed}.",
}
_LOCALES = {"en": "en", "es": "es", "pt": "pt_BR"}
_BIBTEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}
_BIBTEX_PATTERN = re.compile("|".join(re.escape(char) for char in _BIBTEX_SPECIALS))
# Characters a URL may keep as they are inside a BibTeX `url` field (read verbatim by
# biblatex); everything else (spaces, braces, backslashes, non-ASCII) is percent-encoded.
_URL_SAFE = "/:?#[]@!$&'()*+,;=%-._~"


def _language(lang: str) -> str:
    """The citation language for a locale tag ("pt-BR" -> "pt"); English if unsupported."""
    primary = re.split(r"[-_]", lang or "", maxsplit=1)[0].lower()
    return primary if primary in _TEXT_TEMPLATES else "en"


def citation_year(case: Case) -> int:
    """The year a case record is cited under: when it was published (else created)."""
    when = case.published_at or case.created_at
    return when.year if isinstance(when, datetime | date) else date.today().year


def case_title(case: Case) -> str:
    """The name of a case with its acronym, as cited."""
    return f"{case.name} ({case.acronym})" if case.acronym else case.name


def cite_text(case: Case, *, url: str, accessed: date, lang: str) -> str:
    """A plain-text reference to a case in `lang` (en, es or pt; others fall back to en).

    The institution is the author, the observatory the publisher, the year is the publication
    year, and `url` the case's permalink consulted on `accessed`. Pure: returns unescaped text.
    """
    language = _language(lang)
    return _TEXT_TEMPLATES[language].format(
        author=case.institution,
        year=citation_year(case),
        title=case_title(case),
        ref=case.ref,
        observatory=OBSERVATORY_NAME[language],
        accessed=format_date(accessed, "long", locale=_LOCALES[language]),
        url=url,
    )


def bibtex_escape(text: str) -> str:
    """Escape the BibTeX/LaTeX specials `{ } % & $ # _ ^ ~ \\` in one pass. Pure."""
    return _BIBTEX_PATTERN.sub(lambda match: _BIBTEX_SPECIALS[match.group(0)], text or "")


def bibtex_key(ref: str) -> str:
    """A stable BibTeX key derived from a case reference (`ARG-0001` -> `observatory-arg-0001`)."""
    return "observatory-" + (re.sub(r"[^a-z0-9]+", "-", ref.lower()).strip("-") or "case")


def cite_bibtex(case: Case, *, url: str, accessed: date) -> str:
    """A BibTeX `@misc` entry for a case: stable key from the ref, the institution as author and
    organization, title, year, url, access date and a note with the ref.

    Text fields are escaped with `bibtex_escape`; the URL is percent-encoded where BibTeX would
    choke (braces, backslashes, spaces). Pure.
    """
    institution = bibtex_escape(case.institution)
    fields = [
        ("author", "{" + institution + "}"),
        ("title", "{" + bibtex_escape(case_title(case)) + "}"),
        ("organization", institution),
        ("howpublished", bibtex_escape(OBSERVATORY_NAME["en"])),
        ("year", str(citation_year(case))),
        ("url", quote(url, safe=_URL_SAFE)),
        ("urldate", accessed.isoformat()),
        ("note", bibtex_escape(f"AI use case {case.ref}. Accessed {accessed.isoformat()}")),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{bibtex_key(case.ref)},\n{body}\n}}"
