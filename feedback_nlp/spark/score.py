"""The Spark engine: the scoring package's count tables, computed by Spark SQL.

Like :mod:`feedback_nlp.scoring.duck`, Spark computes only the count table of each breakdown
(:data:`~feedback_nlp.scoring.aggregate.COUNT_COLUMNS`: integer counts and fixed-point score
sums, which add up exactly in any order); the tables are small, so they are collected to the
driver and every score comes from the same pandas functions every engine uses
(:func:`~feedback_nlp.scoring.scores.scores_from_counts` and the other ``*_from_counts``).

The mention rule (the local engine's :func:`~feedback_nlp.scoring.duck.mention_rule_sql`)
runs in Spark's higher-order functions, and ``tests/spark/test_spark_engine_parity.py`` holds
the two to the same counts and scores: a record's touchpoints are its own plus its segments'; a touchpoint
that segments are about takes the majority label of those segments (ties: the latest
segment's) and their mean score (summed left to right, as Python does); otherwise the text's.

The input is the records layout (:data:`~feedback_nlp.scoring.duck.RECORDS_SCHEMA`, as
:func:`~feedback_nlp.spark.classify.classify_dataset` and
:func:`~feedback_nlp.scoring.duck.to_arrow` write it); ``metadata`` may be JSON text, a map
or a struct.

Metadata keys become columns under internal names while Spark groups by them, so keys with
dots (``store.id``) or differing from a column only in case (``Source``, while Spark resolves
names case-insensitively) group as the local engine groups them: by the metadata key.

Examples:
    >>> frame = spark.read.parquet("predictions/")                                        # doctest: +SKIP
    >>> counts = spark_counts(frame, ["touchpoint", "period"], level="touchpoint", period="week")  # doctest: +SKIP
    >>> scores_from_counts(counts)                                                        # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from feedback_nlp.dates import DateTally
from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import COUNT_COLUMNS, SCORE_SCALE, Period, canonical_counts, check_period
from feedback_nlp.scoring.job import (
    SEGMENT_FIELDS,
    STATE_DIR,
    check_segment_fields,
    count_specs,
    publish_tables,
    tables_from_counts,
)
from feedback_nlp.spark.files import check_apart, local_paths, paths_of, read_parquet, reporter
from feedback_nlp.storage.artifacts import check_replaceable

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

logger = logging.getLogger(__name__)

__all__ = [
    "SEGMENT_FIELDS",
    "check_segment_fields",
    "mentions_frame",
    "records_frame",
    "score_dataset",
    "spark_counts",
    "undated_records",
]


Level = Literal["record", "touchpoint"]
"""What a count table counts: records, or (record, touchpoint) mentions."""

# Columns of records_frame / mentions_frame that are not metadata keys (as in duck.py).
_FIELDS = (
    "id", "source", "kind", "created_at", "journey_stage", "topic_label",
    "rating", "nps", "sentiment_label", "sentiment_score",
)  # fmt: skip
_NEEDED = ("id", "source", "kind", "journey_stage", "topic", "rating", "nps", "sentiment_label", "sentiment_score")
# Columns the count tables make themselves (keys that are not record fields).
_MADE_KEYS = ("period", "touchpoint", "sentiment_from")
_MICROSECONDS_PER_DAY = 86_400_000_000
_LABELS = ("negative", "neutral", "positive")

# Segments as (label, score, touchpoint names); NULL lists count as empty.
_SEGMENTS_SQL = (
    "transform(coalesce(segments, array()), s -> named_struct("
    "'label', s.sentiment.label, 'score', CAST(s.sentiment.score AS DOUBLE), "
    "'tps', transform(coalesce(s.touchpoints, array()), t -> t.label)))"
)
_TOUCHPOINTS_SQL = (
    "array_distinct(concat(transform(coalesce(touchpoints, array()), t -> t.label), "
    "flatten(transform(_segs, s -> s.tps))))"
)
_ABOUT_SQL = "filter(_segs, s -> array_contains(s.tps, touchpoint))"
_MEAN_SQL = "aggregate(_about, CAST(0 AS DOUBLE), (acc, s) -> acc + s.score) / size(_about)"


# ---------------------------------------------------------------------------- rows


def records_frame(frame: DataFrame, *, period: Period | None = None, metadata_keys: Sequence[str] = ()) -> DataFrame:
    """Flat record rows: the fields a count table groups by and counts
    (cf. :func:`~feedback_nlp.scoring.duck.records_sql`).

    Args:
        frame: Records in :data:`~feedback_nlp.scoring.duck.RECORDS_SCHEMA`.
        period: Add ``period`` (DATE: the first day of the UTC day, ISO week or month).
        metadata_keys: Add one text column per metadata key (values as
            :func:`~feedback_nlp.scoring.frame.metadata_text` writes them; NULL when absent).
            A key with a dot is a column name with a dot: quote it in backticks to select it.

    Returns:
        ``id``, ``source``, ``kind``, ``created_at``, ``journey_stage``, ``topic_label``,
        ``rating``, ``nps``, ``sentiment_label``, ``sentiment_score``, then ``period`` and the
        metadata keys as asked, then ``touchpoints`` and ``segments``.

    Raises:
        InputError: A column of the records layout is missing, or a metadata key is a column
            name (compared case-insensitively, as Spark resolves names).
    """
    _check_keys(metadata_keys)
    return _records(frame, period, {key: key for key in metadata_keys})


def mentions_frame(frame: DataFrame, *, period: Period | None = None, metadata_keys: Sequence[str] = ()) -> DataFrame:
    """Mention rows, one per (record, touchpoint), as :func:`~feedback_nlp.scoring.frame.mentions` makes them.

    Args:
        frame: See :func:`records_frame`.
        period: See :func:`records_frame`.
        metadata_keys: See :func:`records_frame`.

    Returns:
        :func:`records_frame`'s fields (without the nested ones) plus ``touchpoint`` and
        ``sentiment_from``; ``sentiment_label``/``sentiment_score`` are the mention's.
    """
    return _mentions(records_frame(frame, period=period, metadata_keys=metadata_keys))


def _records(frame: DataFrame, period: Period | None, metadata: Mapping[str, str]) -> DataFrame:
    """:func:`records_frame`, with metadata columns named as ``metadata`` maps (column -> key)."""
    from pyspark.sql import functions as F

    _check_input(frame, period)
    fields: list[Column] = [
        *(F.col(name) for name in ("id", "source", "kind")),
        F.col("created_at") if "created_at" in frame.columns else F.lit(None).cast("timestamp").alias("created_at"),
        F.col("journey_stage"),
        F.col("topic.label").alias("topic_label"),
        *(_number(name).alias(name) for name in ("rating", "nps")),
        F.col("sentiment_label"),
        F.col("sentiment_score").cast("double").alias("sentiment_score"),
    ]
    if period:
        fields.append(_period(frame, period).alias("period"))
    if metadata:
        values = _metadata_map(frame)
        fields += [values.getItem(key).alias(column) for column, key in metadata.items()]
    return frame.select(*fields, "touchpoints", "segments")


def _mentions(flat: DataFrame) -> DataFrame:
    """:func:`mentions_frame` of rows :func:`_records` made."""
    from pyspark.sql import functions as F

    about = (
        flat.withColumn("_segs", F.expr(_SEGMENTS_SQL))
        .select("*", F.explode(F.expr(_TOUCHPOINTS_SQL)).alias("touchpoint"))
        .withColumn("_about", F.expr(_ABOUT_SQL))
    )
    from_text = F.size("_about") == 0
    carried = [c for c in flat.columns if c not in ("sentiment_label", "sentiment_score", "touchpoints", "segments")]
    return about.select(
        *(_column(name) for name in carried),
        "touchpoint",
        F.when(from_text, F.col("sentiment_label")).otherwise(_majority_label()).alias("sentiment_label"),
        F.when(from_text, F.col("sentiment_score")).otherwise(F.expr(_MEAN_SQL)).alias("sentiment_score"),
        F.when(from_text, F.lit("text")).otherwise(F.lit("segments")).alias("sentiment_from"),
    )


def _column(name: str) -> Column:
    """The column ``name`` quoted, so that a dot in it is part of the name, not a field access."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _majority_label() -> Column:
    """The label most segments in ``_about`` carry; on a tie, the one of the latest segment.

    Each label becomes (count, 1-based position of its last segment, label); the largest
    struct wins, and no two labels share a last position.
    """
    from pyspark.sql import functions as F

    tallies = ", ".join(
        f"named_struct('c', size(filter(_about, s -> s.label = '{label}')), "
        f"'last', array_max(transform(_about, (s, i) -> CASE WHEN s.label = '{label}' THEN i + 1 ELSE 0 END)), "
        f"'label', '{label}')"
        for label in _LABELS
    )
    return F.expr(f"array_max(array({tallies})).label")


