"""judgements (entity-resolution decisions and merge suggestions), event_reviews (analyst decisions on
events, keyed by event_key) and document_fingerprints (MinHash signatures and duplicate clusters).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:03:19.237477
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_reviews",
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('accepted', 'rejected')", name=op.f("ck_event_reviews_state")),
        sa.PrimaryKeyConstraint("event_key", name=op.f("pk_event_reviews")),
    )
    with op.batch_alter_table("event_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_reviews_state"), ["state"], unique=False)

    op.create_table(
        "document_fingerprints",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("params", sa.String(length=64), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=True),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("match", sa.String(length=8), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("match IN ('self', 'exact', 'near')", name=op.f("ck_document_fingerprints_match")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_fingerprints_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_fingerprints")),
    )
    with op.batch_alter_table("document_fingerprints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_fingerprints_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_document_fingerprints_content_sha256"), ["content_sha256"], unique=False
        )

    op.create_table(
        "judgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("left_ref", sa.String(length=300), nullable=False),
        sa.Column("right_ref", sa.String(length=300), nullable=False),
        sa.Column("left_name", sa.String(length=255), nullable=False),
        sa.Column("right_name", sa.String(length=255), nullable=False),
        sa.Column("left_id", sa.Integer(), nullable=True),
        sa.Column("right_id", sa.Integer(), nullable=True),
        sa.Column("judgement", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "judgement IN ('positive', 'negative', 'unsure', 'pending')", name=op.f("ck_judgements_judgement")
        ),
        sa.ForeignKeyConstraint(
            ["left_id"],
            ["organisations.id"],
            name=op.f("fk_judgements_left_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["right_id"],
            ["organisations.id"],
            name=op.f("fk_judgements_right_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgements")),
        sa.UniqueConstraint("left_ref", "right_ref", name=op.f("uq_judgements_left_ref_right_ref")),
    )
    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_judgements_judgement"), ["judgement"], unique=False)
        batch_op.create_index(batch_op.f("ix_judgements_left_id"), ["left_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_judgements_right_id"), ["right_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_judgements_right_id"))
        batch_op.drop_index(batch_op.f("ix_judgements_left_id"))
        batch_op.drop_index(batch_op.f("ix_judgements_judgement"))

    op.drop_table("judgements")
    with op.batch_alter_table("document_fingerprints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_fingerprints_content_sha256"))
        batch_op.drop_index(batch_op.f("ix_document_fingerprints_cluster_id"))

    op.drop_table("document_fingerprints")
    with op.batch_alter_table("event_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_reviews_state"))

    op.drop_table("event_reviews")
