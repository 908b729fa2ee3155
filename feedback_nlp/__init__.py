"""feedback-nlp: sentiment, journey stage, touchpoints and topics for customer-experience feedback.

Importing the package loads no model; call :func:`load_pipeline` for that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from feedback_nlp.taxonomy.labels import Taxonomy
from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction

if TYPE_CHECKING:
    from feedback_nlp.pipeline import FeedbackPipeline

__all__ = ["FeedbackPipeline", "FeedbackRecord", "Prediction", "Taxonomy", "load_pipeline"]
__version__ = "0.1.0"


def load_pipeline(model_dir: Any = None) -> FeedbackPipeline:
    """Load the pipeline from a model bundle (the ``model_dir`` setting by default)."""
    from feedback_nlp.pipeline import load_pipeline as _load

    return _load(model_dir)


def __getattr__(name: str) -> Any:
    if name == "FeedbackPipeline":  # imported lazily: it pulls in spaCy and torch
        from feedback_nlp.pipeline import FeedbackPipeline

        return FeedbackPipeline
    raise AttributeError(name)
