"""The scoring input: one row per feedback record, and one row per touchpoint mention.

Every scoring function reads a **records frame**, a pandas DataFrame with one row per
record and these columns (:data:`RECORD_COLUMNS`):

========================  ==============================================================
``id``                    str
``source``                str or None
``kind``                  str (survey, review, social, transcript)
``created_at``            UTC ``datetime64`` (NaT when unknown)
``rating``                float in [1, 5], NaN when not given
``nps``                   float, a whole number in [0, 10], NaN when not given
``metadata``              dict
``sentiment_label``       negative / neutral / positive
``sentiment_score``       float in [-1, 1]
``journey_stage``         str
``touchpoints``           list of ``{"label", "confidence"}`` dicts
``segments``              list of ``{"sentiment": {"label", "score"}, "touchpoints": [...]}``
``topic``                 ``{"id", "label", "confidence"}`` or None
``topic_label``           str or None (derived from ``topic``)
========================  ==============================================================

Build it with :func:`records_from_predictions` (records and the pipeline's predictions),
:func:`records_from_rows` (dicts from the database or a JSONL file) or
:func:`records_from_frame` (a DataFrame already in that shape, e.g. read from Parquet).

:func:`mentions` turns it into one row per (record, touchpoint). A text counts toward
each of its touchpoints; where segments are about a touchpoint, the touchpoint takes its
sentiment from those segments (see :func:`mentions` for the exact rule).

Examples:
    >>> records = records_from_predictions(feedback, predictions)        # doctest: +SKIP
    >>> mentions(records)[["id", "touchpoint", "sentiment_label"]]       # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from feedback_nlp.errors import InputError
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS
from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction

logger = logging.getLogger(__name__)

__all__ = [
    "MENTION_COLUMNS",
    "RECORD_COLUMNS",
    "mentions",
    "metadata_text",
    "record_touchpoints",
    "records_from_frame",
    "records_from_predictions",
    "records_from_rows",
    "segment_sentiment",
    "with_fields",
]

#: Columns of a records frame, in order.
RECORD_COLUMNS: tuple[str, ...] = (
    "id", "source", "kind", "created_at", "rating", "nps", "metadata",
    "sentiment_label", "sentiment_score", "journey_stage", "touchpoints", "segments",
    "topic", "topic_label",
)  # fmt: skip

#: Columns every input must have; the others default to "not given".
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "kind", "sentiment_label", "sentiment_score", "journey_stage")

#: Nested columns, which :func:`mentions` does not copy onto mention rows.
NESTED_COLUMNS: tuple[str, ...] = ("metadata", "touchpoints", "segments", "topic")

#: The first columns of a mentions frame; record columns follow (see :func:`mentions`).
MENTION_COLUMNS: tuple[str, ...] = (
    "id", "touchpoint", "touchpoint_confidence", "sentiment_label", "sentiment_score", "sentiment_from",
)  # fmt: skip

_MAX_SHOWN = 5


# ---------------------------------------------------------------------------- building


def records_from_predictions(records: Sequence[FeedbackRecord], predictions: Sequence[Prediction]) -> pd.DataFrame:
    """A records frame from records and the pipeline's predictions for them.

    Args:
        records: The records as sent to the pipeline.
        predictions: ``pipeline.predict(records)``, in the same order.

    Returns:
        A records frame (see the module docstring). A record without an ``id`` (on the
        record or the prediction) gets ``"row-<position>"``.

    Raises:
        InputError: The two lists differ in length.

    Examples:
        >>> frame = records_from_predictions(records, pipeline.predict(records))  # doctest: +SKIP
    """
    if len(records) != len(predictions):
        raise InputError(
            f"expected one prediction per record, got {len(records)} record(s) and "
            f"{len(predictions)} prediction(s); pass pipeline.predict(records) for the same records"
        )
    rows = [_prediction_row(i, r, p) for i, (r, p) in enumerate(zip(records, predictions, strict=True))]
    return records_from_rows(rows)


def _prediction_row(position: int, record: FeedbackRecord, prediction: Prediction) -> dict[str, Any]:
    return {
        "id": prediction.id or record.id or f"row-{position}",
        "source": record.source,
        "kind": str(prediction.kind),
        "created_at": record.created_at,
        "rating": record.rating,
        "nps": record.nps,
        "metadata": dict(record.metadata),
        "sentiment_label": prediction.sentiment.label,
        "sentiment_score": prediction.sentiment.score,
        "journey_stage": prediction.journey_stage.label,
        "touchpoints": [t.model_dump() for t in prediction.touchpoints],
        "segments": [
            {
                "sentiment": s.sentiment.model_dump(include={"label", "score"}),
                "touchpoints": [t.model_dump() for t in s.touchpoints],
            }
            for s in prediction.segments
        ],  # fmt: skip
        "topic": prediction.topic.model_dump() if prediction.topic else None,
    }


def records_from_rows(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A records frame from dicts shaped like its columns (database rows, JSONL lines).

    Keys other than the frame's columns (``text``, ``model_version``, ...) are ignored.

    Args:
        rows: One mapping per record with at least :data:`REQUIRED_COLUMNS`.

    Returns:
        A validated records frame, in the order of ``rows``.

    Raises:
        InputError: A required key is missing or a value is out of range.

    Examples:
        >>> records_from_rows([{"id": "1", "kind": "review", "sentiment_label": "positive",
        ...                     "sentiment_score": 0.8, "journey_stage": "usage"}]).shape
        (1, 14)
    """
    table = list(rows)
    columns = [c for c in RECORD_COLUMNS if c != "topic_label"]
    if not table:
        return records_from_frame(pd.DataFrame({c: [] for c in columns}))
    missing = [c for c in REQUIRED_COLUMNS if any(c not in row for row in table)]
    if missing:
        first = next(i for i, row in enumerate(table) if any(c not in row for c in missing))
        raise InputError(
            f"every row needs the keys {list(REQUIRED_COLUMNS)}; row {first} lacks {missing} "
            f"(its keys: {sorted(map(str, table[first]))}). Rename your keys to these, or build "
            "the frame with records_from_predictions(records, predictions)"
        )
    data = {c: [row.get(c) for row in table] for c in columns}
    return records_from_frame(pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()}))


