"""Inter-rater agreement: Krippendorff's alpha (nominal, ordinal, interval), disagreement flags."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from criteria.schema import SpecialAnswer

Level = Literal["nominal", "ordinal", "interval"]

#: Reviewers' scores of one criterion that differ by this many levels or more are flagged.
DISAGREEMENT_LEVELS = 2

#: Krippendorff's (2004, p. 241) conventions: reliable from 0.800, tentative from 0.667.
ALPHA_RELIABLE = 0.800
ALPHA_TENTATIVE = 0.667

_SPECIAL_VALUES = frozenset(answer.value for answer in SpecialAnswer)


def is_missing(value: Any) -> bool:
    """True for values that do not enter agreement: None, NaN, and the special answers.

    "Not applicable" and "insufficient information" are missing data for alpha, never zeros.
    """
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value in _SPECIAL_VALUES


def _pairable_units(
    reliability_data: Sequence[Sequence[Any]], level: Level
) -> list[list[Hashable]]:
    widths = {len(row) for row in reliability_data}
    if len(widths) > 1:
        raise ValueError("every coder's row must have one entry per unit (use None for missing)")
    n_units = widths.pop() if widths else 0
    units: list[list[Hashable]] = []
    for unit in range(n_units):
        values = [row[unit] for row in reliability_data if not is_missing(row[unit])]
        if level != "nominal":
            for value in values:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{level} alpha needs numbers, got {value!r}")
        if len(values) >= 2:
            units.append(values)
    return units


@dataclass(frozen=True)
class AlphaResult:
    """Krippendorff's alpha with the amount of data behind it."""

    alpha: float | None  # None = undefined (no pairable values, or no variation at all)
    n_units: int  # units with at least two non-missing values (pairable)
    n_pairable_values: int
    n_coders: int


def krippendorff_alpha_report(
    reliability_data: Sequence[Sequence[Any]], level: Level = "ordinal"
) -> AlphaResult:
    """Krippendorff's alpha of a reliability matrix, with counts.

    Input: rows = coders (reviewers), columns = units (e.g. criteria of a case); missing
    entries are None, NaN or a special answer. `level`: "ordinal" (primary for 0-4 rubrics),
    "nominal" (any hashable values, e.g. gate answers) or "interval".
    Method (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"): coincidence
    matrix o_ck over units with >= 2 values, each pair weighted 1/(m_u - 1); n_c its margins;
    alpha = 1 - (n - 1) * sum(o_ck d2_ck) / sum(n_c n_k d2_ck), with d2 = 0/1 (nominal),
    (c - k)^2 (interval), or (sum of n_g for g from c to k - (n_c + n_k)/2)^2 (ordinal).
    Undefined cases return alpha None: fewer than two pairable values, or no variation at all
    (every pairable value identical: expected disagreement is 0 and alpha is 0/0 - report
    percent agreement instead). Perfect agreement with variation gives exactly 1.0.
    Raises ValueError for ragged rows or non-numeric values at ordinal/interval level.
    """
    units = _pairable_units(reliability_data, level)
    coincidences: Counter[tuple[Hashable, Hashable]] = Counter()
    for values in units:
        counts = Counter(values)
        weight = 1 / (len(values) - 1)
        for c, n_uc in counts.items():
            for k, n_uk in counts.items():
                pairs = n_uc * (n_uk - 1) if c == k else n_uc * n_uk
                if pairs:
                    coincidences[(c, k)] += pairs * weight
    margins: Counter[Hashable] = Counter()
    for (c, _k), o_ck in coincidences.items():
        margins[c] += o_ck
    n_total = math.fsum(margins.values())
    n_values = sum(len(values) for values in units)
    n_coders = len(reliability_data)
    if n_values < 2:
        return AlphaResult(None, len(units), n_values, n_coders)

    categories = sorted(margins, key=_sort_key)
    cumulative: dict[Hashable, float] = {}
    running = 0.0
    for category in categories:
        running += margins[category]
        cumulative[category] = running

    def distance(c: Hashable, k: Hashable) -> float:
        if c == k:
            return 0.0
        if level == "nominal":
            return 1.0
        if level == "interval":
            return float(c - k) ** 2
        low, high = (c, k) if cumulative[c] <= cumulative[k] else (k, c)
        between = cumulative[high] - cumulative[low] + margins[low]
        return (between - (margins[c] + margins[k]) / 2) ** 2

    observed = math.fsum(o_ck * distance(c, k) for (c, k), o_ck in coincidences.items())
    expected = math.fsum(
        margins[c] * margins[k] * distance(c, k) for c in categories for k in categories
    )
    if expected == 0:
        return AlphaResult(None, len(units), n_values, n_coders)
    alpha = 1 - (n_total - 1) * observed / expected
    return AlphaResult(alpha, len(units), n_values, n_coders)