def _check_input(frame: DataFrame, period: Period | None) -> None:
    missing = [c for c in _NEEDED if c not in frame.columns]
    if missing:
        raise InputError(
            f"the Spark engine reads the records layout (RECORDS_SCHEMA); column(s) {missing} are missing "
            f"(columns found: {frame.columns}). Write the input with classify_dataset or scoring.duck.to_arrow"
        )
    if period:
        check_period(period)


def _check_keys(metadata_keys: Sequence[str]) -> None:
    """Refuse metadata keys that would be a second column of the same name in Spark's eyes."""
    taken = {name.lower() for name in (*_FIELDS, *_MADE_KEYS, "touchpoints", "segments")}
    clash = [k for k in metadata_keys if k.lower() in taken]
    if clash:
        raise InputError(
            f"metadata key(s) {clash} are also column names (Spark compares names case-insensitively); "
            "group by the column instead, or use spark_counts, which groups by such keys"
        )


def _number(name: str) -> Column:
    """A DOUBLE column with NaN read as NULL: Spark orders NaN above every number."""
    from pyspark.sql import functions as F

    value = F.col(name).cast("double")
    return F.when(F.isnan(value), F.lit(None).cast("double")).otherwise(value)


def _period(frame: DataFrame, period: Period) -> Column:
    """The first day of the UTC period holding ``created_at``, from the absolute time (exact integers)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

    kind = frame.schema["created_at"].dataType if "created_at" in frame.columns else None
    if isinstance(kind, TimestampType):
        micros, per_day = "unix_micros(created_at)", _MICROSECONDS_PER_DAY
        day = F.expr(f"date_from_unix_date(CAST(({micros} - pmod({micros}, {per_day})) div {per_day} AS INT))")
    elif isinstance(kind, TimestampNTZType):  # naive times are UTC, as the records frame reads them
        day = F.to_date("created_at")
    elif isinstance(kind, DateType):
        day = F.col("created_at")
    else:
        raise InputError(f"breakdowns by period need created_at as a timestamp or a date, got {kind}")
    if period == "week":  # 1970-01-01 was a Thursday: Monday is 3 days before
        return F.date_from_unix_date(F.unix_date(day) - F.pmod(F.unix_date(day) + 3, F.lit(7)))
    if period == "month":
        return F.trunc(day, "month")
    return day


def _metadata_map(frame: DataFrame) -> Column:
    """``metadata`` as a map of key to text: strings as they are, other values as JSON."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import MapType, StringType, StructType

    if "metadata" not in frame.columns:
        raise InputError("grouping by a metadata key needs a 'metadata' column (JSON text, a map or a struct)")
    kind = frame.schema["metadata"].dataType
    if isinstance(kind, StringType):
        return F.from_json("metadata", "map<string,string>")
    if isinstance(kind, MapType | StructType):
        return F.from_json(F.to_json("metadata"), "map<string,string>")
    raise InputError(f"metadata must be JSON text, a map or a struct, got {kind.simpleString()}")


