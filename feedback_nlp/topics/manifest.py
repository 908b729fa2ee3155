"""The ``manifest.json`` of a saved topic model, typed.

Written by :meth:`feedback_nlp.topics.model.TopicModel.save`, read by its ``load`` and by the
command line (``feedback-nlp models`` checks the deployed topic model's encoder). Keys this
class does not name (the command and input a fit records, say) are kept as they are.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from feedback_nlp.storage.artifacts import Manifest

TOPICS_FORMAT = 2
"""The topic model layout this version writes: 2 lets a topic have several centroids."""
READABLE_TOPICS_FORMATS = (1, 2)
"""The layouts this version reads: 1 is format 2 with one centroid a topic."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow")


class CorpusInfo(_Section):
    """The texts a topic model holds: how many, and the hash of all of them (fit plus updates)."""

    n_texts: int = 0
    fingerprint: str = ""


class UpdateRecord(_Section):
    """One ``topics update``: when, how many texts, and the ids of the topics it added."""

    at: str
    n_texts: int
    new_topics: list[int] = Field(default_factory=list)


class TopicManifest(Manifest):
    """The manifest of a topic model folder; every key is optional until the model is saved."""

    artifact: ClassVar[str] = "a topic model"
    remedy: ClassVar[str] = (
        "Fit one with `feedback-nlp topics fit INPUT -o DIR --deploy`, "
        "or deploy a fitted one with `feedback-nlp topics deploy DIR`."
    )
    readable_formats: ClassVar[tuple[int, ...]] = READABLE_TOPICS_FORMATS

    format: int = TOPICS_FORMAT
    created_at: str | None = None
    #: The :func:`~feedback_nlp.topics.embeddings.encoder_fingerprint` of the embeddings it was fitted on.
    encoder: str | None = None
    #: The embedding space (``feedback_nlp.topics.space``); None for models from before issue 16.
    space: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    min_similarity: float | None = None
    topics: list[dict[str, Any]] = Field(default_factory=list)
    corpus: CorpusInfo | None = None
    updates: list[UpdateRecord] = Field(default_factory=list)