def _sort_key(value: Hashable) -> Any:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def krippendorff_alpha(
    reliability_data: Sequence[Sequence[Any]], level: Level = "ordinal"
) -> float | None:
    """Krippendorff's alpha (see `krippendorff_alpha_report`); None when undefined."""
    return krippendorff_alpha_report(reliability_data, level).alpha


def percent_agreement(reliability_data: Sequence[Sequence[Any]]) -> float | None:
    """Share of agreeing pairs among all pairs of values within units (0..1), missing excluded.

    Shown next to alpha (alpha moves sharply with base rates). None when no unit has two values.
    """
    agreeing = total = 0
    for values in _pairable_units(reliability_data, "nominal"):
        counts = Counter(values)
        agreeing += sum(n * (n - 1) for n in counts.values())
        total += len(values) * (len(values) - 1)
    return agreeing / total if total else None


# --------------------------------------------------------------------------------------------
# From stored ratings: {case: {reviewer: {criterion: answer}}}
# --------------------------------------------------------------------------------------------

Ratings = Mapping[Hashable, Mapping[Hashable, Mapping[Hashable, Any]]]


def _matrix(
    reviewers: Sequence[Hashable],
    units: Sequence[tuple[Hashable, Hashable]],
    ratings: Ratings,
) -> list[list[Any]]:
    return [
        [ratings.get(case, {}).get(reviewer, {}).get(criterion) for case, criterion in units]
        for reviewer in reviewers
    ]


def _ordered_unique(values: Iterable[Hashable]) -> list[Hashable]:
    return list(dict.fromkeys(values))


def alpha_by_case(ratings: Ratings, level: Level = "ordinal") -> dict[Hashable, AlphaResult]:
    """Alpha per case: reviewers of that case x its criteria.

    Input: {case id: {reviewer id: {criterion key: answer}}}. Result: {case id: AlphaResult}.
    """
    results: dict[Hashable, AlphaResult] = {}
    for case, by_reviewer in ratings.items():
        reviewers = list(by_reviewer)
        criteria = _ordered_unique(c for scores in by_reviewer.values() for c in scores)
        units = [(case, criterion) for criterion in criteria]
        results[case] = krippendorff_alpha_report(_matrix(reviewers, units, ratings), level)
    return results


def alpha_by_criterion(ratings: Ratings, level: Level = "ordinal") -> dict[Hashable, AlphaResult]:
    """Alpha per criterion across cases: all reviewers x the cases where it was rated.

    Useful to spot criteria whose guidance needs revision (alpha below 0.667).
    """
    reviewers = _ordered_unique(r for by_reviewer in ratings.values() for r in by_reviewer)
    criteria = _ordered_unique(
        c for by_reviewer in ratings.values() for scores in by_reviewer.values() for c in scores
    )
    results: dict[Hashable, AlphaResult] = {}
    for criterion in criteria:
        units = [(case, criterion) for case in ratings]
        results[criterion] = krippendorff_alpha_report(_matrix(reviewers, units, ratings), level)
    return results


def alpha_overall(ratings: Ratings, level: Level = "ordinal") -> AlphaResult:
    """Alpha pooled over every (case, criterion) unit of the ratings, all reviewers as coders."""
    reviewers = _ordered_unique(r for by_reviewer in ratings.values() for r in by_reviewer)
    units = _ordered_unique(
        (case, criterion)
        for case, by_reviewer in ratings.items()
        for scores in by_reviewer.values()
        for criterion in scores
    )
    return krippendorff_alpha_report(_matrix(reviewers, units, ratings), level)


# --------------------------------------------------------------------------------------------
# Disagreement flags
# --------------------------------------------------------------------------------------------


def disagreement_flag(scores: Iterable[Any], *, min_gap: int = DISAGREEMENT_LEVELS) -> bool:
    """True when reviewers' numeric scores of one criterion differ by `min_gap` levels or more.

    Special answers and None are ignored (a lone "insufficient information" is not a score gap).
    """
    numeric = [
        score
        for score in scores
        if not is_missing(score) and isinstance(score, int | float) and not isinstance(score, bool)
    ]
    return bool(numeric) and max(numeric) - min(numeric) >= min_gap


def flag_disagreements(
    case_ratings: Mapping[Hashable, Mapping[Hashable, Any]], *, min_gap: int = DISAGREEMENT_LEVELS
) -> list[Hashable]:
    """Criteria of one case whose reviewers' scores differ by `min_gap` levels or more.

    Input: {reviewer id: {criterion key: answer}}. Result: flagged criterion keys, in the
    order they first appear.
    """
    criteria = _ordered_unique(c for scores in case_ratings.values() for c in scores)
    return [
        criterion
        for criterion in criteria
        if disagreement_flag(
            (scores.get(criterion) for scores in case_ratings.values()), min_gap=min_gap
        )
    ]