# ---------------------------------------------------------------------------- counts


def spark_counts(
    frame: DataFrame, by: Sequence[str], *, level: Level = "record", period: Period | None = None
) -> pd.DataFrame:
    """The count table of a records DataFrame, computed by Spark, collected to the driver.

    Gives exactly :func:`~feedback_nlp.scoring.aggregate.group_counts` (and
    :func:`~feedback_nlp.scoring.duck.duck_counts`): the same mention rule, UTC periods and
    fixed-point score sums.

    Args:
        frame: Records in :data:`~feedback_nlp.scoring.duck.RECORDS_SCHEMA` (e.g.
            ``spark.read.parquet(...)`` of :func:`~feedback_nlp.spark.classify.classify_dataset`'s output).
        by: Group keys: ``touchpoint`` (with ``level="touchpoint"``), ``period`` (with
            ``period``), record fields (``source``, ``kind``, ``journey_stage``, ``topic_label``)
            or metadata keys (an unknown key gives one NULL group, as in DuckDB). Any name that
            is not one of those columns exactly is a metadata key, as in the local engine: a key
            may hold dots (``store.id``) or differ from a column only in case (``Source``).
        level: ``"record"`` counts records; ``"touchpoint"`` counts mentions.
        period: The period ``period`` stands for; records without ``created_at`` are then left out.

    Returns:
        The canonical count table (:func:`~feedback_nlp.scoring.aggregate.canonical_counts`).

    Raises:
        InputError: ``by`` names ``period`` without ``period``, or ``touchpoint`` or
            ``sentiment_from`` at record level, or a column is missing.
    """
    keys = list(by)
    if "period" in keys and period is None:
        raise InputError("grouping by 'period' needs period='day', 'week' or 'month'")
    for made in ("touchpoint", "sentiment_from"):
        if made in keys and level != "touchpoint":
            raise InputError(f"grouping by {made!r} counts mentions: pass level='touchpoint'")
    metadata_keys = [k for k in dict.fromkeys(keys) if k not in (*_FIELDS, *_MADE_KEYS)]
    # Internal names: Spark would read a dot as a field access and "Source" as the column "source".
    aliases = {key: f"__metadata_{i}" for i, key in enumerate(metadata_keys)}
    flat = _records(frame, period, {column: key for key, column in aliases.items()})
    rows = _mentions(flat) if level == "touchpoint" else flat
    if period:
        rows = rows.filter(rows["created_at"].isNotNull())
    grouped = rows.groupBy(*(aliases.get(k, k) for k in keys))
    collected = grouped.agg(*_statistics()).collect()  # the keys, then the statistics, in order
    table = pd.DataFrame([tuple(row) for row in collected], columns=[*keys, *COUNT_COLUMNS])
    if not keys and len(table):
        table = table[table["n"] > 0]  # an empty input gives one all-zero row
    return canonical_counts(table, keys)


