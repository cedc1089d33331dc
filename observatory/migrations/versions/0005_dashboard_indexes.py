"""covering indexes for the dashboards' case cube and published assessments

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The region dashboard groups public cases by these columns (dashboards.queries.case_cube):
# with them all in one index, both back ends answer from the index alone.
CUBE_COLUMNS = [
    "state",
    "country",
    "branch",
    "level",
    "sector",
    "lifecycle_status",
    "year_started",
]
# Published assessments of one framework (tiers and scores per country and branch).
ASSESSMENT_COLUMNS = ["framework_id", "status", "case_id", "common_tier"]


def upgrade() -> None:
    op.create_index("ix_ai_case_cube", "ai_case", CUBE_COLUMNS, unique=False)
    op.create_index(
        "ix_assessment_framework_status", "assessment", ASSESSMENT_COLUMNS, unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_assessment_framework_status", table_name="assessment")
    op.drop_index("ix_ai_case_cube", table_name="ai_case")
