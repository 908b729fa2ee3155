"""Classify a Parquet dataset of feedback on Spark, writing predictions in the records layout.

driver: read Parquet -> check the columns -> mapInArrow over the executors -> write twice
executor (per Python worker): load the pipeline once -> per Arrow batch: rows -> records
    (the checks of ``feedback-nlp classify``) -> ``pipeline.predict`` in batches -> rows

Each executor Python process loads the pipeline once and keeps it in a module-level cache
keyed by (loader, model dir); with ``spark.python.worker.reuse=true`` (Spark's default, and
set by :func:`~feedback_nlp.spark.session.spark_session`) a worker serves many tasks, so a
model is loaded about once per executor core, not once per task.

Output (``output_path``):

- Parquet files of predictions, one row per valid input row, with the columns of
  :data:`~feedback_nlp.scoring.duck.RECORDS_SCHEMA` (``metadata`` as JSON text) plus
  ``model_version``: what :func:`~feedback_nlp.spark.score.score_dataset`,
  :func:`~feedback_nlp.scoring.duck.duck_counts` and
  :func:`~feedback_nlp.scoring.frame.records_from_frame` read.
- ``_errors/``: Parquet with one row per rejected input row (``id``, ``kind``, ``text`` as
  given, ``error``: the reason, worded as ``feedback-nlp classify`` words it). A bad row never
  fails the job. Spark, pyarrow and DuckDB globs skip folders starting with ``_``, so reading
  ``output_path`` reads the predictions only. Every output holds it, even when empty: it is
  the marker by which a later run knows the folder as predictions it may replace.

A local output (no scheme on a local default file system, or ``file:``) is written into a
staging folder beside it and swapped in once the job succeeded, so a failed run leaves the
earlier predictions whole; an existing folder is replaced only when it is empty or holds
``_errors`` (:func:`~feedback_nlp.storage.artifacts.check_replaceable`), never when it is or
holds the input. A remote output (``hdfs://``, ``s3a://``...) is written by Spark in place:
with ``mode="overwrite"`` Spark deletes it before computing.

Examples:
    >>> result = classify_dataset(spark, "feedback.parquet", "predictions/", default_kind="review")  # doctest: +SKIP
    >>> result.predictions, result.errors                                                            # doctest: +SKIP
    (99812, 188)
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from feedback_nlp.errors import BundleError, ConfigError, InputError
from feedback_nlp.fileio import MAPPABLE_FIELDS, TABLE_FIELDS, RowOptions, default_channel, make_row
from feedback_nlp.scoring.duck import RECORDS_SCHEMA
from feedback_nlp.spark.files import check_apart, job_error, local_path, local_paths, paths_of, read_parquet, reporter
from feedback_nlp.storage.artifacts import atomic_dir, check_replaceable
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Prediction

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LOADER",
    "ERRORS_DIR",
    "ERROR_COLUMNS",
    "PREDICTION_SCHEMA",
    "SAVE_MODES",
    "ClassifyResult",
    "classify_dataset",
    "worker_pipeline",
]

#: Where the rejected rows go, inside the output folder; also the marker of an earlier output.
ERRORS_DIR = "_errors"
#: What the output is called in messages refusing a folder.
OUTPUT_WHAT = "spark classify predictions"
#: The save modes :func:`classify_dataset` takes.
SAVE_MODES = ("overwrite", "errorifexists")

#: The pipeline loader executors call with the model dir, as ``module:function``.
DEFAULT_LOADER = "feedback_nlp.storage.loading:load_pipeline"

#: The Arrow layout of the prediction files: the records layout plus the model version.
PREDICTION_SCHEMA: pa.Schema = RECORDS_SCHEMA.append(pa.field("model_version", pa.string()))

#: Columns of the ``_errors`` dataset.
ERROR_COLUMNS: tuple[str, ...] = ("id", "kind", "text", "error")

# What the executors hand back: predictions and rejected rows in one stream, told apart by
# ``error`` (NULL for a prediction); ``text`` is filled for rejected rows only.
_MAPPED_SCHEMA = PREDICTION_SCHEMA.append(pa.field("error", pa.string())).append(pa.field("text", pa.string()))
_ROW_NUMBER = "__feedback_row"
_METADATA_JSON = {"separators": (",", ":"), "sort_keys": True, "default": str}

# One pipeline per (loader, model dir) per Python process: executor workers live across tasks.
_PIPELINES: dict[tuple[str, str | None], Any] = {}


@dataclass(frozen=True)
class ClassifyResult:
    """What :func:`classify_dataset` wrote.

    Attributes:
        output: The predictions folder.
        errors_path: The ``_errors`` folder inside it.
        predictions: Rows classified.
        errors: Rows rejected (see ``errors_path`` for the reasons).
    """

    output: str
    errors_path: str
    predictions: int
    errors: int


@dataclass(frozen=True)
class _Job:
    """What every executor needs to know; pickled with the function that runs there."""

    loader: str
    model_dir: str | None
    batch_size: int
    text_column: str
    kind_column: str
    id_column: str
    default_kind: str | None
    date_format: str | None = None
    on_bad_date: str = "error"
    default_channel: str | None = None
    #: Record field -> the column holding it, for fields whose column is named otherwise.
    columns: tuple[tuple[str, str], ...] = ()
    #: The input's column names, in order: Spark sees them renamed to positions, so that
    #: names with dots or backticks need no quoting.
    input_columns: tuple[str, ...] = ()
    #: The input has a list column of transcript turns.
    turns: bool = False
    #: The speaker of turns that name none (``--turn-speaker``).
    turn_speaker: str | None = None


# ---------------------------------------------------------------------------- driver


def classify_dataset(
    spark: SparkSession,
    input_path: str | Sequence[str],
    output_path: str,
    *,
    model_dir: str | None = None,
    batch_size: int = 256,
    text_column: str = "text",
    kind_column: str = "kind",
    id_column: str = "id",
    default_kind: str | None = None,
    loader: str = DEFAULT_LOADER,
    partitions: int | None = None,
    mode: str = "overwrite",
    date_format: str | None = None,
    on_bad_date: str | None = None,
    default_channel: str | None = None,
    columns: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
    turn_speaker: str | None = None,
) -> ClassifyResult:
    """Classify every row of a Parquet dataset and write predictions and rejected rows.

    Input rows are read as ``feedback-nlp classify`` reads a Parquet file: ``text_column``
    holds the text, ``id_column`` the id, ``kind_column`` the kind, and ``created_at``,
    ``channel``, ``source``, ``rating`` and ``nps`` (or the columns ``columns`` names) fill
    those fields; a list column ``turns`` gives a transcript's turns (then the text column may
    be absent); a ``metadata`` column (JSON text, struct or map) gives the metadata, and every
    other column is added to it as text.

    Args:
        spark: The session (:func:`~feedback_nlp.spark.session.spark_session`).
        input_path: A Parquet file or folder (or several), as ``spark.read.parquet`` takes.
        output_path: The folder for the predictions; ``_errors/`` goes inside it. A local
            folder is replaced only when it is absent, empty or an earlier output (it holds
            ``_errors``), and only once the job succeeded; see the module docstring.
        model_dir: The bundle folder **as the executors see it** (a shared path, or the name
            an ``--archives`` entry unpacks to); ``None`` lets each executor use its
            ``FEEDBACK_NLP_MODEL_DIR`` setting. With the default ``loader`` it is checked
            before the job starts (on the driver in local mode, else on one executor).
        batch_size: Records per ``pipeline.predict`` call on an executor.
        text_column: The column holding the feedback text.
        kind_column: The column holding the kind (survey, review, social, transcript).
        id_column: The column holding the record id. Rows without one get ``row-<n>``, with n
            unique within the run (stable for the same input files and partitioning only).
        default_kind: The kind of rows whose kind is empty (or of every row when the column
            is missing); without it such rows are rejected.
        loader: ``module:function`` that executors call with ``model_dir`` to get an object
            with ``predict(records) -> list[Prediction]``; the module must be importable
            there (installed, or shipped with ``--py-files``).
        partitions: Spread the rows over this many tasks first (a round-robin shuffle); a
            Parquet file with one row group is otherwise one task on one core. Two to four
            times the cluster's cores keeps every core busy.
        mode: ``"overwrite"`` (replace an earlier output) or ``"errorifexists"`` (refuse any
            existing output folder).
        date_format: A ``strptime`` format for dates such as ``%d/%m/%Y`` (the ``date_format``
            setting when ``None``); dates are read by :mod:`feedback_nlp.dates` as everywhere else.
        on_bad_date: ``"error"`` rejects a row whose created_at cannot be read, ``"null"`` keeps it
            without one (the ``on_bad_date`` setting when ``None``).
        default_channel: The channel of rows whose ``channel`` is empty or missing (``chat`` for
            a chat export): a transcript's declared channel gives its ``chat`` or ``phone`` touchpoint.
        columns: Record field -> the column holding it, for ``created_at``, ``rating``, ``nps``,
            ``source``, ``channel`` and ``turns`` columns named otherwise (``--created-at-column``...).
        progress: Called with a line on each stage (rows read, rows written), e.g. to print it.

    Returns:
        The paths written and the row counts.

    Raises:
        InputError: The input is missing or not Parquet, has no ``text_column`` (nor turns),
            no ``kind_column`` without a ``default_kind``, or lacks a column of ``columns``;
            ``default_kind`` is not a kind; the output folder holds other files or the input.
        ConfigError: ``batch_size`` or ``partitions`` is below 1, ``loader`` is not
            ``module:function``, ``mode`` is unknown, or ``model_dir`` holds no bundle.
    """
    if partitions is not None and partitions < 1:
        raise ConfigError(f"partitions must be at least 1, got {partitions}")
    if mode not in SAVE_MODES:
        raise ConfigError(f"mode must be one of {', '.join(SAVE_MODES)}, got {mode!r}")
    say = reporter(progress, logger)
    job = _job(loader, model_dir, batch_size, text_column, kind_column, id_column, default_kind)
    job = _with_turn_speaker(_with_channel(_with_dates(job, date_format, on_bad_date), default_channel), turn_speaker)
    job = _with_columns(job, columns or {})
    target = local_path(spark, output_path)
    if target is not None:
        _check_output(spark, target, input_path, mode)
    frame = read_parquet(spark, input_path, command="spark classify")
    job = _with_input(job, frame)
    check_model_dir(spark, job.model_dir, job.loader)
    shown = ", ".join(paths_of(input_path))
    if progress is not None:  # a count of Parquet rows reads the files' footers only
        say(f"read {frame.count()} row(s) from {shown}")
    say(f"classifying {shown} on Spark {spark.version} (model {model_dir or 'from the settings'})")
    mapped = _classify(frame, job, partitions).persist()  # written twice below; computed once
    try:
        if target is None:
            counts = _run(mapped, output_path, mode)
        else:
            with atomic_dir(target, replace=mode == "overwrite", replaces=(ERRORS_DIR, OUTPUT_WHAT)) as staging:
                counts = _run(mapped, staging.as_uri(), "overwrite")
    finally:
        mapped.unpersist()
    result = ClassifyResult(output_path, _errors_path(output_path), counts.get(True, 0), counts.get(False, 0))
    say(f"wrote {result.predictions} prediction(s) to {output_path}, {result.errors} rejected row(s) to {ERRORS_DIR}/")
    return result


def _check_output(spark: SparkSession, target: Path, input_path: str | Sequence[str], mode: str) -> None:
    """Refuse a local output folder that the job must not replace, before anything runs."""
    inputs = local_paths(spark, input_path)
    check_apart(target, inputs, what="the predictions")
    check_replaceable(target, ERRORS_DIR, OUTPUT_WHAT)
    if mode == "errorifexists" and target.exists():
        raise InputError(f"{target} already exists (mode='errorifexists'); give a new folder, or use mode='overwrite'")


def _run(mapped: DataFrame, output: str, mode: str) -> dict[bool, int]:
    """Write the predictions and errors to ``output``; the row counts by outcome (True: predicted)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        _write(mapped, output, mode)
        return {bool(row["ok"]): int(row["count"]) for row in _outcomes(mapped)}
    except (Py4JJavaError, PySparkException) as exc:
        ours = job_error(exc)
        if ours is None:
            raise
        raise ours from exc


