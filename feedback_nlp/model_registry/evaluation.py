"""Gold-set evaluations of bundles, cached in the registry, and side-by-side comparisons.

Evaluating a bundle on the 540-text gold set takes about half a minute on 2 cores, and
``models compare`` then ``models promote`` would do it twice for each model. An evaluation is
therefore stored as JSON under ``<registry>/evaluations/``, keyed by the bundle's manifest hash,
the gold file's hash and the settings that change predictions (encoder, precision,
quantisation, backend, sequence length) and this package's version; a changed file or setting is a
new key, so a cached result is never stale.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedback_nlp.errors import DataError
from feedback_nlp.model_registry.store import ModelRegistry, manifest_sha256, utc_now
from feedback_nlp.settings import Settings
from feedback_nlp.storage.artifacts import sha256_file, sha256_text

logger = logging.getLogger(__name__)

#: The metric each task's target is stated in (README, docs/results.md): the promotion rule
#: guards these. The other headline numbers are shown but do not block a promotion.
GUARDED_METRICS: tuple[str, ...] = ("sentiment_macro_f1", "journey_stage_macro_f1", "touchpoints_micro_f1")

#: The headline metrics (``feedback_nlp.train.evaluate.headline``), in the order they are shown.
HEADLINE_ORDER: tuple[str, ...] = (
    "sentiment_macro_f1",
    "sentiment_accuracy",
    "journey_stage_macro_f1",
    "journey_stage_accuracy",
    "touchpoints_micro_f1",
    "touchpoints_macro_f1",
)

PipelineLoader = Callable[[Path], Any]
"""Loads the pipeline of a bundle folder (``load_pipeline`` without topics by default)."""


def load_for_evaluation(bundle: Path) -> Any:
    """The pipeline of ``bundle``, without the deployed topic model (topics are not scored)."""
    from feedback_nlp.storage.loading import load_pipeline

    return load_pipeline(bundle, topics=False)


@dataclass(frozen=True)
class GoldSet:
    """A gold file and its identity."""

    path: Path
    sha256: str

    @classmethod
    def from_path(cls, path: Path) -> GoldSet:
        """Hash the gold file at ``path``.

        Raises:
            DataError: the file does not exist.
        """
        path = Path(path)
        if not path.is_file():
            raise DataError(
                f"Expected a gold JSONL file (text, sentiment, journey_stage, touchpoints) at {path}, "
                "found none. Pass --gold with an existing file."
            )
        return cls(path, sha256_file(path))

    def to_json(self) -> dict[str, str]:
        return {"path": str(self.path), "sha256": self.sha256}


@dataclass
class Evaluation:
    """One bundle's report on one gold set."""

    model: str
    manifest_sha256: str
    gold: GoldSet
    n: int
    headline: dict[str, float]
    by_source: dict[str, dict[str, float]]
    evaluated_at: str
    cached: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "manifest_sha256": self.manifest_sha256,
            "gold": {**self.gold.to_json(), "n": self.n},
            "headline": self.headline,
            "by_source": self.by_source,
            "evaluated_at": self.evaluated_at,
        }


class Evaluator:
    """Evaluates bundles on gold sets, reusing results cached in the registry.

    Args:
        registry: where the cache lives (``<registry>/evaluations``).
        settings: the settings predictions depend on (part of the cache key).
        loader: loads a bundle's pipeline; tests pass one with a fake encoder.
    """

    def __init__(self, registry: ModelRegistry, settings: Settings, loader: PipelineLoader | None = None) -> None:
        self.registry = registry
        self.settings = settings
        self.loader = loader or load_for_evaluation

    def _key(self, bundle: Path, gold: GoldSet) -> str:
        from feedback_nlp import __version__

        parts = {
            "manifest": manifest_sha256(bundle),
            "gold": gold.sha256,
            "encoder": self.settings.encoder,
            "encoder_backend": getattr(self.settings, "encoder_backend", "torch"),
            "precision": self.settings.precision,
            "quantize": self.settings.quantize,
            "max_seq_length": self.settings.max_seq_length,
            "feedback_nlp": __version__,
        }
        return sha256_text(json.dumps(parts, sort_keys=True))

    def cached_for(self, bundle: Path) -> list[dict[str, Any]]:
        """Every cached evaluation of ``bundle`` (any gold file or settings), oldest first."""
        if not self.registry.evaluations_dir.is_dir():
            return []
        identity = manifest_sha256(bundle)
        found = []
        for path in self.registry.evaluations_dir.glob("*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("manifest_sha256") == identity:
                found.append(data)
        return sorted(found, key=lambda d: str(d.get("evaluated_at")))

    def evaluate(self, bundle: Path, model: str, gold: GoldSet) -> Evaluation:
        """``bundle``'s headline and per-source metrics on ``gold`` (cached)."""
        from feedback_nlp.train.evaluate import evaluate_gold

        cache = self.registry.evaluations_dir / f"{self._key(bundle, gold)}.json"
        if cache.is_file():
            try:
                data = json.loads(cache.read_text(encoding="utf-8"))
                headline = data["headline"]
                return Evaluation(
                    model=model,
                    manifest_sha256=manifest_sha256(bundle),
                    gold=gold,
                    n=int(data["gold"]["n"]),
                    headline={name: float(headline[name]) for name in ordered_metrics(list(headline))},
                    by_source=data["by_source"],
                    evaluated_at=data["evaluated_at"],
                    cached=True,
                )
            except (OSError, ValueError, KeyError, TypeError):
                logger.warning("ignoring unreadable cached evaluation %s", cache)
        logger.info("evaluating %s on %s", model, gold.path)
        report = evaluate_gold(self.loader(bundle), gold.path)
        evaluation = Evaluation(
            model=model,
            manifest_sha256=manifest_sha256(bundle),
            gold=gold,
            n=int(report["sentiment"]["n"]),
            headline={k: float(v) for k, v in report["headline"].items()},
            by_source=report["by_source"],
            evaluated_at=utc_now(),
        )
        cache.parent.mkdir(parents=True, exist_ok=True)
        staging = cache.with_suffix(".tmp")
        staging.write_text(json.dumps(evaluation.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        staging.replace(cache)
        return evaluation


def ordered_metrics(names: list[str]) -> list[str]:
    """``names`` without repeats, the headline metrics first in :data:`HEADLINE_ORDER`."""
    unique = list(dict.fromkeys(names))
    return [n for n in HEADLINE_ORDER if n in unique] + [n for n in unique if n not in HEADLINE_ORDER]


def metric_deltas(base: dict[str, float], other: dict[str, float]) -> dict[str, float]:
    """``other - base`` for every metric both have."""
    return {name: other[name] - base[name] for name in base if name in other}


def side_by_side(a: dict[str, float], b: dict[str, float]) -> dict[str, dict[str, float | None]]:
    """Per metric: A's value, B's value and B minus A (None where one side lacks it)."""
    names = ordered_metrics([*a, *b])
    return {
        name: {
            "a": a.get(name),
            "b": b.get(name),
            "delta": b[name] - a[name] if name in a and name in b else None,
        }
        for name in names
    }


def comparison(a: Evaluation, b: Evaluation) -> dict[str, Any]:
    """A and B side by side on the same gold set: headline and per-source metrics, deltas B minus A."""
    sources = sorted(set(a.by_source) | set(b.by_source))
    return {
        "a": a.model,
        "b": b.model,
        "gold": {**a.gold.to_json(), "n": a.n},
        "headline": side_by_side(a.headline, b.headline),
        "by_source": {
            source: side_by_side(a.by_source.get(source, {}), b.by_source.get(source, {})) for source in sources
        },
    }
