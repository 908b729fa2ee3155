"""Explicit mentions of touchpoints and journey stages, from the taxonomy's phrase lists.

Touchpoint keywords are used for weak supervision (a text that says "I called three times" is
about `phone`) and as input features of the touchpoint head, so that a touchpoint named in so
many words is not left to the embedding alone. Stage cues ("checkout", "signing up", "cancel")
are input features of the stage head, for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from feedback_nlp.taxonomy.labels import Taxonomy


class KeywordMatcher:
    """Finds which touchpoints a text names explicitly (case-insensitive, whole words);
    :meth:`stage_cues` builds one for the journey stages' cue phrases."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.labels = taxonomy.touchpoint_labels
        self._patterns = [self._compile(taxonomy.touchpoints[label].keywords) for label in self.labels]

    @classmethod
    def stage_cues(cls, taxonomy: Taxonomy) -> KeywordMatcher:
        """A matcher over the journey stages (in the taxonomy's order) and their ``stage_cues``;
        a stage without cues never matches."""
        matcher = cls.__new__(cls)
        matcher.labels = taxonomy.stage_labels
        matcher._patterns = [cls._compile(taxonomy.stage_cues.get(label, [])) for label in matcher.labels]
        return matcher

    @staticmethod
    def _compile(keywords: Sequence[str]) -> re.Pattern[str] | None:
        if not keywords:
            return None
        # Longest first so "live chat" wins over "chat"; \b keeps "app" out of "happy".
        alternatives = sorted((re.escape(k.lower()) for k in keywords), key=len, reverse=True)
        return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")

    def matches(self, text: str) -> list[str]:
        """The labels whose keywords occur in ``text``."""
        lowered = text.lower()
        return [
            label
            for label, pattern in zip(self.labels, self._patterns, strict=True)
            if pattern is not None and pattern.search(lowered)
        ]

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """A (len(texts), len(labels)) 0/1 matrix of keyword hits."""
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            for col, pattern in enumerate(self._patterns):
                if pattern is not None and pattern.search(lowered):
                    out[row, col] = 1.0
        return out
