"""Atom feeds of newly published and updated cases: valid Atom, per country, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from cases.services import load_starter_library
from dashboards import feeds
from observatory.db import bump_data_version, session_scope
from tests.dashboards._opendata import SECRET, add_case, hidden_material

NS = {"atom": feeds.ATOM_NS}
HOSTILE_NAME = "<script>alert(\"x\")</script> & Co \x0b]]> 'quoted'"


@pytest.fixture
def library(app):
    with session_scope(app) as session:
        load_starter_library(session)
    return app


def parse(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == f"{{{feeds.ATOM_NS}}}feed"
    return root


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path, NS)
    assert found is not None, path
    return found.text or ""


def assert_valid_atom(root: ET.Element) -> None:
    """RFC 4287's required elements: feed id, title, updated, author; each entry's id, title,
    updated and an alternate link; RFC 3339 timestamps; ids unique."""
    for path in ("atom:id", "atom:title", "atom:updated", "atom:author/atom:name"):
        assert _text(root, path), path
    assert root.find("atom:link[@rel='self']", NS) is not None
    ids = []
    for entry in root.findall("atom:entry", NS):
        ids.append(_text(entry, "atom:id"))
        assert _text(entry, "atom:title")
        datetime.strptime(_text(entry, "atom:updated"), "%Y-%m-%dT%H:%M:%SZ")
        link = entry.find("atom:link[@rel='alternate'][@type='text/html']", NS)
        assert link is not None and link.get("href")
    assert len(ids) == len(set(ids))
    datetime.strptime(_text(root, "atom:updated"), "%Y-%m-%dT%H:%M:%SZ")


def test_library_feed_is_valid_atom_newest_first(library, client):
    with session_scope(library) as session:
        add_case(
            session,
            ref="URY-0900",
            name="El caso más reciente",
            published_at=datetime.now(UTC) + timedelta(hours=1),
        )
        bump_data_version(session)
        session.commit()
    response = client.get("/feeds/cases.atom?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = parse(response.data)
    assert_valid_atom(root)
    entries = root.findall("atom:entry", NS)
    assert len(entries) == 50  # the newest fifty
    assert _text(entries[0], "atom:title").startswith("El caso más reciente")
    assert _text(entries[0], "atom:id").endswith("/cases/URY-0900")
    updated = [_text(entry, "atom:updated") for entry in entries]
    assert updated == sorted(updated, reverse=True)
    json_link = entries[0].find("atom:link[@type='application/json']", NS)
    assert json_link.get("href").endswith("/api/v1/cases/URY-0900")


def test_a_published_update_moves_the_case_up_with_the_same_id(library, client):
    later = datetime.now(UTC) + timedelta(days=1)
    with session_scope(library) as session:
        case = add_case(session, ref="BRA-0900", name="Versión uno", country="BRA")
        session.commit()
        first = parse(client.get("/feeds/countries/BRA.atom").data)
        assert _text(first.find("atom:entry", NS), "atom:id").endswith("/cases/BRA-0900")
        case.name, case.published_at = "Versión dos", later
        session.add(case)
        bump_data_version(session)
        session.commit()
    entry = parse(client.get("/feeds/countries/BRA.atom").data).find("atom:entry", NS)
    assert _text(entry, "atom:id").endswith("/cases/BRA-0900")
    assert _text(entry, "atom:title").startswith("Versión dos")
    assert _text(entry, "atom:updated") == feeds.rfc3339(later)


def test_country_feed_holds_only_that_country(library, client):
    root = parse(client.get("/feeds/countries/bra.atom?lang=pt").data)
    assert_valid_atom(root)
    entries = root.findall("atom:entry", NS)
    assert entries
    for entry in entries:
        terms = {c.get("term") for c in entry.findall("atom:category", NS)}
        assert "BRA" in terms and _text(entry, "atom:id").split("/")[-1].startswith("BRA-")
    assert "Brasil" in _text(root, "atom:title")
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "pt"


def test_country_without_cases_has_an_empty_valid_feed_and_unknown_code_is_404(client):
    root = parse(client.get("/feeds/countries/DMA.atom").data)
    assert_valid_atom(root)
    assert root.findall("atom:entry", NS) == []
    assert client.get("/feeds/countries/XYZ.atom").status_code == 404
    assert client.get("/feeds/countries/BRAZIL.atom").status_code == 404


def test_text_is_escaped_and_invalid_characters_dropped(app, client):
    with session_scope(app) as session:
        add_case(
            session,
            ref="URY-0901",
            name=HOSTILE_NAME,
            institution="Intendencia & <Cía>",
            purpose="Línea 1\x1f\x0c y <b>negrita</b>",  # (no NUL: PostgreSQL refuses it)
        )
        session.commit()
    data = client.get("/feeds/cases.atom").data
    assert b"<script>" not in data and b"<b>" not in data
    entry = parse(data).find("atom:entry", NS)
    title = _text(entry, "atom:title")
    assert title.startswith("<script>alert(\"x\")</script> & Co ]]> 'quoted'")
    assert "Intendencia & <Cía>" in title
    assert _text(entry, "atom:summary") == "Línea 1 y <b>negrita</b>"


def test_non_public_cases_are_never_in_a_feed(app, client):
    with session_scope(app) as session:
        hidden_material(session)
        session.commit()
    for path in ("/feeds/cases.atom", "/feeds/countries/URY.atom"):
        data = client.get(path).data
        assert SECRET.encode() not in data
        refs = [_text(e, "atom:id") for e in parse(data).findall("atom:entry", NS)]
        assert [ref.rsplit("/", 1)[1] for ref in refs] == ["URY-8000"]


def test_feed_etag_gives_304(library, client):
    etag = client.get("/feeds/cases.atom").headers["ETag"]
    assert client.get("/feeds/cases.atom", headers={"If-None-Match": etag}).status_code == 304


def test_atom_xml_is_pure():
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    feed = feeds.Feed(
        id="urn:x",
        title="T & <t>",
        self_link="https://x/feed",
        link="https://x/",
        updated=when,
        author="A",
        rights="CC BY 4.0",
        entries=[feeds.FeedEntry(id="urn:e", title="E", link="https://x/e", updated=when)],
    )
    root = parse(feeds.atom_xml(feed))
    assert _text(root, "atom:title") == "T & <t>"
    assert _text(root, "atom:entry/atom:updated") == "2024-05-01T12:00:00Z"
    assert feeds.rfc3339(datetime(2024, 5, 1, 12, 0)) == "2024-05-01T12:00:00Z"
