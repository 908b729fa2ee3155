"""Evaluation against the hand-labelled gold set, through the full prediction path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from feedback_nlp.errors import DataError
from feedback_nlp.fileio import RowOptions, make_row
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, Taxonomy
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Prediction
from feedback_nlp.train.datasets import load_gold
from feedback_nlp.train.label_cells import LABEL_COLUMNS, TOUCHPOINTS_UNKNOWN, case_hint, is_missing, touchpoint_cell
from feedback_nlp.train.metrics import expected_calibration_error, multi_label_report, single_label_report

#: The gold set's kinds, as record kinds.
GOLD_KINDS = {
    "complaint": FeedbackKind.SURVEY,
    "support_message": FeedbackKind.SURVEY,
    "review": FeedbackKind.REVIEW,
    "social": FeedbackKind.SOCIAL,
}
#: Every kind a gold row may give (any case): the record kinds and the gold set's own.
ACCEPTED_KINDS = tuple(dict.fromkeys([*(k.value for k in FeedbackKind), *GOLD_KINDS]))
#: What to write instead of kinds people try.
_KIND_HINTS = {
    "chat": "a chat is kind 'transcript' with channel 'chat'",
    "call": "a call is kind 'transcript' with channel 'phone'",
    "phone": "a call is kind 'transcript' with channel 'phone'",
    "email": "an email is kind 'survey' (or 'complaint') with channel 'email'",
    "tweet": "a post is kind 'social'",
    "post": "a post is kind 'social'",
}

REQUIRED_GOLD_COLUMNS = ("text", "sentiment", "journey_stage", "touchpoints")
#: The per-source reports' name for rows that give no source (the records get none).
NO_SOURCE = "(no source)"
#: Row problems shown in one error; the rest are counted.
_SHOWN_PROBLEMS = 3


def prepare_gold(
    gold: pd.DataFrame,
    path: Path | str = "gold",
    *,
    taxonomy: Taxonomy | None = None,
    places: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Check a gold table and put it in canonical form: every row a valid record with known labels.

    Fills the optional columns (id, kind, source), reads each ``kind`` in any case, and turns
    touchpoints given as one string (``"billing;phone"``) into lists, as retraining reads them.
    Each row must carry a sentiment of :data:`SENTIMENT_LABELS`, a journey stage and a list of
    touchpoints (``[]`` when none applies) and be a valid feedback record (a non-empty ``text``,
    or ``turns``). With ``taxonomy`` (the evaluated model's), stages and touchpoints must be its labels.

    Args:
        gold: the rows, as :func:`~feedback_nlp.train.datasets.load_gold` reads them.
        path: the file, for messages.
        taxonomy: the labels' taxonomy; None checks the stages and touchpoints' form only.
        places: where each row is in the file (``line 4``), for messages; by default the frame's
            ``attrs["places"]`` (set by ``load_gold``), else ``row N``.

    Raises:
        DataError: a label column is missing, or rows have missing, malformed or unknown labels, an
            unknown kind or no text; the message names the file, the rows and what is allowed.
    """
    if places is None:
        places = gold.attrs.get("places")
    # A transcript may give its turns instead of a text, as classify reads it.
    missing = [c for c in REQUIRED_GOLD_COLUMNS if c not in gold.columns and not (c == "text" and "turns" in gold)]
    if missing:
        raise DataError(
            f"{path} lacks the column(s) {missing}; each line needs text, sentiment, "
            f"journey_stage and touchpoints (a list). Found: {sorted(map(str, gold.columns))}"
        )
    gold = gold.reset_index(drop=True).copy()
    where = (
        list(places) if places is not None and len(places) == len(gold) else [f"row {i + 1}" for i in range(len(gold))]
    )
    if "id" not in gold.columns:
        gold["id"] = [str(i + 1) for i in range(len(gold))]
    else:
        gold["id"] = [str(i + 1) if is_missing(v) else _id_text(v) for i, v in enumerate(gold["id"])]
    gold["kind"] = pd.Series(
        ["survey"] * len(gold) if "kind" not in gold.columns else list(gold["kind"]), index=gold.index, dtype=object
    )
    # Sources filled here are for the per-source reports only: the records get none (see gold_records).
    filled = []
    if "source" not in gold.columns:
        gold["source"] = "all"
        filled.append("source")
    else:
        gold["source"] = [NO_SOURCE if is_missing(v) or str(v).strip() == "" else str(v) for v in gold["source"]]
    stages = None if taxonomy is None else taxonomy.stage_labels
    touchpoints = None if taxonomy is None else taxonomy.touchpoint_labels
    named = "" if taxonomy is None else f" of the model's taxonomy ({taxonomy.name} v{taxonomy.version})"
    problems: list[str] = []
    kinds, sentiments, journey, tps = [], [], [], []
    for i, row in enumerate(gold.to_dict("records")):
        found: list[str] = []
        kinds.append(_gold_kind(row["kind"], found))
        sentiments.append(_single_label(row["sentiment"], "sentiment", list(SENTIMENT_LABELS), "", found))
        journey.append(_single_label(row["journey_stage"], "journey_stage", stages, named, found))
        tps.append(_touchpoints(row["touchpoints"], touchpoints, named, found))
        if not found:
            values = _record_values(row, kinds[-1], filled)
            result = make_row(i + 1, values, _ROW_OPTIONS, fields=_RECORD_FIELDS, stringify=False)
            if result.error is not None:
                found.append(result.error)
        problems.extend(f"{where[i]}: {problem}" for problem in found)
    if problems:
        more = len(problems) - _SHOWN_PROBLEMS
        raise DataError(
            f"{path}, {'; '.join(problems[:_SHOWN_PROBLEMS])}"
            + (f"; and {more} more problem(s)" if more > 0 else "")
            + ". Fix these rows: a gold row needs a text, one sentiment, one journey stage and a list of touchpoints."
        )
    gold["kind"] = kinds
    gold["sentiment"] = pd.Series(sentiments, index=gold.index, dtype=object)
    gold["journey_stage"] = pd.Series(journey, index=gold.index, dtype=object)
    gold["touchpoints"] = pd.Series(tps, index=gold.index, dtype=object)
    gold.attrs = {"filled": filled}
    return gold


