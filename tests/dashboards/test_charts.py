"""Chart functions return figures whose data are the frame's numbers."""

from __future__ import annotations

import json
import math

import pandas as pd

from dashboards import charts


def data(fig):
    return fig.to_dict()["data"]


def map_frame():
    return pd.DataFrame(
        {
            "country": ["BRA", "ARG", "DMA", "LCA", "CHL"],
            "name": ["Brasil", "Argentina", "Dominica", "Santa Lucía", "Chile"],
            "value": [56.0, 22.0, 1.0, 1.0, math.nan],
            "hover": ["Brasil: 56", "Argentina: 22", "Dominica: 1", "Santa Lucía: 1", "Chile: —"],
        }
    )


def test_choropleth_colours_countries_and_marks_small_states_on_the_same_axis():
    fig = charts.choropleth_map(map_frame(), value_label="Casos", missing_label="sin datos")
    traces = data(fig)
    choropleth, missing, markers = traces
    assert choropleth["type"] == "choropleth" and choropleth["locationmode"] == "ISO-3"
    assert list(choropleth["locations"]) == ["BRA", "ARG", "DMA", "LCA"]
    assert list(choropleth["z"]) == [56.0, 22.0, 1.0, 1.0]
    assert list(choropleth["text"]) == ["Brasil", "Argentina", "Dominica", "Santa Lucía"]
    assert list(missing["locations"]) == ["CHL"] and missing["name"] == "sin datos"
    assert markers["type"] == "scattergeo"
    assert list(markers["text"]) == ["Dominica", "Santa Lucía"]
    assert list(markers["marker"]["color"]) == [1.0, 1.0]
    assert markers["marker"]["coloraxis"] == choropleth["coloraxis"] == "coloraxis"
    assert (markers["lon"][0], markers["lat"][0]) == charts.SMALL_STATES["DMA"]
    layout = fig.to_dict()["layout"]
    assert layout["geo"]["resolution"] == 50
    assert layout["geo"]["scope"] == "world"
    assert layout["coloraxis"]["cmin"] == 0


def test_choropleth_of_scores_uses_the_scale_and_needs_no_small_state_trace():
    frame = map_frame()[map_frame()["country"].isin(["BRA", "ARG"])]
    fig = charts.choropleth_map(frame, value_label="Mean", scale=(0, 4))
    assert len(data(fig)) == 1
    layout = fig.to_dict()["layout"]
    assert (layout["coloraxis"]["cmin"], layout["coloraxis"]["cmax"]) == (0, 4)


def test_bars_follow_the_frame_order():
    frame = pd.DataFrame({"label": ["Executive", "Judicial"], "cases": [174, 37]})
    fig = charts.bars(frame, category="label", value="cases", value_label="Cases")
    (trace,) = data(fig)
    assert list(trace["y"]) == ["Executive", "Judicial"]
    assert list(trace["x"]) == [174, 37]
    assert trace["orientation"] == "h"


def test_stacked_bars_one_trace_per_column():
    wide = pd.DataFrame({"Executive": [40, 20], "Judicial": [10, 2]}, index=["Brazil", "Mexico"])
    fig = charts.stacked_bars(wide, value_label="Cases", colors=["#111111", "#222222"])
    traces = data(fig)
    assert [t["name"] for t in traces] == ["Executive", "Judicial"]
    assert list(traces[0]["y"]) == ["Brazil", "Mexico"]
    assert list(traces[0]["x"]) == [40, 20] and list(traces[1]["x"]) == [10, 2]
    assert traces[1]["marker"]["color"] == "#222222"
    assert fig.to_dict()["layout"]["barmode"] == "stack"
    vertical = charts.stacked_bars(wide, value_label="Cases", horizontal=False, barmode="group")
    assert list(data(vertical)[0]["x"]) == ["Brazil", "Mexico"]
    assert list(data(vertical)[0]["y"]) == [40, 20]
    assert vertical.to_dict()["layout"]["barmode"] == "group"


def test_small_counts_get_whole_number_ticks():
    wide = pd.DataFrame({"A": [1, 2]}, index=["x", "y"])
    layout = charts.stacked_bars(wide, value_label="Cases").to_dict()["layout"]
    assert layout["xaxis"]["dtick"] == 1


