"""Shared helpers of the open-data tests (API, OpenAPI, exports, dump, feeds, /data page)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.datastructures import MultiDict

from cases.models import Case, CaseTechnique, CaseVersion
from cases.search import CaseQuery, search_cases
from cases.services import build_search_text, record_data
from criteria.models import Assessment, FrameworkVersion
from criteria.schema import load_framework_file

UNESCO = Path(__file__).resolve().parents[2] / "criteria" / "frameworks" / "unesco-2021@1.0.yaml"
# A word that only non-public material carries: it must never come out of the publishing layer.
SECRET = "Zyzzyvasecret"
RESULTS_TITLE = re.compile(r'id="results-title">([\d,.\s\u00a0]+) cases?<')


def args(**params) -> MultiDict:
    """Request-like arguments; a list value repeats the parameter."""
    pairs = []
    for name, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((name, str(item)))
    return MultiDict(pairs)


def page_refs(session, per_page: int = 20, **params) -> list[str]:
    """The references of a /cases search, page after page as the page shows them."""
    query = CaseQuery.from_args(args(**params))
    refs: list[str] = []
    page = 1
    while True:
        result = search_cases(session, replace(query, page=page, per_page=per_page), lang="en")
        refs.extend(case.ref for case in result.items)
        if page >= result.pages:
            return refs
        page += 1


def page_total(client, query_string: str) -> int:
    """The total the /cases page shows for these parameters (in English)."""
    html = client.get(f"/cases?lang=en&{query_string}").get_data(as_text=True)
    match = RESULTS_TITLE.search(html)
    assert match, "no results title on /cases"
    return int(re.sub(r"\D", "", match.group(1)))


def add_case(
    session,
    *,
    ref: str,
    name: str,
    state: str = "published",
    techniques: tuple[str, ...] = ("nlp",),
    versions: list[dict] | None = None,
    **fields,
) -> Case:
    """A case written straight to the tables, with its techniques and versions.

    `versions` lists changes to the record per version (each dict may carry `published`);
    by default one version, published when the case is public.
    """
    now = datetime.now(UTC)
    case = Case(
        ref=ref,
        state=state,
        name=name,
        institution=fields.pop("institution", "Ministerio de Pruebas"),
        country=fields.pop("country", "URY"),
        level=fields.pop("level", "national"),
        branch=fields.pop("branch", "executive"),
        sector=fields.pop("sector", "justice"),
        purpose=fields.pop("purpose", "Ordena expedientes."),
        provenance=fields.pop("provenance", "submission"),
        published_at=fields.pop("published_at", now if state != "draft" else None),
        **fields,
    )
    case.search_text = build_search_text(case)
    session.add(case)
    session.flush()
    for technique in techniques:
        session.add(CaseTechnique(case_id=case.id, technique=technique))
    public = state in ("published", "update_proposed")
    base = record_data(case, techniques)
    for number, changes in enumerate(versions or [{"published": public}], start=1):
        changes = dict(changes)
        published = changes.pop("published", public)
        session.add(
            CaseVersion(
                case_id=case.id,
                number=number,
                data=base | changes,
                comment=f"version {number}",
                published=published,
            )
        )
    session.flush()
    return case


def add_framework(session, *, status: str = "published") -> FrameworkVersion:
    """The UNESCO framework version row, as the criteria loader stores it."""
    framework = load_framework_file(UNESCO)
    document = framework.model_dump(mode="json", exclude_unset=True)
    row = FrameworkVersion(
        key=framework.key,
        version=framework.version if status == "published" else framework.version + "-draft",
        status=status,
        method=framework.scoring.method,
        title=document["title"],
        document=document,
        content_hash=framework.content_hash,
    )
    session.add(row)
    session.flush()
    return row


def add_assessment(session, case: Case, framework: FrameworkVersion, *, status: str, **fields):
    """An assessment row of a case (published or still a draft)."""
    assessment = Assessment(
        case_id=case.id,
        framework_id=framework.id,
        status=status,
        n_reviewers=2,
        published_at=datetime.now(UTC) if status == "published" else None,
        **fields,
    )
    session.add(assessment)
    session.flush()
    return assessment


def hidden_material(session) -> dict[str, str]:
    """Cases and an assessment the public must never see, all carrying SECRET; returns the
    references of the non-public cases and of the public case with a pending update."""
    refs = {}
    for state in ("draft", "submitted", "returned", "resubmitted", "rejected", "withdrawn"):
        case = add_case(session, ref=f"URY-9{len(refs):03d}", name=f"{SECRET} {state}", state=state)
        refs[state] = case.ref
    pending = add_case(
        session,
        ref="URY-8000",
        name="Registro público de prueba",
        state="update_proposed",
        versions=[{"published": True}, {"published": False, "name": f"{SECRET} pending"}],
    )
    refs["update_proposed"] = pending.ref
    framework = add_framework(session)
    add_assessment(
        session, pending, framework, status="draft", method_note=f"{SECRET} draft assessment"
    )
    return refs
