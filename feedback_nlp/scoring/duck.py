"""The local scoring engine: count tables in DuckDB SQL, from frames, Parquet or the feedback store.

Every local count goes through here. The mention rule (:func:`mention_rule_sql`) and the
count statistics (:func:`group_counts_sql`) are written once, in SQL, and read:

- a pandas records frame (:func:`frame_mentions`, :func:`frame_counts`: what
  :func:`~feedback_nlp.scoring.frame.mentions`, :func:`~feedback_nlp.scoring.aggregate.group_counts`
  and the ``*_scores`` conveniences call), or an Arrow table;
- Parquet files (:func:`duck_counts`), streamed, so memory stays bounded;
- the feedback store on SQLite or PostgreSQL (:func:`store_counts`). DuckDB's sqlite and
  postgres scanners are extensions fetched at run time, which an offline machine cannot
  install, so the stored rows come through SQLAlchemy in Arrow batches
  (:mod:`feedback_nlp.storage.feedback_batches`), filtered in the database.

The output goes through :func:`~feedback_nlp.scoring.aggregate.canonical_counts`, and every
score downstream is computed by the same pandas formulas. Spark
(:mod:`feedback_nlp.spark.score`) writes the same rule in Spark SQL; ``tests/spark`` checks
the two give equal counts and scores.

The input relation has the records frame's columns in the Arrow layout
:data:`RECORDS_SCHEMA` (``metadata`` as JSON text; a STRUCT or MAP works as well), as
:func:`to_arrow` writes it.

Examples:
    >>> counts = duck_counts("feedback.parquet", ["touchpoint", "period"],     # doctest: +SKIP
    ...                      level="touchpoint", period="week")
    >>> scores_from_counts(counts)                                             # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb
import pandas as pd
import pyarrow as pa

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import COUNT_COLUMNS, SCORE_SCALE, Period, canonical_counts, check_period

logger = logging.getLogger(__name__)

__all__ = [
    "RECORDS_SCHEMA",
    "StoreCounts",
    "duck_counts",
    "frame_counts",
    "frame_mentions",
    "group_counts_sql",
    "mention_rule_sql",
    "mentions_sql",
    "records_sql",
    "store_counts",
    "to_arrow",
]

Level = Literal["record", "touchpoint"]
"""What a count table counts: records, or (record, touchpoint) mentions."""

_LABEL_SCORE = pa.struct([("label", pa.string()), ("confidence", pa.float64())])

#: The Arrow (and Parquet) layout of a records frame that the SQL here reads.
RECORDS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("kind", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("rating", pa.float64()),
        ("nps", pa.float64()),
        ("metadata", pa.string()),
        ("sentiment_label", pa.string()),
        ("sentiment_score", pa.float64()),
        ("journey_stage", pa.string()),
        ("touchpoints", pa.list_(_LABEL_SCORE)),
        (
            "segments",
            pa.list_(
                pa.struct(
                    [
                        ("sentiment", pa.struct([("label", pa.string()), ("score", pa.float64())])),
                        ("touchpoints", pa.list_(_LABEL_SCORE)),
                    ]
                )
            ),
        ),
        ("topic", pa.struct([("id", pa.int64()), ("label", pa.string()), ("confidence", pa.float64())])),
    ]
)

# Columns of records_sql / mentions_sql that are not metadata keys.
_FIELDS = (
    "id", "source", "kind", "created_at", "journey_stage", "topic_label",
    "rating", "nps", "sentiment_label", "sentiment_score",
)  # fmt: skip
_MICROSECONDS_PER_DAY = 86_400_000_000


# ---------------------------------------------------------------------------- input


def to_arrow(records: pd.DataFrame) -> pa.Table:
    """A records frame as an Arrow table in :data:`RECORDS_SCHEMA` (write it with ``pyarrow.parquet``).

    ``metadata`` becomes compact JSON text; other extra columns are dropped.

    Args:
        records: A records frame (:mod:`feedback_nlp.scoring.frame`).

    Returns:
        The table, one row per record.
    """
    columns: dict[str, Any] = {}
    for field in RECORDS_SCHEMA:
        values = records[field.name]
        if field.name == "metadata":
            values = [json.dumps(m, separators=(",", ":"), sort_keys=True, default=str) for m in values]
        elif field.name == "topic":
            values = [None if t is None else {**t, "id": None if t["id"] is None else int(t["id"])} for t in values]
        elif field.name in {"rating", "nps", "sentiment_score"}:
            values = values.to_numpy(dtype="float64")
        elif field.name == "created_at":
            values = values.dt.tz_convert("UTC")
        columns[field.name] = pa.array(values, type=field.type, from_pandas=True)
    return pa.Table.from_pydict(columns, schema=RECORDS_SCHEMA)


# ---------------------------------------------------------------------------- SQL


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _metadata_sql(key: str) -> str:
    if '"' in key:
        raise InputError(f"metadata keys with double quotes cannot be grouped by in SQL, got {key!r}; rename the key")
    path = "$." + '"' + key + '"'
    return f"json_extract_string(CAST(metadata AS JSON), '{path.replace(chr(39), chr(39) * 2)}')"


def _period_sql(period: Period) -> str:
    """Start of the UTC period as a DATE, from the absolute time (whatever the session time zone)."""
    check_period(period)
    # Whole days in integers: a float quotient rounds 9999-12-31T23:59:59.999999 up to day 10000-01-01,
    # a date DuckDB cannot return. ((us % d) + d) % d is the non-negative remainder before 1970 as well.
    us, per_day = "epoch_us(created_at)", _MICROSECONDS_PER_DAY
    days = f"(({us} - ((({us} % {per_day}) + {per_day}) % {per_day})) // {per_day})"
    day = f"(DATE '1970-01-01' + CAST({days} AS INTEGER))"
    if period == "week":  # 1970-01-01 was a Thursday: Monday is 3 days before
        return f"(DATE '1970-01-01' + CAST({days} - ((({days} + 3) % 7) + 7) % 7 AS INTEGER))"
    if period == "month":
        return f"CAST(date_trunc('month', {day}) AS DATE)"
    return day


def records_sql(
    relation_sql: str, *, period: Period | None = None, metadata_keys: Sequence[str] | Mapping[str, str] = ()
) -> str:
    """SQL for flat record rows: the fields a count table groups by and counts.

    Args:
        relation_sql: A relation with :data:`RECORDS_SCHEMA`'s columns, e.g.
            ``"read_parquet('feedback/*.parquet')"`` or a table name.
        period: Add a ``period`` column (DATE: the UTC period start).
        metadata_keys: Add one text column per metadata key, named after the key; or a mapping
            of keys to column names (DuckDB's names ignore case, so a key ``Source`` needs another
            name beside the ``source`` column).

    Returns:
        A SELECT with ``id``, ``source``, ``kind``, ``created_at``, ``journey_stage``,
        ``topic_label``, ``rating``, ``nps``, ``sentiment_label``, ``sentiment_score``,
        ``period`` (if asked) and the metadata keys.
    """
    extra = [f"{_period_sql(period)} AS period"] if period else []
    extra += [f"{_metadata_sql(k)} AS {_identifier(name)}" for k, name in _metadata_columns(metadata_keys).items()]
    fields = ", ".join(
        ["id", "source", "kind", "created_at", "journey_stage", "topic.label AS topic_label",
         "CAST(rating AS DOUBLE) AS rating", "CAST(nps AS DOUBLE) AS nps",
         "sentiment_label", "CAST(sentiment_score AS DOUBLE) AS sentiment_score", *extra]
    )  # fmt: skip
    return f"SELECT {fields}, touchpoints, segments FROM ({relation_sql})"


def _label_tally(label: str) -> str:
    """A struct (count, last position, label) of one label among the segments in ``_about``."""
    count = f"list_sum(list_transform(_about, lambda s: CASE WHEN s.label = '{label}' THEN 1 ELSE 0 END))"
    last = f"list_max(list_transform(_about, lambda s, i: CASE WHEN s.label = '{label}' THEN i ELSE 0 END))"
    return f"{{'c': {count}, 'last': {last}, 'label': '{label}'}}"


def mention_rule_sql(relation_sql: str, carried: Sequence[str] = ()) -> str:
    """THE mention rule: one row per (record, touchpoint), with the mention's sentiment.

    This is the one definition every local run uses (:func:`duck_counts`, the store counts
    of the service, :func:`~feedback_nlp.scoring.frame.mentions` and the pandas
    conveniences); Spark (:mod:`feedback_nlp.spark.score`) writes the same rule in its own
    SQL dialect and ``tests/spark`` checks that both give the same counts.

    - A record's touchpoints are those predicted for the whole text plus any that a segment
      carries, each once; a record without touchpoints has no mention row.
    - A touchpoint that segments are about takes its sentiment from those segments: the
      label most of them carry (on a tie, the label of the latest segment) and the mean of
      their scores (summed left to right, as Python sums). ``sentiment_from`` is then
      ``'segments'``; otherwise the mention has the text's own sentiment and ``'text'``.
    - ``touchpoint_confidence`` is the whole-text confidence (the last entry, if a label is
      repeated), or the highest segment confidence for a touchpoint only segments carry.

    Args:
        relation_sql: A relation with ``touchpoints``, ``segments``, ``sentiment_label`` and
            ``sentiment_score`` in :data:`RECORDS_SCHEMA`'s types.
        carried: Columns of the relation copied onto each mention row (quoted here).

    Returns:
        A SELECT of ``carried``, ``touchpoint``, ``touchpoint_confidence``,
        ``sentiment_label``, ``sentiment_score`` and ``sentiment_from``.
    """
    columns = "".join(f"{_identifier(c)}, " for c in carried)
    tallies = ", ".join(_label_tally(label) for label in ("negative", "neutral", "positive"))
    return f"""
