"""Framework files: pydantic models, validation, loading and content hash (no Flask, no DB)."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

# --------------------------------------------------------------------------------------------
# Shared vocabularies
# --------------------------------------------------------------------------------------------

#: Languages every human-readable text of a framework file must have.
LANGUAGES: tuple[str, ...] = ("es", "pt", "en")

#: File format version understood by this module (the top-level `format:` key).
FORMAT_VERSION = 1

#: Branches of government (the observatory's controlled list).
BRANCHES: tuple[str, ...] = ("executive", "legislative", "judicial", "autonomous")

#: The observatory's common risk tiers, from least to most severe, then the "no risk output" value.
#: This is the observatory's own convention for cross-framework dashboards, not a legal equivalence.
COMMON_TIERS: tuple[str, ...] = ("minimal", "limited", "high", "prohibited", "unassessed")

#: Severity rank of each assessed common tier (higher = more severe); `unassessed` has none.
COMMON_TIER_SEVERITY: dict[str, int] = {"minimal": 0, "limited": 1, "high": 2, "prohibited": 3}

#: The observatory's core dimensions shared across frameworks (our crosswalk, not the frameworks'):
#: key -> {"label": {es, pt, en}, "definition": {es, pt, en}}, for the UI and the open-data docs.
CORE_DIMENSIONS: dict[str, dict[str, dict[str, str]]] = {
    "transparency": {
        "label": {
            "es": "Transparencia y explicabilidad",
            "pt": "Transparência e explicabilidade",
            "en": "Transparency and explainability",
        },
        "definition": {
            "es": "Se puede saber que se usa IA, cómo funciona y por qué dio un resultado.",
            "pt": "É possível saber que a IA é usada, como funciona e por que deu um resultado.",
            "en": "People can know that AI is used, how it works and why it produced a result.",
        },
    },
    "fairness": {
        "label": {
            "es": "Equidad y no discriminación",
            "pt": "Equidade e não discriminação",
            "en": "Fairness and non-discrimination",
        },
        "definition": {
            "es": "Se examinan y mitigan sesgos; los grupos vulnerables no quedan en desventaja.",
            "pt": "Vieses são examinados e mitigados; grupos vulneráveis não ficam em desvantagem.",
            "en": "Bias is examined and mitigated; vulnerable groups are not disadvantaged.",
        },
    },
    "human_oversight": {
        "label": {"es": "Supervisión humana", "pt": "Supervisão humana", "en": "Human oversight"},
        "definition": {
            "es": "Personas competentes pueden entender, anular o detener el sistema.",
            "pt": "Pessoas competentes podem entender, anular ou interromper o sistema.",
            "en": "Competent people can understand, override or stop the system.",
        },
    },
    "accountability": {
        "label": {
            "es": "Rendición de cuentas y reparación",
            "pt": "Prestação de contas e reparação",
            "en": "Accountability and redress",
        },
        "definition": {
            "es": "Responsables designados, decisiones trazables, auditorías y reclamos.",
            "pt": "Responsáveis designados, decisões rastreáveis, auditorias e recursos.",
            "en": "Named owners, traceable decisions, audits, and ways to contest and repair.",
        },
    },
    "privacy": {
        "label": {
            "es": "Privacidad y protección de datos",
            "pt": "Privacidade e proteção de dados",
            "en": "Privacy and data protection",
        },
        "definition": {
            "es": "Los datos personales se tratan con base legal, se minimizan y se protegen.",
            "pt": "Os dados pessoais são tratados com base legal, minimizados e protegidos.",
            "en": "Personal data are processed lawfully, minimised and protected.",
        },
    },
    "safety": {
        "label": {
            "es": "Seguridad, robustez y gestión de riesgos",
            "pt": "Segurança, robustez e gestão de riscos",
            "en": "Safety, robustness and risk management",
        },
        "definition": {
            "es": "Daños y ataques se anticipan, prueban y gestionan en todo el ciclo de vida.",
            "pt": "Danos e ataques são antecipados, testados e geridos em todo o ciclo de vida.",
            "en": "Harms and attacks are anticipated, tested for and managed over the life cycle.",
        },
    },
    "proportionality": {
        "label": {
            "es": "Necesidad, proporcionalidad y derechos",
            "pt": "Necessidade, proporcionalidade e direitos",
            "en": "Necessity, proportionality and rights",
        },
        "definition": {
            "es": "Fin legítimo, uso necesario e impacto en derechos evaluado.",
            "pt": "Fim legítimo, uso necessário e impacto em direitos avaliado.",
            "en": "Legitimate aim, necessary use, and impact on rights assessed.",
        },
    },
    "participation": {
        "label": {
            "es": "Participación y gobernanza",
            "pt": "Participação e governança",
            "en": "Participation and governance",
        },
        "definition": {
            "es": "Participan las personas afectadas y órganos de control; la gobernanza aprende.",
            "pt": "Participam as pessoas afetadas e órgãos de controle; a governança aprende.",
            "en": "Affected people and oversight bodies take part; governance learns.",
        },
    },
}


#: Special answers: never zeros; excluded from means, treated as missing in agreement, and counted.
class SpecialAnswer(StrEnum):
    """An answer that is not a score: the criterion does not apply, or evidence is lacking."""

    NOT_APPLICABLE = "not_applicable"
    INSUFFICIENT_INFORMATION = "insufficient_information"


#: Answers a gate (yes/no/unclear question) accepts besides the special answers it allows.
GATE_ANSWERS: tuple[str, ...] = ("yes", "no", "unclear")

#: Answers a checklist item accepts besides the special answers it allows.
CHECK_ANSWERS: tuple[str, ...] = ("yes", "no")

#: Levels of every rubric item (ordinal 0-4).
RUBRIC_LEVELS: tuple[int, ...] = (0, 1, 2, 3, 4)

_BOTH_SPECIALS = (SpecialAnswer.NOT_APPLICABLE, SpecialAnswer.INSUFFICIENT_INFORMATION)
_INSUFFICIENT_ONLY = (SpecialAnswer.INSUFFICIENT_INFORMATION,)

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a framework file: where (a dotted path inside the file) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class FrameworkFileError(Exception):
    """A framework file cannot be used; the message names the file, the path inside it and why.

    `file` is the file (or "<document>" for in-memory data), `problems` the list of `Problem`s.
    Deliberately not a ValueError, so that pydantic does not swallow it inside validators.
    """

    def __init__(self, file: str | Path, problems: Sequence[Problem]) -> None:
        self.file = str(file)
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"{self.file}: {self.problems[0]}"
        else:
            lines = "\n".join(f"  {problem}" for problem in self.problems)
            message = f"{self.file}: {len(self.problems)} problems:\n{lines}"
        super().__init__(message)

    def with_file(self, file: str | Path) -> FrameworkFileError:
        """The same problems attributed to `file`."""
        return type(self)(file, self.problems)


class PublishedVersionEditedError(FrameworkFileError):
    """A published framework version differs from the content recorded when it was published."""


# --------------------------------------------------------------------------------------------
# Decision-tree conditions (parsed from plain YAML data; kept as data in the model)
# --------------------------------------------------------------------------------------------


class Condition:
    """Base class of a parsed decision-tree condition."""


@dataclass(frozen=True)
class GateIs(Condition):
    """`{yes: GATE}` or `{no: GATE}`: the gate was answered exactly so."""

    gate: str
    answer: Literal["yes", "no"]


@dataclass(frozen=True)
class AnyYes(Condition):
    """`{any_yes: [GATE, ...]}`: at least one of the gates was answered yes."""

    gates: tuple[str, ...]


@dataclass(frozen=True)
class AllOf(Condition):
    """`{all: [CONDITION, ...]}`: every sub-condition holds."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf(Condition):
    """`{any: [CONDITION, ...]}`: at least one sub-condition holds."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Not(Condition):
    """`{not: CONDITION}`: the sub-condition does not hold."""

    condition: Condition


_CONDITION_OPERATORS = ("yes", "no", "any_yes", "all", "any", "not")


def parse_condition(raw: Any, path: str = "") -> Condition:
    """Parse the plain data of a `when:` condition into `Condition` objects.

    Input: a one-key mapping, one of `{yes: G}`, `{no: G}`, `{any_yes: [G, ...]}`,
    `{all: [C, ...]}`, `{any: [C, ...]}`, `{not: C}`. `path` prefixes error messages.
    Result: the parsed condition. Raises ValueError naming the sub-path that is malformed.
    """
    where = f"{path}: " if path else ""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ValueError(
            f"{where}a condition is a mapping with exactly one of {', '.join(_CONDITION_OPERATORS)}"
        )
    ((operator, operand),) = raw.items()
    sub = f"{path}.{operator}" if path else str(operator)
    if operator in ("yes", "no"):
        if not isinstance(operand, str) or not operand:
            raise ValueError(f"{sub}: expected a gate key")
        return GateIs(gate=operand, answer=operator)
    if operator == "any_yes":
        if not isinstance(operand, list) or not operand:
            raise ValueError(f"{sub}: expected a non-empty list of gate keys")
        for index, gate in enumerate(operand):
            if not isinstance(gate, str) or not gate:
                raise ValueError(f"{sub}[{index}]: expected a gate key")
        return AnyYes(gates=tuple(operand))
    if operator in ("all", "any"):
        if not isinstance(operand, list) or not operand:
            raise ValueError(f"{sub}: expected a non-empty list of conditions")
        parts = tuple(parse_condition(part, f"{sub}[{i}]") for i, part in enumerate(operand))
        return AllOf(parts) if operator == "all" else AnyOf(parts)
    if operator == "not":
        return Not(parse_condition(operand, sub))
    raise ValueError(
        f"{where}unknown condition {operator!r}; expected one of {', '.join(_CONDITION_OPERATORS)}"
    )


def condition_gate_references(condition: Condition, path: str) -> Iterator[tuple[str, str]]:
    """Yield (path inside the file, gate key) for every gate a parsed condition mentions."""
    if isinstance(condition, GateIs):
        yield f"{path}.{condition.answer}", condition.gate
    elif isinstance(condition, AnyYes):
        for index, gate in enumerate(condition.gates):
            yield f"{path}.any_yes[{index}]", gate
    elif isinstance(condition, AllOf | AnyOf):
        operator = "all" if isinstance(condition, AllOf) else "any"
        for index, part in enumerate(condition.conditions):
            yield from condition_gate_references(part, f"{path}.{operator}[{index}]")
    elif isinstance(condition, Not):
        yield from condition_gate_references(condition.condition, f"{path}.not")


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
FrameworkKey = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)
]
ItemKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
OptionKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=64)]
VersionText = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(?:\.\d+)?$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
HttpUrlText = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
Branch = Literal["executive", "legislative", "judicial", "autonomous"]
CommonTier = Literal["minimal", "limited", "high", "prohibited", "unassessed"]
CoreDimension = Literal[
    "transparency",
    "fairness",
    "human_oversight",
    "accountability",
    "privacy",
    "safety",
    "proportionality",
    "participation",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedText(_Model):
    """A text in every required language (es, pt, en); fr and ht may be added."""

    es: NonEmptyText
    pt: NonEmptyText
    en: NonEmptyText
    fr: NonEmptyText | None = None
    ht: NonEmptyText | None = None

    def get(self, language: str, fallback: str = "es") -> str:
        """The text in `language`, or in `fallback` when that language is absent or unknown."""
        value = (
            getattr(self, language, None) if language in ("es", "pt", "en", "fr", "ht") else None
        )
        return value if value else getattr(self, fallback)


class Jurisdiction(_Model):
    """Where the instrument applies: level, ISO 3166-1 alpha-3 countries, and issuing body."""

    level: Literal["international", "regional", "national", "subnational"]
    countries: tuple[CountryCode, ...] = ()
    body: NonEmptyText | None = None


class Source(_Model):
    """Provenance of a framework: issuer, URL, citation, legal nature and dates."""

    issuer: NonEmptyText
    url: HttpUrlText
    citation: NonEmptyText
    legal_nature: Literal[
        "binding_law", "bill", "administrative_policy", "soft_law", "observatory_measure"
    ]
    adopted: date | None = None
    jurisdiction: Jurisdiction
    note: LocalizedText | None = None


class Group(_Model):
    """A section of the questionnaire, used to group items in forms."""

    key: ItemKey
    label: LocalizedText


class RubricLevel(_Model):
    """Guidance anchoring one level (0-4) of a rubric item."""

    guidance: LocalizedText


class Option(_Model):
    """One option of a choice item; its points feed the impact or mitigation score."""

    key: OptionKey
    points: Annotated[int, Field(ge=0, strict=True)]
    label: LocalizedText


class _ItemBase(_Model):
    key: ItemKey
    label: LocalizedText
    description: LocalizedText | None = None
    reference: NonEmptyText | None = None
    group: ItemKey | None = None


class RubricItem(_ItemBase):
    """Ordinal 0-4 criterion with guidance per level; scored by weighted mean."""

    kind: Literal["rubric"]
    weight: Annotated[float, Field(gt=0)] = 1.0
    levels: dict[int, RubricLevel]
    allows: tuple[SpecialAnswer, ...] = _BOTH_SPECIALS


class ChoiceItem(_ItemBase):
    """Single- or multi-select question whose options carry points (impact or mitigation)."""

    kind: Literal["choice"]
    select: Literal["single", "multi"]
    role: Literal["impact", "mitigation"]
    options: tuple[Option, ...] = Field(min_length=1)
    allows: tuple[SpecialAnswer, ...] = _INSUFFICIENT_ONLY

    @property
    def max_points(self) -> int:
        """Largest attainable points: the best option (single) or all options (multi)."""
        points = [option.points for option in self.options]
        return sum(points) if self.select == "multi" else max(points)


class GateItem(_ItemBase):
    """Yes/no/unclear question feeding the decision tree; may apply only from a legal date."""

    kind: Literal["gate"]
    applies_from: date | None = None
    allows: tuple[SpecialAnswer, ...] = _INSUFFICIENT_ONLY


class CheckItem(_ItemBase):
    """Yes/no checklist item (is this disclosed?); scored by disclosure share."""

    kind: Literal["check"]
    weight: Annotated[float, Field(gt=0)] = 1.0
    allows: tuple[SpecialAnswer, ...] = _BOTH_SPECIALS


Item = Annotated[RubricItem | ChoiceItem | GateItem | CheckItem, Field(discriminator="kind")]


class Consolidation(_Model):
    """How reviewers' ordinal scores of one item are consolidated (median; rule for even counts)."""

    method: Literal["median"] = "median"
    even_count: Literal["lower", "upper", "mean"] = "lower"


