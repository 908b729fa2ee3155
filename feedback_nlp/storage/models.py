"""ORM tables: stored feedback with its predictions, and API keys (hashes only).

The schema itself is created by the Alembic migrations in ``storage/migrations``; these
classes must match them (``tests/storage/test_db.py`` checks that they do).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["ApiKey", "Base", "Feedback", "FeedbackTouchpoint", "UTCDateTime"]

#: Longest ``source`` and client ``id`` accepted (both form the idempotency key).
KEY_MAX_LENGTH = 255

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    Naive values are taken as UTC. SQLite stores a fixed-width UTC string (so it sorts and
    compares correctly); PostgreSQL a ``timestamp with time zone``. Values read back are
    always aware, in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the service's tables."""


class Feedback(Base):
    """One stored feedback record: redacted text, metadata and the model's predictions.

    ``pk`` is internal (joins, cursor order); ``id`` is the public identifier. The
    idempotency key is ``(source, external_id)``; a record sent without an ``id`` gets a
    generated ``external_id`` (``external_id_generated`` is then true).
    """

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("id", name="uq_feedback_id"),
        UniqueConstraint("source", "external_id", name="uq_feedback_source_external_id"),
        Index("ix_feedback_received_at_pk", "received_at", "pk"),
        Index("ix_feedback_created_at", "created_at"),
        Index("ix_feedback_kind", "kind"),
        Index("ix_feedback_sentiment_label", "sentiment_label"),
        Index("ix_feedback_journey_stage", "journey_stage"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    external_id: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    external_id_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[float | None] = mapped_column(Float)
    nps: Mapped[int | None] = mapped_column(Integer)
    # "metadata" is reserved on declarative classes; the column keeps the plain name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    # Transcript turns (migration 0002): speaker, redacted text, start_ms/end_ms, confidence, metadata.
    turns: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    sentiment_label: Mapped[str] = mapped_column(String(16))
    sentiment_score: Mapped[float] = mapped_column(Float)
    sentiment_probabilities: Mapped[dict[str, float] | None] = mapped_column(JSON)
    journey_stage: Mapped[str] = mapped_column(String(64))
    journey_stage_confidence: Mapped[float] = mapped_column(Float)
    touchpoints: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    topic: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(255))

    touchpoint_rows: Mapped[list[FeedbackTouchpoint]] = relationship(
        back_populates="feedback", cascade="all, delete-orphan", passive_deletes=True
    )


class FeedbackTouchpoint(Base):
    """One predicted touchpoint of a stored record, a row per label, for filtering."""

    __tablename__ = "feedback_touchpoint"
    __table_args__ = (Index("ix_feedback_touchpoint_label", "label", "feedback_pk"),)

    feedback_pk: Mapped[int] = mapped_column(
        BigIntPK,
        ForeignKey("feedback.pk", name="fk_feedback_touchpoint_feedback", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    confidence: Mapped[float] = mapped_column(Float)

    feedback: Mapped[Feedback] = relationship(back_populates="touchpoint_rows")


class ApiKey(Base):
    """An API key: only its SHA-256 hash and a short display prefix are stored."""

    __tablename__ = "api_key"
    __table_args__ = (
        UniqueConstraint("prefix", name="uq_api_key_prefix"),
        UniqueConstraint("key_hash", name="uq_api_key_key_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