WITH segs AS (
  SELECT *, coalesce(touchpoints, []) AS _text_tps, list_transform(coalesce(segments, []), lambda s: {{
      'label': s.sentiment.label, 'score': CAST(s.sentiment.score AS DOUBLE),
      'tps': list_transform(coalesce(s.touchpoints, []), lambda t: t.label),
      'conf': coalesce(s.touchpoints, [])}}) AS _segs
  FROM ({relation_sql})
),
exploded AS (
  SELECT *, unnest(list_distinct(list_concat(
      list_transform(_text_tps, lambda t: t.label),
      flatten(list_transform(_segs, lambda s: s.tps))))) AS touchpoint
  FROM segs
),
about AS (
  SELECT *, list_filter(_segs, lambda s: list_contains(s.tps, touchpoint)) AS _about,
    list_filter(_text_tps, lambda t: t.label = touchpoint) AS _own
  FROM exploded
)
SELECT {columns}touchpoint,
  CAST(CASE WHEN len(_own) > 0 THEN _own[-1].confidence
       ELSE list_max(flatten(list_transform(_about, lambda s: list_transform(
           list_filter(s.conf, lambda t: t.label = touchpoint), lambda t: t.confidence)))) END AS DOUBLE)
    AS touchpoint_confidence,
  CASE WHEN len(_about) = 0 THEN sentiment_label
       ELSE list_reverse_sort([{tallies}])[1].label END AS sentiment_label,
  CASE WHEN len(_about) = 0 THEN CAST(sentiment_score AS DOUBLE)
       ELSE list_reduce(list_transform(_about, lambda s: s.score), lambda a, b: a + b) / len(_about)
  END AS sentiment_score,
  CASE WHEN len(_about) = 0 THEN 'text' ELSE 'segments' END AS sentiment_from
