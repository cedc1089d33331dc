"""Table models of the case library: cases, their techniques, versions and workflow events."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from observatory.models import utcnow


class Case(SQLModel, table=True):
    """A government AI use case.

    The columns hold the version the public sees once the case is published (or the working copy
    while it has never been published); every version, including a pending update, is kept in
    `CaseVersion`.
    """

    __tablename__ = "ai_case"
    __table_args__ = (
        sa.Index("ix_ai_case_state_country", "state", "country"),
        sa.Index("ix_ai_case_state_branch", "state", "branch"),
        # The dashboards' case cube (migration 0005): answered from the index alone.
        sa.Index(
            "ix_ai_case_cube",
            "state",
            "country",
            "branch",
            "level",
            "sector",
            "lifecycle_status",
            "year_started",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=16, unique=True, index=True)
    state: str = Field(default="draft", max_length=20, index=True)

    name: str = Field(max_length=300)
    acronym: str = Field(default="", max_length=40)
    institution: str = Field(max_length=300, index=True)
    country: str = Field(max_length=3, index=True)
    subnational_region: str = Field(default="", max_length=200)
    level: str = Field(max_length=20)
    branch: str = Field(max_length=20)
    sector: str = Field(max_length=40, index=True)
    purpose: str = Field(default="", max_length=5000)
    decision_role: str = Field(default="unknown", max_length=20)
    lifecycle_status: str = Field(default="unknown", max_length=20)
    year_started: int | None = Field(default=None, index=True)
    year_ended: int | None = Field(default=None)
    developer_type: str = Field(default="unknown", max_length=20)
    developer_name: str = Field(default="", max_length=300)
    data_used: str = Field(default="", max_length=3000)
    personal_data: str = Field(default="unknown", max_length=10)
    sensitive_data: str = Field(default="unknown", max_length=10)
    affected_groups: str = Field(default="", max_length=2000)
    vulnerable_groups: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    human_oversight: str = Field(default="", max_length=3000)
    appeal_mechanism: str = Field(default="", max_length=3000)
    documentation_url: str = Field(default="", max_length=1000)
    source_code_url: str = Field(default="", max_length=1000)
    impact_assessment_url: str = Field(default="", max_length=1000)
    legal_basis: str = Field(default="", max_length=2000)
    known_concerns: str = Field(default="", max_length=5000)
    sources: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    record_language: str = Field(default="en", max_length=5)
    confidence: str = Field(default="medium", max_length=10)
    provenance: str = Field(default="submission", max_length=20, index=True)
    provenance_detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A stable key per source record (e.g. "starter:LAC-001", "us-omb-2025:DOC-12"): imports
    # and the starter loader use it so that loading twice never creates a duplicate.
    source_key: str | None = Field(default=None, max_length=300, unique=True)
    last_verified: date | None = Field(default=None)

    submitter_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    published_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # Number of the CaseVersion whose data the columns hold; bumped on every saved edit so a
    # stale form (two editors at once) is detected instead of silently overwriting.
    version_number: int = Field(default=1)
    # Accent- and case-folded name + acronym + institution + purpose, for full-text search.
    search_text: str = Field(default="", max_length=12000)


class CaseTechnique(SQLModel, table=True):
    """One AI technique of a case (a case may use several); a table so facets count in SQL."""

    __tablename__ = "ai_case_technique"

    case_id: int = Field(foreign_key="ai_case.id", primary_key=True)
    technique: str = Field(max_length=30, primary_key=True, index=True)


class CaseVersion(SQLModel, table=True):
    """A full snapshot of a case record as saved by someone, with their comment."""

    __tablename__ = "ai_case_version"
    __table_args__ = (sa.UniqueConstraint("case_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ai_case.id", index=True)
    number: int
    data: dict = Field(sa_column=Column(JSON, nullable=False))
    author_id: int | None = Field(default=None, foreign_key="user_account.id")
    comment: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # Whether this version was (or is) the public one; pending updates stay False until published.
    published: bool = Field(default=False)


class CaseEvent(SQLModel, table=True):
    """A workflow transition of a case, with the reason an editor gave."""

    __tablename__ = "ai_case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ai_case.id", index=True)
    from_state: str = Field(max_length=20)
    to_state: str = Field(max_length=20)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    reason: str = Field(default="", max_length=4000)
    version_number: int | None = Field(default=None)
    at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class Correction(SQLModel, table=True):
    """A correction suggested by anyone on a published case, tracked publicly until answered."""

    __tablename__ = "ai_case_correction"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ai_case.id", index=True)
    text: str = Field(max_length=5000)
    source_url: str = Field(default="", max_length=1000)
    # Kept private: only editors see it, to reply.
    contact_email: str = Field(default="", max_length=254)
    author_id: int | None = Field(default=None, foreign_key="user_account.id")
    status: str = Field(default="open", max_length=20, index=True)  # open | accepted | declined
    reply: str = Field(default="", max_length=5000)
    replied_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    replied_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Notification(SQLModel, table=True):
    """Something that concerns one account: a transition, an assignment, a correction."""

    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    kind: str = Field(max_length=40)
    # Message parameters; the text is rendered in the reader's language when shown.
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    link: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    read_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class ImportRun(SQLModel, table=True):
    """One import of a register file: who, when, what file, what it added or changed."""

    __tablename__ = "import_run"

    id: int | None = Field(default=None, primary_key=True)
    register_key: str = Field(max_length=60, index=True)
    file_name: str = Field(max_length=300)
    file_sha256: str = Field(max_length=64, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    status: str = Field(default="completed", max_length=20)
    target_state: str = Field(default="published", max_length=20)
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
