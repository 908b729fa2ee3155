"""feedback-nlp: sentiment, journey stage, touchpoints and topics for customer-experience feedback.

Importing the package loads no model; call :func:`load_pipeline` for that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from feedback_nlp.taxonomy.labels import Taxonomy
from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction

if TYPE_CHECKING:
    from feedback_nlp.pipeline import FeedbackPipeline
    from feedback_nlp.storage.loading import load_pipeline

__all__ = ["FeedbackPipeline", "FeedbackRecord", "Prediction", "Taxonomy", "load_pipeline"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Imported lazily: both pull in spaCy and the encoder code.
    if name == "FeedbackPipeline":
        from feedback_nlp.pipeline import FeedbackPipeline

        return FeedbackPipeline
    if name == "load_pipeline":  # the one loader (storage/loading.py), with its ``topics`` argument
        from feedback_nlp.storage.loading import load_pipeline

        return load_pipeline
    raise AttributeError(name)