FROM about"""


def _metadata_columns(metadata_keys: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    return dict(metadata_keys) if isinstance(metadata_keys, Mapping) else {k: k for k in metadata_keys}


def mentions_sql(
    relation_sql: str, *, period: Period | None = None, metadata_keys: Sequence[str] | Mapping[str, str] = ()
) -> str:
    """SQL for mention rows of a records relation: :func:`records_sql`'s fields through :func:`mention_rule_sql`.

    Args:
        relation_sql: See :func:`records_sql`.
        period: See :func:`records_sql`.
        metadata_keys: See :func:`records_sql`.

    Returns:
        A SELECT with :func:`records_sql`'s fields plus ``touchpoint``,
        ``touchpoint_confidence`` and ``sentiment_from``; ``sentiment_label`` and
        ``sentiment_score`` are the mention's.
    """
    flat = records_sql(relation_sql, period=period, metadata_keys=metadata_keys)
    carried = [f for f in _FIELDS if f not in {"sentiment_label", "sentiment_score"}]
    carried += (["period"] if period else []) + list(_metadata_columns(metadata_keys).values())
    return mention_rule_sql(flat, carried)


def group_counts_sql(relation_sql: str, by: Sequence[str]) -> str:
    """SQL for the count table of a relation, grouped by ``by``.

    Computes exactly what :func:`~feedback_nlp.scoring.aggregate.group_counts` computes
    (the same fixed-point score sums); pass the result through
    :func:`~feedback_nlp.scoring.aggregate.canonical_counts` for the canonical row order and types.

    Args:
        relation_sql: A relation with ``sentiment_label``, ``sentiment_score``, ``nps``,
            ``rating`` and the ``by`` columns (:func:`records_sql`, :func:`mentions_sql`).
        by: Group keys; empty for one overall row.

    Returns:
        A SELECT of ``by`` then the count columns.

    Examples:
        >>> print(group_counts_sql("SELECT * FROM t", ["touchpoint"]).splitlines()[0])
        SELECT "touchpoint",
    """
    keys = [_identifier(k) for k in by]
    label = "sentiment_label"
    stats = [
        "count(*) AS n",
        f"count(*) FILTER (WHERE {label} = 'negative') AS n_negative",
        f"count(*) FILTER (WHERE {label} = 'neutral') AS n_neutral",
        f"count(*) FILTER (WHERE {label} = 'positive') AS n_positive",
        "CAST(coalesce(sum(_q), 0) AS BIGINT) AS sum_score_e5",
        "CAST(coalesce(sum(_q * _q), 0) AS BIGINT) AS sum_score_sq_e10",
        "count(_nps) AS n_nps",
        "count(*) FILTER (WHERE _nps >= 9) AS n_promoters",
        "count(*) FILTER (WHERE _nps <= 6) AS n_detractors",
        "count(_rating) AS n_csat",
        "count(*) FILTER (WHERE _rating >= 4) AS n_satisfied",
    ]
    inner = (
        f"SELECT *, CAST(floor(CAST(sentiment_score AS DOUBLE) * CAST({SCORE_SCALE} AS DOUBLE) + CAST(0.5 AS DOUBLE)) "
        "AS BIGINT) AS _q, "
        "CASE WHEN isnan(CAST(nps AS DOUBLE)) THEN NULL ELSE CAST(nps AS DOUBLE) END AS _nps, "
        "CASE WHEN isnan(CAST(rating AS DOUBLE)) THEN NULL ELSE CAST(rating AS DOUBLE) END AS _rating "
        f"FROM ({relation_sql})"
    )
    select = ",\n".join([*keys, *stats])
    group = f"\nGROUP BY {', '.join(keys)}" if keys else ""
    return f"SELECT {select}\nFROM ({inner}) AS _rows{group}"


# ---------------------------------------------------------------------------- running


def duck_counts(
    source: str | Path | pd.DataFrame | pa.Table,
    by: Sequence[str],
    *,
    level: Level = "record",
    period: Period | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The count table of a Parquet file or a table, computed by DuckDB.

    Args:
        source: A Parquet path or glob (read in :data:`RECORDS_SCHEMA`), a records frame,
            or an Arrow table in that schema.
        by: Group keys: ``touchpoint`` (with ``level="touchpoint"``), ``period`` (with
            ``period``), record fields (``source``, ``kind``, ``journey_stage``,
            ``topic_label``) or metadata keys.
        level: ``"record"`` counts records; ``"touchpoint"`` counts mentions.
        period: The period that ``period`` stands for; records without ``created_at``
            are then left out, as the pandas conveniences do.
        connection: A DuckDB connection to run on (with your memory and thread
            settings); a fresh in-memory one by default.

    Returns:
        The canonical count table (:func:`~feedback_nlp.scoring.aggregate.canonical_counts`).

    Raises:
        InputError: ``by`` names ``period`` without ``period`` given, or ``touchpoint``
            at record level.
    """
    keys = list(by)
    if "period" in keys and period is None:
        raise InputError("grouping by 'period' needs period='day', 'week' or 'month'")
    if "touchpoint" in keys and level != "touchpoint":
        raise InputError("grouping by 'touchpoint' counts mentions: pass level='touchpoint'")
    con = connection or duckdb.connect()
    relation, view = _relation(con, source)
    try:
        return _count(con, relation, keys, level, period)
    finally:
        if view:
            con.unregister(view)
        if connection is None:
            con.close()


