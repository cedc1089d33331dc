"""Krippendorff's alpha against published reference values, edge cases, disagreement flags."""

from __future__ import annotations

import pytest

from criteria.agreement import (
    alpha_by_case,
    alpha_by_criterion,
    alpha_overall,
    disagreement_flag,
    flag_disagreements,
    krippendorff_alpha,
    krippendorff_alpha_report,
    percent_agreement,
)
from criteria.scoring import INSUFFICIENT_INFORMATION, NOT_APPLICABLE

N = None

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x 12
# units with missing values. Published: nominal 0.743, ordinal 0.815, interval 0.849. The full-
# precision values were cross-checked with the PyPI package `krippendorff` 0.9.0 (installed in
# a scratch environment, not a project dependency), which gives the numbers below.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
KRIPPENDORFF_2011_ALPHA = {
    "nominal": 0.743421052631579,
    "ordinal": 0.8153875037548814,
    "interval": 0.8491071428571428,
}

# 0-4 rubric scores of three reviewers over ten criteria, values from `krippendorff` 0.9.0.
THREE_REVIEWERS = [
    [0, 1, 2, 3, 4, 2, 3, N, 1, 4],
    [0, 2, 2, 3, 3, 2, 4, 1, 1, 4],
    [1, 1, N, 3, 4, 1, 3, 1, 2, N],
]
THREE_REVIEWERS_ALPHA = {
    "nominal": 0.44680851063829785,
    "ordinal": 0.855602135511842,
    "interval": 0.8604651162790697,
}


class TestKrippendorffAlpha:
    @pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
    def test_krippendorff_2011_worked_example(self, level):
        alpha = krippendorff_alpha(KRIPPENDORFF_2011, level)
        assert alpha == pytest.approx(KRIPPENDORFF_2011_ALPHA[level], abs=1e-12)
        assert round(alpha, 3) == {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849}[level]

    @pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
    def test_three_reviewers_on_a_rubric(self, level):
        alpha = krippendorff_alpha(THREE_REVIEWERS, level)
        assert alpha == pytest.approx(THREE_REVIEWERS_ALPHA[level], abs=1e-12)

    def test_systematic_disagreement_is_negative(self):
        reversed_scores = [[0, 1, 2, 3, 4, 0, 1, 2], [4, 3, 2, 1, 0, 4, 3, 2]]
        assert krippendorff_alpha(reversed_scores, "ordinal") == pytest.approx(-0.875)

    def test_special_answers_are_missing_not_zero(self):
        with_specials = [
            [NOT_APPLICABLE if value is None else value for value in row]
            for row in KRIPPENDORFF_2011
        ]
        with_specials[0][9] = INSUFFICIENT_INFORMATION
        with_specials[1][10] = "insufficient_information"
        assert krippendorff_alpha(with_specials) == pytest.approx(
            KRIPPENDORFF_2011_ALPHA["ordinal"], abs=1e-12
        )

    def test_nan_is_missing(self):
        with_nan = [[float("nan") if v is None else v for v in row] for row in KRIPPENDORFF_2011]
        assert krippendorff_alpha(with_nan, "interval") == pytest.approx(
            KRIPPENDORFF_2011_ALPHA["interval"], abs=1e-12
        )

    def test_perfect_agreement_with_variation_is_exactly_one(self):
        assert krippendorff_alpha([[0, 2, 4, 1], [0, 2, 4, 1], [0, N, 4, 1]]) == 1.0

    def test_no_variation_at_all_is_undefined(self):
        report = krippendorff_alpha_report([[3, 3, 3], [3, 3, N]])
        assert report.alpha is None
        assert (report.n_units, report.n_pairable_values) == (2, 4)

    def test_a_single_pairable_value_is_undefined(self):
        # no unit has two values: nothing can be paired
        report = krippendorff_alpha_report([[1, N], [N, 2]])
        assert report.alpha is None
        assert report.n_units == 0

    def test_empty_matrix_is_undefined(self):
        assert krippendorff_alpha([]) is None

    def test_report_counts_pairable_units_and_values(self):
        report = krippendorff_alpha_report(KRIPPENDORFF_2011)
        assert (report.n_units, report.n_pairable_values, report.n_coders) == (11, 40, 4)

    def test_ragged_rows_are_rejected(self):
        with pytest.raises(ValueError, match="one entry per unit"):
            krippendorff_alpha([[1, 2], [1]])

    def test_ordinal_alpha_needs_numbers(self):
        with pytest.raises(ValueError, match="numbers"):
            krippendorff_alpha([["yes", "no"], ["yes", "yes"]], "ordinal")

    def test_nominal_alpha_accepts_gate_answers(self):
        answers = [["yes", "no", "no", "yes"], ["yes", "no", "unclear", "yes"]]
        # `krippendorff` 0.9.0 on the same data coded yes=1, no=0, unclear=2: 12/19
        assert krippendorff_alpha(answers, "nominal") == pytest.approx(12 / 19, abs=1e-12)

    def test_percent_agreement(self):
        assert percent_agreement([[1, 2, N], [1, 3, 4]]) == 0.5
        assert percent_agreement([[1, N], [N, 2]]) is None


