"""Shared table models: users and roles, login attempts, the audit log and the data version."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware now in UTC (stored naive-free, compared in UTC)."""
    return datetime.now(UTC)


def _timestamp(**kwargs) -> Field:
    return Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), **kwargs)


class Role(StrEnum):
    """What an account may do; the public needs no account."""

    SUBMITTER = "submitter"
    REVIEWER = "reviewer"
    EDITOR = "editor"
    ADMIN = "admin"


class User(SQLModel, table=True):
    """An account. Never deleted once it wrote anything: deactivated instead."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=300)
    role: str = Field(default=Role.SUBMITTER.value, max_length=20)
    is_active: bool = Field(default=True)
    institution: str = Field(default="", max_length=300)
    country: str | None = Field(default=None, max_length=3)
    preferred_language: str | None = Field(default=None, max_length=5)
    created_at: datetime = _timestamp()
    last_login_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class LoginAttempt(SQLModel, table=True):
    """One login try; failures in a window throttle further tries for that e-mail and address."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    email_key: str = Field(max_length=64, index=True)
    address: str = Field(max_length=64, index=True)
    succeeded: bool = Field(default=False)
    at: datetime = _timestamp(index=True)


class AuditEvent(SQLModel, table=True):
    """Who did what and when: logins, role changes, publications, imports."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _timestamp(index=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    action: str = Field(max_length=60, index=True)
    target: str = Field(default="", max_length=200)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DataVersion(SQLModel, table=True):
    """A single row whose number every write bumps (cache key shared by all workers)."""

    __tablename__ = "data_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0)
