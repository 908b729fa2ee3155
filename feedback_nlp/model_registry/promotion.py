"""Promotion: the rule that guards it, the append-only log that records it, and the live model.

The **live** model is the one the last ``promoted`` line of ``promotions.jsonl`` names; while
nothing was promoted it is the bundle at the ``model_dir`` setting (``models/default``).

**The rule.** A candidate is *worse* than the live model when, on the same gold file, any of
sentiment macro-F1, journey-stage macro-F1 or touchpoint micro-F1 (the metric each task's
target is stated in) is lower than the live model's by more than ``tolerance`` (the
``promotion_tolerance`` setting, 0.01 by default: about the noise of a 540-text gold set).
``promote`` refuses a worse model unless forced; the refusal is logged too.

Every attempt appends one JSON line: the sequence number, when, who (``--by`` or the login
name), why (``--reason``), the candidate and the model it replaces, the gold file (path, hash,
size), both models' headline metrics and their deltas, the rule, the metrics that were worse,
whether it was forced, and the outcome. Lines are never rewritten.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from feedback_nlp.errors import BundleError, ConfigError, FeedbackNLPError
from feedback_nlp.model_registry.evaluation import (
    GUARDED_METRICS,
    Evaluation,
    Evaluator,
    GoldSet,
    metric_deltas,
)
from feedback_nlp.model_registry.store import ModelRef, ModelRegistry, RegistryEntry, current_user, utc_now
from feedback_nlp.settings import Settings
from feedback_nlp.storage.artifacts import MANIFEST, BundleManifest

logger = logging.getLogger(__name__)

PROMOTED = "promoted"
REFUSED = "refused"


class PromotionRefused(FeedbackNLPError):
    """The candidate is worse than the live model on the gold set; the logged record is attached."""

    def __init__(self, message: str, record: dict[str, Any]) -> None:
        super().__init__(message)
        self.record = record


@dataclass(frozen=True)
class PromotionRule:
    """Refuse a candidate lower than the live model by more than ``tolerance`` on any of ``metrics``."""

    tolerance: float = 0.01
    metrics: tuple[str, ...] = GUARDED_METRICS

    def worse_on(self, candidate: dict[str, float], live: dict[str, float]) -> list[str]:
        """The guarded metrics on which ``candidate`` is worse than ``live``."""
        return [name for name in self.metrics if candidate[name] < live[name] - self.tolerance]

    def describe(self) -> dict[str, Any]:
        return {
            "metrics": list(self.metrics),
            "tolerance": self.tolerance,
            "worse_when": "candidate < live - tolerance on any listed metric",
        }


@dataclass(frozen=True)
class LiveModel:
    """The model the service should serve."""

    ref: str
    bundle: Path
    source: Literal["registry", "model_dir"]
    promoted_at: str | None = None
    promoted_by: str | None = None
    promotion: int | None = None  # the promotion log's sequence number

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.ref,
            "source": self.source,
            "path": str(self.bundle),
            "promoted_at": self.promoted_at,
            "promoted_by": self.promoted_by,
            "promotion": self.promotion,
        }


class PromotionLog:
    """The append-only JSON-lines promotion log at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def records(self) -> list[dict[str, Any]]:
        """Every logged attempt, oldest first.

        A last line without its newline (a writer stopped mid-line) is skipped.

        Raises:
            BundleError: a complete line is not a JSON object.
        """
        if not self.path.is_file():
            return []
        text = self.path.read_text(encoding="utf-8")
        lines = text.split("\n")
        if lines and lines[-1] != "":
            logger.warning("ignoring an incomplete last line in %s", self.path)
        records = []
        for number, line in enumerate(lines[:-1], start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BundleError(
                    f"{self.path} line {number} is not JSON ({exc}); the promotion log is written "
                    "only by `feedback-nlp models promote`. Restore the file from a backup."
                ) from exc
            if not isinstance(record, dict):
                raise BundleError(f"{self.path} line {number} is not a JSON object; restore the file.")
            records.append(record)
        return records

    def last_promotion(self) -> dict[str, Any] | None:
        """The newest record whose outcome is ``promoted``."""
        return next((r for r in reversed(self.records()) if r.get("outcome") == PROMOTED), None)

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Number ``record`` and append it as one line (flushed and fsynced); return it.

        Complete lines are never changed. Call it while holding the registry's lock.
        """
        previous = self.records()
        record = {"sequence": 1 + max((int(r.get("sequence", 0)) for r in previous), default=0), **record}
        line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_partial_line()
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        return record

    def _drop_partial_line(self) -> None:
        """Cut a last line without its newline: a writer died mid-record, so it was never logged."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            logger.warning("dropping an incomplete last line (%d bytes) from %s", len(data) - keep, self.path)
            with self.path.open("r+b") as handle:
                handle.truncate(keep)

    def signature(self) -> tuple[int, int] | None:
        """(mtime in ns, size) of the log, to notice appends cheaply; None when absent."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)


def live_model(registry: ModelRegistry, settings: Settings) -> LiveModel | None:
    """The promoted model; the ``model_dir`` bundle while nothing was promoted; None if neither.

    Raises:
        BundleError: the log names a version the registry no longer holds, or is damaged.
    """
    record = PromotionLog(registry.promotions_file).last_promotion()
    if record is not None:
        try:
            entry = registry.resolve(ModelRef.parse(record["model"]))
        except BundleError as exc:
            raise BundleError(
                f"The promotion log {registry.promotions_file} names {record['model']} as live, but: {exc}"
            ) from None
        return LiveModel(
            ref=entry.ref,
            bundle=entry.bundle,
            source="registry",
            promoted_at=record.get("at"),
            promoted_by=record.get("by"),
            promotion=record.get("sequence"),
        )
    if not (Path(settings.model_dir) / MANIFEST).is_file():
        return None
    manifest = BundleManifest.read(settings.model_dir, verify=False)  # the loader checks the hashes
    return LiveModel(ref=manifest.ref, bundle=Path(settings.model_dir), source="model_dir")


@dataclass
class PromotionResult:
    """What ``promote`` did: the logged record (None when the candidate was already live)."""

    candidate: RegistryEntry
    live: LiveModel | None
    record: dict[str, Any] | None
    evaluations: dict[str, Evaluation] = field(default_factory=dict)


def promote(
    registry: ModelRegistry,
    ref: str | ModelRef,
    *,
    reason: str,
    settings: Settings,
    gold: Path | None,
    by: str | None = None,
    force: bool = False,
    rule: PromotionRule | None = None,
    evaluator: Evaluator | None = None,
) -> PromotionResult:
    """Make the registered ``ref`` the live model, unless it is worse than the live one.

    Args:
        ref: ``NAME:VERSION`` (``NAME`` alone: its latest version).
        reason: why, for the log; required.
        gold: the gold file both models are evaluated on; without one only ``force`` promotes.
        by: who; the login name when None.
        force: promote even when the rule refuses (logged as forced, with the metrics).
        rule: the rule; ``PromotionRule(settings.promotion_tolerance)`` by default.
        evaluator: evaluates (and caches) the two models; the default loads them for real.

    Raises:
        PromotionRefused: the candidate is worse and ``force`` is off (the refusal is logged).
        ConfigError: no reason, or no gold file without ``force``.
        BundleError: the candidate is not registered or a bundle is damaged.
    """
    if not reason or not reason.strip():
        raise ConfigError("A promotion needs a reason for the log: pass --reason 'why this model'.")
    rule = rule or PromotionRule(settings.promotion_tolerance)
    evaluator = evaluator or Evaluator(registry, settings)
    with registry.locked():
        candidate = registry.resolve(ref)
        live = live_model(registry, settings)
        result = PromotionResult(candidate=candidate, live=live, record=None)
        if live is not None and live.source == "registry" and live.ref == candidate.ref:
            return result  # already live: nothing to record
        if gold is None and not force:
            raise ConfigError(
                f"Cannot check {candidate.ref} against the live model without a gold set: pass "
                "--gold FILE (the data folder has none at gold/dev.jsonl), or --force to promote unchecked."
            )
        record: dict[str, Any] = {
            "at": utc_now(),
            "model": candidate.ref,
            "manifest_sha256": candidate.manifest_sha256,
            "previous": live.to_json() if live else None,
            "by": current_user(by),
            "reason": reason.strip(),
            "forced": force,
            "rule": rule.describe(),
            "gold": None,
            "metrics": None,
            "worse_on": [],
        }
        if gold is not None:
            gold_set = GoldSet.from_path(gold)
            mine = evaluator.evaluate(candidate.bundle, candidate.ref, gold_set)
            result.evaluations["candidate"] = mine
            record["gold"] = {**gold_set.to_json(), "n": mine.n}
            record["metrics"] = {"candidate": mine.headline, "live": None, "delta": None}
            if live is not None:
                theirs = evaluator.evaluate(live.bundle, live.ref, gold_set)
                result.evaluations["live"] = theirs
                record["metrics"]["live"] = theirs.headline
                record["metrics"]["delta"] = metric_deltas(theirs.headline, mine.headline)
                record["worse_on"] = rule.worse_on(mine.headline, theirs.headline)
        refused = bool(record["worse_on"]) and not force
        record["outcome"] = REFUSED if refused else PROMOTED
        result.record = PromotionLog(registry.promotions_file).append(record)
    if refused:
        worse = ", ".join(
            f"{name} {record['metrics']['candidate'][name]:.3f} vs {record['metrics']['live'][name]:.3f}"
            for name in record["worse_on"]
        )
        raise PromotionRefused(
            f"Refused: {candidate.ref} is worse than the live model {live.ref if live else '?'} on "
            f"{record['gold']['path']} ({worse}; tolerance {rule.tolerance}). The refusal is logged as "
            f"#{result.record['sequence']}. Fix the model, or pass --force to promote it anyway.",
            result.record,
        )
    return result
