"""Pure pandas for the dashboards: tidy frames in, tidy or wide frames out (no DB, no Flask).

Inputs are the frames built from `dashboards.queries` rows: a case "cube" (counts per country,
branch, level, sector, status and year), technique counts, a score histogram (how many published
assessments gave each value to each criterion, per country and branch) and tier counts.
Score statistics follow one rule everywhere: a value based on fewer than `MIN_N` published
assessments is not a number (NaN) and is flagged `sufficient = False`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

MIN_N = 3
DECIMALS = 2

# Two-sided 95% critical values of Student's t by degrees of freedom (rounded to 3 places);
# between tabulated values the smaller df is used, which widens the interval slightly.
_T_975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
    17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064,
    25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000,
    120: 1.980,
}  # fmt: skip
STATS_COLUMNS = ("n", "mean", "ci_low", "ci_high", "median", "sufficient")


def t_critical(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` degrees of freedom (1.96 beyond 120)."""
    if df < 1:
        return math.nan
    usable = [key for key in _T_975 if key <= df]
    return _T_975[max(usable)] if df <= 120 else 1.960


def count_by(
    frame: pd.DataFrame, by: Sequence[str], *, value: str = "cases", order: Sequence | None = None
) -> pd.DataFrame:
    """Sum `value` per combination of `by`; largest first (ties by key), or in `order` (keys of a
    single `by` column, missing ones as 0). Result columns: *by, value."""
    by = list(by)
    if frame.empty:
        totals = pd.DataFrame({**{name: [] for name in by}, value: pd.Series([], dtype="int64")})
    else:
        totals = frame.groupby(by, dropna=True, sort=False)[value].sum().reset_index()
    if order is not None:
        key = by[0]
        totals = (
            pd.DataFrame({key: list(order)}).merge(totals, on=key, how="left").fillna({value: 0})
        )
        totals[value] = totals[value].astype("int64")
        return totals.reset_index(drop=True)
    totals[value] = totals[value].astype("int64")
    return totals.sort_values([value, *by], ascending=[False] + [True] * len(by)).reset_index(
        drop=True
    )


def crosstab(
    frame: pd.DataFrame,
    index: str,
    columns: str,
    *,
    value: str = "cases",
    column_order: Sequence | None = None,
    index_order: Sequence | None = None,
) -> pd.DataFrame:
    """Wide table of summed `value`: one row per `index` value, one column per `columns` value.

    Columns follow `column_order` (all of them, even if empty) or, without it, the observed
    values sorted. Rows follow `index_order`, else largest row total first (ties by key). Cells
    are ints (0 when nothing was counted). The index is named `index`, the columns `columns`.
    """
    if frame.empty:
        wide = pd.DataFrame(index=pd.Index([], name=index))
    else:
        # groupby + unstack: what pivot_table does, without its generic machinery (a third of
        # the time on a large cube).
        wide = frame.groupby([index, columns])[value].sum().unstack(columns, fill_value=0)
    wanted = list(column_order) if column_order is not None else sorted(wide.columns)
    wide = wide.reindex(columns=wanted, fill_value=0)
    if index_order is not None:
        wide = wide.reindex(index=list(index_order), fill_value=0)
    else:
        totals = wide.sum(axis=1)
        keys = sorted(wide.index, key=lambda key: (-int(totals[key]), str(key)))
        wide = wide.reindex(index=keys)
    wide = wide.fillna(0).astype("int64")
    wide.index.name = index
    wide.columns.name = columns
    return wide


def yearly(
    cube: pd.DataFrame, by: str = "branch", *, column_order: Sequence | None = None
) -> pd.DataFrame:
    """Cases per start year (rows, every year from the first to the last, gaps as 0) and `by`
    value (columns). Cases without a known start year are left out."""
    known = cube[cube["year"].notna()] if not cube.empty else cube
    wide = crosstab(known, "year", by, column_order=column_order)
    if wide.empty:
        return wide
    years = [int(year) for year in wide.index]
    wide.index = years
    wide = wide.reindex(range(min(years), max(years) + 1), fill_value=0)
    wide.index.name = "year"
    return wide