def records_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate and normalise a DataFrame holding the records frame's columns.

    Missing optional columns are added as "not given"; nested values read back from
    Parquet (numpy arrays) or JSON (``metadata`` as a string) are turned into lists and
    dicts; extra columns are kept after the standard ones.

    Args:
        frame: One row per record with at least :data:`REQUIRED_COLUMNS`.

    Returns:
        A new frame with :data:`RECORD_COLUMNS` first and a fresh ``RangeIndex``.

    Raises:
        InputError: A required column is missing or a value is out of range.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame of records, got {type(frame).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"the records frame lacks column(s) {missing}; columns found: {list(map(str, frame.columns))}. "
            "Rename them, or build the frame with records_from_rows / records_from_predictions"
        )
    df = frame.reset_index(drop=True)
    ids = df["id"]
    out = pd.DataFrame(index=df.index)
    out["id"] = _text_column(df["id"], "id", ids, required=True)
    out["source"] = _text_column(df.get("source"), "source", ids, required=False, n=len(df))
    out["kind"] = _text_column(df["kind"], "kind", ids, required=True)
    out["created_at"] = _utc_times(df.get("created_at"), ids, len(df))
    out["rating"] = _bounded_numbers(df.get("rating"), "rating", ids, 1.0, 5.0, len(df))
    out["nps"] = _nps(df.get("nps"), ids, len(df))
    out["metadata"] = _objects(df.get("metadata"), len(df), _metadata, ids, "metadata")
    out["sentiment_label"] = _sentiment_labels(df["sentiment_label"], ids)
    out["sentiment_score"] = _bounded_numbers(df["sentiment_score"], "sentiment_score", ids, -1.0, 1.0, len(df))
    _no_gaps(out["sentiment_score"], "sentiment_score", ids)
    out["journey_stage"] = _text_column(df["journey_stage"], "journey_stage", ids, required=True)
    out["touchpoints"] = _objects(df.get("touchpoints"), len(df), _label_scores, ids, "touchpoints")
    out["segments"] = _objects(df.get("segments"), len(df), _segments, ids, "segments")
    out["topic"] = _objects(df.get("topic"), len(df), _topic, ids, "topic")
    out["topic_label"] = pd.Series([t["label"] if t else None for t in out["topic"]], index=df.index, dtype=object)
    extra = [c for c in df.columns if c not in RECORD_COLUMNS]
    return pd.concat([out, df[extra]], axis=1) if extra else out


