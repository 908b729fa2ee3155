"""Labels and records: the single source of truth for what the models predict."""

from feedback_nlp.taxonomy.labels import NO_STAGE, SENTIMENT_LABELS, Sentiment, Taxonomy, load_taxonomy
from feedback_nlp.taxonomy.records import (
    FeedbackKind,
    FeedbackRecord,
    LabelScore,
    Prediction,
    SegmentPrediction,
    SentimentResult,
    Speaker,
    TopicResult,
    Turn,
)

__all__ = [
    "NO_STAGE",
    "SENTIMENT_LABELS",
    "FeedbackKind",
    "FeedbackRecord",
    "LabelScore",
    "Prediction",
    "SegmentPrediction",
    "Sentiment",
    "SentimentResult",
    "Speaker",
    "Taxonomy",
    "TopicResult",
    "Turn",
    "load_taxonomy",
]