def ratings_from_matrix(matrix: list[list]) -> dict:
    """{case: {reviewer: {criterion: score}}} with one case whose criteria are the columns."""
    return {
        "case-1": {
            f"reviewer-{r}": {f"c{u:02d}": value for u, value in enumerate(row) if value is not N}
            for r, row in enumerate(matrix)
        }
    }


class TestAlphaFromRatings:
    def test_alpha_by_case_uses_criteria_as_units(self):
        results = alpha_by_case(ratings_from_matrix(KRIPPENDORFF_2011))
        assert results["case-1"].alpha == pytest.approx(KRIPPENDORFF_2011_ALPHA["ordinal"])

    def test_alpha_overall_pools_cases(self):
        ratings = ratings_from_matrix(KRIPPENDORFF_2011)
        ratings["case-2"] = ratings_from_matrix(THREE_REVIEWERS)["case-1"]
        pooled = alpha_overall(ratings)
        matrix = [
            row_a + (row_b if index < len(THREE_REVIEWERS) else [N] * 10)
            for index, (row_a, row_b) in enumerate(
                zip(KRIPPENDORFF_2011, [*THREE_REVIEWERS, [N] * 10], strict=True)
            )
        ]
        assert pooled.alpha == pytest.approx(krippendorff_alpha(matrix))
        assert pooled.n_units == 11 + 10

    def test_alpha_by_criterion_uses_cases_as_units(self):
        ratings = {
            "case-1": {"ana": {"c1": 4, "c2": 1}, "ben": {"c1": 4, "c2": 3}},
            "case-2": {"ana": {"c1": 1, "c2": 2}, "ben": {"c1": 1, "c2": 0}},
            "case-3": {"ana": {"c1": 2}, "ben": {"c1": 2, "c2": NOT_APPLICABLE}},
        }
        results = alpha_by_criterion(ratings)
        assert results["c1"].alpha == 1.0
        assert results["c1"].n_units == 3
        assert results["c2"].n_units == 2  # case-3 has one score and a "not applicable"
        assert results["c2"].alpha < 0


class TestDisagreementFlags:
    @pytest.mark.parametrize(
        ("scores", "flagged"),
        [
            ([1, 3], True),
            ([2, 3], False),
            ([0, 1, 2], True),
            ([4, 4, 4], False),
            ([0, INSUFFICIENT_INFORMATION, 1], False),
            ([NOT_APPLICABLE, 4], False),
            ([], False),
            ([None, 2, 4], True),
        ],
    )
    def test_disagreement_flag_at_two_levels(self, scores, flagged):
        assert disagreement_flag(scores) is flagged

    def test_flag_disagreements_lists_flagged_criteria_in_order(self):
        case = {
            "ana": {"c1": 1, "c2": 3, "c3": 0},
            "ben": {"c1": 3, "c2": 3, "c3": NOT_APPLICABLE},
            "eva": {"c1": 2, "c2": 2, "c4": 4},
        }
        assert flag_disagreements(case) == ["c1"]
        assert flag_disagreements(case, min_gap=1) == ["c1", "c2"]
