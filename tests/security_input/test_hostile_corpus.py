"""A corpus of hostile strings pushed through every free-text field and read back everywhere.

One "world" is built through the services (so the text passes the real validation): a published
case whose every text field, source title and URL carries an attack string, a return reason and
a withdrawal reason, a correction and its public reply, two reviews with hostile justifications
and evidence, a published assessment with hostile recommendations, a declared conflict, a
regulatory instrument and accounts with hostile display names. Then every page, export, feed,
API answer and citation that shows any of it is fetched and checked: HTML has no script, event
handler or `javascript:` link that the attacker wrote; embedded JSON parses; spreadsheets
neutralise formulas and hold text, never formulas; Atom parses as XML; JSON round-trips.

The policy for control characters, decided here and applied by every form and service: NUL and
the other C0 control characters except tab, line feed and carriage return are removed from
free text on the way in (PostgreSQL cannot store NUL; XML and spreadsheets cannot hold the
others), everything else people typed is kept verbatim and escaped on the way out.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from html.parser import HTMLParser

import openpyxl
import pytest

from cases import corrections, workflow
from cases.models import Case
from criteria import services
from criteria.services import AnswerIn
from observatory.db import session_scope
from observatory.models import User
from tests.conftest import login, make_user, post
from tests.factories import valid_case_record

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

# --------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"\' onmouseover=alert(1) x="'
JSON_BREAK = "</script><script>alert(1)</script>"
TEMPLATE = "{{7*7}}T"
SEPARATORS = "\u2028\u2029"
RTL = "\u202e"
CONTROL = "\x00\x01\x07\x1b\x7f"
#: Every attack in one string; each field gets it behind its own marker and formula prefix.
BODY = f"{SCRIPT}{ATTRIBUTE_BREAK}{JSON_BREAK}{SEPARATORS}{TEMPLATE}{RTL}x"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t=", "\r=")
HOSTILE_STRINGS = [
    SCRIPT,
    ATTRIBUTE_BREAK,
    JSON_BREAK,
    "\u2028",
    "{{7*7}}",
    "x" * 100_000,
    "a\x00b\x01c\x1fd",
    "\u202eevil.exe",
    *(f"{prefix}1+1" for prefix in FORMULA_PREFIXES),
    '=HYPERLINK("http://evil.example","x")',
]


def hostile(tag: str, index: int = 0) -> str:
    """The attack string for one field: a formula prefix, a findable marker, the body, controls."""
    prefix = FORMULA_PREFIXES[index % len(FORMULA_PREFIXES)]
    return f"{prefix}H0STILE-{tag} {BODY}{CONTROL}"


def stored(value: str) -> str:
    """What the app keeps of a hostile string: C0 controls (but tab/LF/CR) gone, edges trimmed."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", value).strip()


# --------------------------------------------------------------------------------------------
# Checkers
# --------------------------------------------------------------------------------------------


