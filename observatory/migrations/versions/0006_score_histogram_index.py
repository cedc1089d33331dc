"""covering index for the dashboards' score histogram

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# dashboards.queries.score_histogram counts one framework's consolidated values per criterion,
# country and branch: with these columns in one index SQLite reads the scores from the index
# alone, in assessment order. On 100k assessments (1M scores) the first country report after
# a write took 10-14 s on SQLite, most of it reading score rows from the table.
SCORE_COLUMNS = ["framework_id", "assessment_id", "item_key", "value_number"]


def upgrade() -> None:
    op.create_index(
        "ix_assessment_score_histogram", "assessment_score", SCORE_COLUMNS, unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_assessment_score_histogram", table_name="assessment_score")