def check_model_dir(spark: SparkSession, model_dir: str | None, loader: str = DEFAULT_LOADER) -> None:
    """Refuse a bundle folder the executors could not load, before the job starts.

    Only the default loader's argument is known to be a bundle folder: a custom loader's is
    not checked. In local mode the executors share the driver's file system, so the folder is
    checked here; on a cluster one executor checks it, as the executors will see it.

    Raises:
        ConfigError: ``model_dir`` (or, when ``None``, the ``model_dir`` setting) holds no bundle manifest.
    """
    if loader != DEFAULT_LOADER:
        return
    if (spark.sparkContext.master or "").startswith("local"):
        problem = bundle_problem(model_dir)
    else:
        problem = spark.sparkContext.parallelize([model_dir], 1).map(bundle_problem).collect()[0]
    if problem:
        given = f"--model-dir {model_dir}" if model_dir else "the executors' FEEDBACK_NLP_MODEL_DIR setting"
        raise ConfigError(
            f"{given} is not a bundle the executors can load: {problem} Give the bundle folder as the "
            "executors see it with --model-dir (model_dir=)"
        )


def bundle_problem(model_dir: str | None) -> str | None:
    """Why ``model_dir`` (the ``model_dir`` setting when ``None``) holds no readable bundle manifest, or ``None``."""
    from feedback_nlp.settings import get_settings
    from feedback_nlp.storage.artifacts import BundleManifest

    try:
        BundleManifest.read(model_dir if model_dir is not None else get_settings().model_dir, verify=False)
    except BundleError as exc:
        return str(exc)
    return None


