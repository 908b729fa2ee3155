"""Writing a labelling batch: a CSV, a Label Studio import (tasks + labelling config) and an
Argilla import file.

``feedback-nlp label export`` writes into one folder:

```
to_label.csv                 rank, id, kind, text, suggestion, confidence, uncertainty, task, label (empty)
label_studio_tasks.json      Label Studio tasks: {"data": {...}, "predictions": [...]}
label_studio_config.xml      the labelling interface: the text and one choice per label
argilla_records.json         Argilla 2.x records as flat dicts (text, label.suggestion, ...)
manifest.json                task, labels, model, selection settings, counts
```

Label Studio: create a project, paste ``label_studio_config.xml`` under *Settings > Labeling
Interface > Code*, then import ``label_studio_tasks.json``; each task shows the model's guess as a
pre-annotation. Argilla: create a dataset with a ``text`` field and a ``label`` question holding
the same labels (``docs/labelling.md`` has the five lines of Python), then
``dataset.records.log(json.load(open("argilla_records.json")))``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

#: The labelling question's name in both tools (Label Studio ``from_name``, Argilla question).
QUESTION = "label"
#: The text field's name (Label Studio ``$text`` / ``to_name``, Argilla field).
TEXT_FIELD = "text"


@dataclass(frozen=True)
class BatchItem:
    """One text to label, with the model's current guess."""

    rank: int
    id: str
    text: str
    suggestion: list[str]  # one label (single-label tasks) or several (multi-label)
    confidence: float
    uncertainty: float
    kind: str = "survey"


@dataclass(frozen=True)
class TaskInfo:
    """What is being labelled."""

    task: str  # sentiment, journey_stage, touchpoints, or custom:<name>
    labels: list[str]
    descriptions: dict[str, str]
    multi_label: bool
    model: str


def write_csv(items: Sequence[BatchItem], path: Path, info: TaskInfo) -> None:
    """``to_label.csv``: fill the ``label`` column (``|`` between labels for multi-label tasks)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "id", "kind", "text", "suggestion", "confidence", "uncertainty", "task", "label"])
        for item in items:
            writer.writerow(
                [
                    item.rank,
                    item.id,
                    item.kind,
                    item.text,
                    "|".join(item.suggestion),
                    f"{item.confidence:.4f}",
                    f"{item.uncertainty:.4f}",
                    info.task,
                    "",
                ]
            )


def label_studio_config(info: TaskInfo) -> str:
    """The Label Studio labelling interface: the text, and one ``Choice`` per label with its description as hint."""
    choice = "multiple" if info.multi_label else "single-radio"
    lines = [
        "<View>",
        f"  <Header value={quoteattr(f'{info.task}: choose the label(s) that fit the text')}/>",
        f'  <Text name="{TEXT_FIELD}" value="${TEXT_FIELD}"/>',
        f'  <Choices name="{QUESTION}" toName="{TEXT_FIELD}" choice="{choice}" showInline="false" required="true">',
    ]
    for label in info.labels:
        hint = info.descriptions.get(label, "")
        lines.append(f"    <Choice value={quoteattr(label)} hint={quoteattr(hint)}/>")
    lines += ["  </Choices>", "</View>", ""]
    return "\n".join(lines)


def label_studio_tasks(items: Sequence[BatchItem], info: TaskInfo) -> list[dict[str, Any]]:
    """Label Studio import tasks, each with the model's guess as a prediction (pre-annotation)."""
    return [
        {
            "data": {
                TEXT_FIELD: item.text,
                "id": item.id,
                "kind": item.kind,
                "rank": item.rank,
                "task": info.task,
                "uncertainty": round(item.uncertainty, 4),
            },
            "predictions": [
                {
                    "model_version": info.model,
                    "score": round(item.confidence, 4),
                    "result": [
                        {
                            "from_name": QUESTION,
                            "to_name": TEXT_FIELD,
                            "type": "choices",
                            "value": {"choices": list(item.suggestion)},
                        }
                    ],
                }
            ],
        }
        for item in items
    ]


def argilla_records(items: Sequence[BatchItem], info: TaskInfo) -> list[dict[str, Any]]:
    """Argilla 2.x records as flat dicts: the ``text`` field, the model's suggestion, and metadata.

    Multi-label tasks suggest a list (for a ``MultiLabelQuestion``), single-label ones a string.
    """
    return [
        {
            "id": item.id,
            TEXT_FIELD: item.text,
            f"{QUESTION}.suggestion": list(item.suggestion) if info.multi_label else item.suggestion[0],
            f"{QUESTION}.suggestion.score": round(item.confidence, 4),
            f"{QUESTION}.suggestion.agent": info.model,
            "rank": item.rank,
            "uncertainty": round(item.uncertainty, 4),
            "kind": item.kind,
            "task": info.task,
        }
        for item in items
    ]


def write_batch(folder: Path, items: Sequence[BatchItem], info: TaskInfo, extra: dict[str, Any]) -> dict[str, Path]:
    """Write every file of a labelling batch into ``folder``; return them by name."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": folder / "to_label.csv",
        "label_studio_tasks": folder / "label_studio_tasks.json",
        "label_studio_config": folder / "label_studio_config.xml",
        "argilla_records": folder / "argilla_records.json",
        "manifest": folder / "manifest.json",
    }
    write_csv(items, paths["csv"], info)
    _write_json(paths["label_studio_tasks"], label_studio_tasks(items, info))
    paths["label_studio_config"].write_text(label_studio_config(info), encoding="utf-8")
    _write_json(paths["argilla_records"], argilla_records(items, info))
    manifest = {
        "task": info.task,
        "labels": info.labels,
        "multi_label": info.multi_label,
        "model": info.model,
        "items": len(items),
        "files": {k: p.name for k, p in paths.items() if k != "manifest"},
        **extra,
    }
    _write_json(paths["manifest"], manifest)
    return paths


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