class WeightedMeanScoring(_Model):
    """Rubric frameworks: weighted mean of 0-4 scores, special answers excluded."""

    method: Literal["weighted_mean"]
    min_scored_items: Annotated[int, Field(ge=1)] = 1
    consolidation: Consolidation = Consolidation()


class ImpactLevel(_Model):
    """One impact level; `up_to` is the inclusive upper bound as a share of the maximum impact."""

    key: NonEmptyText
    up_to: Annotated[float, Field(gt=0, lt=1)] | None = None
    label: LocalizedText
    description: LocalizedText | None = None


class ImpactMitigationScoring(_Model):
    """Canada-AIA-style scoring: impact points, reduced when mitigation reaches a threshold."""

    method: Literal["impact_mitigation"]
    mitigation_threshold: Annotated[float, Field(gt=0, le=1)] = 0.80
    impact_reduction: Annotated[float, Field(ge=0, lt=1)] = 0.15
    rounding: Literal["half_up"] = "half_up"
    levels: tuple[ImpactLevel, ...] = Field(min_length=2)


class Outcome(_Model):
    """A possible result of a decision tree (e.g. a legal risk tier)."""

    key: ItemKey
    label: LocalizedText
    description: LocalizedText | None = None


class Rule(_Model):
    """One rule of a decision tree: when the condition holds, the outcome is reached."""

    when: Any
    outcome: ItemKey

    @field_validator("when")
    @classmethod
    def _condition_is_well_formed(cls, value: Any) -> Any:
        parse_condition(value)
        return value

    @property
    def condition(self) -> Condition:
        """The parsed condition."""
        return parse_condition(self.when)


