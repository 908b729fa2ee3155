"""Reading labels back: Label Studio exports, Argilla exports and plain CSV, into one table.

Recognised inputs (the format is detected from the file's content):

- **Label Studio JSON** (*Export > JSON*): a list of tasks, each with ``data`` and
  ``annotations``; an annotation's ``result`` holds ``{"type": "choices", "from_name": "label",
  "value": {"choices": [...]}}``. Cancelled (skipped) annotations are ignored; an annotation
  marked ``ground_truth`` decides on its own. Predictions are never read as labels.
- **Label Studio JSON-MIN** (*Export > JSON-MIN*): flat rows with the data keys, the choice
  column (a string, or ``{"choices": [...]}`` for several) and ``annotator``; one row per annotation.
- **Label Studio CSV**, and any **plain CSV**: a text column and a label column (``|`` between
  labels for multi-label tasks; Label Studio's ``{"choices": [...]}`` cells are read too).
- **Argilla 2.x** ``records.json`` (``Dataset.to_disk`` / ``records.to_json``): nested records with
  ``fields`` and ``responses: {"label": [{"value", "user_id", "status"}]}``.
- **Argilla 2.x flat** records (``records.to_list(flatten=True)``, or a Hub export saved as JSON
  or JSONL): ``label.responses``, ``label.responses.users``, ``label.responses.status``.
- **Argilla 1.x** FeedbackDataset exports: ``label: [{"user_id", "value", "status"}]``.

Only submitted answers count (Argilla ``discarded`` and ``draft`` ones do not). Several
annotators of one text are combined by majority (per label for multi-label tasks); a tie leaves
the text out and is counted as a conflict.

The result has the columns ``id, kind, text, label, task, annotators, agreement, source_format``:
the ``label`` column is what ``feedback-nlp taxonomy fit --examples`` reads. For the default tasks
a column named after the task (``sentiment``, ``journey_stage`` or ``touchpoints``) repeats the
label, the shape heads-only retraining (:mod:`feedback_nlp.train.retrain`) reads.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from feedback_nlp.errors import InputError
from feedback_nlp.labelling.export_formats import QUESTION, TEXT_FIELD

COLUMNS = ["id", "kind", "text", "label", "task", "annotators", "agreement", "source_format"]
#: The default tasks' own column names, as heads-only retraining (``feedback_nlp.train.retrain``) reads them.
TASK_COLUMNS = ("sentiment", "journey_stage", "touchpoints")
SUBMITTED = {None, "submitted"}


@dataclass
class Answers:
    """Every usable answer given for one text."""

    id: str
    text: str
    task: str | None
    kind: str | None = None
    answers: list[list[str]] = field(default_factory=list)  # one label list per annotator
    decided: list[str] | None = None  # a ground-truth annotation, when there is one


@dataclass
class ImportResult:
    """The labelled table and what was left out."""

    frame: pd.DataFrame
    source_format: str
    unlabelled: int = 0
    conflicts: int = 0
    task: str = "custom"

    def summary(self) -> str:
        return (
            f"{len(self.frame)} labelled text(s) from {self.source_format}; {self.unlabelled} without a "
            f"submitted label and {self.conflicts} tied between annotators were left out"
        )


def _as_labels(value: Any) -> list[str]:
    """A cell or answer value as a list of labels."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, dict):
        value = value.get("choices", [])
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{") or text.startswith("["):
            try:
                return _as_labels(json.loads(text))
            except json.JSONDecodeError:
                pass
        return [part.strip() for part in text.split("|") if part.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value).strip()]


# ------------------------------------------------------------------------------- Label Studio


def _label_studio_choices(result: Iterable[dict[str, Any]], question: str | None) -> list[str] | None:
    for item in result:
        if item.get("type") != "choices":
            continue
        if question is not None and item.get("from_name") != question:
            continue
        return _as_labels(item.get("value", {}).get("choices", []))
    return None


def parse_label_studio(tasks: list[dict[str, Any]], *, text_key: str, question: str | None) -> list[Answers]:
    """Label Studio's JSON export (tasks with ``annotations``)."""
    out = []
    for position, task in enumerate(tasks):
        data = task.get("data") or {}
        text = data.get(text_key)
        if not isinstance(text, str):
            raise InputError(
                f"Label Studio task {task.get('id', position + 1)} has no text under data.{text_key}; its data keys "
                f"are {sorted(data)}. Pass --text-column with the right key."
            )
        entry = Answers(str(data.get("id", task.get("id", position + 1))), text, data.get("task"), data.get("kind"))
        for annotation in task.get("annotations") or []:
            if annotation.get("was_cancelled"):
                continue
            choices = _label_studio_choices(annotation.get("result") or [], question)
            if not choices:
                continue
            entry.answers.append(choices)
            if annotation.get("ground_truth"):
                entry.decided = choices
        out.append(entry)
    return out


# ------------------------------------------------------------------------------------ Argilla


def parse_argilla_nested(records: list[dict[str, Any]], *, text_key: str, question: str) -> list[Answers]:
    """Argilla 2.x ``records.json``: ``fields``, ``responses: {question: [{value, user_id, status}]}``."""
    out = []
    for position, record in enumerate(records):
        fields = record.get("fields") or {}
        text = fields.get(text_key)
        if not isinstance(text, str):
            raise InputError(
                f"Argilla record {record.get('id', position + 1)} has no field {text_key!r}; its fields "
                f"are {sorted(fields)}. Pass --text-column with the right field name."
            )
        metadata = record.get("metadata") or {}
        entry = Answers(str(record.get("id") or position + 1), text, metadata.get("task"), metadata.get("kind"))
        for response in (record.get("responses") or {}).get(question, []) or []:
            if response.get("status") in SUBMITTED and _as_labels(response.get("value")):
                entry.answers.append(_as_labels(response.get("value")))
        out.append(entry)
    return out


def parse_argilla_flat(records: list[dict[str, Any]], *, text_key: str, question: str) -> list[Answers]:
    """Argilla 2.x flat records (``label.responses`` lists) and 1.x ones (``label: [{value, status}]``)."""
    out = []
    for position, record in enumerate(records):
        text = record.get(text_key)
        if not isinstance(text, str):
            raise InputError(
                f"Argilla record {record.get('id', position + 1)} has no {text_key!r} key; its keys are "
                f"{sorted(record)[:20]}. Pass --text-column with the right field name."
            )
        entry = Answers(
            str(record.get("id") or record.get("external_id") or position + 1),
            text,
            record.get("task"),
            record.get("kind"),
        )
        values = record.get(f"{question}.responses")
        if values is not None:
            statuses = record.get(f"{question}.responses.status") or [None] * len(values)
            for value, status in zip(values, statuses, strict=False):
                if status in SUBMITTED and _as_labels(value):
                    entry.answers.append(_as_labels(value))
        else:
            for response in record.get(question) or []:  # Argilla 1.x
                if (
                    isinstance(response, dict)
                    and response.get("status") in SUBMITTED
                    and _as_labels(response.get("value"))
                ):
                    entry.answers.append(_as_labels(response.get("value")))
        out.append(entry)
    return out


# ------------------------------------------------------------------------------- plain tables


def parse_rows(rows: Iterable[dict[str, Any]], *, text_key: str, label_key: str, id_key: str) -> list[Answers]:
    """Flat rows (CSV, Label Studio JSON-MIN): rows sharing an id (or a text) are one text's answers."""
    grouped: dict[str, Answers] = {}
    for position, row in enumerate(rows):
        text = row.get(text_key)
        if not isinstance(text, str) or not text.strip():
            continue
        key = str(row.get(id_key) or text)
        entry = grouped.setdefault(
            key, Answers(str(row.get(id_key) or position + 1), text, row.get("task") or None, row.get("kind") or None)
        )
        labels = _as_labels(row.get(label_key))
        if labels:
            entry.answers.append(labels)
    return list(grouped.values())


# ----------------------------------------------------------------------------------- combining


def combine(entry: Answers, *, multi_label: bool) -> tuple[list[str] | None, float]:
    """The agreed labels of one text (None on a tie) and the share of annotators who gave exactly them."""
    if entry.decided is not None:
        labels = entry.decided
    elif multi_label:
        counts = Counter(label for answer in entry.answers for label in set(answer))
        half = len(entry.answers) / 2
        if any(count == half for count in counts.values()):
            return None, 0.0
        labels = sorted(label for label, count in counts.items() if count > half)
    else:
        votes = Counter(answer[0] for answer in entry.answers if answer)
        ranked = votes.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            return None, 0.0
        labels = [ranked[0][0]]
    agreement = sum(sorted(set(a)) == sorted(set(labels)) for a in entry.answers) / max(len(entry.answers), 1)
    return labels, agreement


def detect_format(data: Any) -> str:
    """``label_studio``, ``argilla``, ``argilla_flat`` or ``rows`` for a parsed JSON list."""
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise InputError(
            "Expected a JSON list of tasks or records (a Label Studio or Argilla export); "
            f"got {type(data).__name__}{' (empty)' if data == [] else ''}."
        )
    first = data[0]
    if "annotations" in first or ("data" in first and isinstance(first["data"], dict)):
        return "label_studio"
    if "fields" in first and isinstance(first["fields"], dict):
        return "argilla"
    if any(key.endswith(".responses") for key in first) or any(
        isinstance(v, list) and v and isinstance(v[0], dict) and "value" in v[0] for v in first.values()
    ):
        return "argilla_flat"
    return "rows"


def _load(path: Path) -> tuple[str, Any]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                return "csv", list(csv.DictReader(handle))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"Label file {path} does not exist.") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"Cannot read label file {path}: {exc}") from exc
    try:
        if suffix in (".jsonl", ".ndjson"):
            return "json", [json.loads(line) for line in text.splitlines() if line.strip()]
        if suffix == ".json":
            return "json", json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"Label file {path} is not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    raise InputError(f"Label file {path}: expected .json or .jsonl (Label Studio, Argilla) or .csv, got {suffix!r}.")


