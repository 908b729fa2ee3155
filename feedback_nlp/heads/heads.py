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

WEIGHTS_FILE = "heads.safetensors"
META_FILE = "heads.json"


@dataclass
class TaskHeads:
    """Sentiment, journey stage and touchpoint heads over one shared embedding.

    ``keyword_features``: the touchpoint head also reads the keyword-hit matrix
    (:class:`~feedback_nlp.taxonomy.keywords.KeywordMatcher`) appended to the embedding.
    """

    sentiment: SoftmaxHead
    stage: SoftmaxHead
    touchpoints: MultiLabelHead
    keyword_features: bool = True

    def save(self, folder: Path) -> None:
        """Write ``heads.safetensors`` and ``heads.json`` into ``folder``."""
        tensors: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {"keyword_features": self.keyword_features}
        for name, head in (("sentiment", self.sentiment), ("stage", self.stage)):
            tensors[f"{name}.coef"] = head.coef_
            tensors[f"{name}.intercept"] = head.intercept_
            meta[name] = {"classes": head.classes_.tolist(), "temperature": head.temperature_}
        tensors["touchpoints.coef"] = self.touchpoints.coef_
        tensors["touchpoints.intercept"] = self.touchpoints.intercept_
        tensors["touchpoints.thresholds"] = self.touchpoints.thresholds_
        meta["touchpoints"] = {"classes": self.touchpoints.classes_.tolist()}
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
        heads: dict[str, SoftmaxHead] = {}
        for name in ("sentiment", "stage"):
            head = SoftmaxHead()
            head.classes_ = np.asarray(meta[name]["classes"])
            head.coef_ = tensors[f"{name}.coef"]
            head.intercept_ = tensors[f"{name}.intercept"]
            head.temperature_ = float(meta[name]["temperature"])
            heads[name] = head
        touchpoints = MultiLabelHead()
        touchpoints.classes_ = np.asarray(meta["touchpoints"]["classes"])
        touchpoints.coef_ = tensors["touchpoints.coef"]
        touchpoints.intercept_ = tensors["touchpoints.intercept"]
        touchpoints.thresholds_ = tensors["touchpoints.thresholds"]
        return cls(heads["sentiment"], heads["stage"], touchpoints, bool(meta["keyword_features"]))
