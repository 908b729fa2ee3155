"""End-to-end training on a small slice of the real datasets, fine-tuning path included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedback_nlp.storage.bundle import read_manifest
from feedback_nlp.storage.loading import ENCODER_LAYERS_FILE, load_bundle
from feedback_nlp.taxonomy.records import FeedbackRecord
from feedback_nlp.train.config import load_config
from feedback_nlp.train.trainer import Trainer

GOLD_LINES = [
    {
        "id": "g1",
        "source": "s",
        "kind": "review",
        "text": "Terrible quality, the seams ripped after one wash.",
        "sentiment": "negative",
        "journey_stage": "usage",
        "touchpoints": ["product"],
    },
    {
        "id": "g2",
        "source": "s",
        "kind": "support_message",
        "text": "How do I top up my account with a card?",
        "sentiment": "neutral",
        "journey_stage": "usage",
        "touchpoints": ["product"],
    },
    {
        "id": "g3",
        "source": "s",
        "kind": "social",
        "text": "Absolutely love this dress, fits perfectly!",
        "sentiment": "positive",
        "journey_stage": "usage",
        "touchpoints": ["product"],
    },
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


CUSTOM_TAXONOMY = """
name: hotel-cx
version: 3
sentiment:
  negative: unhappy
  neutral: no opinion
  positive: happy
journey_stages:
  purchase: booking the stay
  usage: the stay itself
  billing: paying for it
  none: no stage
touchpoints:
  product:
    description: the room and the food
    keywords: [room, food, breakfast]
  in_person:
    description: staff and front desk
    keywords: [staff, front desk, reception]
  website:
    description: the website
    keywords: [website, online]
"""


def test_trainer_follows_a_custom_taxonomy(data_dir: Path, tmp_path: Path) -> None:
    from feedback_nlp.errors import BundleError
    from feedback_nlp.settings import Settings

    taxonomy_file = tmp_path / "hotel.yaml"
    taxonomy_file.write_text(CUSTOM_TAXONOMY, encoding="utf-8")
    output = tmp_path / "hotel-bundle"
    config = load_config(
        None,
        [
            f"paths.data_dir={json.dumps(str(data_dir))}",
            f"paths.output={json.dumps(str(output))}",
            f"paths.taxonomy={json.dumps(str(taxonomy_file))}",
            "data.sources=['nlupp_hotels', 'tweeteval_sentiment', 'womens_clothing_reviews']",
            "data.max_per_source=150",
            "finetune.layers=0",
        ],
    )
    Trainer(config, gold_path=tmp_path / "no-gold.jsonl").train()

    manifest = read_manifest(output)
    assert manifest["taxonomy"]["name"] == "hotel-cx" and manifest["taxonomy"]["version"] == 3
    assert manifest["labels"]["journey_stage"] == ["purchase", "usage", "billing", "none"]
    assert manifest["labels"]["touchpoints"] == ["product", "in_person", "website"]
    pipeline = load_bundle(output, Settings(taxonomy_path=taxonomy_file))
    [prediction] = pipeline.predict([FeedbackRecord(kind="review", text="The room was lovely, the staff rude.")])
    assert prediction.journey_stage.label in {"purchase", "usage", "billing", "none"}
    assert {t.label for t in prediction.touchpoints} <= {"product", "in_person", "website"}
    default_file = Path(__file__).resolve().parents[2] / "feedback_nlp" / "taxonomy" / "default_taxonomy.yaml"
    with pytest.raises(BundleError, match="hotel-cx"):
        load_bundle(output, Settings(taxonomy_path=default_file))  # configured for another taxonomy
