"""A synthetic case library for load tests and benchmarks: sampled from the starter library's
distributions with a seeded random generator, then bulk-inserted through the DBAPI connection.

Everything it writes is marked: cases are `provenance="import"` with `provenance_detail`
`{"register": "synthetic", "seed": S}` and names starting "Synthetic case"; reviewers are
`synthetic-reviewer-NNNN@synthetic.invalid` accounts that are deactivated and whose password
hash ("!") matches no password, so nobody can ever sign in as them. Never run it on a database
that holds real data you intend to publish.

Per case: one published version, one workflow event, its techniques, R submitted reviews (one
answer per criterion) by R distinct synthetic reviewers, and one published assessment under a
shipped framework version with its consolidated scores, computed by the same pure rules
editors use (criteria.services: consolidation, agreement, score summary, recommendations).

Writing: ids are given explicitly, above the current MAX(id) of each table (PostgreSQL
sequences are moved past them afterwards); SQLite gets `executemany` inside one
`BEGIN IMMEDIATE` transaction, PostgreSQL gets `COPY ... FROM STDIN` inside one transaction
holding write locks (and ANALYZE of the filled tables before committing). Large runs compute
their batches in worker processes while this process writes; each batch is seeded by its
number, so the result does not depend on how many processes there are. The full-text triggers
of migration 0003 fire for every inserted case, so search needs no rebuild. The data version is
bumped once.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from cases import vocabularies as vocab
from cases.services import RECORD_FIELDS
from cases.starter import StarterCase, parse_starter_csv
from cases.text import fold
from criteria import agreement as agreement_rules
from criteria import scoring
from criteria import services as criteria_services
from criteria.models import FrameworkVersion
from criteria.schema import (
    CheckItem,
    ChoiceItem,
    Framework,
    GateItem,
    RubricItem,
    framework_from_document,
)
from observatory.models import utcnow

SYNTHETIC_REGISTER = "synthetic"
DEFAULT_FRAMEWORK = "unesco-2021@1.0"
REVIEWER_EMAIL = "synthetic-reviewer-{:04d}@synthetic.invalid"
REVIEWER_EMAIL_LIKE = "synthetic-reviewer-%@synthetic.invalid"
#: A password hash werkzeug can never match (not `method$salt$hash`): no password signs in.
UNUSABLE_PASSWORD_HASH = "!"  # nosec B105 # a marker no password matches
#: Cases generated and written per batch (also fixes the order of random draws: keep it).
CHUNK_SIZE = 2000
#: Standard deviation of one reviewer's reading of a criterion's true level (in levels).
READER_NOISE = 0.45
#: At most this many score summaries are remembered per process (each a few kilobytes).
SUMMARY_MEMO_SIZE = 20_000
#: Language of the drafted recommendations.
RECOMMENDATION_LANGUAGE = "en"

Progress = Callable[[str, int, int], None]


class SynthError(ValueError):
    """The synthetic library cannot be generated as asked (bad size, unknown framework)."""


# --------------------------------------------------------------------------------------------
# Distributions (pure)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distributions:
    """What the sampler draws from, all taken from the starter library.

    `templates` are the starter cases: each synthetic case copies branch, level, sector,
    techniques, lifecycle status, developer, confidence and the wording of its purpose from one
    of them (so their joint distribution follows the library), while its country and start year
    are drawn separately from the library's marginal distributions (`countries`, `years`, which
    includes None as often as the library has no start year).
    """

    templates: tuple[StarterCase, ...]
    countries: tuple[str, ...]
    country_weights: tuple[int, ...]
    years: tuple[int | None, ...]
    institutions: dict[str, tuple[str, ...]]

    @classmethod
    def from_cases(cls, rows: Sequence[StarterCase]) -> Distributions:
        """Build the distributions from parsed starter rows (at least one)."""
        if not rows:
            raise SynthError("the starter library is empty")
        counts = Counter(row.country for row in rows)
        countries = tuple(sorted(counts))
        institutions: dict[str, list[str]] = {}
        for row in rows:
            names = institutions.setdefault(row.country, [])
            if row.institution not in names:
                names.append(row.institution)
        return cls(
            templates=tuple(rows),
            countries=countries,
            country_weights=tuple(counts[country] for country in countries),
            years=tuple(row.year_started for row in rows),
            institutions={key: tuple(value) for key, value in institutions.items()},
        )


@lru_cache(maxsize=1)
def starter_distributions() -> Distributions:
    """The distributions of the shipped starter library (parsed once per process)."""
    return Distributions.from_cases(parse_starter_csv())


def sample_record(rng: random.Random, dist: Distributions, *, number: int, seed: int) -> dict:
    """One synthetic case record (the fields of `cases.services.RECORD_FIELDS`; pure).

    `number` goes into the name ("Synthetic case 000123 …"); draws come from `rng` in a fixed
    order, so the same generator state always gives the same record.
    """
    template = dist.templates[rng.randrange(len(dist.templates))]
    country = rng.choices(dist.countries, weights=dist.country_weights)[0]
    year = dist.years[rng.randrange(len(dist.years))]
    if template.country == country:
        institution = template.institution
    else:
        choices = dist.institutions[country]
        institution = choices[rng.randrange(len(choices))]
    techniques = sorted(template.techniques)
    year_ended = None
    if template.lifecycle_status == "discontinued":
        start = year or 2020
        year_ended = min(start + rng.randint(1, 4), date.today().year)
    sector = vocab.label("sector", template.sector, "en")
    known = [key for key in techniques if key != "unknown"]
    technique = vocab.label("technique", known[0], "en") if known else "AI system"
    name = f"Synthetic case {number:06d}: {technique} for {sector.lower()}"
    purpose = (
        f"Synthetic record for load tests (seed {seed}), modelled on starter case "
        f"{template.source_id}. {template.purpose}"
    )
    return {
        "name": name[:300],
        "acronym": "",
        "institution": institution,
        "country": country,
        "subnational_region": "",
        "level": template.level,
        "branch": template.branch,
        "sector": template.sector,
        "purpose": purpose[:5000],
        "techniques": techniques,
        "decision_role": "unknown",
        "lifecycle_status": template.lifecycle_status,
        "year_started": year,
        "year_ended": year_ended,
        "developer_type": template.developer_type,
        "developer_name": template.developer_name or "",
        "data_used": "",
        "personal_data": "unknown",
        "sensitive_data": "unknown",
        "affected_groups": template.affected_groups,
        "vulnerable_groups": [],
        "human_oversight": "",
        "appeal_mechanism": "",
        "documentation_url": "",
        "source_code_url": "",
        "impact_assessment_url": "",
        "legal_basis": "",
        "known_concerns": template.known_concerns,
        "sources": [
            {
                "url": f"https://example.org/synthetic/{number:06d}",
                "title": "Synthetic source (not a real document)",
                "type": "other",
                "accessed": None,
            }
        ],
        "record_language": "en",
        "confidence": template.confidence,
        "last_verified": None,
    }


def sample_records(count: int, *, seed: int, start: int = 1) -> Iterator[dict]:
    """`count` synthetic records numbered from `start`, for files to import (pure).

    Uses its own generator (seeded with `seed`), independent of what `generate` writes.
    """
    rng = random.Random(f"records:{seed}")  # nosec B311 # synthetic data, seeded
    dist = starter_distributions()
    for number in range(start, start + count):
        yield sample_record(rng, dist, number=number, seed=seed)


# --------------------------------------------------------------------------------------------
# Reviews and assessments (pure)
# --------------------------------------------------------------------------------------------


def allowed_specials(item: Any) -> tuple[bool, bool]:
    """(not applicable allowed, insufficient information allowed) for an item."""
    allowed = {str(answer.value) for answer in item.allows}
    return "not_applicable" in allowed, "insufficient_information" in allowed


def reviewer_answer(
    item: Any, level: float, rng: random.Random, specials: tuple[bool, bool] | None = None
) -> Any:
    """A plausible answer to one criterion for a case whose latent quality on it is `level`
    (0-4), with the noise of one reviewer: a rubric level, an option key (or keys), a gate or
    check answer, or now and then a special answer the item allows (pure). `specials` is
    `allowed_specials(item)`, when the caller has it at hand."""
    not_applicable, insufficient = specials or allowed_specials(item)
    draw = rng.random()
    if draw < 0.07:
        if not_applicable and draw < 0.04:
            return "not_applicable"
        if insufficient and draw >= 0.04:
            return "insufficient_information"
    noisy = level + rng.gauss(0.0, READER_NOISE)
    if isinstance(item, RubricItem):
        return 0 if noisy < 0.5 else 4 if noisy >= 3.5 else round(noisy)
    if isinstance(item, CheckItem):
        return "yes" if noisy >= 2.0 else "no"
    if isinstance(item, GateItem):
        return rng.choices(("yes", "no", "unclear"), weights=(35, 55, 10))[0]
    if isinstance(item, ChoiceItem):
        options = sorted(item.options, key=lambda option: option.points)
        if item.select == "multi":
            chosen = [option.key for option in item.options if rng.random() < 0.3]
            return chosen or [item.options[0].key]
        index = round(max(0.0, min(4.0, noisy)) / 4 * (len(options) - 1))
        return options[index].key
    raise SynthError(f"cannot answer item {item.key!r} of kind {item.kind!r}")


def _answer_columns(item: Any, answer: Any) -> tuple[float | None, str | None, str | None, str]:
    """(value_number, value_text, special, justification) of a stored review answer, as
    `criteria.services._answer_row` stores them."""
    if isinstance(answer, str) and answer in criteria_services.SPECIAL_VALUES:
        return None, None, answer, ""
    if isinstance(item, RubricItem):
        justification = f"Synthetic justification (level {answer})." if answer in (0, 4) else ""
        return float(answer), None, None, justification
    if isinstance(answer, list):
        order = [option.key for option in item.options]
        return None, ",".join(sorted(answer, key=order.index)), None, ""
    return None, answer, None, ""


def _score_columns(item: Any, value: Any) -> tuple[float | None, str | None, str | None]:
    """(value_number, value_text, special) of a consolidated score, as
    `criteria.services._score_row` stores them."""
    if value is None:
        return None, None, None
    if isinstance(value, str) and value in criteria_services.SPECIAL_VALUES:
        return None, None, value
    if isinstance(item, RubricItem):
        return float(value), None, None
    if isinstance(item, ChoiceItem):
        text = ",".join(value) if isinstance(value, list) else value
        return float(scoring.choice_points(item, value)), text, None
    if isinstance(item, CheckItem):
        return (1.0 if value == "yes" else 0.0), value, None
    return None, value, None


def _frozen(answer: Any) -> Any:
    return tuple(answer) if isinstance(answer, list) else answer


class Consolidator:
    """The editor's consolidation of a case's reviews, by the framework's own rules, with
    memoisation: per criterion (few distinct answer sets) and per set of consolidated values
    (the score summary and drafted recommendations)."""

    def __init__(self, framework: Framework, *, as_of: date) -> None:
        self.framework = framework
        self.as_of = as_of
        self._items: dict[tuple, tuple[Any, bool]] = {}
        self._summaries: dict[tuple, tuple[dict, list[str]]] = {}
        self.all_rubric = all(isinstance(item, RubricItem) for item in framework.items)
        self._json_texts = {
            value: json.dumps(value) for value in (*range(5), *criteria_services.SPECIAL_VALUES)
        }

    def item(self, item: Any, answers: list[Any]) -> tuple[Any, bool]:
        """(consolidated value, disagreement flag) of one criterion."""
        key = (item.key, tuple(_frozen(answer) for answer in answers))
        found = self._items.get(key)
        if found is None:
            value = criteria_services.consolidate_item(self.framework, item, answers)
            found = (value, criteria_services.item_flagged(item, answers))
            self._items[key] = found
        return found

    def summary(self, values: dict[str, Any]) -> tuple[dict, list[str]]:
        """(score summary, recommendations) of a set of consolidated values."""
        key = tuple(_frozen(values[item.key]) for item in self.framework.items)
        found = self._summaries.get(key)
        if found is None:
            summary = criteria_services.score_summary(self.framework, values, as_of=self.as_of)
            texts = criteria_services.draft_recommendations(
                self.framework, values, RECOMMENDATION_LANGUAGE
            )
            found = (summary, texts)
            if len(self._summaries) < SUMMARY_MEMO_SIZE:
                self._summaries[key] = found
        return found

    def assess(self, ratings: dict[int, dict[str, Any]]) -> dict:
        """The assessment fields of one case from {reviewer id: {criterion: answer}}:
        result (as `criteria.services.consolidate` records it), tier, overall, alpha, scores."""
        items_result: dict[str, dict] = {}
        values: dict[str, Any] = {}
        flagged: list[str] = []
        for item in self.framework.items:
            answers = [by_item.get(item.key) for by_item in ratings.values()]
            value, flag = self.item(item, answers)
            values[item.key] = value
            if flag:
                flagged.append(item.key)
            given = [answer for answer in answers if answer is not None]
            json_value = criteria_services._json_answer(value)
            items_result[item.key] = {
                "value": json_value,
                "median": json_value,
                "edited": False,
                "flagged": flag,
                "n_answers": len(given),
                "n_not_applicable": sum(1 for a in given if a == "not_applicable"),
                "n_insufficient": sum(1 for a in given if a == "insufficient_information"),
            }
        summary, recommendations = self.summary(values)
        alpha, level, percent = self.agreement(ratings)
        return {
            "items": items_result,
            "values": values,
            "flags": flagged,
            "summary": summary,
            "recommendations": recommendations,
            "alpha": alpha,
            "agreement_level": level,
            "percent_agreement": percent,
        }

    def agreement(
        self, ratings: dict[int, dict[str, Any]]
    ) -> tuple[float | None, str | None, float | None]:
        """(alpha, its level, percent agreement) of one case's reviews, as
        `criteria.services.agreement_for` computes them.

        For an all-rubric framework the two measures are computed straight from the
        reviewers × criteria matrix with the same rules (criteria.agreement), skipping
        agreement_for's generic conversions (half the cost of a case); otherwise
        agreement_for itself is called.
        """
        if not self.all_rubric:
            agreement = criteria_services.agreement_for(self.framework, {0: ratings})
            return agreement.alpha, agreement.level, agreement.percent
        keys = [item.key for item in self.framework.items]
        matrix = [[answers.get(key) for key in keys] for answers in ratings.values()]
        scored = any(isinstance(value, int) for row in matrix for value in row)
        alpha = agreement_rules.krippendorff_alpha(matrix, "ordinal") if scored else None
        # Percent agreement compares the answers as agreement_for encodes them (JSON text), so
        # special answers count as answers there.
        texts = self._json_texts
        encoded = [
            [None if value is None else texts.get(value) or json.dumps(value) for value in row]
            for row in matrix
        ]
        percent = agreement_rules.percent_agreement(encoded) if matrix else None
        return alpha, ("ordinal" if scored else None), percent


# --------------------------------------------------------------------------------------------
# Batches of rows (pure: computed in worker processes when there are several batches)
# --------------------------------------------------------------------------------------------

CASE_RECORD_COLUMNS = tuple(name for name in RECORD_FIELDS if name != "techniques")
CASE_COLUMNS = (
    "id",
    "ref",
    "state",
    *CASE_RECORD_COLUMNS,
    "provenance",
    "provenance_detail",
    "source_key",
    "submitter_id",
    "created_at",
    "updated_at",
    "published_at",
    "version_number",
    "search_text",
)
_COUNTRY_COLUMN = CASE_COLUMNS.index("country")
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "user_account": (
        "id",
        "email",
        "name",
        "password_hash",
        "role",
        "is_active",
        "institution",
        "country",
        "preferred_language",
        "created_at",
        "last_login_at",
    ),
    "ai_case": CASE_COLUMNS,
    "ai_case_technique": ("case_id", "technique"),
    "ai_case_version": (
        "id",
        "case_id",
        "number",
        "data",
        "author_id",
        "comment",
        "created_at",
        "published",
    ),
    "ai_case_event": (
        "id",
        "case_id",
        "from_state",
        "to_state",
        "actor_id",
        "reason",
        "version_number",
        "at",
    ),
    "review_assignment": (
        "id",
        "case_id",
        "framework_id",
        "reviewer_id",
        "assigned_by_id",
        "due_date",
        "status",
        "created_at",
    ),
    "review": (
        "id",
        "assignment_id",
        "revision",
        "status",
        "amendment_reason",
        "created_at",
        "submitted_at",
    ),
    "review_answer": (
        "review_id",
        "item_key",
        "value_number",
        "value_text",
        "special",
        "justification",
        "evidence_url",
    ),
    "assessment": (
        "id",
        "case_id",
        "framework_id",
        "status",
        "result",
        "common_tier",
        "tier_provisional",
        "overall_score",
        "n_reviewers",
        "alpha",
        "recommendations",
        "method_note",
        "is_example",
        "created_at",
        "published_at",
        "published_by_id",
    ),
    "assessment_score": (
        "assessment_id",
        "item_key",
        "case_id",
        "framework_id",
        "value_number",
        "value_text",
        "special",
        "flagged",
    ),
}
#: Tables with an integer `id` the generator numbers itself (and whose sequences it moves).
ID_TABLES = (
    "user_account",
    "ai_case",
    "ai_case_version",
    "ai_case_event",
    "review_assignment",
    "review",
    "assessment",
)
#: Write order inside a batch (foreign keys point to earlier tables).
WRITE_ORDER = (
    "ai_case",
    "ai_case_technique",
    "ai_case_version",
    "ai_case_event",
    "review_assignment",
    "review",
    "review_answer",
    "assessment",
    "assessment_score",
)


def ids_per_case(reviews_per_case: int) -> dict[str, int]:
    """How many ids of each numbered table one case takes (so every batch knows its ids)."""
    return {
        "ai_case": 1,
        "ai_case_version": 1,
        "ai_case_event": 1,
        "review_assignment": reviews_per_case,
        "review": reviews_per_case,
        "assessment": 1 if reviews_per_case else 0,
    }


@dataclass(frozen=True)
class BatchPlan:
    """What every batch needs (picklable); a plan and a batch number always give the same rows.

    Timestamps, dates and booleans are already in the form the database driver takes.
    """

    seed: int
    reviews_per_case: int
    framework_id: int
    framework_document: dict
    reviewers: tuple[int, ...]
    severity: dict[int, float]
    item_bias: dict[str, float]
    today: date
    now: Any
    last_verified: Any
    true: Any
    false: Any


@lru_cache(maxsize=4096)
def _folded(text: str) -> str:
    return fold(text)


def _search_text(record: dict) -> str:
    """`cases.services.build_search_text` of a record, with the long parts folded once."""
    parts = [
        fold(record["name"]),
        _folded(record["acronym"]),
        _folded(record["institution"]),
        _folded(record["purpose"]),
    ]
    return " ".join(part for part in parts if part)


class _Batcher:
    """Builds the rows of batches from a plan (one per process: it memoises consolidations)."""

    def __init__(self, plan: BatchPlan, framework: Framework | None = None) -> None:
        self.plan = plan
        self.framework = framework or framework_from_document(plan.framework_document)
        self.consolidator = Consolidator(self.framework, as_of=plan.today)
        self.items = [(item, allowed_specials(item)) for item in self.framework.items]
        self.detail = json.dumps({"register": SYNTHETIC_REGISTER, "seed": plan.seed})
        self.method_note = (
            f"Synthetic assessment for load tests (seed {plan.seed}); not a real review."
        )

    def batch(self, index: int, count: int, first_ids: dict[str, int]) -> dict[str, list[tuple]]:
        """The rows of batch `index` (`count` cases; ids from `first_ids`), by table. Case rows
        carry no reference yet (None): references are numbered in order by the writer."""
        plan = self.plan
        rng = random.Random(f"{plan.seed}:batch:{index}")  # nosec B311 # synthetic data
        dist = starter_distributions()
        ids = dict(first_ids)
        tables: dict[str, list[tuple]] = {table: [] for table in WRITE_ORDER}
        as_of = plan.today.isoformat()
        for _ in range(count):
            case_id = _take(ids, "ai_case")
            record = sample_record(rng, dist, number=case_id, seed=plan.seed)
            search_text = _search_text(record)
            record["last_verified"] = as_of
            values = [record[name] for name in CASE_RECORD_COLUMNS]
            values[CASE_RECORD_COLUMNS.index("vulnerable_groups")] = json.dumps([])
            values[CASE_RECORD_COLUMNS.index("sources")] = json.dumps(record["sources"])
            values[CASE_RECORD_COLUMNS.index("last_verified")] = plan.last_verified
            tables["ai_case"].append(
                (
                    case_id,
                    None,
                    "published",
                    *values,
                    "import",
                    self.detail,
                    None,
                    None,
                    plan.now,
                    plan.now,
                    plan.now,
                    1,
                    search_text,
                )
            )
            for technique in record["techniques"]:
                tables["ai_case_technique"].append((case_id, technique))
            tables["ai_case_version"].append(
                (
                    _take(ids, "ai_case_version"),
                    case_id,
                    1,
                    json.dumps(record),
                    None,
                    f"Synthetic case for load tests (seed {plan.seed})",
                    plan.now,
                    plan.true,
                )
            )
            tables["ai_case_event"].append(
                (
                    _take(ids, "ai_case_event"),
                    case_id,
                    "draft",
                    "published",
                    None,
                    f"synthetic library (seed {plan.seed})",
                    1,
                    plan.now,
                )
            )
            if plan.reviews_per_case:
                self._reviews(rng, tables, ids, case_id)
        return tables

    def _reviews(
        self, rng: random.Random, tables: dict[str, list[tuple]], ids: dict[str, int], case_id: int
    ) -> None:
        plan = self.plan
        # The case's true level on each criterion: its overall quality, the criterion's usual
        # strength or weakness, and its own deviation; each reviewer then reads it with noise.
        quality = rng.gauss(1.9, 0.6)
        levels = {
            item.key: quality + plan.item_bias[item.key] + rng.gauss(0.0, 0.7)
            for item, _specials in self.items
        }
        ratings: dict[int, dict[str, Any]] = {}
        review_refs = []
        for reviewer in rng.sample(plan.reviewers, plan.reviews_per_case):
            assignment_id = _take(ids, "review_assignment")
            review_id = _take(ids, "review")
            review_refs.append([assignment_id, 1])
            tables["review_assignment"].append(
                (
                    assignment_id,
                    case_id,
                    plan.framework_id,
                    reviewer,
                    None,
                    None,
                    "submitted",
                    plan.now,
                )
            )
            tables["review"].append(
                (review_id, assignment_id, 1, "submitted", "", plan.now, plan.now)
            )
            answers: dict[str, Any] = {}
            severity = plan.severity[reviewer]
            for item, specials in self.items:
                answer = reviewer_answer(item, levels[item.key] + severity, rng, specials)
                answers[item.key] = answer
                tables["review_answer"].append(
                    (review_id, item.key, *_answer_columns(item, answer), "")
                )
            ratings[reviewer] = answers
        assessed = self.consolidator.assess(ratings)
        assessment_id = _take(ids, "assessment")
        summary = assessed["summary"]
        result = {
            "items": assessed["items"],
            "flags": assessed["flags"],
            "scores": summary,
            "reviews": sorted(review_refs),
            "agreement_level": assessed["agreement_level"],
            "percent_agreement": assessed["percent_agreement"],
            "as_of": plan.today.isoformat(),
        }
        tables["assessment"].append(
            (
                assessment_id,
                case_id,
                plan.framework_id,
                "published",
                json.dumps(result),
                summary["common_tier"],
                plan.true if summary["tier_provisional"] else plan.false,
                summary["overall"],
                len(ratings),
                assessed["alpha"],
                json.dumps(assessed["recommendations"]),
                self.method_note,
                plan.false,
                plan.now,
                plan.now,
                None,
            )
        )
        for item, _specials in self.items:
            flagged = assessed["items"][item.key]["flagged"]
            tables["assessment_score"].append(
                (
                    assessment_id,
                    item.key,
                    case_id,
                    plan.framework_id,
                    *_score_columns(item, assessed["values"][item.key]),
                    plan.true if flagged else plan.false,
                )
            )


def _take(ids: dict[str, int], table: str) -> int:
    value = ids[table]
    ids[table] += 1
    return value


# One batcher per worker process, made by the pool's initializer.
_WORKER_BATCHER: list[_Batcher] = []


def _init_worker(plan: BatchPlan) -> None:
    _WORKER_BATCHER[:] = [_Batcher(plan)]


def _batch_in_worker(job: tuple[int, int, dict[str, int]]) -> dict[str, list[tuple]]:
    return _WORKER_BATCHER[0].batch(*job)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class _Writer:
    """Bulk inserts on the session's own DBAPI connection (so they share its transaction)."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.dialect = connection.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise SynthError(f"unsupported database {self.dialect!r}")
        self.dbapi = connection.connection.driver_connection
        self.cursor = self.dbapi.cursor()
        self.rows: Counter[str] = Counter()
        self.sqlite = self.dialect == "sqlite"
        if self.sqlite:
            # The text SQLAlchemy itself stores for these types on SQLite.
            dialect = connection.dialect
            self._datetime = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
            self._date = sa.Date().dialect_impl(dialect).bind_processor(dialect)

    def begin(self) -> None:
        """Start the write transaction and take the write lock before reading the highest ids,
        so no one else adds rows meanwhile (readers are not blocked)."""
        if self.sqlite:
            if self.dbapi.in_transaction:
                self.dbapi.commit()
            # A bigger page cache for the load (restored when done: the connection is pooled).
            self.cursor.execute("PRAGMA cache_size=-262144")
            self.cursor.execute("BEGIN IMMEDIATE")
        else:
            tables = ", ".join(("data_version", "user_account", *WRITE_ORDER))
            self.cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")

    def end(self) -> None:
        """Give the pooled connection back as it was (SQLite's default page cache)."""
        if self.sqlite:
            with contextlib.suppress(Exception):
                self.cursor.execute("PRAGMA cache_size=-2000")

    def timestamp(self, value: datetime) -> Any:
        return self._datetime(value) if self.sqlite else value

    def day(self, value: date) -> Any:
        return self._date(value) if self.sqlite else value

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value

    def scalar(self, statement: str) -> Any:
        self.cursor.execute(statement)
        return self.cursor.fetchone()[0]

    def insert(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = TABLE_COLUMNS[table]
        names = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            # Table and column names come from the schema; the values are bound parameters.
            statement = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # nosec B608
            self.cursor.executemany(statement, rows)
        else:
            with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        self.rows[table] += len(rows)

    def finish(self, next_ids: dict[str, int]) -> None:
        """Move the PostgreSQL sequences past the ids written; bump the data version once."""
        if not self.sqlite:
            for table in ID_TABLES:
                self.cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s, %s)",
                    (max(next_ids[table] - 1, 1), next_ids[table] > 1),
                )
        self.cursor.execute("UPDATE data_version SET version = version + 1 WHERE id = 1")
        if self.cursor.rowcount == 0:
            self.cursor.execute("INSERT INTO data_version (id, version) VALUES (1, 1)")
        if not self.sqlite and sum(self.rows.values()) > 10_000:
            # Planner statistics for the new rows now, not whenever autovacuum gets to them
            # (ANALYZE samples this transaction's own rows).
            self.cursor.execute(f"ANALYZE {', '.join(WRITE_ORDER)}")