class DecisionTreeScoring(_Model):
    """Legal tiering: ordered rules over gates (first match wins), else `otherwise`."""

    method: Literal["decision_tree"]
    outcomes: tuple[Outcome, ...] = Field(min_length=2)
    rules: tuple[Rule, ...] = Field(min_length=1)
    otherwise: ItemKey
    rubric_applies_to_outcomes: tuple[ItemKey, ...] = ()
    min_scored_items: Annotated[int, Field(ge=1)] = 1
    consolidation: Consolidation = Consolidation()

    def severity(self, outcome: str) -> int:
        """Severity rank of an outcome: outcomes are listed from most to least severe."""
        keys = [item.key for item in self.outcomes]
        return len(keys) - keys.index(outcome)


class DisclosureShareScoring(_Model):
    """Checklists: share of applicable items answered yes (the observatory's own measure)."""

    method: Literal["disclosure_share"]
    min_scored_items: Annotated[int, Field(ge=1)] = 1


Scoring = Annotated[
    WeightedMeanScoring | ImpactMitigationScoring | DecisionTreeScoring | DisclosureShareScoring,
    Field(discriminator="method"),
]


class ObservatoryMapping(_Model):
    """The observatory's own crosswalk of a framework: common risk tier and core dimensions."""

    authority: Literal["observatory"]
    note: LocalizedText
    common_tier: dict[str, CommonTier] = Field(default_factory=dict)
    core_dimensions: dict[str, tuple[CoreDimension, ...]] = Field(default_factory=dict)


