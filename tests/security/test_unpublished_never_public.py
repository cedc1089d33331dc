"""Unpublished material never reaches the public.

The world (see `_world.py`) holds drafts, submitted, returned, resubmitted, rejected and
withdrawn cases, another institution's draft, a pending update of a public case, reviews in
progress, a consolidated but unpublished assessment, reviewer names (blind review), a private
contact e-mail and an archived instrument, each with a `zqx…` marker. Every public surface is
fetched as the anonymous visitor and as a submitter of another institution, and no marker may
appear: pages, search for each marker, case pages and history, feeds, dashboards with their
chart CSV and embeds, /data, the exports (XLSX decoded), the API, the dump command's output
and the error pages. Dashboard and API counts include public cases only.
"""

from __future__ import annotations

import io
import json
import re

import openpyxl
import pytest
from click.testing import CliRunner

from dashboards.services import PAGE_CHARTS
from observatory import cli
from tests.conftest import login
from tests.security._world import MARKERS, world_app

MARKER = re.compile(r"zqx[a-z]+")
VIEWERS = ("anonymous", "other_submitter")


@pytest.fixture(scope="module")
def world(database_template, tmp_path_factory):
    yield from world_app(database_template, tmp_path_factory.mktemp("unpublished"))


@pytest.fixture(scope="module")
def clients(world):
    app, _ = world
    other = app.test_client()
    assert login(other, "other@example.org").status_code == 302
    return {"anonymous": app.test_client(), "other_submitter": other}


def public_paths(world) -> list[str]:
    _app, w = world
    published, assessed = w.refs["published"], w.refs["assessed"]
    paths = [
        "/",
        "/cases",
        "/cases?sort=newest",
        "/cases?country=PER",
        "/cases?state=draft",
        "/cases?state=withdrawn",
        "/feeds/cases.atom",
        "/feeds/countries/PER.atom",
        "/feeds/countries/CHL.atom",
        "/data",
        "/data/crosswalk.csv",
        "/data/dump.json",
        "/api",
        "/api/v1/",
        "/api/v1/cases",
        "/api/v1/cases?country=PER&per_page=100",
        "/api/v1/stats?group_by=country",
        "/api/v1/stats?group_by=branch",
        "/api/v1/frameworks",
        "/api/v1/openapi.json",
        "/api/v1/vocabularies",
        "/frameworks",
        "/regulations",
        "/regulations?country=PER",
        "/dashboards",
        "/dashboards/compare",
        "/dashboards/branches",
        "/dashboards/criteria",
        "/dashboards/countries",
        "/dashboards/countries/PER",
        "/dashboards/countries/CHL",
    ]
    for _id, key, version in w.frameworks.values():
        paths += [f"/frameworks/{key}/{version}", f"/api/v1/frameworks/{key}/{version}"]
        paths += [f"/dashboards/criteria?framework={key}@{version}"]
    for ref in (published, assessed):
        paths += [
            f"/cases/{ref}",
            f"/cases/{ref}.json",
            f"/cases/{ref}/history",
            f"/cases/{ref}/corrections",
            f"/api/v1/cases/{ref}",
            f"/api/v1/cases/{ref}/assessments",
            f"/api/v1/cases/{ref}/history",
        ]
    for page, charts in PAGE_CHARTS.items():
        for chart, _build in charts:
            if page == "country":
                paths += [f"/dashboards/countries/PER/{chart}.csv"]
                paths += [f"/dashboards/embed/countries/PER/{chart}"]
            else:
                paths += [f"/dashboards/{page}/{chart}.csv", f"/dashboards/embed/{page}/{chart}"]
    for layout in ("", "&layout=omb-2025"):
        for fmt in ("csv", "json", "xlsx"):
            paths += [f"/cases/export.{fmt}?lang=en{layout}"]
    # Hidden things asked for directly: the error pages must not show them either.
    for key in ("draft", "submitted", "returned", "rejected", "withdrawn", "other_draft"):
        ref = w.refs[key]
        paths += [
            f"/cases/{ref}",
            f"/cases/{ref}.json",
            f"/cases/{ref}/history",
            f"/api/v1/cases/{ref}",
            f"/api/v1/cases/{ref}/assessments",
        ]
    paths += [f"/reviews/{w.assignments['draft_review']}"]
    return paths


def text_of(response) -> str:
    """The response as text; XLSX workbooks are decoded cell by cell."""
    if response.mimetype.endswith("spreadsheetml.sheet"):
        book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
        cells = [
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        ]
        book.close()
        assert cells, "an empty workbook"
        return "\n".join(cells)
    return response.get_data(as_text=True)


