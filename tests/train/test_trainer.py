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


# --- What train checks before any work --------------------------------------------------------


def _never(*args: object, **kwargs: object) -> None:
    raise AssertionError("no training work may start")


def test_an_output_folder_holding_other_files_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It was checked when the bundle was written, after minutes of training.
    from feedback_nlp.errors import InputError

    output = tmp_path / "reports"
    output.mkdir()
    (output / "q3.xlsx").write_text("not a bundle", encoding="utf-8")
    monkeypatch.setattr(Trainer, "training_table", _never)
    monkeypatch.setattr(Trainer, "gold_set", _never)
    config = load_config(None, [f"paths.output={json.dumps(str(output))}"])
    with pytest.raises(InputError, match=r"already holds other files \(q3\.xlsx\)"):
        Trainer(config).train()


def test_a_registered_version_is_never_trained_over(
    tiny_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback_nlp.errors import InputError
    from feedback_nlp.model_registry import ModelRegistry

    entry, _ = ModelRegistry(tmp_path / "registry").register(tiny_bundle, version="v1")
    monkeypatch.setattr(Trainer, "training_table", _never)
    monkeypatch.setattr(Trainer, "gold_set", _never)
    config = load_config(None, [f"paths.output={json.dumps(str(entry.bundle))}"])
    with pytest.raises(InputError, match="is a registered model version, which never changes"):
        Trainer(config).train()


def test_a_gold_file_that_cannot_be_read_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from feedback_nlp.errors import InputError

    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps(GOLD_LINES[0]) + '\n{"text": "cut sh\n', encoding="utf-8")
    monkeypatch.setattr(Trainer, "training_table", _never)
    config = load_config(None, [f"paths.output={json.dumps(str(tmp_path / 'out'))}"])
    with pytest.raises(InputError, match=r"gold\.jsonl, line 2: not valid JSON"):
        Trainer(config, gold_path=gold).train()


def _hotel_taxonomy(tmp_path: Path) -> Path:
    path = tmp_path / "hotel.yaml"
    path.write_text(CUSTOM_TAXONOMY, encoding="utf-8")
    return path


def test_the_gold_set_is_skipped_when_its_labels_are_not_the_taxonomys(tiny_gold: Path, tmp_path: Path) -> None:
    # The default gold set's stages (support, ...) are not the hotel taxonomy's: scoring crashed
    # the run at its end ("At least one label specified must be in y_true").
    config = load_config(None, [f"paths.taxonomy={json.dumps(str(_hotel_taxonomy(tmp_path)))}"])
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        "\n".join(json.dumps(dict(row, journey_stage="support")) for row in GOLD_LINES) + "\n", encoding="utf-8"
    )
    trainer = Trainer(config, gold_path=mixed)
    assert trainer.gold_set() is None
    assert trainer.gold_skipped is not None
    assert "mixed.jsonl has labels that taxonomy hotel-cx v3 lacks (journey_stage ['support'])" in trainer.gold_skipped
    # The tiny gold set's labels (usage, product) are the hotel taxonomy's too: it is evaluated.
    fitting = Trainer(config, gold_path=tiny_gold)
    gold = fitting.gold_set()
    assert gold is not None and len(gold) == 3 and fitting.gold_skipped is None


def test_paths_gold_names_the_gold_set_or_turns_it_off(tiny_gold: Path, tmp_path: Path) -> None:
    from feedback_nlp.errors import ConfigError

    default = Trainer(load_config(None, [f"paths.data_dir={json.dumps(str(tmp_path))}"]))
    assert default.gold_path == tmp_path / "gold" / "dev.jsonl"
    assert default.gold_set() is None and default.gold_skipped == f"no gold set at {default.gold_path}"
    named = Trainer(load_config(None, [f"paths.gold={json.dumps(str(tiny_gold))}"]))
    assert named.gold_path == tiny_gold
    assert named.gold_set() is not None
    off = Trainer(load_config(None, ["paths.gold="]))
    assert off.gold_path is None
    assert off.gold_set() is None and off.gold_skipped is not None and "no gold evaluation" in off.gold_skipped
    missing = Trainer(load_config(None, [f"paths.gold={json.dumps(str(tmp_path / 'nope.jsonl'))}"]))
    with pytest.raises(ConfigError, match=r"paths\.gold: expected a gold file at .*nope\.jsonl"):
        missing.gold_set()


def test_training_labels_are_checked_before_embedding(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from feedback_nlp.errors import DataError
    from feedback_nlp.taxonomy.labels import load_taxonomy
    from feedback_nlp.train.data import TrainingTable
    from feedback_nlp.train.trainer import check_training_labels

    hotel = load_taxonomy(_hotel_taxonomy(tmp_path))

    def table(stages: list[str | None]) -> TrainingTable:
        frame = pd.DataFrame(
            {
                "text": ["a", "b", "c", "d"],
                "source": ["s1", "s1", "s2", "s2"],
                "sentiment": ["negative", "positive", None, "neutral"],
                "journey_stage": stages,
                "split": "train",
            }
        )
        return TrainingTable(frame, np.zeros((4, 3), dtype=np.float32), hotel.touchpoint_labels, {})

    check_training_labels(table(["usage", "none", None, "billing"]), hotel)
    with pytest.raises(
        DataError, match=r"sources \['s2'\]\) carry the label\(s\) \['support'\], which taxonomy hotel-cx"
    ):
        check_training_labels(table(["usage", "none", None, "support"]), hotel)
    with pytest.raises(
        DataError, match=r"hold 1 label\(s\) \['none'\] of taxonomy hotel-cx v3; a head needs at least two"
    ):
        check_training_labels(table(["none", "none", None, None]), hotel)


def test_a_custom_taxonomy_trains_on_the_corpus_and_skips_a_gold_set_of_other_labels(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/taxonomy.md's recipe with the corpus (default.toml has data.corpus = true): the corpus's
    # default-taxonomy stages failed the stage head, then the default gold set failed the scoring.
    from factories import FakeEncoder, fake_settings

    import feedback_nlp.train.trainer as trainer

    monkeypatch.setattr(trainer, "SentenceEncoder", lambda *args, **kwargs: FakeEncoder())
    output = tmp_path / "hotel-bundle"
    config = load_config(
        None,
        [
            f"paths.data_dir={json.dumps(str(data_dir))}",
            f"paths.output={json.dumps(str(output))}",
            f"paths.taxonomy={json.dumps(str(_hotel_taxonomy(tmp_path)))}",
            "data.corpus=true",
            "data.corpus_rounds=[1]",
            "data.channel_from_record=true",
            "data.sources=['womens_clothing_reviews']",
            "data.max_per_source=100",
            "finetune.layers=0",
        ],
    )
    result = Trainer(config, fake_settings(cache_dir=tmp_path / "cache")).train()
    manifest = read_manifest(output)
    assert "gold" not in manifest["metrics"]
    assert "dev.jsonl has labels that taxonomy hotel-cx v3 lacks" in manifest["metrics"]["gold_skipped"]
    assert result.metrics["gold_skipped"] == manifest["metrics"]["gold_skipped"]
    card = (output / "README.md").read_text(encoding="utf-8")
    assert "Not measured when this bundle was trained: the gold set dev.jsonl has labels" in card
    assert manifest["labels"]["journey_stage"] == ["purchase", "usage", "billing", "none"]