def _statistics() -> list[Column]:
    """The count columns, as :func:`~feedback_nlp.scoring.duck.group_counts_sql` computes them."""
    from pyspark.sql import functions as F

    label = F.col("sentiment_label")
    units = F.floor(F.col("sentiment_score").cast("double") * F.lit(float(SCORE_SCALE)) + F.lit(0.5)).cast("bigint")
    nps, rating = F.col("nps"), F.col("rating")

    def rows_where(condition: Column) -> Column:
        return F.count(F.when(condition, F.lit(1)))

    stats = {
        "n": F.count(F.lit(1)),
        **{f"n_{name}": rows_where(label == name) for name in _LABELS},
        "sum_score_e5": F.coalesce(F.sum(units), F.lit(0)),
        "sum_score_sq_e10": F.coalesce(F.sum(units * units), F.lit(0)),
        "n_nps": F.count(nps),
        "n_promoters": rows_where(nps >= 9),
        "n_detractors": rows_where(nps <= 6),
        "n_csat": F.count(rating),
        "n_satisfied": rows_where(rating >= 4),
    }
    return [stats[name].cast("bigint").alias(name) for name in COUNT_COLUMNS]


# ---------------------------------------------------------------------------- job


def score_dataset(
    spark: SparkSession,
    input_path: str | Sequence[str],
    output_dir: str | Path,
    *,
    period: Period,
    by: Sequence[str] = (),
    min_volume: int = 30,
    dates: DateTally | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Score a Parquet dataset of predictions: count tables on Spark, scores on the driver.

    Writes the tables of ``feedback-nlp score`` (the same count tables and formulas, from
    :func:`~feedback_nlp.scoring.job.tables_from_counts`): ``touchpoint_scores``,
    ``journey_matrix``, ``trends``, ``drivers``, ``alerts``, ``overall_scores`` and one
    ``segment_scores_<field>`` per ``by`` field, each as ``.parquet`` and ``.csv``, and as
    ``feedback-nlp score`` does, the count tables and the run's settings in ``_state/`` (the
    marker of a score output; a Spark run's state is never resumed from).

    Args:
        spark: The session.
        input_path: Predictions in the records layout (a folder, file or glob).
        output_dir: A folder on the driver's file system. It must be absent, empty or an
            earlier score output (it holds ``_state``), and must not hold the input; it is
            replaced as a whole, only once every table is written.
        period: ``"day"``, ``"week"`` or ``"month"``, for scores, trends and alerts.
        by: Segment fields: :data:`SEGMENT_FIELDS` or metadata keys (:func:`check_segment_fields`).
        min_volume: Volumes below it are flagged ``low_volume``.
        dates: Filled with the records counted and those without ``created_at`` (left out of
            the tables by period), for a note such as ``feedback-nlp score`` prints.
        progress: Called with a line on each stage (records read, each count table counted).

    Returns:
        The tables by name.

    Raises:
        InputError: ``period`` is unknown, ``by`` names a column that is no segment field, the
            input is missing, not Parquet or lacks a column of the records layout, or the
            output folder holds other files or the input.
    """
    say = reporter(progress, logger)
    check_period(period)
    specs = count_specs(by)  # refuses --by names that are no segment field
    output = Path(output_dir)
    inputs = local_paths(spark, input_path)
    check_apart(output, inputs, what="the score tables")
    check_replaceable(output, STATE_DIR, "score tables")  # before anything is counted
    frame = read_parquet(spark, input_path, command="spark score")
    _check_input(frame, period)
    tally = undated_records(frame)
    say(f"read {tally.total} record(s) from {', '.join(paths_of(input_path))}")
    if dates is not None:
        dates.total += tally.total
        dates.missing += tally.missing
        dates.missing_examples += tally.missing_examples[: dates.max_examples - len(dates.missing_examples)]
    counts = {}
    for name, spec in specs.items():
        uses_period = period if "period" in spec.keys else None
        counts[name] = spark_counts(frame, spec.keys, level=spec.level, period=uses_period)  # type: ignore[arg-type]
        say(f"counted {name}: {len(counts[name])} group(s)")
    tables = tables_from_counts(counts, period, by, min_volume=min_volume)
    state = {"period": period, "by": list(by), "total_records": tally.total, "incremental": False,
             "source": ", ".join(paths_of(input_path)), "engine": "spark"}  # fmt: skip
    publish_tables(output, tables, counts, state)
    logger.info("wrote %d table(s) to %s", len(tables), output_dir)
    return tables


def undated_records(frame: DataFrame, examples: int = 3) -> DateTally:
    """How many records ``frame`` holds, and which have no ``created_at`` (their ids as examples).

    Records without ``created_at`` count in the journey matrix and the drivers, but not in
    the tables by period; ``feedback-nlp score`` says how many there were, and so does
    ``feedback-nlp spark score``.
    """
    from pyspark.sql import functions as F

    dated = F.count("created_at") if "created_at" in frame.columns else F.lit(0)
    total, with_date = frame.agg(F.count(F.lit(1)), dated).first()  # type: ignore[misc]
    tally = DateTally(total=int(total), missing=int(total) - int(with_date or 0))
    if tally.missing and examples:
        undated = frame.filter(F.col("created_at").isNull()) if "created_at" in frame.columns else frame
        tally.missing_examples = [f"id {row['id']}" for row in undated.select("id").limit(examples).collect()]
    return tally