def read_gold(path: Path | str, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """A gold file read (:func:`~feedback_nlp.train.datasets.load_gold`) and checked (:func:`prepare_gold`)."""
    return prepare_gold(load_gold(path), path, taxonomy=taxonomy)


def labels_outside(gold: pd.DataFrame, taxonomy: Taxonomy) -> dict[str, list[str]]:
    """The journey stages and touchpoints of a prepared gold table that ``taxonomy`` lacks, by column."""
    stages = sorted({str(v) for v in gold["journey_stage"]} - set(taxonomy.stage_labels))
    touchpoints = sorted({str(t) for cell in gold["touchpoints"] for t in cell} - set(taxonomy.touchpoint_labels))
    return {column: labels for column, labels in (("journey_stage", stages), ("touchpoints", touchpoints)) if labels}


def record_kind(kind: str) -> FeedbackKind:
    """The record kind of a gold row's (canonical) kind: the gold set's complaint and
    support_message are classified as surveys."""
    return GOLD_KINDS.get(kind) or FeedbackKind(kind)


def gold_records(gold: pd.DataFrame) -> list[FeedbackRecord]:
    """The rows of a prepared gold table as feedback records, built as ``feedback-nlp classify``
    reads a JSONL file: every record field the row gives (``channel``, ``turns``, ``created_at``,
    ``rating``, ...) is kept, other columns but the labels go to ``metadata``.

    Raises:
        DataError: a row is not a valid record (a table that did not go through :func:`prepare_gold`).
    """
    records = []
    filled = gold.attrs.get("filled", [])
    for i, row in enumerate(gold.to_dict("records")):
        values = _record_values(row, str(row["kind"]), filled)
        result = make_row(i + 1, values, _ROW_OPTIONS, fields=_RECORD_FIELDS, stringify=False)
        if result.record is None:
            raise DataError(f"gold row {i + 1} is not a valid feedback record: {result.error}")
        records.append(result.record)
    return records


#: How gold rows become records: as ``classify`` reads JSON Lines, with kind survey where none is given.
_ROW_OPTIONS = RowOptions(default_kind=FeedbackKind.SURVEY, text_column="text", id_column="id")
_RECORD_FIELDS = frozenset({"kind", "created_at", "channel", "source", "rating", "nps", "turns", "metadata"})


def _record_values(row: dict[str, Any], kind: str, filled: Sequence[str]) -> dict[str, Any]:
    """A gold row's record fields (and metadata), as the row gives them: no label, nothing filled in."""
    values = {k: v for k, v in row.items() if k not in LABEL_COLUMNS and k not in filled and not is_missing(v)}
    if values.get("source") == NO_SOURCE:
        del values["source"]
    values["kind"] = record_kind(kind).value if kind in ACCEPTED_KINDS else kind
    return values


def _id_text(value: Any) -> str:  # noqa: ANN401 (a JSON id)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # integer ids that a missing one turned into floats
    return str(value)


def _gold_kind(value: Any, problems: list[str]) -> str:  # noqa: ANN401 (a JSON value)
    """A row's kind in canonical (lower) case; ``survey`` when it gives none."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return "survey"
    kind = str(value).strip().lower()
    if not isinstance(value, str) or kind not in ACCEPTED_KINDS:
        hint = f" ({_KIND_HINTS[kind]})" if kind in _KIND_HINTS else ""
        problems.append(f"kind {value!r} is not a kind{hint}; expected one of {', '.join(ACCEPTED_KINDS)} (any case)")
    return kind


def _single_label(
    value: Any,  # noqa: ANN401 (a JSON value)
    column: str,
    allowed: list[str] | None,
    named: str,
    problems: list[str],
) -> str | None:
    """A sentiment or journey-stage cell: a label of ``allowed`` (any non-empty string when None)."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        expected = f"one of {allowed}" if allowed is not None else "a label"
        problems.append(f"{column} is missing; every gold row needs {expected}")
        return None
    if not isinstance(value, str) or (allowed is not None and value not in allowed):
        hint = case_hint(value, allowed) if isinstance(value, str) and allowed is not None else ""
        expected = f"one of {allowed}" if allowed is not None else "a label (a string)"
        problems.append(f"{column} {value!r} is not a label{named}{hint}; expected {expected}")
        return None
    return value


def _touchpoints(
    value: Any,  # noqa: ANN401 (a JSON value)
    allowed: list[str] | None,
    named: str,
    problems: list[str],
) -> list[str] | None:
    """A touchpoints cell: a list of labels, or one string of labels separated by ``;`` or ``,``."""
    if isinstance(value, list | tuple) and not all(isinstance(v, str) for v in value):
        problems.append(f"touchpoints {list(value)!r} must be a list of labels (strings)")
        return None
    if not isinstance(value, list | tuple | str) and not is_missing(value):
        problems.append(f"touchpoints {value!r} must be a list of labels, [] when none applies")
        return None
    cell = touchpoint_cell(value)
    if cell is None:
        shown = "null" if is_missing(value) else repr(value)
        unknown = " (unknown)" if not is_missing(value) and str(value).strip() == TOUCHPOINTS_UNKNOWN else ""
        problems.append(
            f"touchpoints is {shown}{unknown}; a gold row gives the list of its touchpoints, [] when none applies"
        )
        return None
    bad = [label for label in cell if allowed is not None and label not in allowed]
    if bad:
        hint = case_hint(bad[0], allowed or [])
        problems.append(f"touchpoints {bad} are not labels{named}{hint}; expected labels from {allowed}")
        return None
    return cell


def score_predictions(
    gold: pd.DataFrame, predictions: Sequence[Prediction], stages: Sequence[str], touchpoints: Sequence[str]
) -> dict[str, Any]:
    """Sentiment, journey-stage and touchpoint reports for predictions aligned with ``gold``."""
    sentiment = [p.sentiment.label for p in predictions]
    stage = [p.journey_stage.label for p in predictions]
    tps = [[t.label for t in p.touchpoints] for p in predictions]
    sentiment_confidence = [max((p.sentiment.probabilities or {"": 1.0}).values()) for p in predictions]
    return {
        "sentiment": single_label_report(list(gold["sentiment"]), sentiment, SENTIMENT_LABELS),
        "journey_stage": single_label_report(list(gold["journey_stage"]), stage, stages),
        "touchpoints": multi_label_report(list(gold["touchpoints"]), tps, touchpoints),
        "calibration": {
            "sentiment_ece": expected_calibration_error(
                sentiment_confidence, [a == b for a, b in zip(sentiment, gold["sentiment"], strict=True)]
            ),
            "journey_stage_ece": expected_calibration_error(
                [p.journey_stage.confidence for p in predictions],
                [a == b for a, b in zip(stage, gold["journey_stage"], strict=True)],
            ),
        },
    }


def headline(report: dict[str, Any]) -> dict[str, float]:
    """The numbers the targets are stated in (and the calibration errors, where the report has them)."""
    calibration = report.get("calibration", {})
    return {
        "sentiment_macro_f1": report["sentiment"]["macro_f1"],
        "sentiment_accuracy": report["sentiment"]["accuracy"],
        "journey_stage_macro_f1": report["journey_stage"]["macro_f1"],
        "journey_stage_accuracy": report["journey_stage"]["accuracy"],
        "touchpoints_micro_f1": report["touchpoints"]["micro_f1"],
        "touchpoints_macro_f1": report["touchpoints"]["macro_f1"],
        **calibration,
    }


def evaluate_gold(pipeline: Any, gold_path: Path | str) -> dict[str, Any]:  # noqa: ANN401 (a pipeline or a stand-in)
    """Run ``pipeline`` over the gold set; overall and per-source reports.

    The gold rows are checked against the pipeline's taxonomy first (:func:`prepare_gold`);
    ``gold_file`` in the report names the file and its number of rows.
    """
    gold = read_gold(gold_path, pipeline.taxonomy)
    report = evaluate_frame(pipeline, gold)
    report["gold_file"] = gold_file_info(gold_path, gold)
    return report


def gold_file_info(gold_path: Path | str, gold: pd.DataFrame) -> dict[str, Any]:
    """What a report says of the gold file it was measured on: its name and its number of rows."""
    return {"name": Path(gold_path).name, "rows": len(gold)}


def evaluate_frame(pipeline: Any, gold: pd.DataFrame) -> dict[str, Any]:
    """Run ``pipeline`` over a prepared gold table (e.g. a sample of it); as :func:`evaluate_gold`."""
    predictions = pipeline.predict(gold_records(gold))
    return evaluate_predictions(gold, predictions, pipeline.taxonomy.stage_labels, pipeline.taxonomy.touchpoint_labels)


def evaluate_predictions(
    gold: pd.DataFrame, predictions: Sequence[Prediction], stages: Sequence[str], touchpoints: Sequence[str]
) -> dict[str, Any]:
    """Overall, per-source and headline reports for predictions aligned with a prepared ``gold``."""
    gold = gold.reset_index(drop=True)
    report = score_predictions(gold, predictions, stages, touchpoints)
    for column in ("source", "kind"):
        report[f"by_{column}"] = {}
        for value, rows in gold.groupby(column):
            subset = [predictions[gold.index.get_loc(i)] for i in rows.index]
            report[f"by_{column}"][value] = headline(
                score_predictions(rows.reset_index(drop=True), subset, stages, touchpoints)
            ) | {
                "none_rate_predicted": sum(p.journey_stage.label == "none" for p in subset) / len(subset),
                "none_rate_labelled": float((rows["journey_stage"] == "none").mean()),
            }
    report["headline"] = headline(report)
    return report