class Framework(_Model):
    """One version of an evaluation framework, as shipped in `criteria/frameworks/*.yaml`.

    Top-level keys: format (1), key, version, status (draft|published|retired), title,
    description, source, applies_to_branches, scoring (by `method`: weighted_mean |
    impact_mitigation | decision_tree | disclosure_share), rubric_levels (labels of levels 0-4,
    when there are rubric items), groups, items (by `kind`: rubric | choice | gate | check) and
    observatory_mapping (our common tier per result key and core dimensions per item).
    Every human-readable text is a LocalizedText {es, pt, en}.
    """

    format: Literal[1]
    key: FrameworkKey
    version: VersionText
    status: Literal["draft", "published", "retired"]
    title: LocalizedText
    description: LocalizedText
    source: Source
    applies_to_branches: tuple[Branch, ...] = BRANCHES
    scoring: Scoring
    rubric_levels: dict[int, LocalizedText] | None = None
    groups: tuple[Group, ...] = ()
    items: tuple[Item, ...] = Field(min_length=1)
    observatory_mapping: ObservatoryMapping

    _content_hash: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_content_hash(cls, data: Any, handler: Any) -> Framework:
        framework = handler(data)
        if isinstance(data, Mapping):
            framework._content_hash = content_hash(data)
        return framework

    @model_validator(mode="after")
    def _check_consistency(self) -> Framework:
        problems = list(framework_problems(self))
        if problems:
            raise FrameworkFileError("<document>", problems)
        return self

    @property
    def full_key(self) -> str:
        """`key@version`, the identifier stored with every score."""
        return f"{self.key}@{self.version}"

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the file's content, excluding `status` (see `content_hash()`)."""
        if self._content_hash is None:
            self._content_hash = content_hash(
                self.model_dump(mode="json", exclude_unset=True, by_alias=True)
            )
        return self._content_hash

    def item(self, key: str) -> RubricItem | ChoiceItem | GateItem | CheckItem:
        """The item with this key; raises KeyError if there is none."""
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(f"{self.full_key} has no item {key!r}")

    def items_of_kind(self, kind: str) -> list[Any]:
        """Items of one kind (`rubric`, `choice`, `gate`, `check`) in file order."""
        return [item for item in self.items if item.kind == kind]

    def result_keys(self) -> tuple[str, ...]:
        """Keys the common-tier mapping must cover: tree outcomes or impact levels, else none."""
        if isinstance(self.scoring, DecisionTreeScoring):
            return tuple(outcome.key for outcome in self.scoring.outcomes)
        if isinstance(self.scoring, ImpactMitigationScoring):
            return tuple(level.key for level in self.scoring.levels)
        return ()


