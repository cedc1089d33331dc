"""Pure plotly for the dashboards: display-ready frames in, `go.Figure` out (no DB, no Flask).

Frames arrive with their labels already in the reader's language; these functions only draw.
Titles live in the page (a heading and the table caption), so figures carry none. Maps use the
app's own topojson (static/charts.js sets `topojsonURL`), so nothing is fetched from the internet.

Each figure is written as one plain dict (traces and layout) and validated once by `go.Figure`:
building it trace by trace with `update_layout` costs ten times as much (plotly validates and
re-lays out on every call), and a cold dashboard draws a dozen figures.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

FONT_FAMILY = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", Arial, '
    "sans-serif"
)
INK = "#1b1f24"
MUTED = "#4a5561"
GRID = "#d9dee4"
MISSING = "#c9ced6"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
SEQUENTIAL = "Blues"
SCORE_SCALE = "Viridis"
WRAP_WIDTH = 26
WRAP_LINES = 3
MAP_HEIGHT = 600

# Centroids (lon, lat) of the small Caribbean states, from the `ct` property of
# static/geo/world_50m.json: a marker keeps each visible at any size of the map.
SMALL_STATES: Mapping[str, tuple[float, float]] = {
    "ATG": (-61.79, 17.08),
    "BRB": (-59.56, 13.18),
    "DMA": (-61.36, 15.44),
    "GRD": (-61.68, 12.12),
    "KNA": (-62.75, 17.33),
    "LCA": (-60.97, 13.89),
    "VCT": (-61.2, 13.25),
    "TTO": (-61.29, 10.42),
    "BHS": (-78.04, 24.7),
}


def sequential_colors(count: int, colorscale: str = SCORE_SCALE) -> list[str]:
    """`count` colours evenly spaced on a plotly colour scale (low to high)."""
    if count <= 0:
        return []
    if count == 1:
        return sample_colorscale(colorscale, [0.5])
    return sample_colorscale(colorscale, [i / (count - 1) for i in range(count)])


def wrap_label(label: object, width: int = WRAP_WIDTH, lines: int = WRAP_LINES) -> str:
    """An axis label on at most `lines` lines of about `width` characters (`<br>` between)."""
    parts = textwrap.wrap(str(label), width=width) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: max(1, width - 1)].rstrip() + "…"
    return "<br>".join(parts)


def _plain(values) -> list:
    """Python scalars for plotly (NaN -> None, numpy ints -> int)."""
    result = []
    for value in values:
        if hasattr(value, "item"):
            value = value.item()
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            result.append(None)
        else:
            result.append(value)
    return result


def _base_layout(*, height: int, legend: bool = True) -> dict:
    return {
        "template": "none",
        "height": height,
        "font": {"family": FONT_FAMILY, "size": 13, "color": INK},
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10, "autoexpand": True},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "showlegend": legend,
        "legend": {
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.01,
            "x": 0,
            "xanchor": "left",
            "traceorder": "normal",
        },
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
    }


def _merge(base: dict, updates: Mapping) -> dict:
    """`base` updated in place as `fig.update_layout` would: nested dicts are merged, anything
    else replaced."""
    for key, value in updates.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _figure(data: Sequence[dict], layout: dict) -> go.Figure:
    """The figure of these traces (dicts with a `type`) and layout, validated once."""
    return go.Figure({"data": list(data), "layout": layout})


def _category_axis(labels: Sequence[str]) -> dict:
    labels = [str(label) for label in labels]
    return {
        "type": "category",
        "automargin": True,
        "tickmode": "array",
        "tickvals": labels,
        "ticktext": [wrap_label(label) for label in labels],
        "categoryorder": "array",
        "categoryarray": labels,
    }


def _value_axis(
    title: str, *, range_: tuple[float, float] | None = None, largest: float | None = None
) -> dict:
    axis = {
        "title": {"text": title},
        "automargin": True,
        "gridcolor": GRID,
        "zeroline": True,
        "zerolinecolor": "#9aa3ad",
        "rangemode": "tozero",
    }
    if range_ is not None:
        axis["range"] = list(range_)
    if largest is not None and largest <= 10:
        axis.update(tick0=0, dtick=1)  # counts: no 0.5 ticks
    return axis


def _bar_height(categories: int, series: int = 1, *, grouped: bool = False) -> int:
    per = 18 * series + 10 if grouped else 30
    return max(240, categories * per + 120)


def _largest(values) -> float:
    numbers = [value for value in _plain(values) if value is not None]
    return max(numbers) if numbers else 0


def choropleth_map(
    frame: pd.DataFrame,
    *,
    value_label: str,
    colorscale: str = SEQUENTIAL,
    scale: tuple[float, float] | None = None,
    missing_label: str = "",
    small_states: Mapping[str, tuple[float, float]] = SMALL_STATES,
) -> go.Figure:
    """Countries coloured by `value`, plus markers for the small states on the same colour axis.

    `frame` has columns `country` (ISO 3166-1 alpha-3), `name` (in the reader's language),
    `value` (NaN = insufficient data) and `hover` (the text shown on hover). Countries with NaN
    are drawn grey in a separate trace named `missing_label` (when given). Trace 0 is always the
    coloured choropleth; the small-state markers are the last trace.
    """
    has_value = frame["value"].notna()
    known, unknown = frame[has_value], frame[~has_value]
    data = [
        {
            "type": "choropleth",
            "locations": list(known["country"]),
            "z": _plain(known["value"]),
            "text": list(known["name"]),
            "hovertext": list(known["hover"]),
            "hovertemplate": "%{hovertext}<extra></extra>",
            "locationmode": "ISO-3",
            "coloraxis": "coloraxis",
            "marker": {"line": {"color": "#ffffff", "width": 0.6}},
            "name": value_label,
            "showlegend": False,
        }
    ]
    if missing_label and not unknown.empty:
        data.append(
            {
                "type": "choropleth",
                "locations": list(unknown["country"]),
                "z": [0] * len(unknown),
                "text": list(unknown["name"]),
                "hovertext": list(unknown["hover"]),
                "hovertemplate": "%{hovertext}<extra></extra>",
                "locationmode": "ISO-3",
                "colorscale": [[0, MISSING], [1, MISSING]],
                "showscale": False,
                "marker": {"line": {"color": "#ffffff", "width": 0.6}},
                "name": missing_label,
                "showlegend": False,
            }
        )
    small = known[known["country"].isin(list(small_states))]
    if not small.empty:
        data.append(
            {
                "type": "scattergeo",
                "lon": [small_states[code][0] for code in small["country"]],
                "lat": [small_states[code][1] for code in small["country"]],
                "text": list(small["name"]),
                "hovertext": list(small["hover"]),
                "hovertemplate": "%{hovertext}<extra></extra>",
                "mode": "markers",
                "marker": {
                    "size": 11,
                    "color": _plain(small["value"]),
                    "coloraxis": "coloraxis",
                    "line": {"color": INK, "width": 1},
                },
                "name": value_label,
                "showlegend": False,
            }
        )
    coloraxis: dict = {
        "colorscale": colorscale,
        "colorbar": {
            "title": {"text": value_label, "side": "top"},
            "orientation": "h",
            "thickness": 12,
            "len": 0.7,
            "x": 0.5,
            "xanchor": "center",
            "y": -0.01,
            "yanchor": "top",
        },
    }
    if scale is not None:
        coloraxis.update(cmin=scale[0], cmax=scale[1])
    else:
        coloraxis.update(cmin=0)
    layout = _base_layout(height=MAP_HEIGHT, legend=False)
    _merge(
        layout,
        {
            "coloraxis": coloraxis,
            "margin": {"l": 0, "r": 0, "t": 0, "b": 70},
            "geo": {
                "scope": "world",
                "resolution": 50,
                "projection": {"type": "mercator"},
                "lonaxis": {"range": [-118, -33]},
                "lataxis": {"range": [-57, 33]},
                "showcountries": True,
                "countrycolor": "#ffffff",
                "showland": True,
                "landcolor": "#eef0f3",
                "showocean": True,
                "oceancolor": "#f7fafc",
                "showlakes": False,
                "showframe": False,
                "coastlinecolor": "#9aa3ad",
            },
        },
    )
    return _figure(data, layout)


def bars(
    frame: pd.DataFrame,
    *,
    category: str,
    value: str,
    value_label: str,
    color: str = PALETTE[0],
) -> go.Figure:
    """Horizontal bars, one per row of `frame`, top to bottom in frame order, value labels."""
    labels = [str(label) for label in frame[category]]
    values = _plain(frame[value])
    trace = {
        "type": "bar",
        "y": labels,
        "x": values,
        "orientation": "h",
        "marker": {"color": color},
        "name": value_label,
        "text": values,
        "textposition": "auto",
        "hovertemplate": "%{y}: %{x}<extra></extra>",
    }
    layout = _base_layout(height=_bar_height(len(labels)), legend=False)
    layout["xaxis"] = _value_axis(value_label, largest=_largest(values))
    layout["yaxis"] = {**_category_axis(labels), "autorange": "reversed"}
    return _figure([trace], layout)


def stacked_bars(
    wide: pd.DataFrame,
    *,
    value_label: str,
    colors: Sequence[str] = PALETTE,
    horizontal: bool = True,
    barmode: str = "stack",
    legend_title: str = "",
) -> go.Figure:
    """One bar per row of `wide` (its index are the category labels), one trace per column
    (column names are the series labels), stacked or grouped."""
    labels = [str(label) for label in wide.index]
    data = []
    for position, column in enumerate(wide.columns):
        values = _plain(wide[column])
        trace = {
            "type": "bar",
            "name": str(column),
            "marker": {"color": colors[position % len(colors)]},
        }
        if horizontal:
            trace.update(
                y=labels,
                x=values,
                orientation="h",
                hovertemplate="%{y} · %{fullData.name}: %{x}<extra></extra>",
            )
        else:
            trace.update(
                x=labels, y=values, hovertemplate="%{x} · %{fullData.name}: %{y}<extra></extra>"
            )
        data.append(trace)
    if barmode == "stack":
        largest = float(wide.sum(axis=1).max()) if not wide.empty else 0
    else:
        largest = float(wide.max().max()) if not wide.empty else 0
    grouped = barmode == "group"
    height = _bar_height(len(labels), len(wide.columns), grouped=grouped) if horizontal else 400
    layout = _base_layout(height=height + 40, legend=True)
    layout["barmode"] = barmode
    if legend_title:
        layout["legend"]["title"] = {"text": legend_title}
    if horizontal:
        layout["xaxis"] = _value_axis(value_label, largest=largest)
        layout["yaxis"] = {**_category_axis(labels), "autorange": "reversed"}
    else:
        layout["xaxis"] = _category_axis(labels)
        layout["yaxis"] = _value_axis(value_label, largest=largest)
    return _figure(data, layout)


def heatmap(wide: pd.DataFrame, *, value_label: str, colorscale: str = SEQUENTIAL) -> go.Figure:
    """A heatmap of `wide`: rows are its index labels (top to bottom), columns its column labels;
    each cell shows its count (blank for 0)."""
    rows = [str(label) for label in wide.index]
    columns = [str(label) for label in wide.columns]
    z = [_plain(wide.loc[row]) for row in wide.index]
    text = [["" if not cell else str(cell) for cell in row] for row in z]
    trace = {
        "type": "heatmap",
        "z": z,
        "x": columns,
        "y": rows,
        "text": text,
        "texttemplate": "%{text}",
        "colorscale": colorscale,
        "zmin": 0,
        "xgap": 1,
        "ygap": 1,
        # Below the cells, so that a phone's width goes to the cells, not to the scale.
        "colorbar": {
            "title": {"text": value_label, "side": "top"},
            "orientation": "h",
            "thickness": 10,
            "lenmode": "pixels",
            "len": 220,
            "x": 0.5,
            "xanchor": "center",
            "y": -0.02,
            "yanchor": "top",
        },
        "hovertemplate": "%{y} · %{x}: %{z}<extra></extra>",
    }
    layout = _base_layout(height=max(300, 30 * len(rows) + 250), legend=False)
    _merge(layout, {"margin": {"l": 10, "r": 10, "t": 10, "b": 70}})
    column_axis = _category_axis(columns)
    column_axis["ticktext"] = [wrap_label(label, width=18, lines=2) for label in columns]
    layout["xaxis"] = {**column_axis, "side": "top", "tickangle": -40}
    layout["yaxis"] = {
        **_category_axis(rows),
        "ticktext": [wrap_label(label, width=20) for label in rows],
        "autorange": "reversed",
    }
    return _figure([trace], layout)


def _error_arrays(means: list, lows: list, highs: list) -> tuple[list, list]:
    plus, minus = [], []
    for mean, low, high in zip(means, lows, highs, strict=True):
        plus.append(None if mean is None or high is None else round(high - mean, 4))
        minus.append(None if mean is None or low is None else round(mean - low, 4))
    return plus, minus


def _missing_trace(
    categories: Sequence[str],
    texts: Sequence[str],
    *,
    offsetgroup: str,
    legendgroup: str,
    color: str = MUTED,
) -> dict:
    """Markers with text at 0 where a bar is missing because the data are insufficient."""
    return {
        "type": "scatter",
        "y": list(categories),
        "x": [0] * len(categories),
        "mode": "markers+text",
        "orientation": "h",
        "text": list(texts),
        "textposition": "middle right",
        "textfont": {"size": 11, "color": MUTED},
        "marker": {"symbol": "line-ns-open", "size": 10, "color": color, "line": {"width": 3}},
        "hovertext": list(texts),
        "hovertemplate": "%{y}: %{hovertext}<extra></extra>",
        "offsetgroup": offsetgroup,
        "legendgroup": legendgroup,
        "showlegend": False,
        "cliponaxis": False,
    }


def mean_bars(
    frame: pd.DataFrame,
    *,
    category: str,
    series: str,
    value_label: str,
    scale: tuple[float, float],
    series_order: Sequence[str] | None = None,
    colors: Sequence[str] = PALETTE,
    missing_label: str = "",
    legend: bool = True,
) -> go.Figure:
    """Grouped horizontal bars of means with their 95% interval as error bars.

    `frame` is tidy: columns `category` (bar groups, e.g. criteria), `series` (e.g. countries),
    `mean`, `ci_low`, `ci_high` and `hover`. Rows with NaN mean (insufficient data) draw no bar
    but, when `missing_label` is given, a grey mark labelled with it in the bar's place.
    Bar traces come first (one per series, in `series_order`), then the marks.
    """
    categories = list(dict.fromkeys(str(label) for label in frame[category]))
    names = list(series_order) if series_order is not None else list(dict.fromkeys(frame[series]))
    data = []
    marks = []
    for position, name in enumerate(names):
        part = frame[frame[series] == name]
        part = part.set_index(part[category].astype(str)).reindex(categories)
        means = _plain(part["mean"])
        plus, minus = _error_arrays(means, _plain(part["ci_low"]), _plain(part["ci_high"]))
        group = str(position)
        data.append(
            {
                "type": "bar",
                "y": categories,
                "x": means,
                "orientation": "h",
                "name": str(name),
                "offsetgroup": group,
                "legendgroup": str(name),
                "marker": {"color": colors[position % len(colors)]},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "color": INK,
                    "thickness": 1.2,
                    "width": 3,
                },
                "hovertext": _plain(part["hover"]),
                "hovertemplate": "%{hovertext}<extra></extra>",
            }
        )
        missing = [label for label, mean in zip(categories, means, strict=True) if mean is None]
        if missing_label and missing:
            marks.append(
                _missing_trace(
                    missing,
                    [missing_label] * len(missing),
                    offsetgroup=group,
                    legendgroup=str(name),
                    color=colors[position % len(colors)],
                )
            )
    layout = _base_layout(
        height=_bar_height(len(categories), len(names), grouped=True) + 40, legend=legend
    )
    layout.update(
        barmode="group",
        scattermode="group",
        xaxis=_value_axis(value_label, range_=scale),
        yaxis={**_category_axis(categories), "autorange": "reversed"},
    )
    return _figure(data + marks, layout)


def against_median(
    frame: pd.DataFrame,
    *,
    category: str,
    value_label: str,
    series_label: str,
    median_label: str,
    scale: tuple[float, float],
    missing_label: str = "",
) -> go.Figure:
    """One country's mean per criterion (bars with 95% interval) against the regional median
    (diamonds). `frame`: `category`, `mean`, `ci_low`, `ci_high`, `regional_median`, `hover`.
    Traces: the country's bars, the medians, then (if any) the insufficient-data marks."""
    categories = [str(label) for label in frame[category]]
    means = _plain(frame["mean"])
    medians = _plain(frame["regional_median"])
    plus, minus = _error_arrays(means, _plain(frame["ci_low"]), _plain(frame["ci_high"]))
    data = [
        {
            "type": "bar",
            "y": categories,
            "x": means,
            "orientation": "h",
            "name": series_label,
            "marker": {"color": PALETTE[0]},
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": plus,
                "arrayminus": minus,
                "color": INK,
                "thickness": 1.2,
                "width": 3,
            },
            "hovertext": _plain(frame["hover"]),
            "hovertemplate": "%{hovertext}<extra></extra>",
        },
        {
            "type": "scatter",
            "y": categories,
            "x": medians,
            "mode": "markers",
            "name": median_label,
            "marker": {
                "symbol": "diamond",
                "size": 12,
                "color": PALETTE[1],
                "line": {"color": INK, "width": 1},
            },
            "hovertext": [
                f"{label} · {median_label}: {value}"
                for label, value in zip(categories, medians, strict=True)
            ],
            "hovertemplate": "%{hovertext}<extra></extra>",
        },
    ]
    missing = [label for label, mean in zip(categories, means, strict=True) if mean is None]
    if missing_label and missing:
        data.append(
            _missing_trace(
                missing, [missing_label] * len(missing), offsetgroup="", legendgroup=series_label
            )
        )
    layout = _base_layout(height=_bar_height(len(categories), 2, grouped=True) + 40, legend=True)
    layout["xaxis"] = _value_axis(value_label, range_=scale)
    layout["yaxis"] = {**_category_axis(categories), "autorange": "reversed"}
    return _figure(data, layout)