@dataclass
class SynthReport:
    """What `generate` wrote, and how long it took."""

    cases: int
    reviews_per_case: int
    seed: int
    framework: str
    reviewers_created: int = 0
    reviewers_used: int = 0
    processes: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    first_case_id: int | None = None
    last_case_id: int | None = None
    seconds: float = 0.0

    @property
    def reviews(self) -> int:
        return self.rows.get("review", 0)

    @property
    def answers(self) -> int:
        return self.rows.get("review_answer", 0)

    @property
    def assessments(self) -> int:
        return self.rows.get("assessment", 0)

    @property
    def scores(self) -> int:
        return self.rows.get("assessment_score", 0)


def _framework_row(session: Session, full_key: str) -> FrameworkVersion:
    key, _, version = full_key.partition("@")
    statement = select(FrameworkVersion).where(
        FrameworkVersion.key == key, FrameworkVersion.version == version
    )
    row = session.exec(statement).first()
    if row is None:
        # A database that was migrated but never initialised: load the shipped frameworks.
        criteria_services.sync_frameworks(session)
        row = session.exec(statement).first()
    if row is None:
        raise SynthError(f"unknown framework version {full_key!r}")
    if row.status != "published":
        raise SynthError(f"framework version {full_key} is {row.status}, not published")
    return row


