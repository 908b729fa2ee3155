"""Builders for the model-registry tests: bundles that differ only in quality, a tiny gold set
written here (no shared data), and a pipeline loader with the fake encoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factories import (
    TINY_EXAMPLES,
    FakeEncoder,
    build_tiny_bundle,
    fake_settings,
    fit_tiny_heads,
    tiny_manifest,
    write_bundle,
)

from feedback_nlp.settings import Settings
from feedback_nlp.taxonomy.labels import Taxonomy

#: Feedback the tiny model has not seen, in its vocabulary, labelled by hand.
_GOLD_ROWS: list[tuple[str, str, str, list[str]]] = [
    ("I love this app, great and lovely", "positive", "usage", ["mobile_app"]),
    ("Great courier, the delivery was fast, love it", "positive", "onboarding", ["delivery"]),
    ("Lovely staff at the store, great people", "positive", "usage", ["in_person"]),
    ("Great chat agent, solved my problem, love it", "positive", "support", ["chat"]),
    ("Terrible app, crashes again, awful", "negative", "usage", ["mobile_app"]),
    ("The parcel was late, terrible courier, awful", "negative", "onboarding", ["delivery"]),
    ("Charged twice on my bill, awful and terrible", "negative", "billing", ["billing"]),
    ("On hold for an hour when I called, terrible", "negative", "support", ["phone"]),
    ("Where is my invoice for April?", "neutral", "billing", ["billing"]),
    ("How do I change my delivery address please?", "neutral", "onboarding", ["delivery"]),
    ("What are the prices of the plans?", "neutral", "consideration", []),
    ("It is raining in the city", "neutral", "none", []),
]
TINY_GOLD: list[dict[str, Any]] = [
    {"text": text, "sentiment": sentiment, "journey_stage": stage, "touchpoints": touchpoints}
    for text, sentiment, stage, touchpoints in _GOLD_ROWS
]

_FLIP = {"positive": "negative", "negative": "positive", "neutral": "neutral"}


def registry_settings(registry: Path, model_dir: Path, **overrides: Any) -> Settings:
    """Settings under which the fake bundles load, with this registry and implicit live model."""
    return fake_settings(registry_dir=registry, model_dir=model_dir, **overrides)


def load_fake(bundle: Path) -> Any:
    """A bundle's pipeline with the fake encoder (the registry's and the service's loader in tests)."""
    from feedback_nlp.storage.loading import load_bundle

    return load_bundle(bundle, fake_settings(), encoder=FakeEncoder())


def write_tiny_gold(path: Path, rows: list[dict[str, Any]] | None = None) -> Path:
    """Write :data:`TINY_GOLD` (or ``rows``) as a gold JSONL file."""
    path.write_text("".join(json.dumps(row) + "\n" for row in (rows or TINY_GOLD)), encoding="utf-8")
    return path


def build_good_bundle(target: Path, *, name: str = "tiny", version: str = "good") -> Path:
    """The tiny bundle, under ``name:version``."""
    build_tiny_bundle(target)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.update(name=name, version=version)  # the manifest itself is not hashed
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return target


def build_worse_bundle(target: Path, *, name: str = "tiny", version: str = "worse") -> Path:
    """A deliberately worse bundle: its sentiment head learned positive and negative swapped.

    Journey stage and touchpoints are as good as :func:`build_good_bundle`'s, so only the
    sentiment metric should block its promotion.
    """
    taxonomy = Taxonomy.default()
    encoder = FakeEncoder()
    examples = [(text, _FLIP[sentiment], stage, tps) for text, sentiment, stage, tps in TINY_EXAMPLES]
    heads = fit_tiny_heads(encoder, taxonomy, examples=examples)
    manifest = tiny_manifest(taxonomy, encoder_sha256=encoder.weights_sha256, name=name, version=version)
    return write_bundle(target, heads, taxonomy, manifest)
