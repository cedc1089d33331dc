"""Table models of criteria and review: framework versions, regulations, assignments, reviews,
answers and published assessments."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from observatory.models import utcnow


def _when(**kwargs) -> Field:
    return Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), **kwargs)


class FrameworkVersion(SQLModel, table=True):
    """One published version of an evaluation framework, loaded from its YAML file (immutable)."""

    __tablename__ = "framework_version"
    __table_args__ = (sa.UniqueConstraint("key", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=60, index=True)
    version: str = Field(max_length=20)
    status: str = Field(default="published", max_length=20)
    method: str = Field(max_length=30)
    title: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The validated YAML document as loaded; scores always refer to this exact version.
    document: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    loaded_at: datetime = _when()


class RegulatoryInstrument(SQLModel, table=True):
    """A strategy, law, bill, decree or guideline that governs public-sector AI in a country."""

    __tablename__ = "regulatory_instrument"

    id: int | None = Field(default=None, primary_key=True)
    # ISO alpha-3, or "LAC" for regional instruments.
    country: str = Field(max_length=3, index=True)
    title: str = Field(max_length=600)
    title_en: str = Field(default="", max_length=600)
    type: str = Field(max_length=30)
    status: str = Field(max_length=30)
    issuing_body: str = Field(default="", max_length=600)
    date: str = Field(default="", max_length=10)  # YYYY or YYYY-MM-DD, as known
    relevance: str = Field(default="", max_length=4000)
    url: str = Field(default="", max_length=1000)
    confidence: str = Field(default="medium", max_length=10)
    source_key: str | None = Field(default=None, max_length=60, unique=True)
    updated_at: datetime = _when()
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class ReviewerConflict(SQLModel, table=True):
    """A conflict of interest a reviewer declared: an institution or one case."""

    __tablename__ = "reviewer_conflict"

    id: int | None = Field(default=None, primary_key=True)
    reviewer_id: int = Field(foreign_key="user_account.id", index=True)
    institution: str = Field(default="", max_length=300)
    case_id: int | None = Field(default=None, foreign_key="ai_case.id")
    note: str = Field(default="", max_length=1000)
    created_at: datetime = _when()


class ReviewAssignment(SQLModel, table=True):
    """An editor's request that a reviewer score a case under one framework version."""

    __tablename__ = "review_assignment"
    __table_args__ = (sa.UniqueConstraint("case_id", "framework_id", "reviewer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ai_case.id", index=True)
    framework_id: int = Field(foreign_key="framework_version.id", index=True)
    reviewer_id: int = Field(foreign_key="user_account.id", index=True)
    assigned_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    due_date: date | None = Field(default=None)
    status: str = Field(default="assigned", max_length=20)  # assigned | submitted | withdrawn
    created_at: datetime = _when()


class Review(SQLModel, table=True):
    """One revision of a reviewer's scores; submitted revisions are never edited."""

    __tablename__ = "review"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="review_assignment.id", index=True)
    revision: int = Field(default=1)
    status: str = Field(default="draft", max_length=20)  # draft | submitted
    amendment_reason: str = Field(default="", max_length=2000)
    created_at: datetime = _when()
    submitted_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class ReviewAnswer(SQLModel, table=True):
    """A reviewer's answer to one criterion: a value or a special answer, with justification."""

    __tablename__ = "review_answer"

    review_id: int = Field(foreign_key="review.id", primary_key=True)
    item_key: str = Field(max_length=60, primary_key=True)
    # Ordinal scores and points as numbers; options and gate answers as text.
    value_number: float | None = Field(default=None)
    value_text: str | None = Field(default=None, max_length=60)
    # "not_applicable" | "insufficient_information" (never counted as zero).
    special: str | None = Field(default=None, max_length=30)
    justification: str = Field(default="", max_length=4000)
    evidence_url: str = Field(default="", max_length=1000)


class Assessment(SQLModel, table=True):
    """The consolidated evaluation of a case under one framework version, published by an editor."""

    __tablename__ = "assessment"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "framework_id"),
        # Published assessments of one framework (migration 0005).
        sa.Index(
            "ix_assessment_framework_status", "framework_id", "status", "case_id", "common_tier"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ai_case.id", index=True)
    framework_id: int = Field(foreign_key="framework_version.id", index=True)
    status: str = Field(default="draft", max_length=20)  # draft | published
    result: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    common_tier: str = Field(default="unassessed", max_length=20, index=True)
    tier_provisional: bool = Field(default=False)
    overall_score: float | None = Field(default=None)
    n_reviewers: int = Field(default=0)
    alpha: float | None = Field(default=None)
    recommendations: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    method_note: str = Field(default="", max_length=2000)
    # Example assessments shipped with the starter library are labelled as such everywhere.
    is_example: bool = Field(default=False)
    created_at: datetime = _when()
    published_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    published_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class AssessmentScore(SQLModel, table=True):
    """A consolidated per-criterion value of a published assessment (what dashboards aggregate)."""

    __tablename__ = "assessment_score"
    __table_args__ = (
        sa.Index("ix_assessment_score_framework_item", "framework_id", "item_key"),
        # Covers dashboards.queries.score_histogram (migration 0006).
        sa.Index(
            "ix_assessment_score_histogram",
            "framework_id",
            "assessment_id",
            "item_key",
            "value_number",
        ),
    )

    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True)
    item_key: str = Field(max_length=60, primary_key=True)
    case_id: int = Field(foreign_key="ai_case.id", index=True)
    framework_id: int = Field(foreign_key="framework_version.id")
    value_number: float | None = Field(default=None)
    value_text: str | None = Field(default=None, max_length=60)
    special: str | None = Field(default=None, max_length=30)
    flagged: bool = Field(default=False)  # reviewers differed by two levels or more
