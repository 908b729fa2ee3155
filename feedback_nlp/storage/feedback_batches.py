"""Stored predictions as Arrow record batches: the columns scoring needs, filtered in the database.

The scoring engine (:func:`feedback_nlp.scoring.duck.store_counts`) counts stored feedback
in DuckDB. DuckDB's SQLite and PostgreSQL scanners are extensions downloaded at run time,
which a machine without internet cannot load, so the rows come through SQLAlchemy instead:
one SELECT of only the needed columns, with the filters as a WHERE clause, fetched in
batches of plain tuples and turned into Arrow column by column. JSON columns come back as
their JSON text (``CAST(... AS TEXT)``), which DuckDB parses; no dict or ORM object is built
per row. The same code reads SQLite and PostgreSQL.

Columns of each batch (:data:`STORED_SCHEMA`): ``id``, ``source``, ``kind``, ``created_at``
(``coalesce(created_at, received_at)``: text on SQLite, a UTC timestamp elsewhere),
``rating``, ``nps``, ``metadata``, ``sentiment_label``, ``sentiment_score``,
``journey_stage``, and ``touchpoints``, ``segments``, ``topic`` as JSON text.

Examples:
    >>> scope = StoredScope(source="app-store")                        # doctest: +SKIP
    >>> for batch in stored_batches(engine, scope): ...                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import ColumnElement, Engine, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from feedback_nlp.storage.models import Feedback

__all__ = ["BATCH_ROWS", "StoredScope", "stored_batches", "stored_schema"]

#: Rows per fetch and per Arrow batch.
BATCH_ROWS = 50_000

_JSON_COLUMNS = ("metadata", "touchpoints", "segments", "topic")


@dataclass(frozen=True)
class StoredScope:
    """Which stored predictions to read; ``None`` means "any". Values are ANDed.

    The time is ``created_at``, or ``received_at`` for records stored without one (as the
    score job dates them); ``created_from`` is inclusive, ``created_to`` exclusive.
    """

    created_from: datetime | None = None
    created_to: datetime | None = None
    source: str | None = None
    kind: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE conditions on the ``feedback`` table."""
        table = Feedback.__table__
        moment = func.coalesce(table.c.created_at, table.c.received_at)
        out: list[ColumnElement[bool]] = []
        if self.created_from is not None:
            out.append(moment >= self.created_from)
        if self.created_to is not None:
            out.append(moment < self.created_to)
        if self.source is not None:
            out.append(table.c.source == self.source)
        if self.kind is not None:
            out.append(table.c.kind == str(self.kind))
        return out


def stored_schema(dialect: str) -> pa.Schema:
    """The Arrow schema of :func:`stored_batches` on a database dialect (``created_at`` differs)."""
    created = pa.string() if dialect == "sqlite" else pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("id", pa.string()), ("source", pa.string()), ("kind", pa.string()), ("created_at", created),
            ("rating", pa.float64()), ("nps", pa.float64()), ("metadata", pa.string()),
            ("sentiment_label", pa.string()), ("sentiment_score", pa.float64()), ("journey_stage", pa.string()),
            ("touchpoints", pa.string()), ("segments", pa.string()), ("topic", pa.string()),
        ]
    )  # fmt: skip


def _query(dialect: str, scope: StoredScope) -> Any:
    table = Feedback.__table__
    moment = func.coalesce(table.c.created_at, table.c.received_at)
    # SQLite keeps times as fixed-width UTC text: hand that to DuckDB rather than parse it per row.
    created = type_coerce(moment, Text) if dialect == "sqlite" else moment
    columns = [
        table.c.id, table.c.source, table.c.kind, created.label("created_at"), table.c.rating, table.c.nps,
        *(cast(table.c[name], Text).label(name) for name in _JSON_COLUMNS[:1]),
        table.c.sentiment_label, table.c.sentiment_score, table.c.journey_stage,
        *(cast(table.c[name], Text).label(name) for name in _JSON_COLUMNS[1:]),
    ]  # fmt: skip
    return select(*columns).where(*scope.conditions()).order_by(table.c.pk)


def stored_batches(
    bind: Engine | Callable[[], Session], scope: StoredScope | None = None, *, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The stored predictions in ``scope``, in storage order, as Arrow batches of :func:`stored_schema`.

    Args:
        bind: An engine, or a session factory (the service's ``app.state.sessions``).
        scope: Which rows; all of them by default.
        batch_rows: Rows per batch.

    Yields:
        Record batches of at most ``batch_rows`` rows (none for an empty selection).
    """
    scope = scope or StoredScope()
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            yield from _batches(connection, scope, batch_rows)
    else:
        with bind() as session:
            yield from _batches(session.connection(), scope, batch_rows)


def _batches(connection: Any, scope: StoredScope, batch_rows: int) -> Iterator[pa.RecordBatch]:
    dialect = connection.dialect.name
    schema = stored_schema(dialect)
    result = connection.execution_options(stream_results=True).execute(_query(dialect, scope))
    while rows := result.fetchmany(batch_rows):
        columns = list(zip(*rows, strict=True))
        yield pa.RecordBatch.from_arrays(
            [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)], schema=schema
        )
