"""Initial schema: feedback, feedback_touchpoint and api_key.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER.
BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the three tables and their indexes."""
    op.create_table(
        "feedback",
        sa.Column("pk", BIG_PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("external_id_generated", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=True),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("sentiment_label", sa.String(16), nullable=False),
        sa.Column("sentiment_score", sa.Float(), nullable=False),
        sa.Column("sentiment_probabilities", sa.JSON(), nullable=True),
        sa.Column("journey_stage", sa.String(64), nullable=False),
        sa.Column("journey_stage_confidence", sa.Float(), nullable=False),
        sa.Column("touchpoints", sa.JSON(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("topic", sa.JSON(), nullable=True),
        sa.Column("model_version", sa.String(255), nullable=False),
        sa.UniqueConstraint("id", name="uq_feedback_id"),
        sa.UniqueConstraint("source", "external_id", name="uq_feedback_source_external_id"),
    )
    op.create_index("ix_feedback_received_at_pk", "feedback", ["received_at", "pk"])
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_index("ix_feedback_kind", "feedback", ["kind"])
    op.create_index("ix_feedback_sentiment_label", "feedback", ["sentiment_label"])
    op.create_index("ix_feedback_journey_stage", "feedback", ["journey_stage"])

    op.create_table(
        "feedback_touchpoint",
        sa.Column(
            "feedback_pk",
            BIG_PK,
            sa.ForeignKey("feedback.pk", name="fk_feedback_touchpoint_feedback", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("label", sa.String(64), primary_key=True),
        sa.Column("confidence", sa.Float(), nullable=False),
    )
    op.create_index("ix_feedback_touchpoint_label", "feedback_touchpoint", ["label", "feedback_pk"])

    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.Column("last_used_at", UTC_DATETIME, nullable=True),
        sa.UniqueConstraint("prefix", name="uq_api_key_prefix"),
        sa.UniqueConstraint("key_hash", name="uq_api_key_key_hash"),
    )


def downgrade() -> None:
    """Drop everything :func:`upgrade` created."""
    op.drop_table("api_key")
    op.drop_index("ix_feedback_touchpoint_label", table_name="feedback_touchpoint")
    op.drop_table("feedback_touchpoint")
    for index in (
        "ix_feedback_journey_stage",
        "ix_feedback_sentiment_label",
        "ix_feedback_kind",
        "ix_feedback_created_at",
        "ix_feedback_received_at_pk",
    ):
        op.drop_index(index, table_name="feedback")
    op.drop_table("feedback")