def test_heatmap_cells_match_and_zeros_are_blank():
    wide = pd.DataFrame({"Health": [3, 0], "Justice": [1, 4]}, index=["Brazil", "Chile"])
    (trace,) = data(charts.heatmap(wide, value_label="Cases"))
    assert [list(row) for row in trace["z"]] == [[3, 1], [0, 4]]
    assert [list(row) for row in trace["text"]] == [["3", "1"], ["", "4"]]
    assert list(trace["x"]) == ["Health", "Justice"] and list(trace["y"]) == ["Brazil", "Chile"]


def score_frame():
    return pd.DataFrame(
        {
            "criterion": ["Transparency", "Transparency", "Fairness", "Fairness"],
            "country": ["Brazil", "Chile", "Brazil", "Chile"],
            "mean": [2.0, math.nan, 3.5, 1.0],
            "ci_low": [0.7, math.nan, 3.0, 0.0],
            "ci_high": [3.3, math.nan, 4.0, 2.5],
            "hover": ["a", "b", "c", "d"],
        }
    )


def test_mean_bars_carry_means_and_intervals_and_mark_insufficient_data():
    fig = charts.mean_bars(
        score_frame(),
        category="criterion",
        series="country",
        value_label="Mean",
        scale=(0, 4),
        missing_label="insufficient data",
    )
    brazil, chile, marks = data(fig)
    assert list(brazil["y"]) == ["Transparency", "Fairness"]
    assert list(brazil["x"]) == [2.0, 3.5]
    assert list(brazil["error_x"]["array"]) == [1.3, 0.5]
    assert list(brazil["error_x"]["arrayminus"]) == [1.3, 0.5]
    assert list(chile["x"]) == [None, 1.0]
    assert marks["type"] == "scatter" and list(marks["y"]) == ["Transparency"]
    assert list(marks["text"]) == ["insufficient data"]
    assert marks["offsetgroup"] == chile["offsetgroup"]
    assert fig.to_dict()["layout"]["xaxis"]["range"] == [0, 4]


def test_against_median_draws_country_bars_and_median_markers():
    frame = pd.DataFrame(
        {
            "criterion": ["Transparency", "Fairness"],
            "mean": [2.0, math.nan],
            "ci_low": [1.0, math.nan],
            "ci_high": [3.0, math.nan],
            "regional_median": [2.5, 3.0],
            "hover": ["a", "b"],
        }
    )
    fig = charts.against_median(
        frame,
        category="criterion",
        value_label="Mean",
        series_label="Brazil",
        median_label="Regional median",
        scale=(0, 4),
        missing_label="insufficient data",
    )
    bars, medians, marks = data(fig)
    assert list(bars["x"]) == [2.0, None] and bars["name"] == "Brazil"
    assert list(medians["x"]) == [2.5, 3.0] and medians["marker"]["symbol"] == "diamond"
    assert list(marks["y"]) == ["Fairness"]


def test_long_labels_wrap_on_the_axis_but_stay_whole_in_the_data():
    label = "Multi-stakeholder and adaptive governance and collaboration of many parties"
    frame = pd.DataFrame({"label": [label], "cases": [1]})
    fig = charts.bars(frame, category="label", value="cases", value_label="Cases")
    assert data(fig)[0]["y"][0] == label
    ticktext = fig.to_dict()["layout"]["yaxis"]["ticktext"][0]
    assert "<br>" in ticktext and ticktext.count("<br>") <= 2
    assert charts.wrap_label("short") == "short"


def test_figure_json_is_safe_inside_a_script_element():
    frame = pd.DataFrame({"label": ["</script><script>alert(1)</script>"], "cases": [1]})
    text = charts.bars(frame, category="label", value="cases", value_label="Cases").to_json()
    assert "</script" not in text and "<script" not in text
    assert json.loads(text)["data"][0]["y"][0].startswith("</script>")


def test_sequential_colors():
    assert charts.sequential_colors(0) == []
    assert len(charts.sequential_colors(5)) == 5
    assert len(set(charts.sequential_colors(5))) == 5
