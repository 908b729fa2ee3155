"""Word n-grams beside the embedding: the vocabulary, its rows, its serialisation, and who reads it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from factories import FakeEncoder, fit_tiny_heads
from safetensors.numpy import load_file, save_file

from feedback_nlp.errors import BundleError
from feedback_nlp.heads.heads import META_FILE, WEIGHTS_FILE, TaskHeads
from feedback_nlp.heads.ngrams import WordNgrams
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.settings import Settings
from feedback_nlp.taxonomy.labels import Taxonomy
from feedback_nlp.taxonomy.records import FeedbackRecord
from feedback_nlp.text import encoder_input
from feedback_nlp.train.config import load_config
from feedback_nlp.train.data import TrainingTable
from feedback_nlp.train.heads_fit import FittedHeads
from feedback_nlp.train.trainer import Trainer, fit_heads, head_inputs

# Three sources say "refund" and "on hold"; only source a names its brand, Zapflix.
TEXTS = [
    ("Still waiting for my refund from Zapflix", "a"),
    ("Zapflix refund never came, on hold for ages", "a"),
    ("Zapflix is great", "a"),
    ("Where is my refund? On hold again", "b"),
    ("refund please, I was on hold an hour", "b"),
    ("on hold for 40 minutes about a refund", "c"),
    ("Asked for a refund, on hold twice", "c"),
]


def _fit(**options: int) -> WordNgrams:
    return WordNgrams.fit([t for t, _ in TEXTS], [s for _, s in TEXTS], **{"min_df": 2, **options})


def test_the_vocabulary_keeps_only_ngrams_that_several_sources_use() -> None:
    ngrams = _fit(min_sources=3)
    assert {"refund", "on hold", "hold", "on"} <= set(ngrams.terms)
    assert not any("zapflix" in term for term in ngrams.terms)  # three texts, one source
    assert "zapflix" in _fit(min_sources=1).terms
    assert len(ngrams.idf) == len(ngrams) and ngrams.idf.dtype == np.float32


def test_placeholders_and_numbers_are_no_words() -> None:
    texts = ["call me on [PHONE] about 40 quid", "my [PHONE] and 40 quid", "[PHONE] 40 quid again"]
    ngrams = WordNgrams.fit(texts, ["a", "b", "c"], min_df=2)
    assert "quid" in ngrams.terms
    assert not {"phone", "40"} & set(ngrams.terms)
    # A redacted number never reads as the word "phone", even in a vocabulary that has it.
    with_phone = WordNgrams(["phone", "quid"], np.ones(2, dtype=np.float32))
    row = with_phone.features(["ring [PHONE] now"])
    assert row.nnz == 0


def test_rows_are_unit_tfidf_times_the_scale_and_empty_without_known_words() -> None:
    ngrams = _fit(min_sources=3)
    rows = ngrams.features(["a refund while on hold", "nothing known here zz"])
    assert isinstance(rows, sp.csr_matrix) and rows.shape == (2, len(ngrams)) and rows.dtype == np.float32
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms, [ngrams.scale, 0.0], atol=1e-6)
    refund = ngrams.terms.index("refund")
    assert rows[0, refund] > 0 and rows[1, refund] == 0


def test_beside_appends_the_block_after_the_given_columns() -> None:
    ngrams = _fit(min_sources=3)
    X = np.arange(6, dtype=np.float32).reshape(2, 3)
    both = ngrams.beside(X, ["refund", "hold"])
    assert both.shape == (2, 3 + len(ngrams))
    np.testing.assert_array_equal(both[:, :3].toarray(), X)
    np.testing.assert_array_equal(both[:, 3:].toarray(), ngrams.features(["refund", "hold"]).toarray())


def test_fit_refuses_mismatched_sources_and_an_empty_vocabulary() -> None:
    with pytest.raises(ValueError, match="one source per text"):
        WordNgrams.fit(["a b", "c d"], ["x"])
    with pytest.raises(ValueError, match="3 or more sources"):
        WordNgrams.fit(["refund now", "refund please"], ["a", "a"], min_df=2)


def _heads_with_ngrams(fake_encoder: FakeEncoder) -> TaskHeads:
    """Tiny heads whose three text heads read a two-term n-gram block: "refund" pushes sentiment
    to negative, the stage to billing and the touchpoints to website, strongly."""
    taxonomy = Taxonomy.default()
    heads = fit_tiny_heads(fake_encoder, taxonomy)
    heads.ngrams = WordNgrams(["refund", "zzz"], np.ones(2, dtype=np.float32), scale=1.0)
    for head, label in ((heads.sentiment, "negative"), (heads.stage, "billing"), (heads.touchpoints, "website")):
        block = np.zeros((len(head.classes_), 2), dtype=np.float32)
        block[list(head.classes_).index(label), 0] = 60.0
        head.coef_ = np.hstack([head.coef_, block])
    return heads


def test_the_text_heads_read_the_ngrams_and_the_segment_heads_do_not(fake_encoder: FakeEncoder) -> None:
    taxonomy = Taxonomy.default()
    heads = _heads_with_ngrams(fake_encoder)
    # Pooled-segment heads over the vector alone (no n-gram columns: reading them would fail).
    heads.segment_sentiment = copy.deepcopy(fit_tiny_heads(fake_encoder, taxonomy).sentiment)
    heads.segment_touchpoints = copy.deepcopy(fit_tiny_heads(fake_encoder, taxonomy).touchpoints)
    assert heads.reads_ngrams(heads.sentiment) and not heads.reads_ngrams(heads.segment_sentiment)
    pipeline = FeedbackPipeline(fake_encoder, heads, taxonomy, version="t:1", segment_vectors="pooled")
    refund, plain = pipeline.predict(
        [
            FeedbackRecord(kind="review", text="The refund. It came today and it was lovely."),
            FeedbackRecord(kind="review", text="It came today. It was lovely."),
        ]
    )
    assert refund.sentiment.label == "negative" and refund.journey_stage.label == "billing"
    assert "website" in [t.label for t in refund.touchpoints]
    assert (plain.sentiment.label, plain.journey_stage.label) != ("negative", "billing")
    inputs = [encoder_input("a refund")]
    X = pipeline.embed(inputs)
    for read in (pipeline.sentiment_input, pipeline.stage_input, pipeline.touchpoint_input):
        assert read(inputs, X).shape[1] > X.shape[1]  # the text heads' inputs carry the block


def test_heads_with_ngrams_save_and_load_exactly(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    heads = _heads_with_ngrams(fake_encoder)
    heads.save(tmp_path)
    loaded = TaskHeads.load(tmp_path)
    assert loaded.ngrams is not None and loaded.ngrams.terms == ["refund", "zzz"] and loaded.ngrams.scale == 1.0
    texts = ["my refund is late", "all good"]
    np.testing.assert_array_equal(loaded.ngrams.features(texts).toarray(), heads.ngrams.features(texts).toarray())
    # Heads from before n-grams have no such key and read no block.
    (tmp_path / "old").mkdir()
    fit_tiny_heads(fake_encoder, Taxonomy.default()).save(tmp_path / "old")
    assert TaskHeads.load(tmp_path / "old").ngrams is None
    # Terms and idf weights that disagree in length are refused, not misread.
    tensors = load_file(str(tmp_path / WEIGHTS_FILE))
    tensors["ngrams.idf"] = np.ones(5, dtype=np.float32)
    save_file(tensors, str(tmp_path / WEIGHTS_FILE))
    with pytest.raises(BundleError, match="do not fit together"):
        TaskHeads.load(tmp_path)
    assert "ngrams" in json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))


def _table() -> TrainingTable:
    texts = [t for t, _ in TEXTS] + ["a refund for the gadget", "gadget gadget refund"]
    frame = pd.DataFrame(
        {
            "text": texts,
            "source": [s for _, s in TEXTS] + ["d", "e"],
            "kind": "review",
            "sentiment": ["negative", "negative", "positive", "negative", "neutral", "negative", "neutral"]
            + ["negative", "neutral"],
            "journey_stage": ["billing", "support", "usage"] * 3,
            # "gadget" is in the eval split only (two sources): no vocabulary may learn it from there.
            "split": ["train"] * 7 + ["eval", "eval"],
            "weight": 1.0,
            "origin": "corpus",
        }
    )
    Y = np.zeros((len(texts), 2), dtype=np.float32)
    Y[[0, 1, 3, 4], 0] = 1
    return TrainingTable(frame, Y, ["phone", "website"], {})


def test_training_fits_the_vocabulary_on_the_train_split_and_every_text_head_reads_it() -> None:
    table = _table()
    texts = table.frame["text"].tolist()
    X = FakeEncoder().encode(texts)
    trainer = Trainer(load_config(None, ["heads.ngram_features=true", "heads.ngram_min_df=2"]), Settings())
    X_tp, X_stage = head_inputs(X, texts, trainer.config, trainer.taxonomy)
    heads, report = fit_heads(X, X_tp, table, trainer.config, ["billing", "support", "usage"], X_stage)
    assert heads.ngrams is not None and "refund" in heads.ngrams.terms
    assert not any("gadget" in term for term in heads.ngrams.terms)
    width = len(heads.ngrams)
    assert heads.sentiment.coef_.shape[1] == X.shape[1] + width
    assert heads.stage.coef_.shape[1] == X_stage.shape[1] + width
    assert heads.touchpoints.coef_.shape[1] == X_tp.shape[1] + width
    assert "sentiment" in report
    plain = Trainer(load_config(None, []), Settings())
    assert fit_heads(X, X_tp, table, plain.config, ["billing", "support", "usage"])[0].ngrams is None


def test_heads_kept_from_a_bundle_must_share_its_ngrams(fake_encoder: FakeEncoder) -> None:
    bundle = _heads_with_ngrams(fake_encoder)
    refitted = FittedHeads(sentiment=copy.deepcopy(bundle.sentiment))
    kept = refitted.task_heads(True, keep=bundle, ngrams=bundle.ngrams)
    assert kept.ngrams is bundle.ngrams and kept.stage is bundle.stage
    with pytest.raises(ValueError, match="same vocabulary"):
        refitted.task_heads(True, keep=bundle, ngrams=None)


def test_heads_read_dense_columns_joined_to_a_sparse_block_as_one_matrix(fake_encoder: FakeEncoder) -> None:
    """Serving hands the heads ``Joined(vector, n-gram rows)`` instead of building the sparse
    matrix: the probabilities are those of the matrix itself."""
    from feedback_nlp.heads.linear import Joined

    heads = _heads_with_ngrams(fake_encoder)
    assert heads.ngrams is not None
    texts = ["my refund is late", "all good", "zzz refund zzz"]
    X = fake_encoder.encode(texts)
    block = heads.ngrams.features(texts)
    assert Joined(X, block).shape == (3, X.shape[1] + 2)
    for head in (heads.sentiment, heads.stage):
        np.testing.assert_allclose(
            head.predict_proba(Joined(X, block)), head.predict_proba(heads.ngrams.beside(X, texts)), atol=1e-6
        )
    X_tp = np.hstack([X, np.zeros((3, heads.touchpoints.coef_.shape[1] - X.shape[1] - 2), dtype=np.float32)])
    np.testing.assert_allclose(
        heads.touchpoints.predict_proba(Joined(X_tp, block)),
        heads.touchpoints.predict_proba(heads.ngrams.beside(X_tp, texts)),
        atol=1e-6,
    )
