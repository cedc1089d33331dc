"""Dashboards in a real browser: the map draws offline, every page renders at desktop and phone
width (screenshots for review), and nothing is requested from another host."""

from __future__ import annotations

import pytest

from tests.browser.conftest import new_page, screenshot
from tests.dashboards.test_services import PROPORTIONALITY, seed_assessments

pytestmark = pytest.mark.browser

DASHBOARDS = {
    "region": "/dashboards",
    "compare": "/dashboards/compare?country=BRA&country=ARG&country=CHL",
    "branches": "/dashboards/branches",
    "criteria": "/dashboards/criteria",
    "country": "/dashboards/countries/BRA",
    "embed": "/dashboards/embed/region/map",
}


def _charts_drawn(page) -> None:
    """Wait until every chart container holds a plotly figure."""
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('div.chart[data-figure]'))"
        ".every(div => div.classList.contains('js-plotly-plot') && div.querySelector('svg'))"
    )


def test_region_map_draws_country_shapes_offline(app, page, live_server, offsite):
    seed_assessments(app)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server}/dashboards?lang=en")
    page.wait_for_selector("#map path.choroplethlocation", state="attached")
    _charts_drawn(page)
    brazil = page.evaluate(
        """() => Array.from(document.querySelectorAll('#map path.choroplethlocation'))
            .filter(p => p.__data__ && p.__data__.loc === 'BRA')
            .map(p => (p.getAttribute('d') || '').length)"""
    )
    assert brazil and max(brazil) > 100, "no SVG path drawn for Brazil"
    shapes = page.locator("#map path.choroplethlocation").count()
    assert shapes >= 33
    # The small Caribbean states get a marker on the same colour axis.
    markers = page.locator("#map .scattergeo path.point").count()
    assert markers >= 7
    assert any(url.endswith("/dashboards/static/geo/world_50m.json") for url in requested)
    assert all(url.startswith(live_server) for url in requested), requested
    assert list(offsite) == []
    # Choosing a criterion redraws the map with scores.
    page.goto(f"{live_server}/dashboards?lang=en&criterion={PROPORTIONALITY}")
    page.wait_for_selector("#map path.choroplethlocation", state="attached")
    assert "Mean score on" in page.locator("#map-title").inner_text()


def test_plotly_is_served_once_with_long_cache_headers(app, page, live_server):
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(f"{live_server}/dashboards?lang=es")
    _charts_drawn(page)
    bundles = [r for r in responses if "plotly-observatory.min.js" in r.url]
    assert len(bundles) == 1
    assert "max-age=31536000" in bundles[0].headers["cache-control"]
    assert page.locator("html").get_attribute("lang") == "es"


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_dashboard_screenshots(app, browser, live_server, offsite, name, width):
    seed_assessments(app, tier="high")
    lang = "en" if width == 1280 else "es"
    page = new_page(browser, live_server, offsite, width=width, lang=lang)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    path = DASHBOARDS[name]
    separator = "&" if "?" in path else "?"
    page.goto(f"{live_server}{path}{separator}lang={lang}")
    _charts_drawn(page)
    assert page.locator("div.chart.js-plotly-plot").count() >= 1
    if width == 375:
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= 375, f"{name} scrolls sideways on a phone ({scroll_width}px)"
    screenshot(page, f"dashboard-{name}-{width}-{lang}")
    page.context.close()
    assert errors == []
    assert list(offsite) == []


def test_country_report_print_layout_hides_the_controls(app, page, live_server):
    seed_assessments(app, tier="high")
    page.goto(f"{live_server}/dashboards/countries/BRA?lang=en")
    _charts_drawn(page)
    page.emulate_media(media="print")
    assert not page.locator("form.dash-filters").is_visible()
    assert not page.locator("nav.main-nav").is_visible()
    assert page.locator("#cases table").is_visible()
    assert page.locator("#scores-table").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF"