def _count(
    con: duckdb.DuckDBPyConnection, relation: str, by: Sequence[str], level: Level, period: Period | None
) -> pd.DataFrame:
    """The canonical count table of a records relation (arguments checked by the caller)."""
    keys = list(by)
    metadata_keys = [k for k in keys if k not in (*_FIELDS, "period", "touchpoint", "sentiment_from")]
    # Metadata keys get columns of their own names in SQL: DuckDB's names ignore case, so a key
    # "Source" would otherwise be read as the record's source column.
    columns = {k: f"__metadata_{i}" for i, k in enumerate(metadata_keys)}
    build = mentions_sql if level == "touchpoint" else records_sql
    rows = build(relation, period=period, metadata_keys=columns)
    if period:
        rows = f"SELECT * FROM ({rows}) WHERE created_at IS NOT NULL"
    table = con.execute(group_counts_sql(rows, [columns.get(k, k) for k in keys])).df()
    table = table.rename(columns={column: key for key, column in columns.items()})
    return canonical_counts(table[table["n"] > 0], keys)


def _relation(con: duckdb.DuckDBPyConnection, source: str | Path | pd.DataFrame | pa.Table) -> tuple[str, str | None]:
    """The SQL relation for ``source``, and the name of the view registered for it (if any)."""
    if isinstance(source, str | Path):
        path = str(source).replace("'", "''")
        return f"SELECT * FROM read_parquet('{path}')", None
    table = to_arrow(source) if isinstance(source, pd.DataFrame) else source
    if not isinstance(table, pa.Table):
        raise InputError(f"expected a Parquet path, a records frame or an Arrow table, got {type(source).__name__}")
    view = f"_feedback_records_{uuid.uuid4().hex}"
    con.register(view, table)
    return f"SELECT * FROM {view}", view