# --------------------------------------------------------------------------------------------
# Consistency checks that span several fields (each problem carries its path)
# --------------------------------------------------------------------------------------------

_KINDS_ALLOWED_BY_METHOD = {
    "weighted_mean": {"rubric"},
    "decision_tree": {"gate", "rubric"},
    "impact_mitigation": {"choice"},
    "disclosure_share": {"check"},
}
_SAFEGUARD_KINDS = ("rubric", "check")


def framework_problems(framework: Framework) -> Iterator[Problem]:
    """Yield every cross-field problem of a validated framework (empty when consistent).

    Checks: unique item/option/group keys; rubric levels exactly 0-4 (item guidance and
    `rubric_levels`); item kinds allowed by the scoring method; decision-tree rules refer only to
    gates and known outcomes, every outcome reachable; impact levels ordered; the observatory
    mapping covers exactly the framework's result keys and maps only existing safeguard items.
    """
    method = framework.scoring.method
    item_index: dict[str, int] = {}
    for index, item in enumerate(framework.items):
        path = f"items[{index}]"
        if item.key in item_index:
            yield Problem(
                f"{path}.key",
                f"duplicate item key {item.key!r} (already used by items[{item_index[item.key]}])",
            )
        else:
            item_index[item.key] = index
        if item.kind not in _KINDS_ALLOWED_BY_METHOD[method]:
            allowed = ", ".join(sorted(_KINDS_ALLOWED_BY_METHOD[method]))
            yield Problem(
                f"{path}.kind",
                f"a {item.kind!r} item cannot be scored by method {method!r} (allowed: {allowed})",
            )
        yield from _item_problems(item, path, framework)

    group_keys = [group.key for group in framework.groups]
    for index, key in enumerate(group_keys):
        if key in group_keys[:index]:
            yield Problem(f"groups[{index}].key", f"duplicate group key {key!r}")

    kinds = {item.kind for item in framework.items}
    yield from _method_problems(framework, kinds, item_index)
    yield from _mapping_problems(framework, item_index)


