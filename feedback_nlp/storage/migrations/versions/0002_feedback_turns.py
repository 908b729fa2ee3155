"""Transcript turns kept with the stored record: speaker, redacted text, timing, confidence, metadata.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable ``turns`` JSON column (records stored before it keep NULL)."""
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("turns", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop the ``turns`` column."""
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("turns")