def _job(
    loader: str,
    model_dir: str | None,
    batch_size: int,
    text_column: str,
    kind_column: str,
    id_column: str,
    default_kind: str | None,
) -> _Job:
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    if loader.count(":") != 1:
        raise ConfigError(f"loader must be 'module:function', e.g. {DEFAULT_LOADER!r}; got {loader!r}")
    if default_kind is not None:
        try:
            default_kind = FeedbackKind(default_kind.strip().lower()).value
        except ValueError:
            kinds = ", ".join(k.value for k in FeedbackKind)
            raise InputError(f"default_kind must be one of {kinds}, got {default_kind!r}") from None
    if len({text_column, kind_column, id_column}) < 3:
        raise InputError(
            f"the text, kind and id columns must differ, got {text_column!r}, {kind_column!r}, {id_column!r}"
        )
    return _Job(loader, model_dir, batch_size, text_column, kind_column, id_column, default_kind)


def _with_dates(job: _Job, date_format: str | None, on_bad_date: str | None) -> _Job:
    """The job with the date options checked and filled from the settings (the driver's)."""
    from feedback_nlp.dates import DateError, check_date_format
    from feedback_nlp.settings import get_settings

    settings = get_settings()
    policy = on_bad_date or settings.on_bad_date
    if policy not in ("error", "null"):
        raise InputError(f"on_bad_date must be 'error' or 'null', got {policy!r}")
    try:
        fmt = check_date_format(date_format if date_format is not None else settings.date_format)
    except DateError as exc:
        raise InputError(str(exc)) from None
    return replace(job, date_format=fmt, on_bad_date=policy)


