"""The training table: weak touchpoint labels, gold removal, caps, and the dataset loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feedback_nlp.errors import DataError
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, Taxonomy
from feedback_nlp.train.data import CHANNEL_TOUCHPOINTS, TrainingTable, build_training_table, gold_key, weak_touchpoints
from feedback_nlp.train.datasets import COLUMNS, LOADERS, load_gold, load_source

TAXONOMY = Taxonomy.default()
LABELS = TAXONOMY.touchpoint_labels
NAN = float("nan")


def _row(mapped: set[str] | None, mentioned: list[str]) -> dict[str, float]:
    values = weak_touchpoints(None if mapped is None else frozenset(mapped), mentioned, LABELS)
    assert values.shape == (len(LABELS),) and values.dtype == np.float32
    return dict(zip(LABELS, values.tolist(), strict=True))


def _same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


# ------------------------------------------------------------------- weak_touchpoints


def test_channel_touchpoints_are_the_six_channels() -> None:
    assert CHANNEL_TOUCHPOINTS == {"website", "mobile_app", "phone", "email", "chat", "social_media"}
    assert CHANNEL_TOUCHPOINTS <= set(LABELS)


@pytest.mark.parametrize(
    ("mapped", "mentioned", "label", "expected"),
    [
        # a channel the text names is 1, with or without a mapping
        (None, ["phone"], "phone", 1.0),
        (set(), ["chat"], "chat", 1.0),
        ({"product"}, ["email"], "email", 1.0),
        # a channel it does not name is 0, never guessed
        (None, [], "phone", 0.0),
        (None, ["delivery"], "mobile_app", 0.0),
        ({"product"}, [], "social_media", 0.0),
        # ... unless the mapping gives it (log-in and online forms are website by ruling)
        ({"website"}, [], "website", 1.0),
        # no mapping: non-channel touchpoints are unknown, named or not
        (None, [], "delivery", NAN),
        (None, ["product"], "product", NAN),
        # mapped: 1 for what the mapping gives, 0 for what it rules out
        ({"delivery"}, [], "delivery", 1.0),
        ({"delivery"}, ["delivery"], "delivery", 1.0),
        ({"delivery"}, [], "product", 0.0),
        (set(), [], "billing", 0.0),
        # named but not mapped: the mapping's silence is not trusted
        ({"delivery"}, ["product"], "product", NAN),
        (set(), ["in_person"], "in_person", NAN),
    ],
)
def test_weak_touchpoints_cases(mapped: set[str] | None, mentioned: list[str], label: str, expected: float) -> None:
    value = _row(mapped, mentioned)[label]
    assert _same(value, expected), f"{label}: got {value}, expected {expected}"


def test_weak_touchpoints_whole_row_without_mapping() -> None:
    row = _row(None, ["phone"])
    for label in LABELS:
        if label == "phone":
            assert row[label] == 1.0
        elif label in CHANNEL_TOUCHPOINTS:
            assert row[label] == 0.0
        else:
            assert np.isnan(row[label]), label


# ---------------------------------------------------------------------------- gold_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hello,   World!", "hello world"),
        ("  The app   crashes\n", "the app crashes"),
        ("Don't do it", "don t do it"),
        ("x" * 100, "x" * 80),
        ("A long complaint " * 10, ("A long complaint " * 10)[:95] + "..."),
    ],
)
def test_gold_key_matches(a: str, b: str) -> None:
    assert gold_key(a) == gold_key(b)


@pytest.mark.parametrize(("a", "b"), [("the app crashes", "the app crashed"), ("short", "short text")])
def test_gold_key_distinguishes(a: str, b: str) -> None:
    assert gold_key(a) != gold_key(b)


def test_gold_key_length_is_capped() -> None:
    assert len(gold_key("word " * 100)) == 80


# ------------------------------------------------------------------- the training table


@pytest.fixture(scope="module")
def gold_keys(data_dir: Path) -> set[str]:
    return {gold_key(text) for text in load_gold(data_dir / "gold" / "dev.jsonl")["text"]}


@pytest.fixture(scope="module")
def table(data_dir: Path) -> TrainingTable:
    return build_training_table(
        data_dir,
        TAXONOMY,
        sources=["tweeteval_sentiment", "banking77", "womens_clothing_reviews"],
        max_per_source=200,
        eval_fraction=0.2,
        gold_path=data_dir / "gold" / "dev.jsonl",
        seed=42,
    )


def test_build_training_table_removes_gold(table: TrainingTable, gold_keys: set[str], data_dir: Path) -> None:
    assert not set(table.frame["text"].map(gold_key)) & gold_keys
    for source, fingerprint in table.fingerprints.items():
        raw = load_source(source, data_dir)
        assert fingerprint["rows"] == len(raw)
        assert fingerprint["gold_removed"] == int(raw["text"].map(gold_key).isin(gold_keys).sum()) > 0


def test_build_training_table_removes_gold_uncapped(data_dir: Path, gold_keys: set[str]) -> None:
    # Uncapped, every non-gold row is kept: a broken filter would leave gold texts in.
    table = build_training_table(
        data_dir,
        TAXONOMY,
        sources=["nlupp_hotels"],
        max_per_source=100_000,
        eval_fraction=0.2,
        gold_path=data_dir / "gold" / "dev.jsonl",
    )
    raw = load_source("nlupp_hotels", data_dir)
    in_gold = raw["text"].map(gold_key).isin(gold_keys)
    assert in_gold.sum() > 0
    assert len(table.frame) == int((~in_gold).sum())
    assert not set(table.frame["text"].map(gold_key)) & gold_keys


def test_build_training_table_without_gold_keeps_gold_texts(data_dir: Path, gold_keys: set[str]) -> None:
    table = build_training_table(
        data_dir, TAXONOMY, sources=["nlupp_hotels"], max_per_source=100_000, eval_fraction=0.2, gold_path=None
    )
    assert set(table.frame["text"].map(gold_key)) & gold_keys
    assert table.fingerprints["nlupp_hotels"]["gold_removed"] == 0


def test_build_training_table_caps_each_source(table: TrainingTable) -> None:
    counts = table.frame["source"].value_counts().to_dict()
    assert set(counts) == {"tweeteval_sentiment", "banking77", "womens_clothing_reviews"}
    for source, count in counts.items():
        assert 190 <= count <= 200, (source, count)
        assert table.fingerprints[source]["used"] == count


def test_build_training_table_cap_is_never_exceeded(data_dir: Path) -> None:
    table = build_training_table(
        data_dir,
        TAXONOMY,
        sources=["mams"],
        max_per_source=200,
        eval_fraction=0.2,
        gold_path=data_dir / "gold" / "dev.jsonl",
        seed=42,
    )
    assert len(table.frame) <= 200


def test_build_training_table_labels_valid(table: TrainingTable) -> None:
    frame = table.frame
    assert list(frame.columns) == ["text", "source", "kind", "sentiment", "journey_stage", "split"]
    assert frame["sentiment"].dropna().isin(SENTIMENT_LABELS).all()
    assert frame["journey_stage"].dropna().isin(TAXONOMY.stage_labels).all()
    assert frame["sentiment"].notna().any() and frame["journey_stage"].notna().any()
    assert set(frame["split"]) == {"train", "eval"}
    assert table.touchpoint_labels == LABELS
    assert table.touchpoints.shape == (len(frame), len(LABELS))
    values = table.touchpoints[~np.isnan(table.touchpoints)]
    assert set(np.unique(values)) == {0.0, 1.0}
    # TweetEval maps to no touchpoint: its non-channel columns are known zeros.
    tweets = (frame["source"] == "tweeteval_sentiment").to_numpy()
    product = LABELS.index("product")
    assert (table.touchpoints[tweets, product] == 0).mean() > 0.9


def test_build_training_table_is_deterministic(table: TrainingTable, data_dir: Path) -> None:
    again = build_training_table(
        data_dir,
        TAXONOMY,
        sources=["tweeteval_sentiment", "banking77", "womens_clothing_reviews"],
        max_per_source=200,
        eval_fraction=0.2,
        gold_path=data_dir / "gold" / "dev.jsonl",
        seed=42,
    )
    pd.testing.assert_frame_equal(again.frame, table.frame)
    np.testing.assert_array_equal(again.touchpoints, table.touchpoints)


# ------------------------------------------------------------------------------ loaders

KINDS = {
    "tweeteval_sentiment": "social",
    "womens_clothing_reviews": "review",
    "mams": "review",
    "banking77": "support_message",
    "nlupp_banking": "support_message",
    "nlupp_hotels": "support_message",
    "bitext_support": "support_message",
    "cfpb_complaints": "complaint",
}


def test_loaders_cover_every_source() -> None:
    assert set(LOADERS) == set(KINDS)


@pytest.mark.parametrize("source", sorted(KINDS))
def test_loader_returns_clean_frame(data_dir: Path, source: str) -> None:
    frame = load_source(source, data_dir)
    assert len(frame) > 100
    assert set(COLUMNS) <= set(frame.columns)
    assert (frame["source"] == source).all()
    assert (frame["kind"] == KINDS[source]).all()
    texts = frame["text"]
    assert texts.map(lambda t: isinstance(t, str)).all()
    assert (texts.str.strip().str.len() > 0).all()
    assert (texts == texts.str.strip()).all()
    assert not (texts == "nan").any()  # a missing cell turned into text by astype(str)
    assert frame["native_label"].map(lambda v: isinstance(v, str)).all()
    assert list(frame.index) == list(range(len(frame)))


def test_load_source_unknown_raises_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="Unknown dataset 'imdb'"):
        load_source("imdb", tmp_path)


@pytest.mark.parametrize("source", sorted(KINDS))
def test_loader_missing_data_raises_data_error(tmp_path: Path, source: str) -> None:
    with pytest.raises(DataError, match="FEEDBACK_NLP_DATA_DIR"):
        load_source(source, tmp_path)


def test_load_gold_reads_fields(data_dir: Path) -> None:
    gold = load_gold(data_dir / "gold" / "dev.jsonl")
    assert len(gold) > 0
    assert {"id", "source", "kind", "text", "sentiment", "journey_stage", "touchpoints"} <= set(gold.columns)
    assert gold["sentiment"].isin(SENTIMENT_LABELS).all()
    assert gold["journey_stage"].isin(TAXONOMY.stage_labels).all()
    assert all(set(tps) <= set(LABELS) for tps in gold["touchpoints"])
