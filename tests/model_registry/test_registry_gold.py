"""The shipped model against a deliberately damaged copy, on a slice of the real gold set
(skipped without ../shared/data; slow: run with --slow): the copy is refused, the shipped model
stays live. The always-run tests check the same rule on a tiny gold set of their own."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from safetensors.numpy import load_file, save_file

from feedback_nlp.model_registry import ModelRegistry, PromotionLog, PromotionRefused, live_model, promote
from feedback_nlp.settings import PROJECT_ROOT, get_settings

SHIPPED = PROJECT_ROOT / "models" / "default"
GOLD_SLICE = 60  # texts: enough to tell the models apart, quick on 2 cores


def sentiment_flipped_copy(target: Path) -> Path:
    """models/default with its sentiment head's weights negated (the manifest re-hashed)."""
    shutil.copytree(SHIPPED, target)
    heads = load_file(str(target / "heads.safetensors"))
    heads["sentiment.coef"] = -heads["sentiment.coef"]
    heads["sentiment.intercept"] = -heads["sentiment.intercept"]
    save_file(heads, str(target / "heads.safetensors"))
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["heads.safetensors"] = hashlib.sha256((target / "heads.safetensors").read_bytes()).hexdigest()
    manifest["version"] = "sentiment-flipped"
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return target


@pytest.mark.slow  # loads the real encoder twice and classifies the slice with each model
def test_a_damaged_copy_of_the_shipped_model_is_refused_on_gold(data_dir: Path, tmp_path: Path) -> None:
    gold_file = data_dir / "gold" / "dev.jsonl"
    if not gold_file.is_file() or not (SHIPPED / "manifest.json").is_file():
        pytest.skip("needs ../shared/data/gold/dev.jsonl and models/default")
    lines = gold_file.read_text(encoding="utf-8").splitlines()[:GOLD_SLICE]
    gold = tmp_path / "gold-slice.jsonl"
    gold.write_text("\n".join(lines) + "\n", encoding="utf-8")  # a temporary slice, never kept

    registry = ModelRegistry(tmp_path / "registry")
    entry, _ = registry.register(sentiment_flipped_copy(tmp_path / "flipped"))
    settings = get_settings().model_copy(update={"registry_dir": registry.root, "model_dir": SHIPPED})
    with pytest.raises(PromotionRefused, match="sentiment_macro_f1"):
        promote(registry, entry.ref, reason="damaged on purpose", settings=settings, gold=gold, by="test")
    [record] = PromotionLog(registry.promotions_file).records()
    assert record["outcome"] == "refused" and record["gold"]["n"] == GOLD_SLICE
    assert record["metrics"]["live"]["sentiment_macro_f1"] > record["metrics"]["candidate"]["sentiment_macro_f1"] + 0.2
    assert abs(record["metrics"]["delta"]["journey_stage_macro_f1"]) < 1e-9  # only sentiment was touched
    assert live_model(registry, settings).source == "model_dir"
