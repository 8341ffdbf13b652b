"""documents.meta: what a source states about a document beside its text (issue 15).

An exchange announcement's PDF prints 证券代码 / 证券简称 / 公告编号 at the top of its first page;
the crawler keeps them here (``{"stock_code": ..., "stock_name": ..., "notice_no": ...}``) so an
analyst can find the announcement by its number, as well as once at the head of the text.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 23:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("meta", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("meta")
