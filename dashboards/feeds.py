"""Atom 1.0 feeds (RFC 4287) of newly published and updated cases. Pure: entries in, XML bytes
out, every text escaped by ElementTree and stripped of characters XML cannot hold."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # nosec B405 # writes XML, never parses any
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MIMETYPE = "application/atom+xml; charset=utf-8"
SUMMARY_LENGTH = 1000
# Characters outside XML 1.0's Char production (control characters, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """Text safe to put in an XML document (escaping is left to the serialiser)."""
    return _NOT_XML.sub("", "" if value is None else str(value))


def rfc3339(value: datetime) -> str:
    """A timestamp as Atom wants it, in UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Category:
    """An Atom category: a stable key (term), its label and the list it comes from (scheme)."""

    term: str
    label: str
    scheme: str


@dataclass(frozen=True)
class FeedEntry:
    """One case in a feed: its permalink is its id, so a published update is the same entry
    with a later `updated`."""

    id: str
    title: str
    link: str
    updated: datetime
    summary: str = ""
    published: datetime | None = None
    json_link: str = ""
    lang: str = ""
    categories: Sequence[Category] = field(default_factory=tuple)


@dataclass(frozen=True)
class Feed:
    """The feed itself: id and self link are its own address; `link` the matching page."""

    id: str
    title: str
    self_link: str
    link: str
    updated: datetime
    author: str
    rights: str
    subtitle: str = ""
    lang: str = "en"
    entries: Sequence[FeedEntry] = field(default_factory=tuple)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attributes.items() if v})
    if text is not None:
        element.text = xml_text(text)
    return element


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1].rstrip() + "…"


def atom_xml(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (UTF-8, with an XML declaration)."""
    root = ET.Element("feed", {"xmlns": ATOM_NS, XML_LANG: feed.lang})
    _add(root, "id", feed.id)
    _add(root, "title", feed.title)
    if feed.subtitle:
        _add(root, "subtitle", feed.subtitle)
    _add(root, "updated", rfc3339(feed.updated))
    _add(root, "link", rel="self", type="application/atom+xml", href=feed.self_link)
    _add(root, "link", rel="alternate", type="text/html", href=feed.link)
    author = _add(root, "author")
    _add(author, "name", feed.author)
    _add(root, "rights", feed.rights)
    _add(root, "generator", "LAC AI Observatory")
    for entry in feed.entries:
        element = _add(root, "entry", **({XML_LANG: entry.lang} if entry.lang else {}))
        _add(element, "id", entry.id)
        _add(element, "title", entry.title)
        _add(element, "updated", rfc3339(entry.updated))
        if entry.published is not None:
            _add(element, "published", rfc3339(entry.published))
        _add(element, "link", rel="alternate", type="text/html", href=entry.link)
        if entry.json_link:
            _add(element, "link", rel="alternate", type="application/json", href=entry.json_link)
        for category in entry.categories:
            _add(
                element,
                "category",
                term=category.term,
                label=category.label,
                scheme=category.scheme,
            )
        if entry.summary:
            _add(element, "summary", _summary(entry.summary), type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
