"""The registry: register (verified copies), list, resolve (latest), cached gold evaluations, compare."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from registry_factories import (
    TINY_GOLD,
    build_good_bundle,
    build_worse_bundle,
    load_fake,
    registry_settings,
    write_tiny_gold,
)

from feedback_nlp.errors import BundleError, ConfigError, ConflictError
from feedback_nlp.model_registry import Evaluator, GoldSet, ModelRef, ModelRegistry, comparison
from feedback_nlp.storage.bundle import read_manifest


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    return {"good": build_good_bundle(root / "good"), "worse": build_worse_bundle(root / "worse")}


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "registry")


def test_register_copies_a_verified_bundle(registry: ModelRegistry, bundles: dict[str, Path]) -> None:
    entry, new = registry.register(bundles["good"], by="alice")
    assert new and entry.ref == "tiny:good"
    assert entry.bundle == registry.root / "models" / "tiny" / "good" / "bundle"
    assert entry.bundle.resolve() != bundles["good"].resolve()
    assert read_manifest(entry.bundle)["files"] == read_manifest(bundles["good"])["files"]
    stored = json.loads((entry.bundle.parent / "entry.json").read_text(encoding="utf-8"))
    assert stored["registered_by"] == "alice" and stored["source"] == str(bundles["good"].resolve())
    assert load_fake(entry.bundle).version == "tiny:good"
    again, new = registry.register(bundles["good"])
    assert not new and again.sequence == entry.sequence


def test_register_under_another_name_and_version(registry: ModelRegistry, bundles: dict[str, Path]) -> None:
    entry, _ = registry.register(bundles["good"], name="cx", version="2026.1")
    assert entry.ref == "cx:2026.1" and (entry.source_name, entry.source_version) == ("tiny", "good")
    # Predictions and the service report the registry's name and version.
    assert load_fake(entry.bundle).version == "cx:2026.1"
    assert read_manifest(bundles["good"])["version"] == "good"  # the source is untouched


def test_register_refuses_a_tampered_bundle(registry: ModelRegistry, bundles: dict[str, Path], tmp_path: Path) -> None:
    broken = shutil.copytree(bundles["good"], tmp_path / "broken")
    (broken / "heads.json").write_text("{}", encoding="utf-8")
    with pytest.raises(BundleError, match="heads.json"):
        registry.register(broken)
    assert registry.entries() == []


def test_a_registered_version_never_changes(registry: ModelRegistry, bundles: dict[str, Path]) -> None:
    registry.register(bundles["good"], version="v1")
    with pytest.raises(ConflictError, match="another --version"):
        registry.register(bundles["worse"], name="tiny", version="v1")
    assert load_fake(registry.resolve("tiny:v1").bundle).manifest["files"] == read_manifest(bundles["good"])["files"]


def test_list_and_latest_follow_registration_order(registry: ModelRegistry, bundles: dict[str, Path]) -> None:
    registry.register(bundles["good"], version="v2")
    registry.register(bundles["worse"], version="v10")
    registry.register(bundles["good"], name="other", version="a")
    registry.register(bundles["worse"], version="v1")  # registered last, sorts first
    assert [e.ref for e in registry.entries()] == ["tiny:v2", "tiny:v10", "other:a", "tiny:v1"]
    assert [e.ref for e in registry.entries("tiny")] == ["tiny:v2", "tiny:v10", "tiny:v1"]
    assert registry.resolve("tiny").ref == "tiny:v1"
    assert registry.resolve("tiny:latest").ref == "tiny:v1"
    assert registry.resolve("tiny:v10").ref == "tiny:v10"
    assert registry.resolve(ModelRef("other")).ref == "other:a"


def test_resolve_says_what_exists(registry: ModelRegistry, bundles: dict[str, Path]) -> None:
    registry.register(bundles["good"], version="v1")
    with pytest.raises(BundleError, match="has versions v1"):
        registry.resolve("tiny:v9")
    with pytest.raises(BundleError, match="it has: tiny"):
        registry.resolve("nope")
    with pytest.raises(ConfigError, match="NAME"):
        registry.resolve("bad name:1")
    with pytest.raises(ConfigError, match="latest"):
        registry.register(bundles["good"], version="latest")


def test_evaluations_are_cached_per_bundle_and_gold_file(
    registry: ModelRegistry, bundles: dict[str, Path], tmp_path: Path
) -> None:
    loads: list[Path] = []

    def loader(bundle: Path):  # noqa: ANN202
        loads.append(bundle)
        return load_fake(bundle)

    settings = registry_settings(registry.root, bundles["good"])
    evaluator = Evaluator(registry, settings, loader=loader)
    gold = GoldSet.from_path(write_tiny_gold(tmp_path / "gold.jsonl"))
    first = evaluator.evaluate(bundles["good"], "tiny:good", gold)
    second = Evaluator(registry, settings, loader=loader).evaluate(bundles["good"], "tiny:good", gold)
    assert (first.cached, second.cached) == (False, True)
    assert second.headline == first.headline and second.n == 12
    assert len(loads) == 1
    smaller = GoldSet.from_path(write_tiny_gold(tmp_path / "gold.jsonl", rows=TINY_GOLD[:6]))  # same path
    assert evaluator.evaluate(bundles["good"], "tiny:good", smaller).n == 6
    assert len(loads) == 2
    for cached in registry.evaluations_dir.iterdir():
        json.loads(cached.read_text(encoding="utf-8"))  # plain JSON, never pickle


def test_compare_puts_metrics_side_by_side(registry: ModelRegistry, bundles: dict[str, Path], tmp_path: Path) -> None:
    evaluator = Evaluator(registry, registry_settings(registry.root, bundles["good"]), loader=load_fake)
    gold = GoldSet.from_path(write_tiny_gold(tmp_path / "gold.jsonl"))
    good = evaluator.evaluate(bundles["good"], "tiny:good", gold)
    worse = evaluator.evaluate(bundles["worse"], "tiny:worse", gold)
    report = comparison(good, worse)
    assert (report["a"], report["b"], report["gold"]["n"]) == ("tiny:good", "tiny:worse", 12)
    sentiment = report["headline"]["sentiment_macro_f1"]
    assert (
        sentiment["a"] == good.headline["sentiment_macro_f1"] and sentiment["b"] == worse.headline["sentiment_macro_f1"]
    )
    assert sentiment["delta"] == pytest.approx(sentiment["b"] - sentiment["a"]) and sentiment["delta"] < -0.3
    assert report["headline"]["journey_stage_macro_f1"]["delta"] == pytest.approx(0.0)
    assert report["headline"]["touchpoints_micro_f1"]["delta"] == pytest.approx(0.0)
    assert set(report["by_source"]) == {"all"}
