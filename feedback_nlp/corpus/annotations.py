"""The corpus labels (kept in the project) joined with their texts (kept in the shared data).

A label line names the shared ``file``, its ``row_id`` and the ``sha256`` of the text the
annotators read. :func:`load_cx_corpus` reads each source once, finds every labelled row and
checks the hash, so a changed or missing text is reported, never silently mislabelled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from feedback_nlp.corpus.sources import read_source
from feedback_nlp.errors import DataError
from feedback_nlp.storage.artifacts import sha256_text

#: Where the corpus labels live in the project.
ANNOTATIONS_DIR = Path(__file__).resolve().parents[2] / "annotations"
CORPUS_LABELS = ANNOTATIONS_DIR / "cx_corpus.jsonl"

Intent = Literal["complaint", "question", "request", "praise", "suggestion", "other"]


def text_sha256(text: str) -> str:
    """The key's text hash: sha256 of the text as the annotators read it (UTF-8)."""
    return sha256_text(text)


class Annotation(BaseModel):
    """One labelled text of the corpus: its key, its labels, and who gave them."""

    model_config = ConfigDict(extra="forbid")

    file: str
    row_id: str
    sha256: str
    source: str
    kind: str
    industry: str
    sentiment: Literal["negative", "neutral", "positive"]
    journey_stage: str
    touchpoints: list[str]
    intent: Intent | None = None
    #: Who labelled it: one annotator, or two with the settled label when they disagreed.
    annotators: list[str]
    settled: bool = False
    #: ``random`` for a random draw from the source, ``targeted`` for a keyword draw that fills
    #: rare stages and touchpoints (so the label mix is not the source's own), ``mixed`` for a
    #: keyword draw of praise or thanks beside a problem (round 5: sarcasm, mixed verdicts).
    draw: Literal["random", "targeted", "mixed"] = "random"
    #: The labelling round (``training/corpus/draw_sample.py --round``): round 1 is the first
    #: 4,311 texts, later rounds add texts none of the earlier ones held.
    round: int = 1


def load_annotations(path: Path = CORPUS_LABELS) -> list[Annotation]:
    """Read and validate a label file, naming the line of any bad entry."""
    if not path.exists():
        raise DataError(f"Expected the corpus labels at {path}, found nothing there.")
    annotations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            annotations.append(Annotation.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise DataError(f"{path}:{number}: not a valid corpus label: {exc}") from exc
    return annotations


@dataclass
class AnnotatedCorpus:
    """The joined corpus and what could not be joined."""

    frame: pd.DataFrame  # one row per label, with the text and the ``channel`` of its source
    missing: list[str]  # keys whose row is not in the shared file any more
    changed: list[str]  # keys whose text no longer has the labelled hash


def load_cx_corpus(data_dir: Path, path: Path = CORPUS_LABELS) -> AnnotatedCorpus:
    """Join the corpus labels with their texts in ``data_dir``; check every text's hash."""
    annotations = load_annotations(path)
    labels = pd.DataFrame([a.model_dump() for a in annotations])
    parts, missing, changed = [], [], []
    for source, group in labels.groupby("source", sort=True):
        texts = read_source(str(source), data_dir).set_index(["file", "row_id"])
        for row in group.itertuples(index=False):
            key = (row.file, row.row_id)
            if key not in texts.index:
                missing.append(f"{row.file}#{row.row_id}")
                continue
            found = texts.loc[key]
            if text_sha256(found["text"]) != row.sha256:
                changed.append(f"{row.file}#{row.row_id}")
                continue
            parts.append({**row._asdict(), "text": found["text"], "channel": found["channel"]})
    return AnnotatedCorpus(pd.DataFrame(parts), missing, changed)