def _with_turn_speaker(job: _Job, speaker: str | None) -> _Job:
    """The job with the speaker of turns that name none, checked on the driver."""
    from feedback_nlp.taxonomy.records import speaker_role

    if speaker is not None:
        try:
            speaker_role(speaker)
        except ValueError as exc:
            raise InputError(f"--turn-speaker: {exc}") from None
    return replace(job, turn_speaker=speaker)


def _with_channel(job: _Job, channel: str | None) -> _Job:
    """The job with the channel of rows that give none, checked as the local commands check it."""
    return replace(job, default_channel=default_channel(channel))


def _with_columns(job: _Job, columns: Mapping[str, str]) -> _Job:
    """The job with the columns named for record fields (``--created-at-column``...), checked."""
    named = {name: column for name, column in columns.items() if column}
    fields = [f for f in MAPPABLE_FIELDS if f != "kind"]
    unknown = sorted(set(named) - set(fields))
    if unknown:
        raise ConfigError(
            f"columns= names fields {unknown}; it takes {', '.join(fields)} (the kind column is kind_column=)"
        )
    used = [job.text_column, job.kind_column, job.id_column]
    clash = sorted({column for column in named.values() if column in used})
    if clash or len(set(named.values())) < len(named):
        raise InputError(
            f"each column can fill one field only: {columns} names {clash or 'a column twice'}, which "
            f"another option names too (text {job.text_column!r}, kind {job.kind_column!r}, id {job.id_column!r})"
        )
    return replace(job, columns=tuple(sorted(named.items())))


