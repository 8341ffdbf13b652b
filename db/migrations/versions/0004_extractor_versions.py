"""extractor_versions: every extractor version the ETL ran, with its measured quality on real text.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "extractor_versions",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_extractor_versions")),
    )


def downgrade() -> None:
    op.drop_table("extractor_versions")
