"""The three task heads together, and their safe (safetensors + JSON) serialisation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from feedback_nlp.errors import BundleError
from feedback_nlp.heads.linear import MultiLabelHead, SoftmaxHead
from feedback_nlp.heads.ngrams import WordNgrams

WEIGHTS_FILE = "heads.safetensors"
META_FILE = "heads.json"


@dataclass
class TaskHeads:
    """Sentiment, journey stage and touchpoint heads over one shared embedding.

    ``keyword_features``: the touchpoint heads also read the keyword-hit matrix
    (:class:`~feedback_nlp.taxonomy.keywords.KeywordMatcher`) appended to the embedding.
    ``stage_cue_features``: the stage head also reads the hits of the taxonomy's stage cues
    (:meth:`~feedback_nlp.taxonomy.keywords.KeywordMatcher.stage_cues`) appended to the embedding.

    ``segment_sentiment`` and ``segment_touchpoints``, when present, read segments whose vectors
    are pooled from their text's pass (bundles with ``segment_vectors = "pooled"``): trained on
    the text rows plus labelled segments in context (``feedback_nlp/train/segment_pairs.py``),
    so the text heads stay exactly as they would be without them. Absent: segments use the
    text heads.
    """

    sentiment: SoftmaxHead
    stage: SoftmaxHead
    touchpoints: MultiLabelHead
    keyword_features: bool = True
    segment_sentiment: SoftmaxHead | None = None
    segment_touchpoints: MultiLabelHead | None = None
    stage_cue_features: bool = False
    ngrams: WordNgrams | None = None

    def reads_ngrams(self, head: SoftmaxHead | MultiLabelHead) -> bool:
        """Whether ``head`` reads the n-gram block: one of the text heads, in a bundle with n-grams."""
        return self.ngrams is not None and any(head is text_head for text_head in self.text_heads)

    @property
    def text_heads(self) -> tuple[SoftmaxHead, SoftmaxHead, MultiLabelHead]:
        """The sentiment, stage and touchpoint heads that read whole texts."""
        return self.sentiment, self.stage, self.touchpoints

    @property
    def for_segments(self) -> tuple[SoftmaxHead, MultiLabelHead]:
        """The sentiment and touchpoint heads that read segment vectors."""
        sentiment = self.segment_sentiment if self.segment_sentiment is not None else self.sentiment
        touchpoints = self.segment_touchpoints if self.segment_touchpoints is not None else self.touchpoints
        return sentiment, touchpoints

    def save(self, folder: Path) -> None:
        """Write ``heads.safetensors`` and ``heads.json`` into ``folder``."""
        tensors: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {
            "keyword_features": self.keyword_features,
            "stage_cue_features": self.stage_cue_features,
        }
        if self.ngrams is not None:
            meta["ngrams"] = self.ngrams.to_meta()
            tensors["ngrams.idf"] = self.ngrams.idf
        softmax = [("sentiment", self.sentiment), ("stage", self.stage), ("segment_sentiment", self.segment_sentiment)]
        for name, head in softmax:
            if head is None:
                continue
            tensors[f"{name}.coef"] = head.coef_
            tensors[f"{name}.intercept"] = head.intercept_
            meta[name] = {"classes": head.classes_.tolist(), "temperature": head.temperature_}
        for name, multi in (("touchpoints", self.touchpoints), ("segment_touchpoints", self.segment_touchpoints)):
            if multi is None:
                continue
            tensors[f"{name}.coef"] = multi.coef_
            tensors[f"{name}.intercept"] = multi.intercept_
            tensors[f"{name}.thresholds"] = multi.thresholds_
            meta[name] = {"classes": multi.classes_.tolist()}
        save_file(
            {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, str(folder / WEIGHTS_FILE)
        )
        (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TaskHeads:
        """Read heads written by :meth:`save`."""
        try:
            tensors = load_file(str(folder / WEIGHTS_FILE))
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BundleError(f"Cannot read the heads in {folder}: {exc}") from exc
        try:
            return cls(
                _softmax_head(meta, tensors, "sentiment"),
                _softmax_head(meta, tensors, "stage"),
                _multi_label_head(meta, tensors, "touchpoints"),
                bool(meta["keyword_features"]),
                _softmax_head(meta, tensors, "segment_sentiment") if "segment_sentiment" in meta else None,
                _multi_label_head(meta, tensors, "segment_touchpoints") if "segment_touchpoints" in meta else None,
                bool(meta.get("stage_cue_features", False)),  # absent in bundles from before stage cues
                WordNgrams.from_meta(meta["ngrams"], tensors["ngrams.idf"]) if "ngrams" in meta else None,
            )
        except KeyError as exc:
            raise BundleError(
                f"The heads in {folder} lack {exc}: the files are incomplete or from another version."
            ) from exc
        except ValueError as exc:
            raise BundleError(f"The heads in {folder} do not fit together ({exc}): the files were changed.") from exc


def _softmax_head(meta: dict[str, Any], tensors: dict[str, np.ndarray], name: str) -> SoftmaxHead:
    head = SoftmaxHead()
    head.classes_ = np.asarray(meta[name]["classes"])
    head.coef_ = tensors[f"{name}.coef"]
    head.intercept_ = tensors[f"{name}.intercept"]
    head.temperature_ = float(meta[name]["temperature"])
    return head


def _multi_label_head(meta: dict[str, Any], tensors: dict[str, np.ndarray], name: str) -> MultiLabelHead:
    head = MultiLabelHead()
    head.classes_ = np.asarray(meta[name]["classes"])
    head.coef_ = tensors[f"{name}.coef"]
    head.intercept_ = tensors[f"{name}.intercept"]
    head.thresholds_ = tensors[f"{name}.thresholds"]
    return head