# ---------------------------------------------------------------------------- columns


def _where(bad: pd.Series | np.ndarray, ids: pd.Series) -> str:
    mask = np.asarray(bad, dtype=bool)
    rows = np.flatnonzero(mask)[:_MAX_SHOWN]
    shown = ", ".join(f"row {r} (id {ids.iloc[r]!r})" for r in rows)
    more = int(mask.sum()) - len(rows)
    return shown + (f" and {more} more" if more > 0 else "")


def _text_column(
    values: pd.Series | None, name: str, ids: pd.Series, *, required: bool, n: int | None = None
) -> pd.Series:
    if values is None:
        return pd.Series([None] * (n or 0), dtype=object)
    empty = values.isna().to_numpy()
    if required and empty.any():
        raise InputError(f"{name} must be given for every record; it is empty in {_where(empty, ids)}")
    out = values.astype(object).where(~empty, None)
    return out.map(lambda v: v if v is None else str(v)).astype(object)


def _no_gaps(values: pd.Series, name: str, ids: pd.Series) -> None:
    empty = values.isna().to_numpy()
    if empty.any():
        raise InputError(f"{name} must be given for every record; it is empty in {_where(empty, ids)}")


def _utc_times(values: pd.Series | None, ids: pd.Series, n: int) -> pd.Series:
    if values is None:
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]")
    if pd.api.types.is_datetime64_any_dtype(values):
        # Naive times are taken as UTC, as the feedback table stores them.
        return pd.to_datetime(values, utc=True).dt.as_unit("us")
    # Text, numbers or objects: read by the one date parser that reads every input file.
    parsed = [_parse_time(value, ids.iloc[i]) for i, value in enumerate(values)]
    return pd.Series(pd.to_datetime(parsed, utc=True), index=values.index).dt.as_unit("us")


def _parse_time(value: object, record_id: object) -> datetime | None:
    from feedback_nlp.dates import DateError, parse_datetime

    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    try:
        return parse_datetime(value)
    except DateError as exc:
        raise InputError(
            f"created_at of record {record_id!r}: {exc}. Fix or drop the rows with malformed times"
        ) from None


def _bounded_numbers(values: pd.Series | None, name: str, ids: pd.Series, low: float, high: float, n: int) -> pd.Series:
    if values is None:
        return pd.Series(np.nan, index=range(n), dtype="float64")
    numbers = pd.to_numeric(values.astype(object).where(values.notna(), None), errors="coerce").astype("float64")
    unreadable = numbers.isna() & values.notna()
    bad = unreadable | ~(numbers.isna() | numbers.between(low, high))
    if bad.any():
        raise InputError(
            f"{name} must be a number in [{low:g}, {high:g}] or empty; out of range or not a number in "
            f"{_where(bad, ids)}, e.g. {values[bad].iloc[0]!r}. Rescale or drop those values"
        )
    return numbers.reset_index(drop=True)


def _nps(values: pd.Series | None, ids: pd.Series, n: int) -> pd.Series:
    numbers = _bounded_numbers(values, "nps", ids, 0.0, 10.0, n)
    fractional = numbers.notna() & (numbers % 1 != 0)
    if fractional.any():
        raise InputError(
            f"nps must be a whole number from 0 to 10; fractional values in {_where(fractional, ids)}. "
            "Pass the answers as given on the 0-10 scale"
        )
    return numbers


def _sentiment_labels(values: pd.Series, ids: pd.Series) -> pd.Series:
    labels = values.astype(object)
    bad = ~labels.isin(SENTIMENT_LABELS)
    if bad.any():
        raise InputError(
            f"sentiment_label must be one of {list(SENTIMENT_LABELS)}; {_where(bad, ids)} hold(s) "
            f"{sorted(set(map(str, labels[bad])))[:_MAX_SHOWN]}. Map your labels to these three first"
        )
    return labels.map(str).astype(object).reset_index(drop=True)


def _objects(values: pd.Series | None, n: int, convert: Callable[[Any], Any], ids: pd.Series, name: str) -> pd.Series:
    if values is None:
        return pd.Series([convert(None)] * n, dtype=object)
    out = []
    for position, value in enumerate(values):
        try:
            out.append(convert(value))
        except (TypeError, ValueError, KeyError) as exc:
            raise InputError(
                f"{name} of row {position} (id {ids.iloc[position]!r}) cannot be read: {exc}. "
                "See feedback_nlp.scoring.frame for the expected shape"
            ) from None
    return pd.Series(out, dtype=object)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_list(value: Any) -> list[Any]:
    if type(value) is list:  # the common case, checked first: this runs for every nested value
        return value
    if _is_missing(value):
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return list(value)