def _weighted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """Median of values repeated `counts` times (mean of the middle two for an even total)."""
    order = np.argsort(values)
    values, counts = values[order], counts[order]
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1])
    lower = values[np.searchsorted(cumulative, (n + 1) // 2)]
    upper = values[np.searchsorted(cumulative, n // 2 + 1)]
    return float((lower + upper) / 2)


def _empty_stats(by: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            **{name: pd.Series([], dtype="str") for name in by},
            "n": pd.Series([], dtype="int64"),
            **{name: pd.Series([], dtype="float64") for name in ("mean", "ci_low", "ci_high")},
            "median": pd.Series([], dtype="float64"),
            "sufficient": pd.Series([], dtype="bool"),
        }
    )


def score_stats(
    histogram: pd.DataFrame,
    by: Sequence[str],
    *,
    min_n: int = MIN_N,
    scale: tuple[float, float] | None = None,
    decimals: int | None = DECIMALS,
) -> pd.DataFrame:
    """Per group of `by`: n (published assessments with a value), mean, 95% t-interval
    (clipped to `scale`), median and `sufficient` (n >= min_n).

    `histogram` has columns *by (at least), `value` and `count`. Statistics of groups with
    fewer than `min_n` values are NaN: they must be shown as "insufficient data", never as a
    number. Values are rounded to `decimals` (None: not rounded, for further computation).
    """
    by = list(by)
    columns = [*by, *STATS_COLUMNS]
    if histogram.empty:
        return _empty_stats(by)
    records = []
    for keys, group in histogram.groupby(by, sort=True):
        keys = keys if isinstance(keys, tuple) else (keys,)
        values = group["value"].to_numpy(dtype=float)
        counts = group["count"].to_numpy(dtype=float)
        n = int(counts.sum())
        row = dict(zip(by, keys, strict=True), n=n, sufficient=n >= min_n)
        if n >= min_n:
            mean = float((values * counts).sum() / n)
            variance = float((counts * (values - mean) ** 2).sum() / (n - 1))
            half = t_critical(n - 1) * math.sqrt(variance / n)
            low, high = mean - half, mean + half
            if scale is not None:
                low, high = max(low, scale[0]), min(high, scale[1])
            row.update(mean=mean, ci_low=low, ci_high=high)
            row["median"] = _weighted_median(values, counts)
        else:
            row.update(mean=math.nan, ci_low=math.nan, ci_high=math.nan, median=math.nan)
        records.append(row)
    stats = pd.DataFrame.from_records(records, columns=columns)
    for name in ("mean", "ci_low", "ci_high", "median"):
        stats[name] = stats[name].astype(float)
        if decimals is not None:
            stats[name] = stats[name].round(decimals)
    stats["n"] = stats["n"].astype("int64")
    stats["sufficient"] = stats["sufficient"].astype(bool)
    return stats


def regional_median(
    country_stats: pd.DataFrame, *, by: str = "criterion", decimals: int | None = DECIMALS
) -> pd.DataFrame:
    """Per `by` value: the median of the country means that are sufficient, and how many
    countries that is (`countries`); NaN when no country has enough data. Pass unrounded
    means (`score_stats(..., decimals=None)`) to avoid rounding twice."""
    if country_stats.empty:
        return pd.DataFrame({by: [], "regional_median": [], "countries": []}).astype(
            {"countries": "int64"}
        )
    usable = country_stats[country_stats["sufficient"]]
    grouped = usable.groupby(by)["mean"]
    result = pd.DataFrame(
        {"regional_median": grouped.median(), "countries": grouped.size()}
    ).reindex(sorted(country_stats[by].unique()))
    result["countries"] = result["countries"].fillna(0).astype("int64")
    result["regional_median"] = result["regional_median"].astype(float)
    if decimals is not None:
        result["regional_median"] = result["regional_median"].round(decimals)
    result.index.name = by
    return result.reset_index()


def value_distribution(histogram: pd.DataFrame, *, by: str = "criterion") -> pd.DataFrame:
    """Wide distribution of consolidated values per `by` value: one column per value (counts),
    plus `n`. Values are the observed ones, ascending."""
    if histogram.empty:
        return pd.DataFrame(index=pd.Index([], name=by), columns=["n"], dtype="int64")
    wide = crosstab(histogram, by, "value", value="count")
    wide = wide.reindex(index=sorted(wide.index))
    wide["n"] = wide.sum(axis=1).astype("int64")
    return wide


def rank_weakest(stats: pd.DataFrame, *, by: str = "criterion") -> pd.DataFrame:
    """Criteria from the lowest mean to the highest; insufficient ones last (by key)."""
    ordered = stats.assign(_missing=~stats["sufficient"]).sort_values(
        ["_missing", "mean", by], ascending=[True, True, True], na_position="last"
    )
    return ordered.drop(columns="_missing").reset_index(drop=True)


def complete_countries(
    values: pd.DataFrame, countries: Sequence[str], *, fill: dict | None = None
) -> pd.DataFrame:
    """`values` (one row per `country`) with a row for every country of `countries` that is
    missing, filled with `fill`; countries of `values` outside the list are kept."""
    present = set(values["country"]) if not values.empty else set()
    missing = [code for code in countries if code not in present]
    if not missing:
        return values.reset_index(drop=True)
    extra = pd.DataFrame(
        {"country": missing, **{k: [v] * len(missing) for k, v in (fill or {}).items()}}
    )
    if values.empty:
        return extra
    combined = pd.concat([values, extra], ignore_index=True)
    for column, dtype in values.dtypes.items():
        if column in combined and dtype.kind in "iub" and not combined[column].isna().any():
            combined[column] = combined[column].astype(dtype)
    return combined
