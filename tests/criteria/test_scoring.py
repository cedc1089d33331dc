"""Scoring rules pinned with worked examples (rubric means, AIA rule, trees, checklists)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from criteria.schema import Framework, load_framework_file
from criteria.scoring import (
    INSUFFICIENT_INFORMATION,
    NOT_APPLICABLE,
    CommonTierAssignment,
    InvalidAnswerError,
    consolidate_gate,
    consolidate_median,
    core_dimension_profile,
    disclosure_share,
    evaluate_decision_tree,
    impact_mitigation_score,
    map_to_common_tier,
    round_half_up,
    score_checklist,
    score_framework,
    score_impact_mitigation,
    score_rubric,
    validate_answer,
    weakest_items,
    weighted_mean,
)

FRAMEWORKS = Path(__file__).resolve().parents[2] / "criteria" / "frameworks"
NA = NOT_APPLICABLE
NI = INSUFFICIENT_INFORMATION


def shipped(name: str) -> Framework:
    return load_framework_file(FRAMEWORKS / name)


@pytest.fixture(scope="module")
def unesco() -> Framework:
    return shipped("unesco-2021@1.0.yaml")


@pytest.fixture(scope="module")
def eu() -> Framework:
    return shipped("eu-ai-act-2024@1.0.yaml")


@pytest.fixture(scope="module")
def brazil() -> Framework:
    return shipped("br-pl2338-2023@1.0.yaml")


@pytest.fixture(scope="module")
def aia() -> Framework:
    return shipped("ca-aia-style@1.0.yaml")


@pytest.fixture(scope="module")
def disclosure() -> Framework:
    return shipped("transparency-disclosure@1.0.yaml")


def all_gates(framework: Framework, answer: str = "no", **overrides: str) -> dict[str, str]:
    answers = {gate.key: answer for gate in framework.items_of_kind("gate")}
    answers.update(overrides)
    return answers


# --------------------------------------------------------------------------------------------
# Rounding
# --------------------------------------------------------------------------------------------


class TestRoundHalfUp:
    @pytest.mark.parametrize(
        ("value", "expected", "bankers"),
        [
            (76.5, 77, 76),  # the AIA worked example: Python's round() would give 76
            (8.5, 9, 8),
            (2.5, 3, 2),
            (0.5, 1, 0),
            (Decimal("30.6"), 31, 31),
            (76.4, 76, 76),
            (77.5, 78, 78),
        ],
    )
    def test_round_half_up_rounds_halves_up_unlike_round(self, value, expected, bankers):
        assert round_half_up(value) == expected
        assert round(value) == bankers

    def test_round_half_up_is_exact_for_the_products_it_rounds(self):
        assert round_half_up(Decimal(90) * (1 - Decimal("0.15"))) == 77
        assert round_half_up(Fraction(153, 2)) == 77


# --------------------------------------------------------------------------------------------
# Weighted mean
# --------------------------------------------------------------------------------------------


class TestWeightedMean:
    def test_weighted_mean_weights_scores(self):
        result = weighted_mean([(4, 2.0), (2, 1.0), (1, 1.0)])
        assert result.mean == pytest.approx(11 / 4)  # (4*2 + 2 + 1) / 4
        assert (result.n_used, result.weight_used) == (3, 4.0)

    def test_weighted_mean_excludes_special_answers_instead_of_zeroing_them(self):
        result = weighted_mean([(4, 1.0), (NA, 1.0), (NI, 1.0), ("insufficient_information", 1.0)])
        assert result.mean == 4.0  # as zeros it would be 1.0
        assert (result.n_used, result.n_not_applicable, result.n_insufficient) == (1, 1, 2)

    def test_weighted_mean_counts_unanswered_separately(self):
        result = weighted_mean([(3, 1.0), (None, 1.0)])
        assert (result.mean, result.n_used, result.n_unanswered) == (3.0, 1, 1)

    def test_weighted_mean_of_only_special_answers_is_none(self):
        result = weighted_mean([(NA, 1.0), (NI, 1.0)])
        assert result.mean is None
        assert not result.sufficient

    def test_weighted_mean_reports_sufficiency(self):
        assert weighted_mean([(1, 1.0), (2, 1.0)], min_scored_items=2).sufficient
        assert not weighted_mean([(1, 1.0), (NI, 1.0)], min_scored_items=2).sufficient

    @pytest.mark.parametrize("weight", [0, -1.0])
    def test_weighted_mean_rejects_non_positive_weights(self, weight):
        with pytest.raises(ValueError, match="positive"):
            weighted_mean([(2, weight)])

    def test_weighted_mean_rejects_non_scores(self):
        with pytest.raises(ValueError, match="not a score"):
            weighted_mean([("yes", 1.0)])

    def test_score_rubric_unesco_needs_seven_scored_principles(self, unesco):
        keys = [item.key for item in unesco.items]
        answers = dict.fromkeys(keys[:7], 3) | dict.fromkeys(keys[7:], NI)
        result = score_rubric(unesco, answers)
        assert (result.mean, result.n_used, result.n_insufficient, result.sufficient) == (
            3.0,
            7,
            3,
            True,
        )
        answers[keys[0]] = NI
        assert not score_rubric(unesco, answers).sufficient

    def test_score_rubric_rejects_not_applicable_where_not_allowed(self, unesco):
        with pytest.raises(InvalidAnswerError, match="fairness_non_discrimination"):
            score_rubric(unesco, {"fairness_non_discrimination": NA})
        # privacy allows it (a system with no personal data)
        assert score_rubric(unesco, {"privacy_data_protection": NA}).n_not_applicable == 1

    @pytest.mark.parametrize("answer", [5, -1, "3", True])
    def test_score_rubric_rejects_out_of_scale_answers(self, unesco, answer):
        with pytest.raises(InvalidAnswerError):
            score_rubric(unesco, {"safety_security": answer})

    def test_score_rubric_rejects_unknown_items(self, unesco):
        with pytest.raises(InvalidAnswerError, match="not an item"):
            score_rubric(unesco, {"no_such_item": 2})


# --------------------------------------------------------------------------------------------
# Canada-AIA-style impact and mitigation
# --------------------------------------------------------------------------------------------

OFFICIAL = {"max_impact": 167, "max_mitigation": 77}  # AIA v1.0.1 maxima (per phase)


def aia_worked_example() -> dict:
    """Answers to the shipped AIA-style set worth 36 impact and 27 mitigation points."""
    impact = {
        "automation_type": "partial",  # 2
        "requires_judgement": "yes",  # 4 -> 6
        "reversibility": "likely_reversible",  # 2 -> 8
        "duration": "months",  # 2 -> 10
        "impact_rights_freedoms": "moderate",  # 2 -> 12
        "impact_equality_dignity_privacy": "high",  # 3 -> 15
        "impact_health_wellbeing": "moderate",  # 2 -> 17
        "impact_economic_interests": "moderate",  # 2 -> 19
        "impact_ecosystems": "little",  # 1 -> 20
        "impact_wrongful_inclusion_exclusion": "moderate",  # 2 -> 22
        "decision_domains": ["economic", "social", "employment"],  # 3 -> 25
        "vulnerable_groups": "yes",  # 3 -> 28
        "public_scrutiny": "yes",  # 3 -> 31
        "hard_to_explain": "yes",  # 3 -> 34
        "keeps_learning": "no",  # 0
        "personal_information": "yes",  # 2 -> 36
        "protected_characteristics": "no",  # 0
    }
    # every mitigation measure (33 points) except four worth 1 + 1 + 2 + 2 = 6 -> 27
    mitigation_missing = {
        "bias_testing_process_public": "no",
        "intersectional_data_analysis": "partial",
        "privacy_by_design": "no",
        "training_automation_bias": "no",
    }
    mitigation_keys = [
        "consulted_impacted_people",
        "consulted_affected_communities",
        "data_bias_testing_process",
        "bias_testing_process_public",
        "intersectional_data_analysis",
        "unreliable_data_process",
        "audit_trail_all_decisions",
        "overrides_logged",
        "gives_reasons",
        "recourse_process",
        "bias_mitigation_in_testing",
        "training_automation_bias",
        "performance_monitoring",
        "privacy_impact_assessment",
        "privacy_by_design",
        "deidentification",
    ]
    mitigation = {key: mitigation_missing.get(key, "yes") for key in mitigation_keys}
    return impact | mitigation


class TestImpactMitigation:
    def test_aia_worked_example_discount_and_half_up_rounding(self):
        # raw 90, mitigation 65 >= 0.8 * 77 = 61.6 -> 0.85 * 90 = 76.5 -> 77 (not 76) -> 46 % -> II
        result = impact_mitigation_score(90, 65, **OFFICIAL)
        assert result.mitigation_discount_applied
        assert result.adjusted_impact == 77
        assert result.level == 2

    def test_aia_worked_example_without_mitigation_is_level_three(self):
        result = impact_mitigation_score(90, 0, **OFFICIAL)
        assert (result.adjusted_impact, result.level) == (90, 3)  # 90/167 = 54 %

    def test_aia_repository_unit_test(self):
        # tests/unit/store.spec.ts: three sector boxes ticked -> raw 3, mitigation 0, level 1
        result = impact_mitigation_score(3, 0, **OFFICIAL)
        assert (result.raw_impact, result.mitigation, result.adjusted_impact, result.level) == (
            3,
            0,
            3,
            1,
        )

    def test_half_that_bankers_rounding_would_round_down(self):
        # 0.85 * 10 = 8.5 -> 9; round() would give 8
        result = impact_mitigation_score(10, 40, max_impact=100, max_mitigation=40)
        assert result.adjusted_impact == 9

    def test_mitigation_exactly_at_80_percent_applies_the_discount(self):
        result = impact_mitigation_score(60, 32, max_impact=100, max_mitigation=40)  # 32 = 0.8*40
        assert result.mitigation_discount_applied
        assert result.adjusted_impact == 51  # 0.85 * 60

    def test_mitigation_just_below_80_percent_does_not(self):
        result = impact_mitigation_score(60, 31, max_impact=100, max_mitigation=40)
        assert not result.mitigation_discount_applied
        assert result.adjusted_impact == 60

    @pytest.mark.parametrize(("mitigation", "applied"), [(62, True), (61, False)])
    def test_mitigation_threshold_with_official_maximum(self, mitigation, applied):
        # 0.8 * 77 = 61.6: 62 points qualify, 61 do not (exact arithmetic, no float drift)
        assert impact_mitigation_score(90, mitigation, **OFFICIAL).mitigation_discount_applied is (
            applied
        )

    @pytest.mark.parametrize(
        ("adjusted", "level"),
        [(0, 1), (25, 1), (26, 2), (50, 2), (51, 3), (75, 3), (76, 4), (100, 4)],
    )
    def test_level_upper_bounds_are_inclusive(self, adjusted, level):
        result = impact_mitigation_score(adjusted, 0, max_impact=100, max_mitigation=40)
        assert result.level == level
        assert result.impact_share == Fraction(adjusted, 100)

    def test_rounding_can_land_exactly_on_a_boundary(self):
        # 0.85 * 59 = 50.15 -> 50 -> exactly 50 % -> level II, not III
        result = impact_mitigation_score(59, 40, max_impact=100, max_mitigation=40)
        assert (result.adjusted_impact, result.level) == (50, 2)

    @pytest.mark.parametrize(
        ("raw", "mitigation", "maxima"),
        [(101, 0, (100, 40)), (-1, 0, (100, 40)), (10, 41, (100, 40)), (1, 0, (0, 40))],
    )
    def test_impact_mitigation_score_rejects_impossible_points(self, raw, mitigation, maxima):
        with pytest.raises(ValueError):
            impact_mitigation_score(raw, mitigation, max_impact=maxima[0], max_mitigation=maxima[1])

    def test_shipped_aia_style_set_example_from_the_research_brief(self, aia):
        # Set 9.6: raw 36, mitigation 27 >= 26.4 -> 30.6 -> 31 -> 48.4 % -> II (III without)
        result = score_impact_mitigation(aia, aia_worked_example())
        assert (result.score.raw_impact, result.score.mitigation) == (36, 27)
        assert (result.score.max_impact, result.score.max_mitigation) == (64, 33)
        assert (result.score.adjusted_impact, result.level_key) == (31, "II")
        assert result.complete
        assert map_to_common_tier(aia, result) == CommonTierAssignment("limited", False, "II")

    def test_insufficient_impact_answers_give_a_provisional_cautious_level(self, aia):
        answers = aia_worked_example() | {"decision_domains": NI}  # 3 of up to 8 points
        result = score_impact_mitigation(aia, answers)
        assert result.n_insufficient == 1
        assert not result.complete
        assert (result.score.raw_impact, result.cautious_score.raw_impact) == (33, 41)
        tier = map_to_common_tier(aia, result)
        assert tier.provisional
        assert tier.basis == result.cautious_level_key

    def test_multi_choice_points_are_summed(self, aia):
        answers = {"decision_domains": ["health", "social", "employment"]}
        result = score_impact_mitigation(aia, answers)
        assert result.score.raw_impact == 3
        assert result.n_unanswered == len(aia.items) - 1

    def test_score_impact_mitigation_rejects_unknown_options(self, aia):
        with pytest.raises(InvalidAnswerError, match="unknown option"):
            score_impact_mitigation(aia, {"automation_type": "sometimes"})


# --------------------------------------------------------------------------------------------
# Decision trees
# --------------------------------------------------------------------------------------------


class TestEuDecisionTree:
    def test_nothing_applies_is_minimal(self, eu):
        result = evaluate_decision_tree(eu, all_gates(eu, ai_system="yes"))
        assert (result.outcome, result.decided_by, result.needs_legal_review) == (
            "minimal",
            "otherwise",
            False,
        )

    def test_chatbot_is_limited(self, eu):
        answers = all_gates(eu, ai_system="yes", art50_interacts_with_people="yes")
        assert evaluate_decision_tree(eu, answers).outcome == "limited"

    def test_prohibited_practice_wins(self, eu):
        answers = all_gates(
            eu, ai_system="yes", art5_c_social_scoring="yes", annex3_essential_services="yes"
        )
        result = evaluate_decision_tree(eu, answers)
        assert (result.outcome, result.decided_by) == ("prohibited", "rules[1]")

    def test_annex_iii_use_that_profiles_is_high_even_with_derogation(self, eu):
        answers = all_gates(
            eu,
            ai_system="yes",
            annex3_essential_services="yes",
            art6_3_profiling="yes",
            art6_3_derogation="yes",
        )
        assert evaluate_decision_tree(eu, answers).outcome == "high"

    def test_documented_derogation_without_profiling_is_not_high(self, eu):
        answers = all_gates(
            eu,
            ai_system="yes",
            annex3_justice_democracy="yes",
            art6_3_derogation="yes",
            art50_interacts_with_people="yes",
        )
        assert evaluate_decision_tree(eu, answers).outcome == "limited"

    def test_unclear_derogation_needs_legal_review_with_cautious_high(self, eu):
        answers = all_gates(
            eu, ai_system="yes", annex3_essential_services="yes", art6_3_derogation="unclear"
        )
        result = evaluate_decision_tree(eu, answers)
        assert result.outcome is None
        assert result.needs_legal_review
        assert result.plausible_outcomes == ("high", "minimal")
        assert result.cautious_outcome == "high"
        assert result.unclear_gates == ("art6_3_derogation",)
        assert map_to_common_tier(eu, result) == CommonTierAssignment("high", True, "high")

    def test_insufficient_information_on_a_prohibition_is_unknown_not_no(self, eu):
        answers = all_gates(eu, ai_system="yes", art5_d_crime_prediction_profiling=NI)
        result = evaluate_decision_tree(eu, answers)
        assert result.plausible_outcomes == ("prohibited", "minimal")
        assert result.insufficient_gates == ("art5_d_crime_prediction_profiling",)

    def test_unknown_answers_that_lead_to_the_same_outcome_still_determine_it(self, eu):
        answers = all_gates(
            eu,
            ai_system="yes",
            annex_i_safety_component="unclear",
            annex3_education="yes",
            art6_3_profiling="yes",
        )
        result = evaluate_decision_tree(eu, answers)
        assert (result.outcome, result.decided_by) == ("high", "rules[3]")

    def test_unanswered_gates_are_reported_and_unknown(self, eu):
        result = evaluate_decision_tree(eu, {"ai_system": "yes"})
        assert result.needs_legal_review
        assert result.cautious_outcome == "prohibited"
        assert "art5_a_manipulation" in result.unanswered_gates

    def test_not_an_ai_system_is_out_of_scope_and_unassessed(self, eu):
        result = evaluate_decision_tree(eu, all_gates(eu, art5_c_social_scoring="yes"))
        assert result.outcome == "out_of_scope"
        assert map_to_common_tier(eu, result).tier == "unassessed"

    @pytest.mark.parametrize(
        ("as_of", "outcome", "skipped"),
        [
            (date(2026, 12, 1), "minimal", True),
            (date(2026, 12, 2), "prohibited", False),
            (None, "prohibited", False),
        ],
    )
    def test_gates_apply_only_from_their_legal_date(self, eu, as_of, outcome, skipped):
        answers = all_gates(eu, ai_system="yes", art5_bb_csam="yes")
        result = evaluate_decision_tree(eu, answers, as_of=as_of)
        assert result.outcome == outcome
        assert ("art5_bb_csam" in result.not_yet_applicable) is skipped

    def test_gates_reject_not_applicable(self, eu):
        with pytest.raises(InvalidAnswerError, match="not_applicable is not allowed"):
            evaluate_decision_tree(eu, {"ai_system": NA})

    def test_score_framework_scores_readiness_only_for_high_risk(self, eu):
        readiness = {"risk_management": 2, "human_oversight": 4, "record_keeping": NI}
        high = all_gates(eu, ai_system="yes", annex3_migration_border="yes") | readiness
        result = score_framework(eu, high)
        assert result.common_tier == CommonTierAssignment("high", False, "high")
        assert result.rubric is not None
        assert (result.rubric.mean, result.rubric.n_used, result.rubric.n_insufficient) == (
            3.0,
            2,
            1,
        )
        assert not result.rubric.sufficient  # 5 of the 9 obligations must be scored
        minimal = all_gates(eu, ai_system="yes") | readiness
        assert score_framework(eu, minimal).rubric is None


class TestBrazilDecisionTree:
    def test_social_benefits_eligibility_is_high_risk(self, brazil):
        answers = all_gates(brazil, art14_iv_essential_services="yes")
        result = score_framework(brazil, answers)
        assert result.tree.outcome == "high"
        assert result.common_tier.tier == "high"

    def test_public_social_scoring_is_excessive_and_maps_to_prohibited(self, brazil):
        answers = all_gates(brazil, art13_ii_public_social_scoring="yes")
        result = score_framework(brazil, answers)
        assert (result.tree.outcome, result.common_tier.tier) == ("excessive", "prohibited")

    def test_intermediate_technology_exception_removes_high_risk(self, brazil):
        answers = all_gates(brazil, art14_vi_justice="yes", art14_sole_paragraph_exception="yes")
        result = score_framework(brazil, answers)
        assert (result.tree.outcome, result.common_tier.tier) == ("other", "limited")

    def test_unclear_exception_is_provisionally_high(self, brazil):
        answers = all_gates(
            brazil, art14_vi_justice="yes", art14_sole_paragraph_exception="unclear"
        )
        result = score_framework(brazil, answers)
        assert result.tree.plausible_outcomes == ("high", "other")
        assert result.common_tier == CommonTierAssignment("high", True, "high")


# --------------------------------------------------------------------------------------------
# Disclosure checklists
# --------------------------------------------------------------------------------------------


class TestDisclosure:
    def test_disclosure_share_excludes_special_answers(self):
        answers = [("yes", 1.0)] * 6 + [("no", 1.0)] * 2 + [(NA, 1.0), (NI, 1.0), (None, 1.0)]
        result = disclosure_share(answers)
        assert result.share == pytest.approx(6 / 8)  # not 6/10: NA and NI are not "no"
        assert (result.n_not_applicable, result.n_insufficient, result.n_unanswered) == (1, 1, 1)

    def test_disclosure_share_uses_weights(self):
        assert disclosure_share([("yes", 3.0), ("no", 1.0)]).share == pytest.approx(0.75)

    def test_disclosure_share_without_yes_or_no_is_none(self):
        result = disclosure_share([(NA, 1.0), (NI, 1.0)])
        assert result.share is None
        assert not result.sufficient

    def test_disclosure_share_rejects_other_answers(self):
        with pytest.raises(ValueError):
            disclosure_share([(3, 1.0)])

    def test_shipped_checklist_share_and_sufficiency(self, disclosure):
        keys = [item.key for item in disclosure.items]
        answers = dict.fromkeys(keys[:5], "yes") | dict.fromkeys(keys[5:7], "no")
        answers[keys[7]] = NA
        result = score_checklist(disclosure, answers)
        assert result.share == pytest.approx(5 / 7)
        assert result.sufficient  # 7 items answered yes/no
        assert result.n_unanswered == len(keys) - 8
        assert score_framework(disclosure, answers).common_tier.tier == "unassessed"


# --------------------------------------------------------------------------------------------
# Consolidation
# --------------------------------------------------------------------------------------------


class TestConsolidation:
    def test_median_of_odd_count(self):
        result = consolidate_median([4, 1, 3])
        assert (result.value, result.n_scores, result.spread) == (3, 3, 3)

    @pytest.mark.parametrize(
        ("even_count", "expected"), [("lower", 2), ("upper", 3), ("mean", 2.5)]
    )
    def test_median_of_even_count(self, even_count, expected):
        assert consolidate_median([1, 2, 3, 4], even_count=even_count).value == expected

    def test_median_default_for_even_count_is_the_lower_middle_score(self):
        assert consolidate_median([2, 3]).value == 2

    def test_median_ignores_special_answers_and_counts_them(self):
        result = consolidate_median([4, NI, 2, NA, None])
        assert (result.value, result.n_scores, result.n_not_applicable, result.n_insufficient) == (
            2,
            2,
            1,
            1,
        )
        assert result.applicability_disputed

    @pytest.mark.parametrize(
        ("answers", "expected"),
        [([NA, NA, NI], NA), ([NA, NI], NI), ([NI], NI), ([], None), ([None], None)],
    )
    def test_median_without_scores_gives_a_special_answer(self, answers, expected):
        assert consolidate_median(answers).value == expected

    @pytest.mark.parametrize(
        ("answers", "expected"),
        [
            (["yes", "yes"], "yes"),
            (["no", "no", None], "no"),
            (["yes", "no"], "unclear"),
            (["yes", NI], "unclear"),
            ([NI, "insufficient_information"], NI),
            ([], None),
        ],
    )
    def test_consolidate_gate_needs_unanimity(self, answers, expected):
        assert consolidate_gate(answers) == expected


# --------------------------------------------------------------------------------------------
# Answers, common tier, dimensions, weakest items
# --------------------------------------------------------------------------------------------


class TestAnswersAndMappings:
    def test_validate_answer_multi_choice(self, aia):
        item = aia.item("decision_domains")
        validate_answer(item, ["health", "social"])
        validate_answer(item, [])
        with pytest.raises(InvalidAnswerError, match="twice"):
            validate_answer(item, ["health", "health"])
        with pytest.raises(InvalidAnswerError, match="list"):
            validate_answer(item, "health")

    def test_validate_answer_gate_and_check(self, eu, disclosure):
        validate_answer(eu.item("ai_system"), "unclear")
        with pytest.raises(InvalidAnswerError):
            validate_answer(eu.item("ai_system"), True)
        with pytest.raises(InvalidAnswerError):
            validate_answer(disclosure.item("legal_basis"), "unclear")

    def test_rubric_frameworks_map_to_unassessed(self, unesco):
        result = score_framework(unesco, {"safety_security": 2})
        assert result.common_tier == CommonTierAssignment("unassessed", False, None)

    def test_weakest_items_orders_by_score_then_file_order(self, unesco):
        answers = {
            "proportionality_do_no_harm": 3,
            "safety_security": 1,
            "fairness_non_discrimination": 4,
            "privacy_data_protection": NA,
            "human_oversight_determination": 1,
            "transparency_explainability": 0,
            "awareness_literacy": NI,
        }
        weak = weakest_items(unesco, answers, limit=3)
        assert [item.key for item in weak] == [
            "transparency_explainability",
            "safety_security",
            "human_oversight_determination",
        ]
        assert weak[0].score == 0.0
        assert weak[0].core_dimensions == ("transparency",)
        everything = [item.key for item in weakest_items(unesco, answers, limit=10)]
        assert "fairness_non_discrimination" not in everything  # at the top of the scale
        assert "privacy_data_protection" not in everything  # special answers are not "weak"

    def test_weakest_items_of_a_checklist_and_of_mitigation(self, disclosure, aia):
        checks = {"legal_basis": "no", "operating_logic": "yes", "data_sources": "no"}
        assert [w.key for w in weakest_items(disclosure, checks)] == ["data_sources", "legal_basis"]
        mitigation = {
            "recourse_process": "no",
            "privacy_by_design": "yes",
            "impact_ecosystems": "high",
        }
        assert [w.key for w in weakest_items(aia, mitigation)] == ["recourse_process"]

    def test_core_dimension_profile_averages_mapped_items(self, disclosure):
        answers = {"responsible_unit": "yes", "complaint_channel": "no", "legal_basis": "yes"}
        profile = core_dimension_profile(disclosure, answers)
        assert profile["transparency"].score == pytest.approx(2 / 3)
        assert profile["accountability"].score == pytest.approx(1 / 2)
        assert profile["accountability"].n_items == 2
        assert "human_oversight" not in profile
