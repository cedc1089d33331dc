"""Pure scoring rules: rubric means, AIA-style impact, legal decision trees, disclosure shares."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Literal

from criteria.schema import (
    AllOf,
    AnyOf,
    AnyYes,
    CheckItem,
    ChoiceItem,
    Condition,
    DecisionTreeScoring,
    Framework,
    GateIs,
    GateItem,
    ImpactMitigationScoring,
    Not,
    RubricItem,
    SpecialAnswer,
)

#: An answer: a rubric score (0-4), an option key (single choice), a sequence of option keys
#: (multi choice), "yes"/"no"/"unclear" (gates) or "yes"/"no" (checks), a SpecialAnswer, or None
#: for "not answered". Special answers may also be given as their plain strings.
Answer = int | float | str | Sequence[str] | SpecialAnswer | None

NOT_APPLICABLE = SpecialAnswer.NOT_APPLICABLE
INSUFFICIENT_INFORMATION = SpecialAnswer.INSUFFICIENT_INFORMATION
_SPECIAL_VALUES = frozenset(answer.value for answer in SpecialAnswer)


class InvalidAnswerError(ValueError):
    """An answer does not fit its item (wrong type, unknown option, out of range, not allowed)."""

    def __init__(self, item_key: str, message: str) -> None:
        self.item_key = item_key
        super().__init__(f"{item_key}: {message}")


def special_answer(answer: Answer) -> SpecialAnswer | None:
    """The SpecialAnswer an answer stands for (enum or plain string), else None."""
    if isinstance(answer, str) and answer in _SPECIAL_VALUES:
        return SpecialAnswer(answer)
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal | Fraction) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------
# Answer validation
# --------------------------------------------------------------------------------------------


def validate_answer(item: RubricItem | ChoiceItem | GateItem | CheckItem, answer: Answer) -> None:
    """Check that an answer fits its item.

    Inputs: the item and the answer (None = not answered, always accepted). Rubric: a number
    from 0 to 4 (reviewers give integers; consolidated medians may be halves). Single choice: an
    option key. Multi choice: a list/tuple/set of distinct option keys (may be empty). Gate:
    yes/no/unclear. Check: yes/no. Special answers only where the item `allows` them.
    Result: None. Raises InvalidAnswerError saying what is wrong.
    """
    if answer is None:
        return
    special = special_answer(answer)
    if special is not None:
        if special not in item.allows:
            raise InvalidAnswerError(item.key, f"{special.value} is not allowed for this item")
        return
    if isinstance(item, RubricItem):
        if not _is_number(answer) or not 0 <= answer <= 4:
            raise InvalidAnswerError(item.key, f"expected a score from 0 to 4, got {answer!r}")
    elif isinstance(item, ChoiceItem):
        keys = {option.key for option in item.options}
        if item.select == "single":
            if not isinstance(answer, str) or answer not in keys:
                raise InvalidAnswerError(item.key, f"unknown option {answer!r}")
        else:
            if isinstance(answer, str) or not isinstance(answer, Iterable):
                raise InvalidAnswerError(item.key, "expected a list of option keys")
            chosen = list(answer)
            unknown = [key for key in chosen if key not in keys]
            if unknown:
                raise InvalidAnswerError(item.key, f"unknown option(s) {unknown!r}")
            if len(set(chosen)) != len(chosen):
                raise InvalidAnswerError(item.key, "an option is chosen twice")
    elif isinstance(item, GateItem):
        if answer not in ("yes", "no", "unclear"):
            raise InvalidAnswerError(item.key, f"expected yes, no or unclear, got {answer!r}")
    elif answer not in ("yes", "no"):
        raise InvalidAnswerError(item.key, f"expected yes or no, got {answer!r}")


def validate_answers(framework: Framework, answers: Mapping[str, Answer]) -> None:
    """Check every answer of a mapping {item key: answer} against the framework.

    Raises InvalidAnswerError for an unknown item key or an answer that does not fit its item.
    """
    for key, answer in answers.items():
        try:
            item = framework.item(key)
        except KeyError:
            raise InvalidAnswerError(key, f"not an item of {framework.full_key}") from None
        validate_answer(item, answer)


# --------------------------------------------------------------------------------------------
# Rounding
# --------------------------------------------------------------------------------------------


def round_half_up(value: Decimal | int | float | str | Fraction) -> int:
    """Round to the nearest integer, halves away from zero (76.5 -> 77, 8.5 -> 9).

    This is what the Canada AIA tool's JavaScript `Math.round` does for the non-negative
    scores it rounds. Python's `round()` would give 76 and 8 (banker's rounding). Floats are
    converted through `str()` so that 0.85 * 90 computed as Decimal stays exactly 76.5.
    """
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    elif not isinstance(value, Decimal):
        value = Decimal(str(value))
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------------------------
# Weighted mean of rubric scores
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightedMean:
    """Weighted mean of scores; special answers excluded from it and counted."""

    mean: float | None
    n_used: int
    n_not_applicable: int
    n_insufficient: int
    n_unanswered: int = 0
    weight_used: float = 0.0
    sufficient: bool = False


def weighted_mean(
    scores: Iterable[tuple[Answer, float]], *, min_scored_items: int = 1
) -> WeightedMean:
    """Weighted mean of ordinal scores with "not applicable"/"insufficient" excluded, not zeroed.

    Input: (answer, weight) pairs; an answer is a number, a special answer or None (unanswered).
    Result: mean = sum(w*x)/sum(w) over numeric answers (None when there are none), the number
    used, the counts of not applicable / insufficient information / unanswered, the weight used,
    and `sufficient` (at least `min_scored_items` numeric answers).
    Raises ValueError for a non-positive weight or an answer that is neither.
    """
    weighted_sum: list[float] = []
    weights: list[float] = []
    counts = {NOT_APPLICABLE: 0, INSUFFICIENT_INFORMATION: 0}
    n_unanswered = 0
    for answer, weight in scores:
        if not weight > 0:
            raise ValueError(f"weights must be positive, got {weight!r}")
        special = special_answer(answer)
        if answer is None:
            n_unanswered += 1
        elif special is not None:
            counts[special] += 1
        elif _is_number(answer):
            weighted_sum.append(float(answer) * weight)
            weights.append(weight)
        else:
            raise ValueError(f"not a score: {answer!r}")
    total_weight = math.fsum(weights)
    mean = math.fsum(weighted_sum) / total_weight if weights else None
    return WeightedMean(
        mean=mean,
        n_used=len(weights),
        n_not_applicable=counts[NOT_APPLICABLE],
        n_insufficient=counts[INSUFFICIENT_INFORMATION],
        n_unanswered=n_unanswered,
        weight_used=total_weight,
        sufficient=len(weights) >= min_scored_items,
    )


def score_rubric(framework: Framework, answers: Mapping[str, Answer]) -> WeightedMean:
    """Weighted mean of a framework's rubric items.

    Inputs: the framework and {item key: answer} (missing keys count as unanswered; answers to
    other kinds of items are ignored here). Result: `WeightedMean` with `sufficient` judged
    against the framework's `scoring.min_scored_items`. Raises InvalidAnswerError.
    """
    validate_answers(framework, answers)
    pairs = [(answers.get(item.key), item.weight) for item in framework.items_of_kind("rubric")]
    return weighted_mean(pairs, min_scored_items=getattr(framework.scoring, "min_scored_items", 1))


# --------------------------------------------------------------------------------------------
# Canada-AIA-style impact and mitigation
# --------------------------------------------------------------------------------------------

AIA_MITIGATION_THRESHOLD = Decimal("0.80")
AIA_IMPACT_REDUCTION = Decimal("0.15")
AIA_LEVEL_UPPER_BOUNDS: tuple[Decimal, ...] = (Decimal("0.25"), Decimal("0.50"), Decimal("0.75"))


@dataclass(frozen=True)
class ImpactScore:
    """Result of the AIA rule for one set of points."""

    raw_impact: int
    max_impact: int
    mitigation: int
    max_mitigation: int
    mitigation_discount_applied: bool
    adjusted_impact: int
    impact_share: Fraction
    level: int  # 1-based: 1 = level I


def _decimal(value: Decimal | float | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def impact_mitigation_score(
    raw_impact: int,
    mitigation: int,
    *,
    max_impact: int,
    max_mitigation: int,
    mitigation_threshold: Decimal | float = AIA_MITIGATION_THRESHOLD,
    impact_reduction: Decimal | float = AIA_IMPACT_REDUCTION,
    level_upper_bounds: Sequence[Decimal | float] = AIA_LEVEL_UPPER_BOUNDS,
) -> ImpactScore:
    """Apply the Canada AIA scoring rule (store.ts `calculateFinalScore`) to points.

    Inputs: raw impact points and their maximum; mitigation points and their maximum (one
    phase); the rule's constants (defaults: 80 %, 15 %, bounds 25/50/75 %).
    Rule: if mitigation >= threshold x max_mitigation (inclusive), the adjusted impact is
    round_half_up(raw x (1 - reduction)), else the raw impact. The level is the first whose
    inclusive upper bound the share adjusted/max_impact does not exceed: I <= 25 % < II <= 50 %
    < III <= 75 % < IV. All comparisons are exact (Decimal/Fraction), never floats.
    Result: `ImpactScore`. Raises ValueError for points outside 0..max or a non-positive max.
    """
    if max_impact <= 0 or max_mitigation <= 0:
        raise ValueError("maximum impact and mitigation points must be positive")
    if not 0 <= raw_impact <= max_impact:
        raise ValueError(f"raw impact {raw_impact} outside 0..{max_impact}")
    if not 0 <= mitigation <= max_mitigation:
        raise ValueError(f"mitigation {mitigation} outside 0..{max_mitigation}")
    threshold = _decimal(mitigation_threshold)
    reduction = _decimal(impact_reduction)
    discount = Decimal(mitigation) >= threshold * Decimal(max_mitigation)
    adjusted = round_half_up(Decimal(raw_impact) * (1 - reduction)) if discount else raw_impact
    share = Fraction(adjusted, max_impact)
    level = len(level_upper_bounds) + 1
    for index, bound in enumerate(level_upper_bounds):
        if share <= Fraction(_decimal(bound)):
            level = index + 1
            break
    return ImpactScore(
        raw_impact=raw_impact,
        max_impact=max_impact,
        mitigation=mitigation,
        max_mitigation=max_mitigation,
        mitigation_discount_applied=discount,
        adjusted_impact=adjusted,
        impact_share=share,
        level=level,
    )


def choice_points(item: ChoiceItem, answer: Answer) -> int:
    """Points of an answer to a choice item (0 for unanswered or special answers)."""
    if answer is None or special_answer(answer) is not None:
        return 0
    points = {option.key: option.points for option in item.options}
    if item.select == "single":
        return points[answer]
    return sum(points[key] for key in answer)


@dataclass(frozen=True)
class ImpactAssessment:
    """AIA-style result for a framework: the score from the answers and its cautious bound."""

    score: ImpactScore
    level_key: str
    cautious_score: ImpactScore
    cautious_level_key: str
    n_insufficient: int
    n_unanswered: int

    @property
    def complete(self) -> bool:
        """True when every question has a real answer (no insufficient, none unanswered)."""
        return self.n_insufficient == 0 and self.n_unanswered == 0


def score_impact_mitigation(
    framework: Framework, answers: Mapping[str, Answer]
) -> ImpactAssessment:
    """Impact level of an impact_mitigation framework from {item key: answer}.

    Points: single choice = the option's points, multi choice = sum of chosen options; max =
    best option (single) or all options (multi). Unanswered and "insufficient information"
    answers add no points, as in the AIA tool, but are counted, and a cautious bound is
    computed with every such impact question at its maximum and every such mitigation question
    at 0, so an incomplete questionnaire never looks safer than it may be.
    Result: `ImpactAssessment`. Raises InvalidAnswerError; ValueError if not this method.
    """
    scoring = framework.scoring
    if not isinstance(scoring, ImpactMitigationScoring):
        raise ValueError(f"{framework.full_key} is not scored by impact_mitigation")
    validate_answers(framework, answers)
    totals = {"raw": 0, "mit": 0, "max_raw": 0, "max_mit": 0, "cautious_raw": 0}
    n_insufficient = n_unanswered = 0
    for item in framework.items_of_kind("choice"):
        answer = answers.get(item.key)
        points = choice_points(item, answer)
        unknown = answer is None or special_answer(answer) is not None
        if answer is None:
            n_unanswered += 1
        elif unknown:
            n_insufficient += 1
        if item.role == "impact":
            totals["raw"] += points
            totals["max_raw"] += item.max_points
            totals["cautious_raw"] += item.max_points if unknown else points
        else:
            totals["mit"] += points
            totals["max_mit"] += item.max_points
    bounds = [level.up_to for level in scoring.levels if level.up_to is not None]
    rule = {
        "max_impact": totals["max_raw"],
        "max_mitigation": totals["max_mit"],
        "mitigation_threshold": scoring.mitigation_threshold,
        "impact_reduction": scoring.impact_reduction,
        "level_upper_bounds": bounds,
    }
    score = impact_mitigation_score(totals["raw"], totals["mit"], **rule)
    cautious = impact_mitigation_score(totals["cautious_raw"], totals["mit"], **rule)
    return ImpactAssessment(
        score=score,
        level_key=scoring.levels[score.level - 1].key,
        cautious_score=cautious,
        cautious_level_key=scoring.levels[cautious.level - 1].key,
        n_insufficient=n_insufficient,
        n_unanswered=n_unanswered,
    )


# --------------------------------------------------------------------------------------------
# Decision trees (legal risk tiers)
# --------------------------------------------------------------------------------------------

Truth = bool | None  # None = unknown (three-valued logic)


def _truth(condition: Condition, gate_values: Mapping[str, str | None]) -> Truth:
    if isinstance(condition, GateIs):
        value = gate_values.get(condition.gate)
        return None if value is None else value == condition.answer
    if isinstance(condition, AnyYes):
        return _truth(AnyOf(tuple(GateIs(gate, "yes") for gate in condition.gates)), gate_values)
    if isinstance(condition, AllOf | AnyOf):
        values = [_truth(part, gate_values) for part in condition.conditions]
        decisive = isinstance(condition, AnyOf)  # True decides "any", False decides "all"
        if decisive in values:
            return decisive
        return None if None in values else not decisive
    if isinstance(condition, Not):
        value = _truth(condition.condition, gate_values)
        return None if value is None else not value
    raise TypeError(f"unknown condition {condition!r}")


@dataclass(frozen=True)
class TreeResult:
    """Outcome of a legal decision tree, with the handling of unclear answers made explicit.

    `outcome` is None when unclear/insufficient/unanswered gates leave several outcomes
    possible; then `needs_legal_review` is True, `plausible_outcomes` lists them (most severe
    first) and `cautious_outcome` is the most severe of them. When determined, `outcome` ==
    `cautious_outcome`. `decided_by` is "rules[i]" or "otherwise" (None when undetermined).
    """

    outcome: str | None
    cautious_outcome: str
    plausible_outcomes: tuple[str, ...]
    decided_by: str | None
    unclear_gates: tuple[str, ...]
    insufficient_gates: tuple[str, ...]
    unanswered_gates: tuple[str, ...]
    not_yet_applicable: tuple[str, ...]

    @property
    def determined(self) -> bool:
        """True when the answers lead to a single outcome."""
        return self.outcome is not None

    @property
    def needs_legal_review(self) -> bool:
        """True when the outcome is undetermined ("unclear / needs legal review")."""
        return self.outcome is None


def evaluate_decision_tree(
    framework: Framework, answers: Mapping[str, Answer], *, as_of: date | None = None
) -> TreeResult:
    """Evaluate a decision_tree framework's rules on gate answers.

    Inputs: the framework; {gate key: "yes" | "no" | "unclear" | insufficient | None}; `as_of`,
    the assessment date: a gate whose `applies_from` is later is read as "no" (that rule was not
    yet in force) and listed in `not_yet_applicable`. Without `as_of` every gate applies.
    Rules run in order, first match wins, `otherwise` at the end. Conditions use three-valued
    logic: "unclear", "insufficient information" and unanswered gates are unknown, never "no".
    A rule whose condition is unknown makes its outcome plausible and evaluation continues to
    the first rule that certainly holds. One plausible outcome -> determined; several ->
    undetermined, needs legal review, with the most severe one as `cautious_outcome` (the
    research brief's rule: dashboards must never under-state risk).
    Result: `TreeResult`. Raises InvalidAnswerError; ValueError if not this method.
    """
    scoring = framework.scoring
    if not isinstance(scoring, DecisionTreeScoring):
        raise ValueError(f"{framework.full_key} is not scored by decision_tree")
    validate_answers(framework, answers)
    gate_values: dict[str, str | None] = {}
    unclear, insufficient, unanswered, not_yet = [], [], [], []
    for gate in framework.items_of_kind("gate"):
        answer = answers.get(gate.key)
        if as_of is not None and gate.applies_from is not None and as_of < gate.applies_from:
            gate_values[gate.key] = "no"
            not_yet.append(gate.key)
        elif answer in ("yes", "no"):
            gate_values[gate.key] = answer
        else:
            gate_values[gate.key] = None
            if answer is None:
                unanswered.append(gate.key)
            elif answer == "unclear":
                unclear.append(gate.key)
            else:
                insufficient.append(gate.key)

    plausible: list[str] = []
    decided_by: str | None = None
    for index, rule in enumerate(scoring.rules):
        truth = _truth(rule.condition, gate_values)
        if truth is None:
            plausible.append(rule.outcome)
        elif truth:
            plausible.append(rule.outcome)
            decided_by = f"rules[{index}]"
            break
    else:
        plausible.append(scoring.otherwise)
        decided_by = "otherwise"
    distinct = sorted(set(plausible), key=scoring.severity, reverse=True)
    determined = len(distinct) == 1
    return TreeResult(
        outcome=distinct[0] if determined else None,
        cautious_outcome=distinct[0],
        plausible_outcomes=tuple(distinct),
        decided_by=decided_by if determined else None,
        unclear_gates=tuple(unclear),
        insufficient_gates=tuple(insufficient),
        unanswered_gates=tuple(unanswered),
        not_yet_applicable=tuple(not_yet),
    )


# --------------------------------------------------------------------------------------------
# Disclosure checklists
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisclosureShare:
    """Share of applicable checklist items disclosed (the observatory's own measure)."""

    share: float | None
    n_disclosed: int
    n_not_disclosed: int
    n_not_applicable: int
    n_insufficient: int
    n_unanswered: int = 0
    sufficient: bool = False


def disclosure_share(
    answers: Iterable[tuple[Answer, float]], *, min_scored_items: int = 1
) -> DisclosureShare:
    """Weighted share of "yes" among items answered yes or no.

    Input: (answer, weight) pairs with answers "yes", "no", a special answer or None.
    Result: share = sum(w for yes) / sum(w for yes or no) (None when no item is answered yes or
    no); "not applicable" and "insufficient information" are excluded and counted, never read as
    "no"; `sufficient` when at least `min_scored_items` items are answered yes or no.
    Raises ValueError for a non-positive weight or any other answer.
    """
    disclosed_weight: list[float] = []
    answered_weight: list[float] = []
    n_yes = n_no = n_unanswered = 0
    counts = {NOT_APPLICABLE: 0, INSUFFICIENT_INFORMATION: 0}
    for answer, weight in answers:
        if not weight > 0:
            raise ValueError(f"weights must be positive, got {weight!r}")
        special = special_answer(answer)
        if answer is None:
            n_unanswered += 1
        elif special is not None:
            counts[special] += 1
        elif answer == "yes":
            n_yes += 1
            disclosed_weight.append(weight)
            answered_weight.append(weight)
        elif answer == "no":
            n_no += 1
            answered_weight.append(weight)
        else:
            raise ValueError(f"expected yes or no, got {answer!r}")
    share = math.fsum(disclosed_weight) / math.fsum(answered_weight) if answered_weight else None
    return DisclosureShare(
        share=share,
        n_disclosed=n_yes,
        n_not_disclosed=n_no,
        n_not_applicable=counts[NOT_APPLICABLE],
        n_insufficient=counts[INSUFFICIENT_INFORMATION],
        n_unanswered=n_unanswered,
        sufficient=n_yes + n_no >= min_scored_items,
    )


def score_checklist(framework: Framework, answers: Mapping[str, Answer]) -> DisclosureShare:
    """Disclosure share of a framework's check items from {item key: answer}.

    Raises InvalidAnswerError for answers that do not fit.
    """
    validate_answers(framework, answers)
    pairs = [(answers.get(item.key), item.weight) for item in framework.items_of_kind("check")]
    return disclosure_share(
        pairs, min_scored_items=getattr(framework.scoring, "min_scored_items", 1)
    )


# --------------------------------------------------------------------------------------------
# Consolidation of several reviewers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsolidatedScore:
    """Median of reviewers' ordinal scores for one item, with what was left out."""

    value: float | int | SpecialAnswer | None
    n_scores: int
    n_not_applicable: int
    n_insufficient: int
    spread: float | int | None  # highest minus lowest numeric score
    applicability_disputed: bool  # some reviewers scored, others said "not applicable"


def consolidate_median(
    scores: Iterable[Answer], *, even_count: Literal["lower", "upper", "mean"] = "lower"
) -> ConsolidatedScore:
    """Consolidate several reviewers' scores of one item by the median.

    Input: the reviewers' answers (numbers, special answers, None for "did not answer").
    Numeric scores: the median; with an even number of them `even_count` decides: "lower"
    (default) takes the lower middle score, so the result is always a level some reviewer gave
    and never higher than what half of them gave (the cautious choice on a higher-is-better
    rubric); "upper" takes the higher one (cautious on a higher-is-riskier scale); "mean"
    averages the two and may yield a half level. Special answers are never numbers: with no
    numeric score the result is "not applicable" when more reviewers said so than said
    "insufficient information", otherwise "insufficient information"; with no answers at all,
    None. Result: `ConsolidatedScore` (with the spread, and a flag when some reviewers scored
    and others said "not applicable").
    """
    numeric: list[float | int] = []
    n_na = n_ni = 0
    for answer in scores:
        special = special_answer(answer)
        if answer is None:
            continue
        if special is NOT_APPLICABLE:
            n_na += 1
        elif special is INSUFFICIENT_INFORMATION:
            n_ni += 1
        elif _is_number(answer):
            numeric.append(answer)
        else:
            raise ValueError(f"not a score: {answer!r}")
    numeric.sort()
    value: float | int | SpecialAnswer | None
    if numeric:
        middle = len(numeric) // 2
        if len(numeric) % 2:
            value = numeric[middle]
        elif even_count == "lower":
            value = numeric[middle - 1]
        elif even_count == "upper":
            value = numeric[middle]
        else:
            value = (numeric[middle - 1] + numeric[middle]) / 2
    elif n_na or n_ni:
        value = NOT_APPLICABLE if n_na > n_ni else INSUFFICIENT_INFORMATION
    else:
        value = None
    return ConsolidatedScore(
        value=value,
        n_scores=len(numeric),
        n_not_applicable=n_na,
        n_insufficient=n_ni,
        spread=(numeric[-1] - numeric[0]) if numeric else None,
        applicability_disputed=bool(numeric) and n_na > 0,
    )


def consolidate_gate(answers: Iterable[Answer]) -> str | SpecialAnswer | None:
    """Consolidate several reviewers' answers to one gate.

    Unanimous answers stand; any disagreement (e.g. yes vs no, or yes vs insufficient) gives
    "unclear", so the tree reports the case as needing legal review instead of silently
    picking a side. Unanswered (None) entries are ignored; no answers at all gives None.
    """
    given = [answer for answer in answers if answer is not None]
    if not given:
        return None
    normalised = {special_answer(answer) or answer for answer in given}
    return normalised.pop() if len(normalised) == 1 else "unclear"


# --------------------------------------------------------------------------------------------
# Common tier, core dimensions, weakest items
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommonTierAssignment:
    """The observatory's common risk tier for a framework result.

    `provisional` is True when the tier comes from a cautious reading (undetermined tree, or an
    incomplete AIA questionnaire); `basis` is the framework result key that was mapped.
    """

    tier: str
    provisional: bool
    basis: str | None


def map_to_common_tier(framework: Framework, result: object) -> CommonTierAssignment:
    """Map a framework result to the common tier with the framework's observatory mapping.

    Inputs: the framework and a `TreeResult`, an `ImpactAssessment` or a `FrameworkResult`;
    any other result (rubric means, disclosure shares) has no risk output -> "unassessed".
    Undetermined trees and incomplete impact questionnaires map their cautious result and
    are marked provisional. Result: `CommonTierAssignment`.
    """
    if isinstance(result, FrameworkResult):
        return result.common_tier
    mapping = framework.observatory_mapping.common_tier
    if isinstance(result, TreeResult):
        key, provisional = result.cautious_outcome, not result.determined
    elif isinstance(result, ImpactAssessment):
        key, provisional = result.cautious_level_key, result.cautious_level_key != result.level_key
        provisional = provisional or not result.complete
    else:
        return CommonTierAssignment(tier="unassessed", provisional=False, basis=None)
    return CommonTierAssignment(tier=mapping[key], provisional=provisional, basis=key)


def normalized_safeguard_score(
    item: RubricItem | ChoiceItem | GateItem | CheckItem, answer: Answer
) -> float | None:
    """An answer to a safeguard item on 0..1 (1 = best), or None if it has no score.

    Rubric: score / 4. Check: yes = 1, no = 0. Mitigation choice: points / max points.
    Gates, impact questions, special answers and unanswered items give None.
    """
    if answer is None or special_answer(answer) is not None:
        return None
    if isinstance(item, RubricItem):
        return float(answer) / 4
    if isinstance(item, CheckItem):
        return 1.0 if answer == "yes" else 0.0
    if isinstance(item, ChoiceItem) and item.role == "mitigation":
        return choice_points(item, answer) / item.max_points
    return None


@dataclass(frozen=True)
class DimensionScore:
    """Weighted mean of normalised safeguard scores (0..1) of the items mapped to a dimension."""

    dimension: str
    score: float
    n_items: int


def core_dimension_profile(
    framework: Framework, answers: Mapping[str, Answer]
) -> dict[str, DimensionScore]:
    """Scores on the observatory's core dimensions, for cross-framework comparison.

    Each item listed in `observatory_mapping.core_dimensions` contributes its normalised score
    (see `normalized_safeguard_score`) with its weight (1 for mitigation questions) to every
    dimension it maps to. Dimensions with no scored item are absent. Our crosswalk, not the
    frameworks'. Raises InvalidAnswerError.
    """
    validate_answers(framework, answers)
    totals: dict[str, list[tuple[float, float]]] = {}
    for key, dimensions in framework.observatory_mapping.core_dimensions.items():
        item = framework.item(key)
        score = normalized_safeguard_score(item, answers.get(key))
        if score is None:
            continue
        weight = getattr(item, "weight", 1.0)
        for dimension in dimensions:
            totals.setdefault(dimension, []).append((score, weight))
    return {
        dimension: DimensionScore(
            dimension=dimension,
            score=math.fsum(s * w for s, w in pairs) / math.fsum(w for _, w in pairs),
            n_items=len(pairs),
        )
        for dimension, pairs in totals.items()
    }


@dataclass(frozen=True)
class WeakItem:
    """A safeguard item scoring below its best, for recommendations."""

    key: str
    score: float  # normalised 0..1
    answer: Answer
    weight: float
    core_dimensions: tuple[str, ...]


def weakest_items(
    framework: Framework, answers: Mapping[str, Answer], *, limit: int = 3
) -> list[WeakItem]:
    """The lowest-scoring safeguard items, to target recommendations.

    Inputs: the framework, {item key: answer}, and how many to return at most. Considers
    rubric, check and mitigation items with a real answer below their best score; special and
    missing answers are not "weak" (they are an evidence gap, reported by the counts).
    Order: lowest normalised score first, then higher weight, then file order.
    Result: up to `limit` `WeakItem`s. Raises InvalidAnswerError.
    """
    validate_answers(framework, answers)
    dimensions = framework.observatory_mapping.core_dimensions
    ranked: list[tuple[float, float, int, WeakItem]] = []
    for position, item in enumerate(framework.items):
        score = normalized_safeguard_score(item, answers.get(item.key))
        if score is None or score >= 1.0:
            continue
        weight = getattr(item, "weight", 1.0)
        weak = WeakItem(
            key=item.key,
            score=score,
            answer=answers.get(item.key),
            weight=weight,
            core_dimensions=tuple(dimensions.get(item.key, ())),
        )
        ranked.append((score, -weight, position, weak))
    ranked.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in ranked[:limit]]


# --------------------------------------------------------------------------------------------
# Whole framework
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameworkResult:
    """Every result a framework yields for one set of (consolidated) answers."""

    framework: str  # key@version
    method: str
    rubric: WeightedMean | None
    impact: ImpactAssessment | None
    tree: TreeResult | None
    disclosure: DisclosureShare | None
    common_tier: CommonTierAssignment


def score_framework(
    framework: Framework, answers: Mapping[str, Answer], *, as_of: date | None = None
) -> FrameworkResult:
    """Score a framework by its method and map the result to the common tier.

    weighted_mean -> `rubric`; impact_mitigation -> `impact`; disclosure_share ->
    `disclosure`; decision_tree -> `tree`, plus `rubric` (readiness items) when the tree's
    cautious outcome is one of `scoring.rubric_applies_to_outcomes` (or that list is empty).
    `as_of` is passed to the tree. Raises InvalidAnswerError.
    """
    validate_answers(framework, answers)
    scoring = framework.scoring
    rubric = impact = tree = disclosure = None
    primary: object = None
    if scoring.method == "weighted_mean":
        rubric = score_rubric(framework, answers)
    elif scoring.method == "impact_mitigation":
        impact = primary = score_impact_mitigation(framework, answers)
    elif scoring.method == "disclosure_share":
        disclosure = score_checklist(framework, answers)
    else:
        tree = primary = evaluate_decision_tree(framework, answers, as_of=as_of)
        applies_to: Any = scoring.rubric_applies_to_outcomes
        has_rubric = bool(framework.items_of_kind("rubric"))
        if has_rubric and (not applies_to or tree.cautious_outcome in applies_to):
            rubric = score_rubric(framework, answers)
    return FrameworkResult(
        framework=framework.full_key,
        method=scoring.method,
        rubric=rubric,
        impact=impact,
        tree=tree,
        disclosure=disclosure,
        common_tier=map_to_common_tier(framework, primary),
    )