def read_labels(
    path: str | Path,
    *,
    task: str | None = None,
    multi_label: bool | None = None,
    allowed: Sequence[str] | None = None,
    text_column: str = TEXT_FIELD,
    label_column: str = QUESTION,
    id_column: str = "id",
) -> ImportResult:
    """Read a labelling export into the normalised table (see the module docstring).

    Args:
        path: the export file.
        task: the task name written into every row; default: the one the export carries
            (``feedback-nlp label export`` stores it), else ``custom``.
        multi_label: several labels per text; majority is then per label. Default: only for
            the ``touchpoints`` task.
        allowed: the labels the task knows; an unknown label is an error.
        text_column: the text key / field / column.
        label_column: the question name (Label Studio ``from_name``, Argilla question) or column.
        id_column: the id column of flat rows.

    Raises:
        InputError: the file cannot be read, has no text, or holds a label not in ``allowed``.
    """
    path = Path(path)
    kind, data = _load(path)
    if kind == "csv":
        if data and text_column not in data[0]:
            raise InputError(
                f"{path} has no column {text_column!r}; its columns are {list(data[0])}. Pass --text-column."
            )
        source_format, entries = "csv", parse_rows(data, text_key=text_column, label_key=label_column, id_key=id_column)
    else:
        source_format = detect_format(data)
        if source_format == "label_studio":
            entries = parse_label_studio(data, text_key=text_column, question=label_column)
        elif source_format == "argilla":
            entries = parse_argilla_nested(data, text_key=text_column, question=label_column)
        elif source_format == "argilla_flat":
            entries = parse_argilla_flat(data, text_key=text_column, question=label_column)
        else:
            source_format = "json_rows"
            entries = parse_rows(data, text_key=text_column, label_key=label_column, id_key=id_column)
    if task is None:
        found = {entry.task for entry in entries if entry.task}
        task = found.pop() if len(found) == 1 else None
    if multi_label is None:
        multi_label = task == "touchpoints"
    return _table(entries, path, source_format, task=task, multi_label=multi_label, allowed=allowed)


