"""End-to-end training on a small slice of the real datasets, fine-tuning path included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedback_nlp.storage.bundle import read_manifest
from feedback_nlp.storage.model import ENCODER_LAYERS_FILE, load_bundle
from feedback_nlp.taxonomy.records import FeedbackRecord
from feedback_nlp.train.config import load_config
from feedback_nlp.train.trainer import Trainer

GOLD_LINES = [
    {"id": "g1", "source": "s", "kind": "review", "text": "Terrible quality, the seams ripped after one wash.",
     "sentiment": "negative", "journey_stage": "usage", "touchpoints": ["product"]},
    {"id": "g2", "source": "s", "kind": "support_message", "text": "How do I top up my account with a card?",
     "sentiment": "neutral", "journey_stage": "usage", "touchpoints": ["product"]},
    {"id": "g3", "source": "s", "kind": "social", "text": "Absolutely love this dress, fits perfectly!",
     "sentiment": "positive", "journey_stage": "usage", "touchpoints": ["product"]},
]


@pytest.fixture
def tiny_gold(tmp_path: Path) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in GOLD_LINES) + "\n", encoding="utf-8")
    return path


def test_trainer_fine_tunes_and_writes_a_loadable_bundle(data_dir: Path, tiny_gold: Path, tmp_path: Path) -> None:
    output = tmp_path / "bundle"
    config = load_config(
        None,
        [
            f"paths.data_dir={json.dumps(str(data_dir))}",
            f"paths.output={json.dumps(str(output))}",
            "data.sources=['tweeteval_sentiment', 'banking77', 'womens_clothing_reviews']",
            "data.max_per_source=120",
            "finetune.layers=1",
            "finetune.max_examples=64",
            "finetune.batch_size=16",
        ],
    )
    result = Trainer(config, gold_path=tiny_gold).train()

    manifest = read_manifest(output)
    assert result.bundle == output
    assert manifest["encoder"]["fine_tuned_layers"] == 1
    assert (output / ENCODER_LAYERS_FILE).is_file()
    assert set(manifest["data"]) == {"tweeteval_sentiment", "banking77", "womens_clothing_reviews"}
    assert manifest["metrics"]["gold"]["sentiment"]["n"] == 3
    assert "Results on the gold set" in (output / "README.md").read_text(encoding="utf-8")

    pipeline = load_bundle(output)
    [prediction] = pipeline.predict([FeedbackRecord(kind="review", text="The zip broke on day one.")])
    assert prediction.sentiment.label in {"negative", "neutral", "positive"}
    assert prediction.model_version == f"{manifest['name']}:{manifest['version']}"
