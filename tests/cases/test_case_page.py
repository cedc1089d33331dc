"""The public case page: every field, escaping, JSON, citation, 404s, the stale flag, languages."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from cases import citation
from cases.models import Case, CaseTechnique, CaseVersion
from cases.services import PUBLIC_STATES, load_starter_library, record_data
from observatory.db import session_scope

FULL = {
    "name": "Sistema de Alerta Temprana Escolar",
    "acronym": "SATE",
    "institution": "Ministerio de Educación y Cultura",
    "country": "URY",
    "subnational_region": "Departamento de Rivera",
    "level": "national",
    "branch": "executive",
    "sector": "social_protection",
    "purpose": "Flags pupils at risk of leaving school so tutors can reach them early.",
    "techniques": ["predictive_model", "classification"],
    "decision_role": "recommends",
    "lifecycle_status": "pilot",
    "year_started": 2019,
    "year_ended": 2023,
    "developer_type": "vendor",
    "developer_name": "Analítica Austral S.A.",
    "data_used": "Attendance, grades and household survey records.",
    "personal_data": "yes",
    "sensitive_data": "no",
    "affected_groups": "Secondary-school pupils and their families.",
    "vulnerable_groups": ["children_and_youth", "people_in_poverty"],
    "human_oversight": "A tutor reviews every flag before contacting a family.",
    "appeal_mechanism": "Families may ask the school board to remove a flag.",
    "documentation_url": "https://example.gub.uy/sate/documentacion",
    "source_code_url": "https://git.example.org/sate",
    "impact_assessment_url": "https://example.gub.uy/sate/evaluacion-impacto",
    "legal_basis": "Ley 18.437 General de Educación, artículo 8.",
    "known_concerns": "Possible stigmatisation of flagged pupils.",
    "sources": [
        {
            "url": "https://example.gub.uy/noticias/sate",
            "title": "Anuncio oficial del SATE",
            "type": "official",
            "accessed": "2024-05-02",
        },
        {"url": "", "title": "Entrevista impresa, Diario Rivera, 2021", "type": "news"},
    ],
    "record_language": "es",
    "confidence": "high",
    "last_verified": None,
}


def add_case(app, *, ref: str = "URY-0001", state: str = "published", **changes) -> int:
    """Insert a case (all fields filled) with one published version; returns its id."""
    data = FULL | changes
    techniques = data.pop("techniques")
    public = state in PUBLIC_STATES
    with session_scope(app) as session:
        case = Case(
            ref=ref,
            state=state,
            provenance=data.pop("provenance", "submission"),
            published_at=data.pop("published_at", datetime.now(UTC) if public else None),
            **data,
        )
        session.add(case)
        session.flush()
        for technique in techniques:
            session.add(CaseTechnique(case_id=case.id, technique=technique))
        session.add(
            CaseVersion(
                case_id=case.id,
                number=1,
                data=record_data(case, techniques),
                comment="First version",
                published=public,
            )
        )
        session.commit()
        return case.id


def page(client, ref: str = "URY-0001", lang: str = "en") -> str:
    response = client.get(f"/cases/{ref}?lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_case_page_shows_every_field_with_labels(app, client):
    add_case(app, last_verified=date.today())
    text = html.unescape(page(client))
    for value in (
        "Sistema de Alerta Temprana Escolar (SATE)",
        "Ministerio de Educación y Cultura",
        "Uruguay",
        "Departamento de Rivera",
        "National",
        "Executive",
        "Social protection",
        FULL["purpose"],
        "Predictive model",
        "Classification",
        "Recommends",
        "Pilot",
        "2019",
        "2023",
        "Vendor",
        "Analítica Austral S.A.",
        FULL["data_used"],
        FULL["affected_groups"],
        "Children and youth",
        "People in poverty",
        FULL["human_oversight"],
        FULL["appeal_mechanism"],
        FULL["legal_basis"],
        FULL["known_concerns"],
        "Spanish",
        "High",
        "Submitted case",
        "Published",
    ):
        assert value in text, value
    for field_label in (
        "Institution",
        "Subnational region",
        "Government level",
        "Branch of government",
        "Role in decisions",
        "Uses personal data",
        "Uses sensitive data",
        "Vulnerable groups concerned",
        "Human oversight",
        "How to appeal",
        "Legal basis",
        "Language of the record",
        "Confidence",
        "Last verified",
    ):
        assert f"<dt>{field_label}</dt>" in text, field_label
    assert "<dt>Uses personal data</dt><dd>Yes</dd>" in text
    assert "<dt>Uses sensitive data</dt><dd>No</dd>" in text
    for url in (FULL["documentation_url"], FULL["source_code_url"], FULL["impact_assessment_url"]):
        assert f'<a href="{url}"' in text


def test_sources_are_links_with_type_and_access_date_and_bare_titles_stay_text(app, client):
    add_case(app)
    text = html.unescape(page(client))
    assert '<a href="https://example.gub.uy/noticias/sate" rel="noopener noreferrer">' in text
    assert "Anuncio oficial del SATE</a>" in text
    assert "Official" in text and "accessed May 2, 2024" in text
    assert "Entrevista impresa, Diario Rivera, 2021" in text
    assert not re.search(r"<a [^>]*>Entrevista impresa", text)
    assert 'href=""' not in text


def test_hostile_text_is_escaped_and_unsafe_urls_are_not_links(app, client):
    add_case(
        app,
        name="<script>alert(1)</script>",
        purpose='<img src=x onerror="alert(2)">',
        institution="Ministry & <b>Co</b>",
        documentation_url="javascript:alert(3)",
        sources=[{"url": "javascript:alert(4)", "title": "Bad link", "type": "other"}],
    )
    body = page(client)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body
    assert "<b>Co</b>" not in body
    assert 'href="javascript:' not in body
    assert "javascript:alert(3)" in body  # shown as text, not as a link
    data = client.get("/cases/URY-0001.json").get_json()
    assert data["name"] == "<script>alert(1)</script>"


def test_starter_cases_carry_the_starter_badge_and_submissions_do_not(app, client):
    with session_scope(app) as session:
        load_starter_library(session)
        ref = session.exec(select(Case.ref).order_by(Case.ref)).first()
    assert 'badge">Starter library</span>' in page(client, ref)
    add_case(app, ref="URY-0900")
    assert "Starter library</span>" not in page(client, "URY-0900")


def test_page_links_to_json_history_and_citation(app, client):
    add_case(app)
    body = page(client)
    assert 'href="/cases/URY-0001.json"' in body
    assert 'href="/cases/URY-0001/history"' in body
    assert 'id="cite"' in body and "<pre" in body and "@misc{observatory-ury-0001," in body


def test_refs_are_case_insensitive(app, client):
    add_case(app)
    assert client.get("/cases/ury-0001").status_code == 200


def test_json_endpoint_returns_the_public_record(app, client):
    add_case(app, last_verified=date(2025, 3, 1))
    response = client.get("/cases/URY-0001.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert data["ref"] == "URY-0001"
    assert data["name"] == FULL["name"]
    assert data["techniques"] == ["classification", "predictive_model"]
    assert data["vulnerable_groups"] == FULL["vulnerable_groups"]
    assert data["sources"] == FULL["sources"]
    assert data["version"] == 1
    assert data["last_verified"] == "2025-03-01"
    assert data["published_at"].startswith(str(date.today().year))
    assert data["url"] == "http://localhost/cases/URY-0001"
    assert data["history_url"] == "http://localhost/cases/URY-0001/history"
    assert "submitter_id" not in data and "source_key" not in data


def test_a_pending_update_is_never_shown(app, client):
    case_id = add_case(app, state="update_proposed")
    with session_scope(app) as session:
        pending = dict(FULL, name="Pending secret name", techniques=["nlp"])
        session.add(CaseVersion(case_id=case_id, number=2, data=pending, published=False))
        session.commit()
    assert "Pending secret name" not in page(client)
    assert client.get("/cases/URY-0001.json").get_json()["version"] == 1
    history = client.get("/cases/URY-0001/history").get_data(as_text=True)
    assert "Pending secret name" not in history and "Version 2" not in history


@pytest.mark.parametrize("state", ["draft", "submitted", "returned", "rejected", "withdrawn"])
def test_non_public_cases_are_not_found(app, client, state):
    add_case(app, state=state)
    for path in ("/cases/URY-0001", "/cases/URY-0001.json", "/cases/URY-0001/history"):
        assert client.get(path).status_code == 404, path


def test_unknown_case_is_not_found(client):
    assert client.get("/cases/XXX-9999").status_code == 404
    assert client.get("/cases/XXX-9999.json").status_code == 404


def test_stale_flag_follows_last_verified_and_the_setting(app, client):
    add_case(app, last_verified=date.today() - timedelta(days=400))
    add_case(app, ref="URY-0002", last_verified=date.today() - timedelta(days=10))
    assert "This case may be out of date." in page(client, "URY-0001")
    assert "This case may be out of date." not in page(client, "URY-0002")
    app.config["STALE_AFTER_DAYS"] = 5
    assert "This case may be out of date." in page(client, "URY-0002")


def test_stale_flag_falls_back_to_the_publication_date(app, client):
    old = datetime.now(UTC) - timedelta(days=500)
    add_case(app, last_verified=None, published_at=old)
    assert "This case may be out of date." in page(client)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("es", ["Institución", "Protección social", "Cite este caso", "Sugerir una corrección"]),
        ("pt", ["Instituição", "Proteção social", "Cite este caso", "Sugerir uma correção"]),
        ("en", ["Institution", "Social protection", "Cite this case", "Suggest a correction"]),
    ],
)
def test_case_page_renders_in_each_language(app, client, lang, expected):
    add_case(app)
    body = html.unescape(page(client, lang=lang))
    assert f'<html lang="{lang}">' in body
    for text in expected:
        assert text in body, (lang, text)


# --- citation (pure) ----------------------------------------------------------------------------


def _case(**changes) -> Case:
    data = {k: v for k, v in FULL.items() if k != "techniques"} | changes
    return Case(ref="URY-0001", published_at=datetime(2024, 6, 1, tzinfo=UTC), **data)


def test_cite_text_in_each_language():
    case = _case()
    url = "https://observatory.example/cases/URY-0001"
    english = citation.cite_text(case, url=url, accessed=date(2025, 1, 31), lang="en")
    assert english.startswith("Ministerio de Educación y Cultura (2024). ")
    assert "Sistema de Alerta Temprana Escolar (SATE)" in english
    assert "URY-0001" in english and url in english and "January 31, 2025" in english
    spanish = citation.cite_text(case, url=url, accessed=date(2025, 1, 31), lang="es")
    assert "Consultado el 31 de enero de 2025" in spanish
    assert "Observatorio de IA en el Gobierno" in spanish
    portuguese = citation.cite_text(case, url=url, accessed=date(2025, 1, 31), lang="pt-BR")
    assert "Acesso em: 31 de janeiro de 2025." in portuguese
    assert citation.cite_text(case, url=url, accessed=date(2025, 1, 31), lang="xx") == english


def test_cite_bibtex_fields_and_stable_key():
    entry = citation.cite_bibtex(
        _case(), url="https://observatory.example/cases/URY-0001", accessed=date(2025, 1, 31)
    )
    assert entry.startswith("@misc{observatory-ury-0001,\n")
    assert "  author = {{Ministerio de Educación y Cultura}},\n" in entry
    assert "  title = {{Sistema de Alerta Temprana Escolar (SATE)}},\n" in entry
    assert "  organization = {Ministerio de Educación y Cultura},\n" in entry
    assert "  year = {2024},\n" in entry
    assert "  url = {https://observatory.example/cases/URY-0001},\n" in entry
    assert "  urldate = {2025-01-31},\n" in entry
    assert "  note = {AI use case URY-0001. Accessed 2025-01-31}\n}" in entry
    assert citation.bibtex_key("URY-0001") == "observatory-ury-0001"


def test_cite_bibtex_escapes_specials():
    case = _case(name="R&D {Lab} 100% #1 $x_y^2~ \\o/", acronym="", institution="A & B")
    entry = citation.cite_bibtex(case, url="https://x.example/a b{c}", accessed=date(2025, 1, 1))
    assert r"title = {{R\&D \{Lab\} 100\% \#1 \$x\_y\^{}2\~{} \textbackslash{}o/}}" in entry
    assert r"author = {{A \& B}}" in entry
    assert "url = {https://x.example/a%20b%7Bc%7D}" in entry
    assert citation.bibtex_escape("}{") == r"\}\{"
