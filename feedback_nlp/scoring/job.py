"""The score job: predictions in, the CX team's tables out, incrementally.

read predictions in chunks (database rows after the last run's watermark, or a file)
  -> count tables per chunk (the local DuckDB engine)       } the only engine-specific step
  -> add to the stored count tables of earlier runs         }
  -> scores, journey matrix, trends, drivers, alerts from the counts (shared formulas)
  -> Parquet + CSV in the output folder, and the same tables in the database

Counts are sums, so adding a new batch's counts to the stored ones gives exactly the counts
of everything; a run with nothing new rewrites the same tables (idempotent).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import COUNT_COLUMNS, Period, check_period, combine_counts
from feedback_nlp.scoring.alerts import alerts_from_counts
from feedback_nlp.scoring.drivers import key_drivers_from_counts
from feedback_nlp.scoring.duck import RECORDS_SCHEMA
from feedback_nlp.scoring.frame import records_from_rows
from feedback_nlp.scoring.scores import record_counts, scores_from_counts, touchpoint_counts, trends_from_counts
from feedback_nlp.scoring.watermark import ResumePoint
from feedback_nlp.storage.artifacts import atomic_dir

logger = logging.getLogger(__name__)

STATE_DIR = "_state"
STATE_FILE = "state.json"
TABLE_PREFIX = "scores_"
CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class CountSpec:
    """One count table the job keeps: what it counts (records or mentions) and by which keys."""

    level: str  # "record" or "touchpoint"
    keys: tuple[str, ...]


def count_specs(by: Sequence[str]) -> dict[str, CountSpec]:
    """The count tables behind every output table (``period`` is the job's period)."""
    specs = {
        "touchpoint": CountSpec("touchpoint", ("touchpoint", "period")),
        "journey": CountSpec("touchpoint", ("journey_stage", "touchpoint")),
        "drivers": CountSpec("touchpoint", ("touchpoint", "topic_label")),
        "topic": CountSpec("record", ("topic_label", "period")),
        "overall": CountSpec("record", ("period",)),
    }
    check_segment_fields(by)
    for name in by:
        specs[f"segment_{name}"] = CountSpec("record", (name, "period"))
    return specs


#: Record columns a segment table may group by (``--by``); any other name is a metadata key.
SEGMENT_FIELDS = ("source", "kind", "journey_stage", "topic_label")
#: Names of the records layout, of the rows and of the score tables, which are no segment field
#: and no metadata key to segment by: the tables make or use them themselves. Both engines refuse them.
RESERVED_SEGMENT_FIELDS = frozenset(
    {
        *RECORDS_SCHEMA.names,
        "model_version",
        "period",
        "touchpoint",
        "sentiment_from",
        *COUNT_COLUMNS,
    }
) - set(SEGMENT_FIELDS)


def check_segment_fields(by: Sequence[str]) -> None:
    """Refuse ``--by`` names that are columns of the records or of the score tables but no segment field.

    ``period``, ``touchpoint``, ``sentiment_from``, ``id``, ``created_at``, the scores and the
    count columns are made or used by the tables themselves; a segment table groups records by
    :data:`SEGMENT_FIELDS` or by a metadata key. The local job and Spark share this rule.

    Raises:
        InputError: A name is such a column (the message lists what ``--by`` takes).
    """
    refused = [name for name in by if name in RESERVED_SEGMENT_FIELDS]
    if refused:
        raise InputError(
            f"cannot segment by {', '.join(map(repr, refused))}: a column the score tables use or make "
            f"themselves, not a segment field. --by takes {', '.join(SEGMENT_FIELDS)} or metadata keys "
            "(e.g. --by region,source)"
        )


@dataclass
class ScoreRun:
    """What a run did: rows read, the watermark reached and the tables written."""

    new_records: int
    total_records: int
    watermark: int | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    output: Path | None = None


def count_chunk(records: pd.DataFrame, period: Period, specs: dict[str, CountSpec]) -> dict[str, pd.DataFrame]:
    """The count tables of one chunk of records."""
    out = {}
    for name, spec in specs.items():
        keys = [k for k in spec.keys if k != "period"]
        use_period = period if "period" in spec.keys else None
        if spec.level == "touchpoint":
            by = [k for k in keys if k != "touchpoint"]
            out[name] = touchpoint_counts(records, use_period, by)
        else:
            out[name] = record_counts(records, keys, use_period)
    return out


def add_counts(
    old: dict[str, pd.DataFrame], new: dict[str, pd.DataFrame], specs: dict[str, CountSpec]
) -> dict[str, pd.DataFrame]:
    """Stored counts plus a batch's counts, table by table."""
    out = {}
    for name, spec in specs.items():
        parts = [t for t in (old.get(name), new.get(name)) if t is not None and not t.empty]
        keys = list(spec.keys)
        out[name] = combine_counts(pd.concat(parts, ignore_index=True), keys) if parts else _empty(keys)
    return out


def _empty(keys: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {**{k: pd.Series(dtype=object) for k in keys}, **{c: pd.Series(dtype="int64") for c in COUNT_COLUMNS}}
    )


def tables_from_counts(
    counts: dict[str, pd.DataFrame], period: Period, by: Sequence[str], *, min_volume: int = 30
) -> dict[str, pd.DataFrame]:
    """Every output table from the count tables (the formulas every engine shares)."""
    tables = {
        "touchpoint_scores": scores_from_counts(counts["touchpoint"], min_volume=min_volume),
        "journey_matrix": scores_from_counts(counts["journey"], min_volume=min_volume),
        "trends": trends_from_counts(counts["touchpoint"], period, min_volume=min_volume),
        "drivers": key_drivers_from_counts(counts["drivers"], min_volume=min_volume),
        "alerts": alerts_from_counts(counts["touchpoint"], counts["topic"], period),
        "overall_scores": scores_from_counts(counts["overall"], min_volume=min_volume),
    }
    for name in by:
        tables[f"segment_scores_{name}"] = scores_from_counts(counts[f"segment_{name}"], min_volume=min_volume)
    return tables


def chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK_ROWS) -> Iterator[list[dict[str, Any]]]:
    """Rows in lists of ``size``."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_score_job(
    rows: Iterable[dict[str, Any]],
    output: str | Path,
    *,
    period: Period,
    by: Sequence[str] = (),
    incremental_key: str | None = None,
    min_volume: int = 30,
    store: Callable[[dict[str, pd.DataFrame]], None] | None = None,
    progress: Callable[[int], None] | None = None,
    full: bool = False,
    source: str | None = None,
) -> ScoreRun:
    """Count ``rows`` (adding to the counts stored by earlier runs in ``output``), score, write.

    Args:
        rows: prediction rows in the records-frame shape (:func:`records_from_rows`); for an
            incremental run they must come in ``incremental_key`` order, newer than the watermark
            (see :func:`read_state`).
        output: the folder for the tables (Parquet and CSV) and the job's state (``_state/``).
        period: day, week or month.
        by: extra segment fields (record columns such as ``source`` or ``kind``, or metadata keys).
        incremental_key: the row key holding the database's storage order: the largest one seen
            becomes the watermark, and keys below it not seen are read again by the next run
            (:mod:`feedback_nlp.scoring.watermark`); rows must come from :func:`stored_rows` with
            :meth:`ResumePoint.from_state`'s watermark and gaps. ``None``: a full run that ignores and
            replaces any stored state.
        min_volume: volumes below it are flagged ``low_volume``.
        store: called with the tables after they are written (the database copy).
        progress: called with the number of rows of each chunk counted.
        full: ``rows`` are every record: start from no stored counts (they would count twice).
        source: what the rows come from (:func:`database_identity`), stored with the state: a
            later run on another database starts again rather than resume from this watermark.
    """
    check_period(period)
    output = Path(output)
    specs = count_specs(by)
    state = read_state(output) if incremental_key and not full else None
    if state and (state["period"] != period or list(state["by"]) != list(by)):
        logger.warning(
            "stored counts are by %s/%s, this run by %s/%s: counting everything again",
            state["period"],
            state["by"],
            period,
            list(by),
        )
        state = None
    counts = _read_counts(output, specs) if state else {}
    resume = ResumePoint.from_state(state)
    total = int(state.get("total_records", 0)) if state else 0
    new_records = 0
    for batch in chunks(rows):
        if incremental_key:
            keys = [int(r[incremental_key]) for r in batch]
            counted = set(resume.advance(keys))
            batch = [r for r, key in zip(batch, keys, strict=True) if key in counted]
            if not batch:
                continue
        records = records_from_rows(batch)
        counts = add_counts(counts, count_chunk(records, period, specs), specs)
        new_records += len(batch)
        if progress:
            progress(len(batch))
    counts = add_counts(counts, {}, specs)  # every table present even with no rows at all
    total += new_records
    resume.expire()
    tables = tables_from_counts(counts, period, by, min_volume=min_volume)
    publish_tables(
        output,
        tables,
        counts,
        {
            "period": period,
            "by": list(by),
            **resume.to_state(),
            "total_records": total,
            "incremental": bool(incremental_key),
            "source": source,
        },
    )
    if store is not None:
        store(tables)
    return ScoreRun(new_records, total, resume.watermark, tables, output)


def database_identity(url: Any) -> str:
    """A database's URL without its password (a SQLite file as an absolute path): score state
    records where its counts came from."""
    from sqlalchemy.engine import make_url

    parsed = make_url(str(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=True)


def read_state(output: str | Path) -> dict[str, Any] | None:
    """The stored state of the last run in ``output`` (period, by, watermark), if any."""
    path = Path(output) / STATE_DIR / STATE_FILE
    if not path.is_file():
        return None
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return state if state.get("incremental") else None


def _read_counts(output: Path, specs: dict[str, CountSpec]) -> dict[str, pd.DataFrame]:
    from feedback_nlp.scoring.aggregate import canonical_counts

    counts = {}
    for name, spec in specs.items():
        path = output / STATE_DIR / f"counts_{name}.parquet"
        if path.is_file():
            table = pd.read_parquet(path)
            if "period" in table.columns:
                table["period"] = pd.to_datetime(table["period"]).dt.date
            counts[name] = canonical_counts(table, list(spec.keys))
    return counts


def publish_tables(
    output: Path, tables: dict[str, pd.DataFrame], counts: dict[str, pd.DataFrame], state: dict[str, Any]
) -> None:
    """Write the tables, and the counts and state in ``_state/``, into a fresh folder, then swap
    it in: a crash leaves the old run whole (both engines' score jobs publish this way)."""
    with atomic_dir(output, replaces=(STATE_DIR, "score tables")) as staging:
        (staging / STATE_DIR).mkdir()
        for name, table in tables.items():
            table.to_parquet(staging / f"{name}.parquet", index=False)
            table.to_csv(staging / f"{name}.csv", index=False)
        for name, table in counts.items():
            table.to_parquet(staging / STATE_DIR / f"counts_{name}.parquet", index=False)
        (staging / STATE_DIR / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def store_tables(engine: Any, tables: dict[str, pd.DataFrame]) -> None:
    """Replace the ``scores_*`` tables in the database with ``tables``, in one transaction; the
    ``scores_*`` tables of an earlier run that this one does not write (a ``--by`` segment it left
    out) are dropped, so the database holds one run's tables, as the output folder does."""
    from sqlalchemy import MetaData, Table, inspect

    with engine.begin() as connection:
        wanted = {f"{TABLE_PREFIX}{name}" for name in tables}
        for stale in sorted(set(inspect(connection).get_table_names()) - wanted):
            if stale.startswith(TABLE_PREFIX):
                Table(stale, MetaData()).drop(connection)
        for name, table in tables.items():
            table.to_sql(f"{TABLE_PREFIX}{name}", connection, if_exists="replace", index=False)


def stored_rows(
    since_pk: int | None = None,
    *,
    gaps: Sequence[tuple[int, int]] = (),
    sessions: Any = None,
    where: Sequence[Any] = (),
) -> Iterator[dict[str, Any]]:
    """Stored predictions after ``since_pk`` in storage order, as records-frame rows, streamed.

    Reads plain rows (no ORM objects) in batches, so memory stays flat however many are stored.

    Args:
        since_pk: only rows stored after this position (the last run's watermark).
        gaps: key ranges below ``since_pk`` to read as well (keys the last run did not see).
        sessions: a session factory (the service's); a new engine on the configured database otherwise.
        where: extra SQLAlchemy conditions on the ``feedback`` table.
    """
    from sqlalchemy import or_, select

    from feedback_nlp.settings import get_settings
    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.storage.models import Feedback

    table = Feedback.__table__
    engine = init_db(get_settings().database_url) if sessions is None else None
    factory = sessions if engine is None else make_session_factory(engine)
    query = select(*(table.c[name] for name in _STORED_COLUMNS)).order_by(table.c.pk)
    if since_pk is not None:
        query = query.where(or_(table.c.pk > since_pk, *(table.c.pk.between(low, high) for low, high in gaps)))
    for condition in where:
        query = query.where(condition)
    try:
        with factory() as session:
            result = session.execute(query.execution_options(yield_per=5000))
            for row in result.mappings():
                yield _stored_row(row)
    finally:
        if engine is not None:
            engine.dispose()


_STORED_COLUMNS = (
    "pk",
    "id",
    "source",
    "kind",
    "created_at",
    "received_at",
    "rating",
    "nps",
    "metadata",
    "sentiment_label",
    "sentiment_score",
    "journey_stage",
    "touchpoints",
    "segments",
    "topic",
)


def _stored_row(row: Any) -> dict[str, Any]:
    return {
        "pk": row["pk"],
        "id": row["id"],
        "source": row["source"],
        "kind": row["kind"],
        "created_at": row["created_at"] or row["received_at"],  # stored records: as the API's scores date them
        "rating": row["rating"],
        "nps": row["nps"],
        "metadata": row["metadata"] or {},
        "sentiment_label": row["sentiment_label"],
        "sentiment_score": row["sentiment_score"],
        "journey_stage": row["journey_stage"],
        "touchpoints": row["touchpoints"] or [],
        "segments": row["segments"] or [],
        "topic": row["topic"],
    }


def feedback_row(row: Any) -> dict[str, Any]:
    """A stored ``Feedback`` ORM object as a records-frame row (with ``pk`` for the watermark)."""
    return {
        "pk": row.pk,
        "id": row.id,
        "source": row.source,
        "kind": row.kind,
        "created_at": row.created_at or row.received_at,
        "rating": row.rating,
        "nps": row.nps,
        "metadata": row.meta or {},
        "sentiment_label": row.sentiment_label,
        "sentiment_score": row.sentiment_score,
        "journey_stage": row.journey_stage,
        "touchpoints": row.touchpoints or [],
        "segments": row.segments or [],
        "topic": row.topic,
    }


def prediction_rows(path: str) -> Iterator[dict[str, Any]]:
    """Rows from the JSONL that ``feedback-nlp classify`` writes (one prediction per line).

    The contract carries no created_at; a line may add ``created_at``, ``source``, ``rating``,
    ``nps`` and ``metadata`` keys (merge them from your input), and periods need created_at.
    """
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path} line {number}: not JSON ({exc.msg}); expected one prediction per line"
                ) from None
            try:
                yield {
                    "id": data.get("id") or str(number),
                    "source": data.get("source"),
                    "kind": data["kind"],
                    "created_at": data.get("created_at"),
                    "rating": data.get("rating"),
                    "nps": data.get("nps"),
                    "metadata": data.get("metadata") or {},
                    "sentiment_label": data["sentiment"]["label"],
                    "sentiment_score": data["sentiment"]["score"],
                    "journey_stage": data["journey_stage"]["label"],
                    "touchpoints": data.get("touchpoints") or [],
                    "segments": data.get("segments") or [],
                    "topic": data.get("topic"),
                }
            except (KeyError, TypeError) as exc:
                raise InputError(
                    f"{path} line {number}: expected a prediction from `feedback-nlp classify` (kind, sentiment, "
                    f"journey_stage, ...), missing {exc}"
                ) from None


def is_prediction_file(path: str) -> bool:
    """Whether ``path`` is classify's JSONL output (its first line has a sentiment object)."""
    if not str(path).endswith((".jsonl", ".ndjson")) or not Path(path).is_file():
        return False  # not a file: reading it as records says what is wrong
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    first = json.loads(line)
                    return isinstance(first, dict) and isinstance(first.get("sentiment"), dict)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return False