def leaks(text: str, allowed: str = "") -> set[str]:
    if allowed:
        text = text.replace(allowed, "")
    return set(MARKER.findall(text))


@pytest.mark.parametrize("viewer", VIEWERS)
def test_no_public_surface_shows_unpublished_material(world, clients, viewer):
    client = clients[viewer]
    found = {}
    for path in public_paths(world):
        response = client.get(path)
        assert response.status_code < 500, path
        if path.startswith("/cases/export") and ".xlsx" in path:
            assert response.status_code == 200, path
        markers = leaks(text_of(response))
        if markers:
            found[path] = sorted(markers)
    assert not found, f"unpublished material shown to {viewer}: {found}"


@pytest.mark.parametrize("viewer", VIEWERS)
def test_searching_for_a_marker_finds_nothing(world, clients, viewer):
    client = clients[viewer]
    found = {}
    for marker in MARKERS.values():
        for path in (f"/cases?q={marker}", f"/api/v1/cases?q={marker}"):
            response = client.get(path)
            assert response.status_code == 200, path
            # The query itself is echoed back (search box, links); nothing else may match.
            markers = leaks(response.get_data(as_text=True), allowed=marker)
            if markers:
                found[path] = sorted(markers)
        api = client.get(f"/api/v1/cases?q={marker}").get_json()
        assert api["total"] == 0 and not api["items"], marker
        for fmt in ("csv", "json"):
            body = client.get(f"/cases/export.{fmt}?q={marker}").get_data(as_text=True)
            if leaks(body, allowed=marker):
                found[f"export.{fmt}?q={marker}"] = sorted(leaks(body, allowed=marker))
    assert not found, f"search shows unpublished material to {viewer}: {found}"


def test_the_public_sees_the_published_version_of_a_case_with_a_pending_update(world, clients):
    _app, w = world
    record = clients["anonymous"].get(f"/api/v1/cases/{w.refs['published']}").get_json()
    assert record["name"] == "Sistema publico de triaje"


def test_counts_include_public_cases_only(world, clients):
    _app, w = world
    client = clients["anonymous"]
    listing = client.get("/api/v1/cases?per_page=100").get_json()
    refs = {item["ref"] for item in listing["items"]}
    assert refs == {w.refs["published"], w.refs["assessed"]}
    assert listing["total"] == 2
    stats = client.get("/api/v1/stats?group_by=country").get_json()
    assert json.dumps(stats).count("CHL") == 0, stats  # only a CHL draft exists
    total = stats.get("total")
    assert total == 2, stats
    csv_rows = client.get("/cases/export.csv").get_data(as_text=True).strip().splitlines()
    assert len(csv_rows) == 1 + 2
    region = client.get("/dashboards/region/status.csv").get_data(as_text=True)
    numbers = [int(n) for n in re.findall(r"(?<=,)\d+(?=\s*$)", region, flags=re.MULTILINE)]
    assert sum(numbers) == 2, region


def test_the_public_dump_command_holds_no_unpublished_material(world, tmp_path):
    app, _ = world
    output = tmp_path / "dump.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OBSERVATORY_ENV", "development")
        patch.setenv("OBSERVATORY_DATABASE_URL", app.config["DATABASE_URL"])
        patch.setenv("OBSERVATORY_INSTANCE_PATH", str(tmp_path))
        result = CliRunner().invoke(cli.main, ["dump", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert not leaks(output.read_text(encoding="utf-8") + result.output)
    assert json.loads(output.read_text(encoding="utf-8"))["counts"]["cases"] == 2


def test_a_submitter_of_another_institution_sees_only_their_own_work(world, clients):
    client = clients["other_submitter"]
    found = {}
    for path in ("/cases/mine", "/notifications", "/account/"):
        response = client.get(path)
        assert response.status_code == 200, path
        markers = leaks(response.get_data(as_text=True), allowed=MARKERS["other_draft"])
        if markers:
            found[path] = sorted(markers)
    assert not found, found


def test_reviews_stay_blind_between_reviewers(world):
    """Reviewer 1 (submitted) sees the others' submitted scores, never a name nor a draft."""
    app, w = world
    client = app.test_client()
    assert login(client, "zqxprivatemail.r1@example.org").status_code == 302
    hidden = {MARKERS["reviewer_two"], MARKERS["draft_review"]}
    for path in ("/reviews", f"/reviews/{w.assignments['in_progress']}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert not leaks(response.get_data(as_text=True)) & hidden, path
