"""Pure pandas aggregations on small frames with known answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dashboards import aggregations as agg


def cube(rows):
    return pd.DataFrame(rows, columns=["country", "branch", "sector", "year", "cases"]).astype(
        {"year": "Int64", "cases": "int64"}
    )


CUBE = cube(
    [
        ("BRA", "executive", "health", 2019, 3),
        ("BRA", "judicial", "justice", 2020, 2),
        ("BRA", "executive", "justice", None, 1),
        ("ARG", "judicial", "justice", 2020, 4),
        ("ARG", "legislative", "legislative_process", 2022, 1),
        ("CHL", "executive", "health", 2019, 1),
    ]
)


def histogram(rows):
    return pd.DataFrame(rows, columns=["criterion", "country", "value", "count"]).astype(
        {"value": "float64", "count": "int64"}
    )


def test_count_by_sums_and_sorts_largest_first():
    result = agg.count_by(CUBE, ["country"])
    assert result.to_dict("list") == {"country": ["BRA", "ARG", "CHL"], "cases": [6, 5, 1]}
    ties = agg.count_by(cube([("PER", "x", "y", 2020, 2), ("ARG", "x", "y", 2020, 2)]), ["country"])
    assert list(ties["country"]) == ["ARG", "PER"]


def test_count_by_in_a_given_order_fills_zeros():
    result = agg.count_by(CUBE, ["branch"], order=["executive", "legislative", "judicial", "x"])
    assert list(result["cases"]) == [5, 1, 6, 0]
    assert result["cases"].dtype == "int64"


def test_count_by_on_an_empty_frame():
    assert agg.count_by(CUBE.iloc[0:0], ["country"]).empty
    ordered = agg.count_by(CUBE.iloc[0:0], ["branch"], order=["executive"])
    assert ordered.to_dict("list") == {"branch": ["executive"], "cases": [0]}


def test_crosstab_orders_columns_and_rows():
    wide = agg.crosstab(
        CUBE, "country", "branch", column_order=["executive", "legislative", "judicial"]
    )
    assert list(wide.index) == ["BRA", "ARG", "CHL"]  # by total: 6, 5, 1
    assert list(wide.columns) == ["executive", "legislative", "judicial"]
    assert wide.loc["BRA"].tolist() == [4, 0, 2]
    assert wide.loc["ARG"].tolist() == [0, 1, 4]
    assert wide.to_numpy().sum() == 12


def test_crosstab_with_an_index_order_keeps_empty_rows():
    wide = agg.crosstab(CUBE, "branch", "country", index_order=["autonomous", "executive"])
    assert wide.loc["autonomous"].sum() == 0
    assert wide.loc["executive"].to_dict() == {"ARG": 0, "BRA": 4, "CHL": 1}


def test_yearly_fills_gaps_and_ignores_unknown_years():
    wide = agg.yearly(CUBE, column_order=["executive", "judicial", "legislative"])
    assert list(wide.index) == [2019, 2020, 2021, 2022]
    assert wide.loc[2021].sum() == 0
    assert wide.loc[2019, "executive"] == 4
    assert wide.loc[2020, "judicial"] == 6
    assert wide.to_numpy().sum() == 11  # the case without a year is left out


def test_t_critical_values():
    assert agg.t_critical(2) == 4.303
    assert agg.t_critical(35) == 2.042  # the smaller tabulated df: a slightly wider interval
    assert agg.t_critical(500) == 1.96
    assert math.isnan(agg.t_critical(0))


def test_score_stats_known_answers():
    hist = histogram(
        [
            ("a", "BRA", 1, 1),
            ("a", "BRA", 2, 2),
            ("a", "BRA", 3, 1),  # values 1, 2, 2, 3
            ("a", "ARG", 4, 1),
            ("a", "ARG", 2, 1),  # only two values
        ]
    )
    stats = agg.score_stats(hist, ["criterion", "country"]).set_index("country")
    brazil = stats.loc["BRA"]
    assert brazil["n"] == 4 and bool(brazil["sufficient"])
    assert brazil["mean"] == 2.0
    assert brazil["median"] == 2.0
    # sd = sqrt(2/3); half width = 3.182 * sd / 2 = 1.299
    assert brazil["ci_low"] == 0.7 and brazil["ci_high"] == 3.3
    argentina = stats.loc["ARG"]
    assert argentina["n"] == 2 and not bool(argentina["sufficient"])
    assert all(math.isnan(argentina[name]) for name in ("mean", "ci_low", "ci_high", "median"))


def test_score_stats_clips_the_interval_to_the_scale_and_takes_even_medians():
    hist = histogram([("a", "BRA", 4, 2), ("a", "BRA", 3, 1), ("a", "BRA", 1, 1)])
    stats = agg.score_stats(hist, ["criterion"], scale=(0, 4)).iloc[0]
    assert stats["mean"] == 3.0
    assert stats["ci_high"] == 4.0 and stats["ci_low"] < 3.0
    assert stats["median"] == 3.5  # values 1, 3, 4, 4


def test_score_stats_of_identical_values_has_a_zero_width_interval():
    stats = agg.score_stats(histogram([("a", "BRA", 2, 3)]), ["country"]).iloc[0]
    assert (stats["mean"], stats["ci_low"], stats["ci_high"]) == (2.0, 2.0, 2.0)


def test_score_stats_unrounded_on_request():
    hist = histogram([("a", "ARG", 4, 2), ("a", "ARG", 3, 1)])
    assert agg.score_stats(hist, ["country"]).iloc[0]["mean"] == 3.67
    assert agg.score_stats(hist, ["country"], decimals=None).iloc[0]["mean"] == pytest.approx(
        11 / 3
    )


def test_score_stats_of_nothing_is_an_empty_frame():
    stats = agg.score_stats(histogram([]), ["criterion", "country"])
    assert stats.empty
    assert list(stats.columns) == ["criterion", "country", *agg.STATS_COLUMNS]


def test_regional_median_uses_sufficient_countries_only():
    stats = pd.DataFrame(
        {
            "criterion": ["a", "a", "a", "a", "b"],
            "country": ["BRA", "ARG", "CHL", "PER", "BRA"],
            "mean": [2.0, 3.0, float("nan"), 1.0, float("nan")],
            "sufficient": [True, True, False, True, False],
        }
    )
    result = agg.regional_median(stats).set_index("criterion")
    assert result.loc["a", "regional_median"] == 2.0
    assert result.loc["a", "countries"] == 3
    assert math.isnan(result.loc["b", "regional_median"]) and result.loc["b", "countries"] == 0


def test_value_distribution_counts_each_value():
    hist = histogram(
        [("a", "BRA", 0, 1), ("a", "ARG", 0, 2), ("a", "BRA", 4, 1), ("b", "BRA", 2, 3)]
    )
    wide = agg.value_distribution(hist)
    assert list(wide.columns) == [0.0, 2.0, 4.0, "n"]
    assert wide.loc["a"].tolist() == [3, 0, 1, 4]
    assert wide.loc["b"].tolist() == [0, 3, 0, 3]


def test_rank_weakest_puts_insufficient_last():
    stats = pd.DataFrame(
        {
            "criterion": ["a", "b", "c", "d"],
            "n": [5, 2, 4, 3],
            "mean": [2.5, float("nan"), 1.0, 3.0],
            "sufficient": [True, False, True, True],
        }
    )
    assert list(agg.rank_weakest(stats)["criterion"]) == ["c", "a", "d", "b"]


def test_complete_countries_adds_missing_ones():
    values = pd.DataFrame({"country": ["BRA"], "cases": [3]})
    result = agg.complete_countries(values, ["ARG", "BRA", "CHL"], fill={"cases": 0})
    assert dict(zip(result["country"], result["cases"], strict=True)) == {
        "BRA": 3,
        "ARG": 0,
        "CHL": 0,
    }
    assert result["cases"].dtype == "int64"