class _Auditor(HTMLParser):
    """Collects what an attacker could have injected into a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._json_script: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name}={value!r} on <{tag}>")
            if name in {"href", "src", "action", "formaction"} and value:
                scheme = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                if scheme.startswith(("javascript:", "data:text", "vbscript:")):
                    self.problems.append(f"{name}={value[:60]!r} on <{tag}>")
            if name == "x":
                self.problems.append(f"attacker attribute x on <{tag}>")
        if tag == "script":
            if attributes.get("type") == "application/json":
                self._json_script = []
            elif not (attributes.get("src") or "").startswith("/"):
                self.problems.append(f"inline or foreign <script {attributes}>")

    def handle_data(self, data):
        if self._json_script is not None:
            self._json_script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._json_script is not None:
            text = "".join(self._json_script)
            self._json_script = None
            try:
                json.loads(text)
            except ValueError as error:
                self.problems.append(f"embedded JSON does not parse: {error}: {text[:80]!r}")


def assert_safe_html(html: str, where: str) -> None:
    """No attacker-written script, handler, attribute or link; embedded JSON intact."""
    auditor = _Auditor()
    auditor.feed(html)
    auditor.close()
    assert not auditor.problems, f"{where}: {auditor.problems[:5]}"
    assert SCRIPT not in html, f"{where}: raw <script> from user text"
    assert ATTRIBUTE_BREAK not in html, f"{where}: raw quotes from user text"
    assert "49T" not in html, f"{where}: template expression evaluated"
    assert "\x00" not in html and "\x07" not in html, f"{where}: control characters in the page"


def assert_neutralised(cells: list[str], where: str) -> None:
    """Every cell carrying hostile text starts with a quote, never a formula trigger."""
    hits = [cell for cell in cells if isinstance(cell, str) and "H0STILE-" in cell]
    assert hits, f"{where}: the hostile text is not in the export"
    for cell in hits:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), f"{where}: {cell[:30]!r}"


# --------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------

CASE_TEXT_FIELDS = [
    "name",
    "acronym",
    "institution",
    "subnational_region",
    "purpose",
    "developer_name",
    "data_used",
    "affected_groups",
    "human_oversight",
    "appeal_mechanism",
    "legal_basis",
    "known_concerns",
]


def hostile_record(tag: str = "") -> dict:
    record = valid_case_record(
        developer_type="vendor",
        documentation_url="javascript:alert(1)//http://x",
        sources=[
            {"url": 'https://example.gob.pe/a?q="><script>alert(1)</script>', "title": "t"},
            {"url": "", "title": hostile(f"{tag}source-title", 3), "type": "official"},
        ],
    )
    for index, name in enumerate(CASE_TEXT_FIELDS):
        limit = workflow.TEXT_LIMITS[name]
        record[name] = hostile(f"{tag}{name}", index)[:limit]
    return record


@pytest.fixture
def world(app):
    """Everything above, built through the services; returns ids and refs."""
    people = {
        "submitter": make_user(
            app, "submitter", name=hostile("submitter-name")[:200], country="PER"
        ).id,
        "editor": make_user(app, "editor", name=hostile("editor-name", 1)[:200]).id,
        "admin": make_user(app, "admin", name=hostile("admin-name", 2)[:200]).id,
        "r1": make_user(
            app, "reviewer", email="r1@example.org", name=hostile("r1-name", 3)[:200]
        ).id,
        "r2": make_user(app, "reviewer", email="r2@example.org", institution="Universidad B").id,
    }
    with session_scope(app) as session:

        def who(key: str) -> User:
            return session.get(User, people[key])

        services.sync_frameworks(session)
        record = hostile_record()
        # javascript: is refused as a documentation link; keep the rest of the record.
        with pytest.raises(workflow.CaseValidationError) as refused:
            workflow.create_case(session, actor=who("submitter"), raw=record)
        assert "bad-url" in refused.value.errors["documentation_url"]
        record["documentation_url"] = ""
        case = workflow.create_case(session, actor=who("submitter"), raw=record)
        ref = case.ref
        workflow.transition_case(session, actor=who("submitter"), ref=ref, action="submit")
        workflow.transition_case(
            session, actor=who("editor"), ref=ref, action="return", reason=hostile("return", 4)
        )
        workflow.transition_case(session, actor=who("submitter"), ref=ref, action="resubmit")
        workflow.transition_case(session, actor=who("editor"), ref=ref, action="publish")
        # A second published version so the history shows a diff of hostile text.
        data, version = workflow.working_data(session, session.get(Case, case.id))
        workflow.update_case(
            session,
            actor=who("editor"),
            ref=ref,
            raw=data | {"purpose": hostile("purpose-v2", 5)},
            base_version=version,
            comment=hostile("comment", 1),
        )
        workflow.transition_case(session, actor=who("editor"), ref=ref, action="publish")
        correction = corrections.suggest_correction(
            session,
            case_ref=ref,
            text=hostile("correction", 2),
            source_url="https://example.org/c",
            contact_email="c@example.org",
        )
        corrections.answer_correction(
            session,
            correction_id=correction.id,
            status="accepted",
            reply=hostile("reply", 3),
            actor=who("editor"),
        )
        fid = services.get_framework_version(session, "unesco-2021", "1.0").id
        fw = services.framework_of(services.get_framework_version(session, "unesco-2021", "1.0"))
        assignments = services.assign_reviewers(
            session,
            actor=who("editor"),
            case_id=case.id,
            framework_id=fid,
            reviewer_ids=[people["r1"], people["r2"]],
            due_date=date.today() + timedelta(days=7),
        )
        for assignment, reviewer in zip(assignments, ("r1", "r2"), strict=True):
            answers = {
                item.key: AnswerIn(
                    value=0,
                    justification=hostile(f"justification-{reviewer}", 4)[:1000],
                    evidence_url='https://example.org/e?"><script>alert(1)</script>',
                )
                for item in fw.items
            }
            services.submit_review(
                session, actor=who(reviewer), assignment_id=assignment.id, answers=answers
            )
        services.consolidate(
            session, actor=who("editor"), case_id=case.id, framework_id=fid, lang="en"
        )
        services.update_consolidation(
            session,
            actor=who("editor"),
            case_id=case.id,
            framework_id=fid,
            values={},
            recommendations=[hostile("recommendation", 5)[:2000]],
            method_note=hostile("method-note", 0)[:1000],
        )
        services.publish_assessment(session, actor=who("editor"), case_id=case.id, framework_id=fid)
        services.declare_conflict(
            session,
            actor=who("r2"),
            institution=hostile("conflict-institution", 1)[:300],
            note=hostile("conflict-note", 2)[:500],
        )
        services.create_instrument(
            session,
            actor=who("editor"),
            raw={
                "country": "PER",
                "title": hostile("instrument-title", 3)[:300],
                "title_en": hostile("instrument-title-en", 4)[:300],
                "type": "law",
                "status": "in_force",
                "issuing_body": hostile("issuing-body", 5)[:300],
                "relevance": hostile("relevance", 0)[:500],
                "url": "https://example.org/law",
            },
        )
        # A second case, returned and withdrawn, for "my cases" and the moderation pages.
        other = workflow.create_case(
            session,
            actor=who("submitter"),
            raw=hostile_record("b-")
            | {
                "documentation_url": "",
                "sources": [{"url": "https://example.org/b", "title": "b"}],
            },
        )
        workflow.transition_case(session, actor=who("submitter"), ref=other.ref, action="submit")
        workflow.transition_case(session, actor=who("editor"), ref=other.ref, action="publish")
        workflow.transition_case(
            session,
            actor=who("editor"),
            ref=other.ref,
            action="withdraw",
            reason=hostile("withdraw", 1),
        )
    return {"people": people, "ref": ref, "other": other.ref, "case_id": case.id}


# --------------------------------------------------------------------------------------------
# Reading it back
# --------------------------------------------------------------------------------------------

_LINK = re.compile(r'(?:href|src)="(/[^"#]*)')


def crawl(client, starts: list[str], *, limit: int = 50, per_path: int = 1) -> dict[str, str]:
    """GET every same-site page reachable from `starts` (a few query variants per path)."""
    pages: dict[str, str] = {}
    queue = list(starts)
    seen_per_path: dict[str, int] = {}
    while queue and len(pages) < limit:
        url = queue.pop(0).replace("&amp;", "&")
        path = url.split("?")[0]
        if url in pages or path.startswith(("/static/", "/dashboards/static/")):
            continue
        if seen_per_path.get(path, 0) >= per_path:
            continue
        seen_per_path[path] = seen_per_path.get(path, 0) + 1
        response = client.get(url)
        assert response.status_code < 500, f"{url}: {response.status_code}"
        if not response.mimetype.startswith("text/") and "json" not in response.mimetype:
            pages[url] = ""
            continue
        body = response.get_data(as_text=True)
        pages[url] = body
        if response.mimetype == "text/html":
            assert_safe_html(body, url)
            queue.extend(link for link in _LINK.findall(body) if link not in pages)
    return pages


def test_hostile_text_is_escaped_on_every_public_page(app, client, world):
    ref = world["ref"]
    pages = crawl(
        client,
        [
            f"/cases/{ref}?lang=en",
            f"/cases/{ref}/history",
            "/cases?q=H0STILE",
            "/cases?q=" + SCRIPT,
            "/dashboards/countries/PER",
            "/regulations",
            "/",
        ],
    )
    html = pages[f"/cases/{ref}?lang=en"]
    # The text is there, escaped (not dropped), and the javascript: URL never became a link.
    assert "H0STILE-name" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "H0STILE-source-title" in html and "H0STILE-recommendation" in html
    assert "H0STILE-justification" not in html or "r1-name" not in html  # blind reviewers
    assert "H0STILE-purpose-v2" in pages[f"/cases/{ref}/history"]
    assert "H0STILE-name" in pages["/cases?q=H0STILE"]
    assert "H0STILE-instrument-title" in pages["/dashboards/countries/PER"]
    assert len(pages) > 25


@pytest.mark.parametrize(
    "role, starts",
    [
        ("submitter", ["/cases/mine", "/notifications", "/account/"]),
        (
            "editor",
            [
                "/moderation",
                "/moderation/stale",
                "/corrections",
                "/assessments",
                "/regulations",
                "/notifications",
                "/cases/{ref}/assign",
                "/cases/{ref}/edit",
                "/cases/{other}/edit",
            ],
        ),
        ("r2", ["/reviews", "/reviews/conflicts", "/notifications"]),
        ("admin", ["/admin/users", "/admin/audit", "/imports/history"]),
    ],
)
def test_hostile_text_is_escaped_on_signed_in_pages(app, client, world, role, starts):
    email = {"r2": "r2@example.org"}.get(role, f"{role}@example.org")
    assert login(client, email).status_code == 302
    starts = [s.format(ref=world["ref"], other=world["other"]) for s in starts]
    pages = crawl(client, starts, limit=25)
    shown = "".join(pages.values())
    assert "H0STILE-" in shown, f"{role}: no hostile text on {list(pages)}"


def test_exports_neutralise_formulas_and_keep_text(app, client, world):
    rows = list(csv.reader(io.StringIO(client.get("/cases/export.csv").get_data(as_text=True))))
    assert_neutralised([cell for row in rows for cell in row], "export.csv")

    workbook = openpyxl.load_workbook(io.BytesIO(client.get("/cases/export.xlsx").data))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells), "a formula cell in the workbook"
    assert_neutralised([c.value for c in cells if isinstance(c.value, str)], "export.xlsx")

    exported = json.loads(client.get("/cases/export.json").data)
    names = {item["name"] for item in exported["items"]}
    assert stored(hostile("name")) in names  # JSON keeps the text exactly (minus controls)

    omb = client.get("/cases/export.csv?layout=omb")
    if omb.status_code == 200:
        omb_rows = list(csv.reader(io.StringIO(omb.get_data(as_text=True))))
        assert_neutralised([cell for row in omb_rows for cell in row], "omb layout")


def test_dashboard_csv_and_chart_json_stay_well_formed(app, client, world):
    html = client.get("/dashboards/countries/PER?lang=en").get_data(as_text=True)
    assert_safe_html(html, "country dashboard")
    for url in set(re.findall(r'href="(/dashboards/countries/PER/[^"]+\.csv)"', html)):
        rows = list(csv.reader(io.StringIO(client.get(url).get_data(as_text=True))))
        for cell in (cell for row in rows for cell in row if "H0STILE" in cell):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), url


def test_api_feeds_and_citation_are_well_formed(app, client, world):
    ref = world["ref"]
    record = client.get(f"/api/v1/cases/{ref}").get_json()
    flat = json.dumps(record, ensure_ascii=False)
    assert record["institution"] == stored(hostile("institution", 2))  # kept exactly
    assert "\x00" not in flat and "\x07" not in flat
    for url in (
        f"/api/v1/cases/{ref}/history",
        f"/api/v1/cases/{ref}/assessments",
        "/api/v1/cases?q=H0STILE",
        f"/cases/{ref}.json",
        "/data/dump.json",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        json.loads(response.data)
    for url in ("/feeds/cases.atom", "/feeds/countries/PER.atom"):
        body = client.get(url).data
        root = ET.fromstring(body)  # well-formed XML, or this raises
        text = "".join(root.itertext())
        assert "H0STILE-name" in text, url
    html = client.get(f"/cases/{ref}?lang=en").get_data(as_text=True)
    bibtex = re.search(r"@\w+\{[^<]*", html.replace("&#34;", '"'))
    assert bibtex, "no BibTeX on the case page"
    depth = 0
    for char in bibtex.group(0).replace("\\{", "").replace("\\}", ""):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, "BibTeX braces broken by user text"


FORM_CHOICES = {
    "level": "national",
    "branch": "judicial",
    "sector": "justice",
    "decision_role": "recommends",
    "lifecycle_status": "pilot",
    "developer_type": "in_house",
    "personal_data": "unknown",
    "sensitive_data": "unknown",
    "record_language": "es",
    "confidence": "medium",
}


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_every_hostile_string_survives_a_case_round_trip(app, client, login_as, text):
    """Through the real form: each string is stored (controls removed) or refused per field."""
    login_as("submitter", country="PER")
    fields = {"name": "Sistema " + text, "purpose": text, "sources-0-title": text, "comment": text}
    response = post(
        client,
        "/cases/new?lang=en",
        FORM_CHOICES
        | fields
        | {"institution": "Ministerio " + text[:200], "country": "PER", "save": "draft"},
    )
    body = response.get_data(as_text=True)
    if len(text) > 300:
        # Too long for the name (300), the purpose (5000), the source title (500): one clear
        # message per field, nothing saved.
        assert response.status_code == 400
        assert body.count("Field cannot be longer than") >= 3, body
        assert client.get("/cases/mine").get_data(as_text=True).count("/edit") == 0
        return
    assert response.status_code == 302, body[:2000]
    page = client.get(response.location + "?lang=en").get_data(as_text=True)
    assert_safe_html(page, "edit form")
    case = client.get(response.location.replace("/edit", ".json"))
    if case.status_code == 200:  # drafts are not public: read it from the form instead
        assert case.get_json()["name"] == stored("Sistema " + text)