def _item_problems(item: Any, path: str, framework: Framework) -> Iterator[Problem]:
    if item.group is not None and item.group not in {group.key for group in framework.groups}:
        yield Problem(f"{path}.group", f"unknown group {item.group!r}; declare it under groups")
    if item.kind == "rubric":
        yield from _levels_problems(item.levels, f"{path}.levels", "guidance for level")
    elif item.kind == "choice":
        seen: dict[str, int] = {}
        for index, option in enumerate(item.options):
            if option.key in seen:
                yield Problem(
                    f"{path}.options[{index}].key", f"duplicate option key {option.key!r}"
                )
            seen[option.key] = index
        if item.select == "single" and len(item.options) < 2:
            yield Problem(f"{path}.options", "a single-select question needs at least two options")
        if item.max_points == 0:
            yield Problem(f"{path}.options", "no option carries points; the item cannot score")
    elif item.kind == "gate" and SpecialAnswer.NOT_APPLICABLE in item.allows:
        yield Problem(
            f"{path}.allows",
            "a gate cannot allow not_applicable: answer 'no' when the question does not apply",
        )


def _levels_problems(levels: Mapping[int, Any], path: str, what: str) -> Iterator[Problem]:
    for level in RUBRIC_LEVELS:
        if level not in levels:
            yield Problem(f"{path}.{level}", f"{what} {level} is missing (levels 0-4 are required)")
    for level in levels:
        if level not in RUBRIC_LEVELS:
            yield Problem(f"{path}.{level}", f"unexpected level {level}; rubric levels are 0-4")


def _method_problems(
    framework: Framework, kinds: set[str], item_index: dict[str, int]
) -> Iterator[Problem]:
    scoring = framework.scoring
    if "rubric" in kinds:
        if framework.rubric_levels is None:
            yield Problem("rubric_levels", "required when the framework has rubric items")
        else:
            yield from _levels_problems(framework.rubric_levels, "rubric_levels", "label of level")
        n_rubric = sum(1 for item in framework.items if item.kind == "rubric")
        if getattr(scoring, "min_scored_items", 1) > n_rubric:
            yield Problem(
                "scoring.min_scored_items",
                f"exceeds the number of rubric items ({n_rubric})",
            )
    elif framework.rubric_levels is not None:
        yield Problem("rubric_levels", "only allowed when the framework has rubric items")

    if isinstance(scoring, WeightedMeanScoring) and "rubric" not in kinds:
        yield Problem("items", "method weighted_mean needs at least one rubric item")
    elif isinstance(scoring, DisclosureShareScoring):
        n_checks = sum(1 for item in framework.items if item.kind == "check")
        if scoring.min_scored_items > n_checks:
            yield Problem(
                "scoring.min_scored_items", f"exceeds the number of checklist items ({n_checks})"
            )
    elif isinstance(scoring, ImpactMitigationScoring):
        yield from _impact_problems(framework, scoring)
    elif isinstance(scoring, DecisionTreeScoring):
        yield from _tree_problems(framework, scoring, item_index)


def _impact_problems(framework: Framework, scoring: ImpactMitigationScoring) -> Iterator[Problem]:
    roles = {item.role for item in framework.items if item.kind == "choice"}
    for role in ("impact", "mitigation"):
        if role not in roles:
            yield Problem("items", f"method impact_mitigation needs at least one {role} question")
    level_keys = [level.key for level in scoring.levels]
    previous = 0.0
    for index, level in enumerate(scoring.levels):
        path = f"scoring.levels[{index}]"
        if level.key in level_keys[:index]:
            yield Problem(f"{path}.key", f"duplicate level key {level.key!r}")
        is_last = index == len(scoring.levels) - 1
        if is_last and level.up_to is not None:
            yield Problem(f"{path}.up_to", "the last (highest) level has no upper bound")
        elif not is_last and level.up_to is None:
            yield Problem(f"{path}.up_to", "every level but the last needs an upper bound")
        elif not is_last and level.up_to is not None:
            if level.up_to <= previous:
                yield Problem(f"{path}.up_to", "upper bounds must increase from level to level")
            previous = level.up_to