def _as_dict(value: Any) -> dict[str, Any]:
    if type(value) is dict:
        return value
    if isinstance(value, str):
        value = json.loads(value)
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a mapping, got {type(value).__name__}")
    return dict(value)


def _metadata(value: Any) -> dict[str, Any]:
    return {} if _is_missing(value) else dict(_as_dict(value))


def _label_scores(value: Any) -> list[dict[str, Any]]:
    out = []
    for item in _as_list(value):
        entry = _as_dict(item)
        confidence = entry.get("confidence")
        out.append({"label": str(entry["label"]), "confidence": math.nan if confidence is None else float(confidence)})
    return out


def _segments(value: Any) -> list[dict[str, Any]]:
    out = []
    for item in _as_list(value):
        segment = _as_dict(item)
        sentiment = _as_dict(segment["sentiment"])
        label, score = str(sentiment["label"]), float(sentiment["score"])
        if label not in SENTIMENT_LABELS or not -1.0 <= score <= 1.0:
            raise ValueError(f"a segment's sentiment must be one of {list(SENTIMENT_LABELS)} with a score in [-1, 1]")
        out.append(
            {"sentiment": {"label": label, "score": score}, "touchpoints": _label_scores(segment.get("touchpoints"))}
        )
    return out


def _topic(value: Any) -> dict[str, Any] | None:
    if _is_missing(value):
        return None
    topic = _as_dict(value)
    return {"id": topic.get("id"), "label": str(topic["label"]), "confidence": topic.get("confidence")}


# ---------------------------------------------------------------------------- fields