def _table(
    entries: list[Answers],
    path: Path,
    source_format: str,
    *,
    task: str | None,
    multi_label: bool,
    allowed: Sequence[str] | None,
) -> ImportResult:
    rows, unlabelled, conflicts = [], 0, 0
    for entry in entries:
        if not entry.answers and entry.decided is None:
            unlabelled += 1
            continue
        labels, agreement = combine(entry, multi_label=multi_label)
        if labels is None:
            conflicts += 1
            continue
        rows.append(
            {
                "id": entry.id,
                "kind": entry.kind or "",
                "text": entry.text,
                "label": "|".join(labels),
                "task": task or entry.task or "custom",
                "annotators": len(entry.answers),
                "agreement": round(agreement, 3),
                "source_format": source_format,
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if task in TASK_COLUMNS:
        frame[task] = frame["label"]  # the column heads-only retraining reads for this task
    result = ImportResult(frame, source_format, unlabelled, conflicts, task or "custom")
    if allowed is not None:
        validate_labels(result, allowed, str(path))
    return result


def validate_labels(result: ImportResult, allowed: Sequence[str], source: str) -> None:
    """Raise if a label of ``result`` is not in ``allowed``.

    Raises:
        InputError: naming the unknown labels, a few ids carrying each, and the known labels.
    """
    unknown: dict[str, list[str]] = defaultdict(list)
    for record_id, cell in zip(result.frame["id"], result.frame["label"], strict=True):
        for label in str(cell).split("|"):
            if label and label not in allowed:
                unknown[label].append(str(record_id))
    if unknown:
        shown = "; ".join(f"{label!r} (ids {', '.join(ids[:3])})" for label, ids in list(unknown.items())[:5])
        raise InputError(
            f"{source}: label(s) not among the task's labels {list(allowed)}: {shown}. "
            "Fix them in the labelling tool, or import with the right --task."
        )