# ---------------------------------------------------------------------------- frames


def frame_mentions(records: pd.DataFrame) -> pd.DataFrame:
    """The mention rule (:func:`mention_rule_sql`) over a records frame.

    Args:
        records: A records frame (only ``touchpoints``, ``segments``, ``sentiment_label``
            and ``sentiment_score`` are read).

    Returns:
        ``_position`` (the record's row position), ``touchpoint``,
        ``touchpoint_confidence``, ``sentiment_label``, ``sentiment_score`` and
        ``sentiment_from``; rows in record order, then by touchpoint name.
    """
    fields = ("sentiment_label", "sentiment_score", "touchpoints", "segments")
    columns: dict[str, Any] = {"_position": pa.array(range(len(records)), type=pa.int64())}
    for name in fields:
        kind = RECORDS_SCHEMA.field(name).type
        values = records[name].to_numpy(dtype="float64") if name == "sentiment_score" else records[name]
        columns[name] = pa.array(values, type=kind, from_pandas=True)
    with duckdb.connect() as con:
        con.register("_records", pa.Table.from_pydict(columns))
        rule = mention_rule_sql("SELECT * FROM _records", ["_position"])
        query = f"SELECT * FROM ({rule}) ORDER BY _position, touchpoint"
        out = con.execute(query).df()
    return out.astype({"_position": "int64", "touchpoint_confidence": "float64", "sentiment_score": "float64"})


