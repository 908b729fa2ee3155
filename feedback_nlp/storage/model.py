"""Moved to :mod:`feedback_nlp.storage.loading` (this name was easily confused with
:mod:`feedback_nlp.storage.models`, the ORM tables).

A re-export kept for code outside this change that still imports it
(``feedback_nlp/train/trainer.py``, ``feedback_nlp/train/retrain.py``, ``benchmarks/``,
notebooks); new code imports :mod:`feedback_nlp.storage.loading`.
"""

from feedback_nlp.storage.loading import (
    CARD_FILE,
    ENCODER_LAYERS_FILE,
    SUPPORTED_TAXONOMY_VERSIONS,
    TAXONOMY_FILE,
    load_bundle,
    load_pipeline,
)

__all__ = [
    "CARD_FILE",
    "ENCODER_LAYERS_FILE",
    "SUPPORTED_TAXONOMY_VERSIONS",
    "TAXONOMY_FILE",
    "load_bundle",
    "load_pipeline",
]