def _tree_problems(
    framework: Framework, scoring: DecisionTreeScoring, item_index: dict[str, int]
) -> Iterator[Problem]:
    outcome_keys = [outcome.key for outcome in scoring.outcomes]
    for index, key in enumerate(outcome_keys):
        if key in outcome_keys[:index]:
            yield Problem(f"scoring.outcomes[{index}].key", f"duplicate outcome key {key!r}")
    reached: set[str] = set()
    for index, rule in enumerate(scoring.rules):
        path = f"scoring.rules[{index}]"
        for ref_path, gate in condition_gate_references(rule.condition, f"{path}.when"):
            if gate not in item_index:
                yield Problem(ref_path, f"{gate!r} is not an item of this framework")
            elif framework.items[item_index[gate]].kind != "gate":
                yield Problem(ref_path, f"{gate!r} is not a gate (yes/no/unclear) item")
        if rule.outcome not in outcome_keys:
            yield Problem(f"{path}.outcome", f"unknown outcome {rule.outcome!r}")
        reached.add(rule.outcome)
    if scoring.otherwise not in outcome_keys:
        yield Problem("scoring.otherwise", f"unknown outcome {scoring.otherwise!r}")
    reached.add(scoring.otherwise)
    for index, key in enumerate(outcome_keys):
        if key not in reached:
            yield Problem(f"scoring.outcomes[{index}]", f"outcome {key!r} is never reached")
    for index, key in enumerate(scoring.rubric_applies_to_outcomes):
        if key not in outcome_keys:
            yield Problem(
                f"scoring.rubric_applies_to_outcomes[{index}]", f"unknown outcome {key!r}"
            )
    if not any(item.kind == "gate" for item in framework.items):
        yield Problem("items", "method decision_tree needs at least one gate item")


def _mapping_problems(framework: Framework, item_index: dict[str, int]) -> Iterator[Problem]:
    mapping = framework.observatory_mapping
    expected = framework.result_keys()
    for key in expected:
        if key not in mapping.common_tier:
            yield Problem(
                f"observatory_mapping.common_tier.{key}",
                f"result {key!r} has no common tier (use unassessed if none applies)",
            )
    for key in mapping.common_tier:
        if key not in expected:
            what = f"one of {', '.join(expected)}" if expected else "empty: no risk output here"
            yield Problem(
                f"observatory_mapping.common_tier.{key}",
                f"{key!r} is not a result of this framework (expected {what})",
            )
    for key, dimensions in mapping.core_dimensions.items():
        path = f"observatory_mapping.core_dimensions.{key}"
        if key not in item_index:
            yield Problem(path, f"{key!r} is not an item of this framework")
            continue
        item = framework.items[item_index[key]]
        is_safeguard = item.kind in _SAFEGUARD_KINDS or (
            item.kind == "choice" and item.role == "mitigation"
        )
        if not is_safeguard:
            yield Problem(
                path,
                "only safeguard items (rubric, check, mitigation choice) map to core dimensions",
            )
        if not dimensions:
            yield Problem(path, "list at least one core dimension or remove the entry")
        if len(set(dimensions)) != len(dimensions):
            yield Problem(path, "a core dimension is listed twice")


# --------------------------------------------------------------------------------------------
# Content hash
# --------------------------------------------------------------------------------------------

#: Top-level keys left out of the content hash: changing the status is not an edit of content.
HASH_EXCLUDED_KEYS: frozenset[str] = frozenset({"status"})


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return str(value)
    return value


