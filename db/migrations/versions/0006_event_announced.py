"""cooperation_events.announced: whether any mention reports the cooperation itself (issue 14).

False for an event that only termination notices report (a termination loaded before — or
without — the announcement it ends). A later announcement of the pair adopts such an event
(``etl.events.meet``), so a termination and its announcement meet whichever is loaded first.
Existing events are taken as announced.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 21:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cooperation_events") as batch:
        batch.add_column(sa.Column("announced", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("cooperation_events") as batch:
        batch.drop_column("announced")