def _with_input(job: _Job, frame: DataFrame) -> _Job:
    """The job with the input's column names, once its columns are checked against the options."""
    from pyspark.sql.types import ArrayType

    found = list(frame.columns)
    shown = ", ".join(map(repr, found)) or "(none)"
    named = dict(job.columns)
    turns_column = named.get("turns", "turns")
    turns = turns_column in found and isinstance(frame.schema[turns_column].dataType, ArrayType)
    if job.text_column not in found and not turns:
        raise InputError(
            f"the input has no text column {job.text_column!r} (nor a list column of transcript turns); "
            f"columns found: {shown}. Pass text_column= (--text-column) to name the column holding the text"
        )
    if job.kind_column not in found and job.default_kind is None:
        raise InputError(
            f"the input has no kind column {job.kind_column!r} (columns found: {shown}); pass kind_column= "
            "(--kind-column) to name it, or default_kind= (--kind: survey, review, social or transcript) for every row"
        )
    for name, column in named.items():
        if column not in found:
            raise InputError(
                f"the input has no column {column!r} (given for {name}); columns found: {shown}. Name one of those"
            )
    return replace(job, input_columns=tuple(found), turns=turns)


def _classify(frame: DataFrame, job: _Job, partitions: int | None) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    # Columns by position: Spark resolves names with dots, backticks or clashing case only quoted;
    # the executors give the rows their names back (job.input_columns).
    positional = frame.toDF(*(f"_c{i}" for i in range(len(frame.columns))))
    # Numbered before any shuffle, so that default ids depend on the input files only.
    numbered = positional.withColumn(_ROW_NUMBER, F.monotonically_increasing_id())
    if partitions is not None:
        numbered = numbered.repartition(partitions)
    return numbered.mapInArrow(partial(_classify_batches, job), from_arrow_schema(_MAPPED_SCHEMA))


def _write(mapped: DataFrame, output_path: str, mode: str) -> None:
    from pyspark.sql import functions as F

    predictions = mapped.filter(F.col("error").isNull()).select(*PREDICTION_SCHEMA.names)
    predictions.write.mode(mode).parquet(output_path)
    errors = mapped.filter(F.col("error").isNotNull()).select(*ERROR_COLUMNS)
    # Inside the output folder, which was just (re)written: no stale errors of an older run stay.
    # One file; repartition, not coalesce, so that the classification upstream stays parallel.
    errors.repartition(1).write.mode("overwrite").parquet(_errors_path(output_path))


def _outcomes(mapped: DataFrame) -> list[Any]:
    from pyspark.sql import functions as F

    return mapped.groupBy(F.col("error").isNull().alias("ok")).count().collect()


def _errors_path(output_path: str) -> str:
    return output_path.rstrip("/") + "/" + ERRORS_DIR


# ---------------------------------------------------------------------------- executors


def worker_pipeline(loader: str = DEFAULT_LOADER, model_dir: str | None = None) -> Any:
    """The pipeline of this Python process for (loader, model dir), loaded on first use.

    Args:
        loader: ``module:function``, called as ``function(model_dir)``.
        model_dir: The bundle folder, or ``None`` for the ``FEEDBACK_NLP_MODEL_DIR`` setting.

    Returns:
        The cached pipeline.
    """
    key = (loader, model_dir)
    pipeline = _PIPELINES.get(key)
    if pipeline is None:
        pipeline = _resolve(loader)(model_dir)
        _PIPELINES[key] = pipeline
        logger.info("process %d loaded the pipeline %s from %s", os.getpid(), getattr(pipeline, "version", "?"),
                    model_dir or "the model_dir setting")  # fmt: skip
    return pipeline


def _resolve(loader: str) -> Callable[[str | None], Any]:
    module_name, _, name = loader.partition(":")
    try:
        function: Callable[[str | None], Any] = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"cannot import the pipeline loader {loader!r} on this executor ({exc}); install the module "
            "there or ship it with --py-files"
        ) from None
    return function