def reviewer_pool_size(cases: int, reviews_per_case: int) -> int:
    """How many synthetic reviewers share the work: about one per thousand reviews, between
    R + 2 and 500."""
    if reviews_per_case == 0:
        return 0
    return max(reviews_per_case + 2, min(500, -(-cases * reviews_per_case // 1000)))


def _ref_numbers(writer: _Writer) -> dict[str, int]:
    """The highest reference number per country (`BRA-0056` → 56), as the importer reads them:
    as numbers, so BRA-10000 comes after BRA-9999."""
    writer.cursor.execute("SELECT ref FROM ai_case")
    highest: dict[str, int] = {}
    for (ref,) in writer.cursor.fetchall():
        country, _, number = ref.partition("-")
        if number.isdigit():
            highest[country] = max(highest.get(country, 0), int(number))
    return highest


def _reviewers(writer: _Writer, wanted: int, now: Any, next_ids: dict[str, int]) -> list[int]:
    """Ids of `wanted` synthetic reviewer accounts, creating the missing ones (deactivated,
    with a password hash no password matches)."""
    if wanted == 0:
        return []
    mark = "?" if writer.sqlite else "%s"
    writer.cursor.execute(
        f"SELECT id, email FROM user_account WHERE email LIKE {mark}",  # nosec B608 # bound
        (REVIEWER_EMAIL_LIKE,),
    )
    existing = {email: user_id for user_id, email in writer.cursor.fetchall()}
    ids, rows = [], []
    for number in range(1, wanted + 1):
        email = REVIEWER_EMAIL.format(number)
        if email in existing:
            ids.append(existing[email])
            continue
        user_id = _take(next_ids, "user_account")
        ids.append(user_id)
        rows.append(
            (
                user_id,
                email,
                f"Synthetic reviewer {number:04d}",
                UNUSABLE_PASSWORD_HASH,
                "reviewer",
                writer.flag(False),
                "Synthetic reviewers (load tests)",
                None,
                None,
                now,
                None,
            )
        )
    writer.insert("user_account", rows)
    return ids


def default_processes(cases: int) -> int:
    """Worker processes computing batches: one per CPU (at most 4), none for small runs."""
    if cases < 3 * CHUNK_SIZE:
        return 0
    return min(os.cpu_count() or 1, 4)


def generate(
    session: Session,
    *,
    cases: int,
    reviews_per_case: int = 3,
    seed: int = 0,
    framework: str = DEFAULT_FRAMEWORK,
    processes: int | None = None,
    progress: Progress | None = None,
) -> SynthReport:
    """Add `cases` synthetic published cases, each with `reviews_per_case` submitted reviews
    by distinct synthetic reviewers and (with at least one review) a published assessment
    under `framework` (`key@version`); commits once, all or nothing.

    Deterministic for a given seed and starting database, whatever `processes` is (batches
    are seeded by their number; ids and references continue from what is there). Loads the
    shipped frameworks first if the database has none (committed separately). `processes`:
    worker processes that compute batches while this one writes (default: one per CPU for
    large runs, 0 = compute here). `progress(stage, done, total)` is called after each batch.
    Raises SynthError for a negative size or an unknown or unpublished framework version;
    on any error nothing is written.
    """
    if cases < 0 or reviews_per_case < 0:
        raise SynthError("the number of cases and of reviews per case must not be negative")
    started = time.perf_counter()
    version = _framework_row(session, framework)
    fw = criteria_services.framework_of(version)
    framework_id, document = version.id, version.document
    session.commit()  # end the read transaction: the write transaction starts with its lock
    processes = default_processes(cases) if processes is None else processes
    report = SynthReport(
        cases=cases,
        reviews_per_case=reviews_per_case,
        seed=seed,
        framework=framework,
        reviewers_used=reviewer_pool_size(cases, reviews_per_case),
    )
    writer = _Writer(session)
    try:
        writer.begin()
        next_ids = {
            table: int(writer.scalar(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))  # nosec B608
            + 1
            for table in ID_TABLES
        }
        refs = _ref_numbers(writer)
        now_value = utcnow()
        reviewers = _reviewers(writer, report.reviewers_used, writer.timestamp(now_value), next_ids)
        report.reviewers_created = writer.rows["user_account"]
        setup = random.Random(f"{seed}:setup")  # nosec B311 # synthetic data
        plan = BatchPlan(
            seed=seed,
            reviews_per_case=reviews_per_case,
            framework_id=framework_id,
            framework_document=document,
            reviewers=tuple(reviewers),
            severity={reviewer: setup.gauss(0.0, 0.2) for reviewer in reviewers},
            item_bias={item.key: setup.gauss(0.0, 0.4) for item in fw.items},
            today=now_value.date(),
            now=writer.timestamp(now_value),
            last_verified=writer.day(now_value.date()),
            true=writer.flag(True),
            false=writer.flag(False),
        )
        per_case = ids_per_case(reviews_per_case)
        jobs = []
        for index, start in enumerate(range(0, cases, CHUNK_SIZE)):
            first = {table: next_ids[table] + start * n for table, n in per_case.items()}
            jobs.append((index, min(CHUNK_SIZE, cases - start), first))
        for table, n in per_case.items():
            next_ids[table] += cases * n
        report.first_case_id = jobs[0][2]["ai_case"] if jobs else None
        report.last_case_id = next_ids["ai_case"] - 1 if jobs else None
        done = 0

        def write(tables: dict[str, list[tuple]]) -> None:
            nonlocal done
            numbered = []
            for row in tables["ai_case"]:
                country = row[_COUNTRY_COLUMN]
                refs[country] = refs.get(country, 0) + 1
                numbered.append((row[0], f"{country}-{refs[country]:04d}", *row[2:]))
            tables["ai_case"] = numbered
            for table in WRITE_ORDER:
                writer.insert(table, tables[table])
            done += len(numbered)
            if progress:
                progress("cases", done, cases)

        report.processes = processes if processes > 1 and len(jobs) > 1 else 0
        if report.processes:
            _write_in_parallel(plan, jobs, report.processes, write)
        else:
            batcher = _Batcher(plan, fw)
            for job in jobs:
                write(batcher.batch(*job))
        writer.finish(next_ids)
        writer.end()
        session.commit()
    except BaseException:
        writer.end()
        session.rollback()
        raise
    report.rows = dict(writer.rows)
    report.seconds = time.perf_counter() - started
    return report


def _write_in_parallel(
    plan: BatchPlan,
    jobs: list[tuple[int, int, dict[str, int]]],
    processes: int,
    write: Callable[[dict[str, list[tuple]]], None],
) -> None:
    """Compute batches in worker processes, a few ahead, and write them here in order."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_init_worker, initargs=(plan,)
    ) as pool:
        pending: deque = deque()
        try:
            for job in jobs:
                pending.append(pool.submit(_batch_in_worker, job))
                if len(pending) > processes:
                    write(pending.popleft().result())
            while pending:
                write(pending.popleft().result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
