"""What the selector needs from a model: embeddings and probabilities for one task.

A task is one of the default pipeline's (``sentiment``, ``journey_stage``, ``touchpoints``) or a
custom taxonomy's classifier (``feedback-nlp taxonomy fit``). Texts arrive already redacted (the
customer side, as the pipeline stores it); what the encoder sees is their normalised form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from feedback_nlp.errors import ConfigError
from feedback_nlp.labelling.export_formats import TaskInfo

DEFAULT_TASKS = {
    "sentiment": "sentiment",
    "journey_stage": "journey_stage",
    "stage": "journey_stage",
    "touchpoints": "touchpoints",
    "touchpoint": "touchpoints",
}

EmbedFn = Callable[[Sequence[str]], np.ndarray]


@dataclass
class TaskModel:
    """A task's labels and how to score embedded texts for it."""

    info: TaskInfo
    embed: EmbedFn
    proba: Callable[[np.ndarray, Sequence[str]], np.ndarray]  # (embeddings, model inputs) -> probabilities
    thresholds: np.ndarray | None
    fingerprint: str  # identity of the encoder, for the embedding cache


def default_task(pipeline: Any, task: str) -> TaskModel:
    """One of the pipeline's three tasks.

    Raises:
        ConfigError: ``task`` is not sentiment, journey_stage or touchpoints.
    """
    from feedback_nlp.topics.embeddings import encoder_fingerprint

    name = DEFAULT_TASKS.get(task)
    if name is None:
        raise ConfigError(
            f"Unknown task {task!r}: expected sentiment, journey_stage or touchpoints, "
            "or --classifier DIR for a custom taxonomy."
        )
    heads, taxonomy = pipeline.heads, pipeline.taxonomy
    fingerprint = encoder_fingerprint(pipeline.manifest)
    if name == "touchpoints":
        head = heads.touchpoints

        def touchpoint_proba(X: np.ndarray, inputs: Sequence[str]) -> np.ndarray:
            return head.predict_proba(pipeline.touchpoint_input(list(inputs), X))

        labels = [str(c) for c in head.classes_]
        info = TaskInfo(
            name, labels, {k: v.description for k, v in taxonomy.touchpoints.items()}, True, pipeline.version
        )
        return TaskModel(info, pipeline.embed, touchpoint_proba, np.asarray(head.thresholds_), fingerprint)
    head = heads.sentiment if name == "sentiment" else heads.stage
    descriptions = dict(taxonomy.sentiment if name == "sentiment" else taxonomy.journey_stages)

    def proba(X: np.ndarray, inputs: Sequence[str]) -> np.ndarray:
        # What the text heads read beside the vector: stage cues (stage), word n-grams (both), when
        # the bundle's heads use them.
        if name == "sentiment":
            return head.predict_proba(pipeline.sentiment_input(list(inputs), X))
        return head.predict_proba(pipeline.stage_input(list(inputs), X))

    labels = [str(c) for c in head.classes_]
    info = TaskInfo(name, labels, descriptions, False, pipeline.version)
    return TaskModel(info, pipeline.embed, proba, None, fingerprint)


def custom_task(folder: str | Path, encoder: Any = None) -> TaskModel:
    """A fitted custom classifier (``feedback-nlp taxonomy fit``)."""
    from feedback_nlp.custom.classifier import load_custom_classifier
    from feedback_nlp.topics.embeddings import encoder_fingerprint

    classifier = load_custom_classifier(folder, encoder=encoder)
    spec = classifier.spec
    info = TaskInfo(
        f"custom:{spec.name}",
        classifier.labels,
        {name: label.description for name, label in spec.labels.items()},
        False,
        classifier.version,
    )
    # The same identity as a bundle's encoder: base weights, sequence length, tuned layers.
    fingerprint = encoder_fingerprint(classifier.manifest.to_json()) if classifier.manifest else ""
    return TaskModel(
        info,
        lambda texts: np.asarray(classifier.encoder.encode(list(texts)), dtype=np.float32),
        lambda X, _inputs: classifier.proba_from_embeddings(X),
        None,
        fingerprint,
    )