def _classify_batches(job: _Job, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The executor side of :func:`classify_dataset`: input batches in, mapped batches out.

    The pipeline is loaded (or taken from this process's cache) at the first row, so an empty
    partition loads nothing.
    """
    names = [*job.input_columns, _ROW_NUMBER]
    for batch in batches:
        rows = batch.rename_columns(names).to_pylist()
        for start in range(0, len(rows), job.batch_size):
            pipeline = worker_pipeline(job.loader, job.model_dir)
            out = _classify_rows(pipeline, rows[start : start + job.batch_size], job)
            yield pa.RecordBatch.from_pylist(out, schema=_MAPPED_SCHEMA)


def _classify_rows(pipeline: Any, rows: list[dict[str, Any]], job: _Job) -> list[dict[str, Any]]:
    parsed = [_record(row, job) for row in rows]
    records = [record for record, _ in parsed if record is not None]
    outcomes = iter(_predict(pipeline, records))
    out = []
    for (record, problem), row in zip(parsed, rows, strict=True):
        if record is None:
            out.append(_error_row(row, job, problem or "not a record"))
            continue
        prediction = next(outcomes)
        if isinstance(prediction, str):
            out.append(_error_row(row, job, prediction, record_id=record.id))
        else:
            out.append(_prediction_row(record, prediction))
    return out


def _record(row: dict[str, Any], job: _Job) -> tuple[FeedbackRecord | None, str | None]:
    """The row as a record, or the reason it is not one (fileio's checks and wording)."""
    values = {k: v for k, v in row.items() if k not in (_ROW_NUMBER, job.kind_column)}
    values["kind"] = row.get(job.kind_column)
    if values.get(job.id_column) is None or (
        isinstance(values[job.id_column], str) and not values[job.id_column].strip()
    ):
        values[job.id_column] = f"row-{row[_ROW_NUMBER]}"
    options, fields = _row_reading(job)
    result = make_row(0, values, options, fields=fields, stringify=True)
    return result.record, result.error


@lru_cache(maxsize=8)
def _row_reading(job: _Job) -> tuple[RowOptions, frozenset[str]]:
    """How :func:`_record` reads a row of ``job`` (made once per job and process, not per row)."""
    options = RowOptions(
        FeedbackKind(job.default_kind) if job.default_kind else None,
        job.text_column,
        job.id_column,
        columns=dict(job.columns),
        date_format=job.date_format,
        on_bad_date=job.on_bad_date,  # type: ignore[arg-type]  # a str that _with_dates checked is "error" or "null"
        default_channel=job.default_channel,
        turn_speaker=job.turn_speaker,
    )
    return options, TABLE_FIELDS | {"metadata"} | ({"turns"} if job.turns else set())


def _predict(pipeline: Any, records: list[FeedbackRecord]) -> list[Prediction | str]:
    """Predictions, or for a record the pipeline fails on alone, the reason as text."""
    if not records:
        return []
    try:
        return list(pipeline.predict(records))
    except Exception:  # noqa: BLE001 - find the record at fault below, one at a time
        logger.warning("a batch of %d record(s) failed; classifying them one by one", len(records))
    out: list[Prediction | str] = []
    first_failure: Exception | None = None
    for record in records:
        try:
            out.append(pipeline.predict([record])[0])
        except Exception as exc:  # noqa: BLE001 - one bad record must not fail the job
            first_failure = first_failure or exc
            out.append(f"prediction failed: {type(exc).__name__}: {exc}")
    if first_failure is not None and all(isinstance(o, str) for o in out) and len(out) > 1:
        raise first_failure  # every record failed: the pipeline is broken, not the rows
    return out


def _prediction_row(record: FeedbackRecord, prediction: Prediction) -> dict[str, Any]:
    return {
        "id": prediction.id or record.id,
        "source": record.source,
        "kind": str(prediction.kind),
        "created_at": record.created_at,  # naive times are UTC, as Arrow reads them
        "rating": record.rating,
        "nps": None if record.nps is None else float(record.nps),
        "metadata": json.dumps(record.metadata, **_METADATA_JSON),  # type: ignore[arg-type]
        "sentiment_label": prediction.sentiment.label,
        "sentiment_score": prediction.sentiment.score,
        "journey_stage": prediction.journey_stage.label,
        "touchpoints": [t.model_dump() for t in prediction.touchpoints],
        "segments": [
            {
                "sentiment": {"label": s.sentiment.label, "score": s.sentiment.score},
                "touchpoints": [t.model_dump() for t in s.touchpoints],
            }
            for s in prediction.segments
        ],  # fmt: skip
        "topic": prediction.topic.model_dump() if prediction.topic else None,
        "model_version": prediction.model_version,
        "error": None,
        "text": None,
    }


def _error_row(row: dict[str, Any], job: _Job, problem: str, *, record_id: str | None = None) -> dict[str, Any]:
    given = row.get(job.id_column)
    kind, text = row.get(job.kind_column), row.get(job.text_column)
    return {
        "id": record_id or (f"row-{row[_ROW_NUMBER]}" if given is None or str(given).strip() == "" else str(given)),
        "kind": None if kind is None else str(kind),
        "text": None if text is None else str(text),
        "error": problem,
    }
