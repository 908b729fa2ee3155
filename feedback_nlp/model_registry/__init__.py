"""The model registry: versioned bundles (``name:version``), gold comparisons and guarded promotion.

See ``docs/registry.md``. The pieces:

- :class:`ModelRegistry` (``store.py``): register, list and resolve bundles.
- :class:`Evaluator` (``evaluation.py``): gold evaluations, cached; :func:`comparison`.
- :func:`promote`, :class:`PromotionRule`, :class:`PromotionLog`, :func:`live_model`
  (``promotion.py``): the live model, the rule and the append-only log.
"""

from feedback_nlp.model_registry.evaluation import GUARDED_METRICS, Evaluation, Evaluator, GoldSet, comparison
from feedback_nlp.model_registry.promotion import (
    PROMOTED,
    REFUSED,
    LiveModel,
    PromotionLog,
    PromotionRefused,
    PromotionResult,
    PromotionRule,
    live_model,
    promote,
)
from feedback_nlp.model_registry.store import LATEST, ModelRef, ModelRegistry, RegistryEntry

__all__ = [
    "GUARDED_METRICS",
    "LATEST",
    "PROMOTED",
    "REFUSED",
    "Evaluation",
    "Evaluator",
    "GoldSet",
    "LiveModel",
    "ModelRef",
    "ModelRegistry",
    "PromotionLog",
    "PromotionRefused",
    "PromotionResult",
    "PromotionRule",
    "RegistryEntry",
    "comparison",
    "live_model",
    "promote",
]
