"""Dashboard services: cached frames under the data version, honest score statistics, and no
case-table query on a warm request."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event
from sqlmodel import select

from cases import workflow
from cases.models import Case
from cases.services import load_starter_library
from criteria.models import Assessment, AssessmentScore, FrameworkVersion
from dashboards import services
from dashboards.cache import DashboardCache, get_cache
from dashboards.filters import DashboardFilters
from observatory.db import bump_data_version, get_engine, session_scope
from observatory.models import User
from tests.conftest import make_user
from tests.dashboards._opendata import add_framework
from tests.factories import create_case

PROPORTIONALITY = "proportionality_do_no_harm"
TRANSPARENCY = "transparency_explainability"

# Country -> one dict of consolidated values per assessed case (its first published cases).
# Brazil and Argentina have enough assessments (>= 3); Chile does not.
SCORES = {
    "BRA": [
        {PROPORTIONALITY: 1, TRANSPARENCY: 2},
        {PROPORTIONALITY: 2, TRANSPARENCY: 2},
        {PROPORTIONALITY: 3, TRANSPARENCY: 2},
        {PROPORTIONALITY: 2, TRANSPARENCY: 2},
    ],
    "ARG": [
        {PROPORTIONALITY: 4, TRANSPARENCY: 0},
        {PROPORTIONALITY: 4, TRANSPARENCY: 1},
        {PROPORTIONALITY: 3, TRANSPARENCY: None},
    ],
    "CHL": [{PROPORTIONALITY: 0, TRANSPARENCY: 0}, {PROPORTIONALITY: 1, TRANSPARENCY: 1}],
}


def seed_assessments(app, scores: dict = SCORES, *, tier: str = "unassessed") -> int:
    """Load the starter library and publish assessments with the given consolidated values;
    returns the framework version id. The first case of each country gets `tier`."""
    with session_scope(app) as session:
        load_starter_library(session)
        framework = add_framework(session)
        for country, per_case in scores.items():
            cases = session.exec(
                select(Case).where(Case.country == country).order_by(Case.id).limit(len(per_case))
            ).all()
            for position, (case, values) in enumerate(zip(cases, per_case, strict=True)):
                assessment = Assessment(
                    case_id=case.id,
                    framework_id=framework.id,
                    status="published",
                    common_tier=tier if position == 0 else "unassessed",
                    n_reviewers=2,
                )
                session.add(assessment)
                session.flush()
                for item_key, value in values.items():
                    session.add(
                        AssessmentScore(
                            assessment_id=assessment.id,
                            item_key=item_key,
                            case_id=case.id,
                            framework_id=framework.id,
                            value_number=value,
                            special=None if value is not None else "insufficient_information",
                        )
                    )
        bump_data_version(session)
        session.commit()
        return framework.id


def table_dict(chart: services.Chart, key_column: int = 0) -> dict:
    return {row[key_column]: row for row in chart.table.rows}


@pytest.fixture
def ctx(app):
    """Call services inside a request context (they translate titles), in English."""

    def _run(function, *args, lang: str = "en", **kwargs):
        with app.test_request_context(f"/?lang={lang}"), session_scope(app) as session:
            return function(session, *args, **kwargs)

    return _run


def test_region_counts_the_starter_library(app, ctx):
    with session_scope(app) as session:
        load_starter_library(session)
    page = ctx(services.region_page, DashboardFilters(), "en")
    assert dict(page.headline)["published cases"] == 260
    assert dict(page.headline)["countries"] == 33
    rows = table_dict(page.chart("map"), key_column=1)
    assert rows["BRA"][2] == 56 and rows["DMA"][2] == 1
    assert len(rows) == 33
    branches = table_dict(page.chart("branches"))
    assert branches["Brazil"][-1] == 56
    assert sum(row[-1] for row in page.chart("branches").table.rows) == 260
    assert "n = 260" in page.chart("branches").title


def test_filters_narrow_every_chart(app, ctx):
    with session_scope(app) as session:
        load_starter_library(session)
    filters = DashboardFilters(sectors=("justice",))
    page = ctx(services.region_page, filters, "en")
    total = dict(page.headline)["published cases"]
    assert 0 < total < 260
    assert sum(row[-1] for row in page.chart("sectors").table.rows) == total
    assert [column.label for column in page.chart("sectors").table.columns][1:] == [
        "Justice",
        "Total",
    ]


def test_country_names_follow_the_language(app, ctx):
    with session_scope(app) as session:
        load_starter_library(session)
    for lang, name in (("en", "Brazil"), ("es", "Brasil"), ("pt", "Brasil")):
        page = ctx(services.region_page, DashboardFilters(), lang, lang=lang)
        assert name in table_dict(page.chart("branches"))
    page = ctx(services.region_page, DashboardFilters(), "es", lang="es")
    assert "República Dominicana" in table_dict(page.chart("branches"))


def test_scores_below_three_assessments_are_insufficient_data(app, ctx):
    seed_assessments(app)
    filters = DashboardFilters(countries=("BRA", "ARG", "CHL"))
    page = ctx(services.compare_page, filters, "en")
    rows = {(row[0], row[1]): row for row in page.chart("criteria").table.rows}
    label = "Proportionality and do no harm"
    assert rows[(label, "Brazil")][2:4] == (4, 2.0)
    assert rows[(label, "Argentina")][2:4] == (3, 3.67)
    assert rows[(label, "Chile")][2:] == (2, None, None, None)
    # Argentina has one special answer on transparency: 2 values, not a number.
    assert rows[("Transparency and explainability", "Argentina")][2:4] == (2, None)
    assert "insufficient data" in page.chart("criteria").table.to_csv()
    low, high = rows[(label, "Argentina")][4:6]
    assert low < 3.67 and high == 4.0  # the interval is clipped to the 0-4 scale


def test_map_by_criterion_uses_one_framework_version(app, ctx):
    framework_id = seed_assessments(app)
    filters = DashboardFilters(criterion=PROPORTIONALITY)
    page = ctx(services.region_page, filters, "en")
    assert page.filters.framework == "unesco-2021@1.0"
    rows = table_dict(page.chart("map"), key_column=1)
    assert rows["BRA"][2:4] == (4, 2.0)
    assert rows["CHL"][2:4] == (2, None)
    assert rows["MEX"][2:4] == (0, None)
    assert "n = 9 published assessments" in page.chart("map").title
    # Another version of the same framework is never mixed in.
    with session_scope(app) as session:
        other = FrameworkVersion(
            key="unesco-2021",
            version="2.0",
            status="published",
            method="weighted_mean",
            title={"en": "Other"},
            document={"items": []},
            content_hash="x",
        )
        session.add(other)
        session.flush()
        case_id = session.exec(select(Case.id).where(Case.country == "MEX")).first()
        assessment = Assessment(case_id=case_id, framework_id=other.id, status="published")
        session.add(assessment)
        session.flush()
        session.add(
            AssessmentScore(
                assessment_id=assessment.id,
                item_key=PROPORTIONALITY,
                case_id=case_id,
                framework_id=other.id,
                value_number=4,
            )
        )
        bump_data_version(session)
        session.commit()
    page = ctx(services.region_page, filters, "en")
    assert table_dict(page.chart("map"), key_column=1)["MEX"][2] == 0
    assert page.framework.id == framework_id


def test_unknown_framework_or_criterion_falls_back_quietly(app, ctx):
    seed_assessments(app)
    filters = DashboardFilters(framework="nope@9", criterion="not_an_item")
    page = ctx(services.region_page, filters, "en")
    assert page.filters.framework == "unesco-2021@1.0"
    assert page.filters.criterion == ""
    assert page.chart("map").table.columns[2].label == "Cases"


def test_country_report_against_the_regional_median(app, ctx):
    seed_assessments(app, tier="high")
    page = ctx(services.country_page, "bra", DashboardFilters(), "en")
    assert page.country.iso3 == "BRA" and page.country.name == "Brazil"
    assert len(page.country.cases) == 56
    assert len(page.country.high_risk) == 1
    rows = table_dict(page.chart("scores"))
    # Country means with n >= 3: BRA 2.0, ARG 3.67 -> regional median 2.83 over 2 countries.
    assert rows["Proportionality and do no harm"][1:3] == (4, 2.0)
    assert rows["Proportionality and do no harm"][5:] == (2.83, 2)
    # Transparency: only Brazil has enough (2.0), so the median is Brazil's own mean.
    assert rows["Transparency and explainability"][5:] == (2.0, 1)
    assert dict(page.headline)["published assessments"] == 4


def test_unknown_country_is_not_found(app, ctx):
    from observatory.security import NotFound

    with pytest.raises(NotFound):
        ctx(services.country_page, "XXX", DashboardFilters(), "en")
    with pytest.raises(NotFound):
        ctx(services.country_page, "FRA", DashboardFilters(), "en")
    page = ctx(services.country_page, "DMA", DashboardFilters(), "en")
    assert page.country.cases == []


def test_branches_and_criteria_pages(app, ctx):
    seed_assessments(app, tier="high")
    branches = ctx(services.branches_page, DashboardFilters(), "en")
    tiers = table_dict(branches.chart("tiers"))
    assert sum(row[-1] for row in tiers.values()) == 9
    assert sum(row[3] for row in tiers.values()) == 3  # "High risk": one per country
    criteria = ctx(services.criteria_page, DashboardFilters(), "en")
    weakest = criteria.chart("weakest").table.rows
    # Transparency (mean 1.25 over 8 values) is weaker than proportionality (2.22 over 9).
    assert weakest[0][1] == "Transparency and explainability"
    assert weakest[0][2:4] == (8, 1.25)
    assert weakest[1][1] == "Proportionality and do no harm"
    assert weakest[1][2:4] == (9, 2.22)
    assert all(row[3] is None for row in weakest[2:])  # no data for the other eight
    distribution = table_dict(criteria.chart("distribution"))
    assert distribution["Proportionality and do no harm"][1:] == (1, 2, 2, 2, 2, 9)


def test_counts_change_on_the_next_request_after_publication(app, client):
    def count() -> int:
        html = client.get("/dashboards?lang=en").get_data(as_text=True)
        return int(
            re.search(r'<span class="stat">([\d,]+)</span>published cases', html)
            .group(1)
            .replace(",", "")
        )

    assert count() == 0
    with session_scope(app) as session:
        load_starter_library(session)
    assert count() == 260
    assert count() == 260  # warm
    submitter = make_user(app, "submitter", institution="Poder Judicial", country="PER")
    editor = make_user(app, "editor")
    with session_scope(app) as session:
        case = create_case(
            session,
            submitter=session.get(User, submitter.id),
            state="submitted",
            name="Sistema de triaje de expedientes",
        )
        assert count() == 260  # submitted, not yet public
        workflow.transition_case(
            session, actor=session.get(User, editor.id), ref=case.ref, action="publish"
        )
    assert count() == 261
    html = client.get("/dashboards/countries/PER?lang=en").get_data(as_text=True)
    assert "Sistema de triaje de expedientes" in html


def test_a_warm_dashboard_does_not_touch_the_case_tables(app, client):
    seed_assessments(app, tier="high")
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = get_engine(app)
    urls = [
        "/dashboards?lang=en&criterion=" + PROPORTIONALITY,
        "/dashboards/compare?lang=en&country=BRA&country=ARG",
        "/dashboards/branches?lang=es",
        "/dashboards/criteria?lang=pt",
        "/dashboards/countries/BRA?lang=en",
        "/dashboards/region/map.csv?lang=en",
        "/dashboards/embed/countries/BRA/scores?lang=en",
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url  # cold: fills the cache
    event.listen(engine, "before_cursor_execute", record)
    try:
        for url in urls:
            statements.clear()
            assert client.get(url).status_code == 200, url
            touching = [s for s in statements if re.search(r"\b(ai_case\w*|assessment\w*)\b", s)]
            assert touching == [], (url, touching)
            assert len(statements) <= 2, (url, statements)  # the data version (and nothing else)
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_cached_frames_are_keyed_by_the_data_version(app, ctx):
    with session_scope(app) as session:
        load_starter_library(session)
    cache = get_cache(app)
    ctx(services.region_page, DashboardFilters(), "en")
    misses = cache.misses
    ctx(services.region_page, DashboardFilters(), "en")
    assert cache.misses == misses  # everything came from the cache
    with session_scope(app) as session:
        bump_data_version(session)
        session.commit()
    ctx(services.region_page, DashboardFilters(), "en")
    assert cache.misses > misses


# --- the cache itself ------------------------------------------------------------------------


def test_memory_cache_is_bounded_and_keyed_by_version():
    cache = DashboardCache(max_entries=2)
    calls = []

    def compute(value):
        return lambda: calls.append(value) or value

    assert cache.get_or_compute(1, "a", "", compute(1)) == 1
    assert cache.get_or_compute(1, "a", "", compute(99)) == 1
    assert cache.get_or_compute(2, "a", "", compute(2)) == 2
    assert cache.get_or_compute(2, "b", "x", compute(3)) == 3
    assert cache.get_or_compute(1, "a", "", compute(4)) == 4  # evicted (least recently used)
    assert calls == [1, 2, 3, 4]
    assert cache.backend == "memory"


def test_frames_survive_the_json_round_trip():
    import pandas as pd

    from dashboards.cache import decode, encode

    frame = pd.DataFrame(
        {
            "country": ["BRA", "ARG"],
            "year": pd.array([2020, None], dtype="Int64"),
            "cases": [3, 4],
            "mean": [1.5, float("nan")],
        }
    )
    back = decode(encode(frame))
    pd.testing.assert_frame_equal(back, frame)
    empty = decode(encode(frame.iloc[0:0]))
    assert list(empty.columns) == list(frame.columns) and empty.empty
    assert decode(encode({"a": [1, 2]})) == {"a": [1, 2]}


def test_a_redis_outage_degrades_to_computing(caplog):
    cache = DashboardCache(redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    assert cache.backend == "redis"
    assert cache.get_or_compute(1, "a", "", lambda: 41) == 41
    assert cache.get_or_compute(1, "b", "", lambda: 42) == 42
    assert "Redis" in caplog.text


def test_redis_outage_never_breaks_a_page(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("dashboards.cache", None)
    with session_scope(app) as session:
        load_starter_library(session)
    assert client.get("/dashboards?lang=en").status_code == 200
    assert client.get("/dashboards/countries/BRA?lang=en").status_code == 200


def _redis_or_skip(url: str = "redis://127.0.0.1:6379/15"):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


def test_redis_cache_is_shared_between_workers(app, client, tmp_path):
    redis_client = _redis_or_skip()
    namespace = f"observatory-test:{tmp_path.name}"
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    app.config["DASHBOARD_CACHE_NAMESPACE"] = namespace
    app.extensions.pop("dashboards.cache", None)
    try:
        with session_scope(app) as session:
            load_starter_library(session)
        first = client.get("/dashboards?lang=en").get_data(as_text=True)
        assert redis_client.keys(f"{namespace}:*")
        # A second "worker": a fresh in-process cache, same Redis -> no query on the cases.
        app.extensions["dashboards.cache"] = DashboardCache(
            redis_url=app.config["REDIS_URL"], namespace=namespace
        )
        statements: list[str] = []
        engine = get_engine(app)

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            second = client.get("/dashboards?lang=en").get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert not [s for s in statements if "ai_case" in s]
        assert second == first
    finally:
        for key in redis_client.scan_iter(f"{namespace}:*"):
            redis_client.delete(key)


def test_memory_cache_keeps_only_the_newest_version_and_is_bounded_by_bytes():
    import pandas as pd

    from dashboards.cache import value_size

    cache = DashboardCache(max_bytes=10_000)
    cache.get_or_compute(1, "a", "", lambda: "x" * 100)
    cache.get_or_compute(1, "b", "", lambda: "y" * 100)
    assert len(cache._local) == 2 and cache.bytes == 2 * value_size("x" * 100)
    cache.get_or_compute(2, "a", "", lambda: "z" * 100)  # a write happened: version 1 is gone
    assert [key[0] for key in cache._local] == [2] and cache.bytes == value_size("z" * 100)
    cache.get_or_compute(1, "c", "", lambda: "late")  # a slow request of the old version
    assert [key[0] for key in cache._local] == [2]
    for name in "defgh":
        cache.get_or_compute(2, name, "", lambda: "w" * 3000)
    assert cache.bytes <= 10_000 and list(cache._local)[-1] == (2, "h", "")
    assert cache.get_or_compute(2, "huge", "", lambda: "h" * 20_000) == "h" * 20_000
    assert (2, "huge", "") not in cache._local
    frame = pd.DataFrame({"a": range(100)})
    assert value_size(frame) >= 800
    cache.clear()
    assert cache.bytes == 0 and not cache._local