def metadata_text(value: Any) -> str | None:
    """A metadata value as the text it is grouped by: strings as they are, others as compact JSON.

    DuckDB's ``json_extract_string`` gives the same text, so both engines form the same groups.

    Examples:
        >>> [metadata_text(v) for v in ("EU", 3, True, None, [1, 2])]
        ['EU', '3', 'true', None, '[1,2]']
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def with_fields(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """``frame`` with a column for each name that is not one yet, taken from ``metadata``.

    A name that is a column is used as it is; any other name is read as a metadata key
    (values as in :func:`metadata_text`; None where a record lacks the key).

    Args:
        frame: A records frame (or a mentions frame built with the metadata keys).
        names: Column names or metadata keys.

    Returns:
        ``frame`` itself when every name is a column, else a copy with the new columns.

    Raises:
        InputError: A name is neither a column nor a key in any record's metadata.
    """
    wanted = [n for n in dict.fromkeys(names) if n not in frame.columns]
    if not wanted:
        return frame
    if "metadata" not in frame.columns:
        raise InputError(
            f"{wanted} are not columns ({list(map(str, frame.columns))}) and the frame has no metadata "
            "to read them from; group by a column, or pass the records frame"
        )
    out = frame.copy()
    known: set[str] = set()
    for meta in frame["metadata"]:
        known.update(meta)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise InputError(
            f"cannot group by {unknown}: not a column ({sorted(map(str, frame.columns))}) nor a metadata key "
            f"of any record ({sorted(known)[:20]}). Check the spelling"
        )
    for name in wanted:
        out[name] = pd.Series([metadata_text(m.get(name)) for m in frame["metadata"]], index=frame.index, dtype=object)
    return out


# ---------------------------------------------------------------------------- mentions


def segment_sentiment(segments: Sequence[Mapping[str, Any]]) -> tuple[str, float]:
    """The sentiment of a touchpoint from the segments about it: majority label, mean score.

    The label is the one most segments carry; when labels tie, the tied label of the
    latest segment wins (the taxonomy's rule for mixed texts: "the one in the last
    clause"). The score is the arithmetic mean of the segments' scores. Computed by the
    mention rule itself (:func:`~feedback_nlp.scoring.duck.mention_rule_sql`).

    Args:
        segments: At least one segment, in text order, as in the records frame.

    Returns:
        ``(label, score)``.

    Examples:
        >>> seg = lambda label, score: {"sentiment": {"label": label, "score": score}}
        >>> segment_sentiment([seg("positive", 0.5), seg("negative", -0.25)])
        ('negative', 0.125)
        >>> segment_sentiment([seg("negative", -0.5), seg("negative", -0.25), seg("positive", 0.75)])
        ('negative', 0.0)
    """
    from feedback_nlp.scoring.duck import frame_mentions

    if not segments:
        raise ValueError("segment_sentiment needs at least one segment")
    about = [{"sentiment": s["sentiment"], "touchpoints": [{"label": "_", "confidence": None}]} for s in segments]
    record = pd.DataFrame({"sentiment_label": ["neutral"], "sentiment_score": [0.0], "touchpoints": [[]],
                           "segments": [_segments(about)]})  # fmt: skip
    row = frame_mentions(record).iloc[0]
    return str(row["sentiment_label"]), float(row["sentiment_score"])


def record_touchpoints(records: pd.DataFrame) -> pd.Series:
    """Each record's touchpoints as :func:`mentions` counts them: whole-text plus segment ones, sorted.

    Examples:
        >>> record_touchpoints(records).tolist()    # doctest: +SKIP
        [['delivery', 'mobile_app'], [], ['phone']]
    """
    from feedback_nlp.scoring.duck import frame_mentions

    found = frame_mentions(records)
    names: list[list[str]] = [[] for _ in range(len(records))]
    for position, name in zip(found["_position"], found["touchpoint"], strict=True):
        names[position].append(name)
    return pd.Series(names, index=records.index, dtype=object)


def mentions(records: pd.DataFrame, *, metadata_keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per (record, touchpoint): the unit that touchpoint scores count.

    The rule runs in the local engine's SQL (:func:`~feedback_nlp.scoring.duck.mention_rule_sql`,
    its one definition); this function adds the record columns to its rows. A record's touchpoints
    are those predicted for the whole text plus any that a segment carries (the whole-text view
    sees only the first tokens of a long text; the segments see every sentence). A text with several
    touchpoints counts once toward each; a record without touchpoints has no mention row.

    Each mention's sentiment comes from the segments about that touchpoint, when there
    are any (``sentiment_from == "segments"``): the majority label, ties going to the
    latest segment, and the mean score (:func:`segment_sentiment`). Otherwise it is the
    text's own sentiment (``sentiment_from == "text"``).

    Args:
        records: A records frame (see the module docstring), possibly with a ``period``.
        metadata_keys: Metadata keys to add as columns (see :func:`with_fields`).

    Returns:
        Columns :data:`MENTION_COLUMNS` (``touchpoint_confidence`` is the whole-text
        confidence, or the highest segment confidence for a touchpoint only segments
        carry), then every other non-nested column of ``records`` (``source``, ``kind``,
        ``created_at``, ``rating``, ``nps``, ``journey_stage``, ``topic_label``,
        ``period`` if present, ...), then ``metadata_keys``. Rows follow the records'
        order, and touchpoint names within a record.

    Raises:
        InputError: A metadata key is unknown or collides with a column.

    Examples:
        >>> mentions(records)[["id", "touchpoint", "sentiment_label", "sentiment_from"]]  # doctest: +SKIP
    """
    missing = [c for c in ("id", "touchpoints", "segments", "sentiment_label", "sentiment_score") if c not in records]
    if missing:
        raise InputError(
            f"mentions needs a records frame; column(s) {missing} are missing. Build it with "
            "records_from_rows, records_from_frame or records_from_predictions"
        )
    clash = [k for k in metadata_keys if k in records.columns]
    if clash:
        raise InputError(f"metadata key(s) {clash} are already columns of the frame; group by the column instead")
    from feedback_nlp.scoring.duck import frame_mentions

    frame = with_fields(records, metadata_keys)
    found = frame_mentions(frame)
    carried = [c for c in frame.columns if c not in NESTED_COLUMNS and c not in MENTION_COLUMNS]
    base = frame.iloc[found["_position"].to_numpy()][["id", *carried]].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "id": base["id"],
            "touchpoint": found["touchpoint"].astype(object),
            "touchpoint_confidence": found["touchpoint_confidence"],
            "sentiment_label": found["sentiment_label"].astype(object),
            "sentiment_score": found["sentiment_score"],
            "sentiment_from": found["sentiment_from"].astype(object),
        }
    )
    return pd.concat([out, base[carried]], axis=1)
