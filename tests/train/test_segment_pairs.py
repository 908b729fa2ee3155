"""Segment-pair rows: labelled segments read in context, for bundles that pool segment vectors."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import FakeEncoder

from feedback_nlp.heads.heads import TaskHeads
from feedback_nlp.settings import Settings
from feedback_nlp.storage.artifacts import BundleManifest
from feedback_nlp.storage.loading import load_bundle
from feedback_nlp.train.config import load_config
from feedback_nlp.train.data import TrainingTable
from feedback_nlp.train.segment_pairs import draw_segment_pairs, pooled_segment_vectors, segment_rows
from feedback_nlp.train.trainer import Trainer, fit_heads, head_inputs

LABELS = ["phone", "website"]


def _table() -> TrainingTable:
    rows = [
        # text, source, sentiment, split, origin, touchpoints
        ("Nobody answered the phone", "a", "negative", "train", "corpus", [1, 0]),
        ("The website is lovely", "a", "positive", "train", "corpus", [0, 1]),
        ("Fine I guess", "a", "neutral", "train", "corpus", [0, 0]),
        ("Rude agent on the phone!", "b", "negative", "train", "corpus", [1, 0]),
        ("Quick answers by phone", "b", "positive", "train", "corpus", [1, 0]),
        ("Great website. But the app keeps crashing.", "a", "negative", "train", "corpus", [0, 1]),
        ("Held out text", "a", "negative", "eval", "corpus", [0, 0]),
        ("A mapped text", "a", "neutral", "train", "mapped", [np.nan, np.nan]),
        ("Only one one-segment text here", "c", "neutral", "train", "corpus", [0, 0]),
    ]
    frame = pd.DataFrame(
        {
            "text": [r[0] for r in rows],
            "source": [r[1] for r in rows],
            "kind": "survey",
            "sentiment": [r[2] for r in rows],
            "journey_stage": ["support", "usage"] * 4 + ["support"],
            "split": [r[3] for r in rows],
            "weight": 3.0,
            "origin": [r[4] for r in rows],
        }
    )
    return TrainingTable(frame, np.array([r[5] for r in rows], dtype=np.float32), LABELS, {})


def test_pairs_join_two_one_segment_corpus_training_texts_of_one_source() -> None:
    table = _table()
    pairs = draw_segment_pairs(table, table.frame["text"].tolist(), count=60, seed=0)
    assert len(pairs.segmented) == len(pairs.rows) == 60
    allowed = {0, 1, 2, 3, 4}  # not the two-sentence text, the held-out, the mapped or the lone source-c row
    for (first, second), (a, b) in zip(pairs.segmented, pairs.rows, strict=True):
        assert a != b and {a, b} <= allowed
        assert table.frame["source"][a] == table.frame["source"][b]
        # A first part ends as a sentence does: a full stop is added where it has no end mark.
        assert first in {table.frame["text"][a], table.frame["text"][a] + "."} and first.endswith((".", "!"))
        assert second == table.frame["text"][b]
    assert {int(r) for r in pairs.rows.ravel()} == allowed  # every candidate takes part


def test_no_pairs_when_asked_for_none_or_nothing_pairs() -> None:
    table = _table()
    assert draw_segment_pairs(table, table.frame["text"].tolist(), count=0, seed=0).segmented == []
    lone = table.select(np.array([False] * 8 + [True]))
    assert draw_segment_pairs(lone, lone.frame["text"].tolist(), count=5, seed=0).segmented == []


def test_segment_rows_carry_their_own_texts_labels_but_no_stage() -> None:
    table = _table()
    pairs = draw_segment_pairs(table, table.frame["text"].tolist(), count=5, seed=1)
    rows = segment_rows(table, pairs)
    parts = pairs.rows.ravel()
    assert rows.frame["text"].tolist() == [part for pair in pairs.segmented for part in pair]
    assert rows.frame["sentiment"].tolist() == table.frame["sentiment"][parts].tolist()
    np.testing.assert_array_equal(rows.touchpoints, table.touchpoints[parts])
    assert rows.frame["journey_stage"].isna().all()
    assert set(rows.frame["split"]) == {"train"} and set(rows.frame["origin"]) == {"segment_pair"}


def test_pooled_vectors_come_from_one_pass_per_pair() -> None:
    table = _table()
    pairs = draw_segment_pairs(table, table.frame["text"].tolist(), count=4, seed=2)
    encoder = FakeEncoder()
    vectors = pooled_segment_vectors(encoder, pairs)
    assert vectors.shape == (8, encoder.dimension)
    assert encoder.segmented_calls == [[list(pair) for pair in pairs.segmented]]
    assert encoder.calls == []


def test_trainer_fits_segment_heads_on_texts_and_pairs_and_keeps_the_text_heads() -> None:
    table = _table()
    texts = table.frame["text"].tolist()
    encoder = FakeEncoder()
    X = encoder.encode(texts)
    trainer = Trainer(load_config(None, ["data.segment_pairs=6"]), Settings())
    assert trainer.segment_vectors == "pooled"
    X_tp, _ = head_inputs(X, texts, trainer.config, trainer.taxonomy)
    heads, _ = fit_heads(X, X_tp, table, trainer.config, ["support", "usage", "none"])
    text_heads = copy.deepcopy(heads)
    report = trainer._fit_segment_heads(encoder, heads, table, X, X_tp, texts)  # type: ignore[arg-type]
    assert report["pairs"] == 6
    assert heads.segment_sentiment is not None and heads.segment_touchpoints is not None
    # The text heads are untouched; the segment heads learnt from more rows, so they differ.
    for name in ("sentiment", "stage", "touchpoints"):
        np.testing.assert_array_equal(getattr(heads, name).coef_, getattr(text_heads, name).coef_)
    assert not np.allclose(heads.segment_sentiment.coef_, heads.sentiment.coef_)
    assert encoder.segmented_calls and len(encoder.segmented_calls[0]) == 6
    assert Trainer(load_config(None, []), Settings()).segment_vectors == "separate"


def test_segment_heads_survive_a_save_and_load(tmp_path: Path) -> None:
    table = _table()
    texts = table.frame["text"].tolist()
    encoder = FakeEncoder()
    X = encoder.encode(texts)
    trainer = Trainer(load_config(None, ["data.segment_pairs=6"]), Settings())
    X_tp, _ = head_inputs(X, texts, trainer.config, trainer.taxonomy)
    heads, _ = fit_heads(X, X_tp, table, trainer.config, ["support", "usage", "none"])
    trainer._fit_segment_heads(encoder, heads, table, X, X_tp, texts)  # type: ignore[arg-type]
    heads.save(tmp_path)
    loaded = TaskHeads.load(tmp_path)
    assert loaded.segment_sentiment is not None and loaded.segment_touchpoints is not None
    np.testing.assert_array_equal(loaded.segment_sentiment.coef_, heads.segment_sentiment.coef_)  # type: ignore[union-attr]
    np.testing.assert_array_equal(loaded.segment_touchpoints.thresholds_, heads.segment_touchpoints.thresholds_)  # type: ignore[union-attr]
    assert loaded.for_segments == (loaded.segment_sentiment, loaded.segment_touchpoints)


def test_a_pooled_bundle_loads_as_a_pooled_pipeline(tiny_bundle: Path, settings: Settings, tmp_path: Path) -> None:
    bundle = tmp_path / "pooled"
    shutil.copytree(tiny_bundle, bundle)
    manifest = BundleManifest.read(bundle)
    manifest.encoder.segment_vectors = "pooled"
    manifest.write(bundle)
    assert load_bundle(bundle, settings, encoder=FakeEncoder()).segment_vectors == "pooled"
    assert load_bundle(tiny_bundle, settings, encoder=FakeEncoder()).segment_vectors == "separate"


def test_fit_heads_gives_the_stage_head_the_cues_the_config_asks_for() -> None:
    table = _table()
    texts = table.frame["text"].tolist()
    X = FakeEncoder().encode(texts)
    trainer = Trainer(load_config(None, ["heads.stage_cue_features=true"]), Settings())
    X_tp, X_stage = head_inputs(X, texts, trainer.config, trainer.taxonomy)
    assert X_stage.shape == (len(X), X.shape[1] + len(trainer.taxonomy.stage_labels))
    with pytest.raises(ValueError, match="pass X_stage"):
        fit_heads(X, X_tp, table, trainer.config, ["support", "usage", "none"])
    heads, _ = fit_heads(X, X_tp, table, trainer.config, ["support", "usage", "none"], X_stage)
    assert heads.stage_cue_features and heads.stage.coef_.shape[1] == X_stage.shape[1]
    plain = Trainer(load_config(None, []), Settings())
    assert head_inputs(X, texts, plain.config, plain.taxonomy)[1] is X