def frame_counts(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The count table of a records or mentions frame, grouped by its columns ``by`` (:func:`group_counts_sql`).

    Args:
        frame: ``sentiment_label``, ``sentiment_score``, ``nps``, ``rating`` and the ``by`` columns.
        by: Group keys (columns of ``frame``); empty for one overall row.

    Returns:
        The canonical count table (:func:`~feedback_nlp.scoring.aggregate.canonical_counts`).
    """
    keys = list(by)
    stats = ["sentiment_label", "sentiment_score", "nps", "rating"]
    data = pd.DataFrame({f"_k{i}": frame[key].astype(object) for i, key in enumerate(keys)}, index=frame.index)
    for name in stats:
        data[name] = frame[name].astype(object if name == "sentiment_label" else "float64")
    if data.empty:
        empty = pd.DataFrame({**{k: pd.Series(dtype=object) for k in keys},
                              **{c: pd.Series(dtype="int64") for c in COUNT_COLUMNS}})  # fmt: skip
        return canonical_counts(empty, keys)
    with duckdb.connect() as con:
        con.register("_frame", _arrow_keys(data, keys))
        table = con.execute(group_counts_sql("SELECT * FROM _frame", [f"_k{i}" for i in range(len(keys))])).df()
    table = table.rename(columns={f"_k{i}": key for i, key in enumerate(keys)})
    return canonical_counts(table[table["n"] > 0], keys)


def _arrow_keys(data: pd.DataFrame, keys: Sequence[str]) -> pa.Table:
    """``data`` (keys renamed ``_k0``, ``_k1``...) as Arrow; a key column must hold one type of value."""
    columns = {}
    for name in data.columns:
        try:
            columns[name] = pa.array(data[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            shown = keys[int(name[2:])] if name.startswith("_k") else name
            raise InputError(
                f"cannot count by column {shown!r}: its values are not of one type ({exc}). Convert the "
                "column to one type first, e.g. frame[column].astype(str)"
            ) from None
    return pa.Table.from_pydict(columns)


# ---------------------------------------------------------------------------- the store


class CountSpec(Protocol):
    """What to count: ``level`` (``"record"`` or ``"touchpoint"``) by ``keys``
    (as :class:`~feedback_nlp.scoring.job.CountSpec`)."""

    @property
    def level(self) -> str: ...

    @property
    def keys(self) -> tuple[str, ...]: ...


@dataclass
class StoreCounts:
    """The count tables of the stored predictions in a scope, and how many records they hold."""

    counts: dict[str, pd.DataFrame]
    records: int


# Stored JSON text -> RECORDS_SCHEMA's nested types.
_LABEL_SCORES_JSON = '[{"label": "VARCHAR", "confidence": "DOUBLE"}]'
_SEGMENTS_JSON = (
    '[{"sentiment": {"label": "VARCHAR", "score": "DOUBLE"}, '
    '"touchpoints": [{"label": "VARCHAR", "confidence": "DOUBLE"}]}]'
)
_TOPIC_JSON = '{"id": "BIGINT", "label": "VARCHAR", "confidence": "DOUBLE"}'


def _stored_records_sql(relation: str, created_is_text: bool) -> str:
    """Stored rows (:func:`~feedback_nlp.storage.feedback_batches.stored_batches`) in :data:`RECORDS_SCHEMA`'s types."""
    created = "CAST(created_at AS TIMESTAMP)" if created_is_text else "created_at"
    return (
        f"SELECT id, source, kind, {created} AS created_at, rating, nps, metadata, sentiment_label, "
        "sentiment_score, journey_stage, "
        f"from_json(touchpoints, '{_LABEL_SCORES_JSON}') AS touchpoints, "
        f"from_json(segments, '{_SEGMENTS_JSON}') AS segments, "
        f"from_json(topic, '{_TOPIC_JSON}') AS topic "
        f"FROM {relation}"
    )


def store_counts(
    bind: Any,
    specs: Mapping[str, CountSpec],
    period: Period,
    scope: Any = None,
    *,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> StoreCounts:
    """Count the stored predictions in ``scope`` for every spec, in SQL, without a Python object per record.

    The rows come from the database in Arrow batches (only the needed columns, filtered in
    the database: :func:`~feedback_nlp.storage.feedback_batches.stored_batches`) into a
    DuckDB table, and every count table is a query over it with the one mention rule
    (:func:`mention_rule_sql`). Records are dated by ``created_at``, else ``received_at``.

    Args:
        bind: An SQLAlchemy engine or session factory on the feedback database (SQLite or PostgreSQL).
        specs: Count tables by name (:func:`~feedback_nlp.scoring.job.count_specs`).
        period: The period that a ``period`` key stands for.
        scope: A :class:`~feedback_nlp.storage.feedback_batches.StoredScope`; everything by default.
        connection: A DuckDB connection to run on; a fresh in-memory one by default.

    Returns:
        The canonical count tables by spec name, and the number of records counted.
    """
    from feedback_nlp.storage.feedback_batches import stored_batches

    check_period(period)
    con = connection or duckdb.connect()
    table = f"_stored_{uuid.uuid4().hex}"
    try:
        con.register("_empty", RECORDS_SCHEMA.empty_table())
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM _empty")
        con.unregister("_empty")
        for batch in stored_batches(bind, scope):
            created_is_text = pa.types.is_string(batch.schema.field("created_at").type)
            con.register("_batch", batch)
            con.execute(f"INSERT INTO {table} BY NAME {_stored_records_sql('_batch', created_is_text)}")
            con.unregister("_batch")
        records = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
        counts = {
            name: _count(
                con,
                f"SELECT * FROM {table}",
                spec.keys,
                spec.level,  # type: ignore[arg-type]
                period if "period" in spec.keys else None,
            )
            for name, spec in specs.items()
        }
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        if connection is None:
            con.close()
    return StoreCounts(counts, records)