def content_hash(document: Mapping[str, Any]) -> str:
    """Stable SHA-256 (hex) of a framework document's content.

    Input: the parsed document (plain YAML data). The hash ignores key order, YAML formatting,
    comments, quoting and Unicode normalisation (NFC), and leaves out `status`, so publishing or
    retiring a version keeps its hash while any change of content (a word of guidance, a point,
    a rule) changes it. Result: 64 lowercase hex characters.
    """
    data = {key: value for key, value in document.items() if key not in HASH_EXCLUDED_KEYS}
    canonical = json.dumps(
        _canonical(data), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def ensure_unchanged(framework: Framework, recorded_hash: str) -> None:
    """Refuse a published version whose content differs from what was recorded at publication.

    Inputs: the framework as loaded now and the hash stored when that `key@version` was first
    published. Result: None when they match. Raises PublishedVersionEditedError otherwise: a
    change must be shipped as a new version.
    """
    if framework.content_hash != recorded_hash:
        raise PublishedVersionEditedError(
            framework.full_key,
            [
                Problem(
                    "",
                    f"published version was edited in place (content hash "
                    f"{framework.content_hash[:12]}…, recorded {recorded_hash[:12]}…); "
                    "restore it and publish the change as a new version",
                )
            ],
        )


# --------------------------------------------------------------------------------------------
# YAML reading and loading
# --------------------------------------------------------------------------------------------


# libyaml's parser when present (about 10x faster); resolution and construction stay in Python.
_SafeLoaderBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FrameworkYamlLoader(_SafeLoaderBase):
    """Safe YAML loader with YAML 1.2 booleans (only true/false) and no duplicate keys.

    YAML 1.1 would read `yes`, `no`, `on`, `off` as booleans, which would silently turn gate
    answers and option keys into True/False; a repeated key would silently override the first.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_BOOL_TAG = "tag:yaml.org,2002:bool"
_FrameworkYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in _SafeLoaderBase.yaml_implicit_resolvers.items()
}
_FrameworkYamlLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_yaml(text: str, file: str | Path = "<document>") -> Any:
    """Parse YAML text with the framework loader; raises FrameworkFileError on bad YAML."""
    try:
        return yaml.load(text, Loader=_FrameworkYamlLoader)  # nosec B506 # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise FrameworkFileError(file, [Problem(where, f"invalid YAML: {problem}")]) from error


def _format_location(document: Any, location: Sequence[int | str]) -> str:
    """Render a pydantic error location as `items[3].levels.4.guidance.pt`.

    The raw document decides between `[i]` (list index) and `.k` (mapping key), and the
    discriminator tags pydantic inserts (e.g. `rubric` after `items[3]`) are dropped.
    """
    text = ""
    node = document
    for element in location:
        if isinstance(node, list) and isinstance(element, int):
            text += f"[{element}]"
            node = node[element] if 0 <= element < len(node) else None
            continue
        if isinstance(node, Mapping):
            if element not in node and element in (node.get("kind"), node.get("method")):
                continue
            text += f".{element}" if text else str(element)
            node = node.get(element)
            continue
        text += f".{element}" if text else str(element)
        node = None
    return text


def _describe_error(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (not allowed here)"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    value = error.get("input")
    if (
        kind not in ("union_tag_invalid",)
        and isinstance(value, str | int | float)
        and not (isinstance(value, str) and len(value) > 60)
    ):
        message += f" (got {value!r})"
    return message


def framework_from_document(document: Any, file: str | Path = "<document>") -> Framework:
    """Validate parsed YAML data into a Framework.

    Inputs: the document (a mapping) and the file name used in error messages.
    Result: the Framework, its `content_hash` computed from the document.
    Raises FrameworkFileError listing every problem with its path inside the file.
    """
    if not isinstance(document, Mapping):
        raise FrameworkFileError(file, [Problem("", "the file must contain a YAML mapping")])
    try:
        return Framework.model_validate(document)
    except FrameworkFileError as error:
        raise error.with_file(file) from None
    except ValidationError as error:
        errors = error.errors(include_url=False)
        # pydantic also reports a list as "too short" when its only elements failed: noise.
        deeper = [tuple(item["loc"]) for item in errors if item["type"] != "too_short"]
        problems = [
            Problem(_format_location(document, item["loc"]), _describe_error(item))
            for item in errors
            if not (
                item["type"] == "too_short"
                and any(loc[: len(item["loc"])] == tuple(item["loc"]) for loc in deeper)
            )
        ]
        raise FrameworkFileError(file, problems) from None


def load_framework_file(path: str | Path) -> Framework:
    """Read and validate one framework file.

    Input: path of a `.yaml` file. Result: the Framework. Raises FrameworkFileError (naming the
    file, the path inside it and the problem) for unreadable files, invalid YAML, schema
    violations and inconsistent content.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FrameworkFileError(path, [Problem("", f"cannot read file: {error}")]) from error
    return framework_from_document(read_yaml(text, path), path)


def expected_file_name(framework: Framework) -> str:
    """The file name a framework version must have in a frameworks directory: `key@version.yaml`."""
    return f"{framework.key}@{framework.version}.yaml"


def load_frameworks(directory: str | Path) -> list[Framework]:
    """Load every `*.yaml` framework file of a directory, sorted by key then version.

    Input: the directory (e.g. `criteria/frameworks`). Result: the frameworks.
    Raises FrameworkFileError for the first invalid file, for a file not named
    `key@version.yaml`, or when two files declare the same `key@version`.
    """
    directory = Path(directory)
    frameworks: list[Framework] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        framework = load_framework_file(path)
        if path.name != expected_file_name(framework):
            raise FrameworkFileError(
                path,
                [Problem("", f"file must be named {expected_file_name(framework)!r}")],
            )
        if framework.full_key in seen:
            raise FrameworkFileError(
                path,
                [Problem("version", f"{framework.full_key} is also in {seen[framework.full_key]}")],
            )
        seen[framework.full_key] = path
        frameworks.append(framework)
    return sorted(frameworks, key=lambda fw: (fw.key, _version_tuple(fw.version)))


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))
