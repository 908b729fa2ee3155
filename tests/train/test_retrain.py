"""Retraining the heads from a labelled table over a bundle's frozen encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import TINY_EXAMPLES, FakeEncoder, check_contract

from feedback_nlp.errors import DataError
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.settings import Settings
from feedback_nlp.storage.bundle import read_manifest
from feedback_nlp.storage.loading import load_bundle
from feedback_nlp.taxonomy.labels import Taxonomy
from feedback_nlp.train.data import TrainingTable
from feedback_nlp.train.retrain import (
    labelled_frame,
    normalise_labelled,
    read_labelled,
    retrain_heads,
    save_retrained,
    touchpoint_matrix,
    write_labelled_csv,
)

SWAP = {"positive": "negative", "negative": "positive", "neutral": "neutral"}


def _labelled(examples=TINY_EXAMPLES, *, swap_sentiment: bool = False) -> pd.DataFrame:
    """The tiny examples as a labelled table, three copies so every head has rows to spare."""
    rows = [
        {
            "text": text,
            "kind": "review",
            "sentiment": SWAP[sentiment] if swap_sentiment else sentiment,
            "journey_stage": stage,
            "touchpoints": touchpoints,
        }
        for text, sentiment, stage, touchpoints in examples
    ]
    return pd.DataFrame(rows * 3)


def test_read_labelled_csv_parses_touchpoint_cells(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "text,sentiment,journey_stage,touchpoints\n"
        "Delivery was late,negative,onboarding,delivery;website\n"
        "Nice weather,neutral,none,\n"
        "Hmm,,,?\n",
        encoding="utf-8",
    )
    frame = read_labelled(path)
    assert frame["touchpoints"].tolist() == [["delivery", "website"], [], None]
    assert frame["sentiment"].tolist() == ["negative", "neutral", None]
    assert frame["journey_stage"].tolist() == ["onboarding", "none", None]
    assert frame["kind"].tolist() == ["survey"] * 3


def test_normalise_labelled_reads_dataset_kinds_as_record_kinds() -> None:
    frame = pd.DataFrame(
        {"text": ["a", "b", "c"], "kind": ["support_message", "complaint", "social"], "sentiment": "neutral"}
    )
    assert normalise_labelled(frame)["kind"].tolist() == ["survey", "survey", "social"]


def test_read_labelled_jsonl_lists_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    lines = [
        {"text": "App crashes", "kind": "review", "sentiment": "negative", "touchpoints": ["mobile_app"]},
        {"text": "Fine", "kind": "social", "sentiment": None, "touchpoints": None},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    frame = read_labelled(path)
    assert frame["touchpoints"].tolist() == [["mobile_app"], None]
    assert frame["sentiment"].tolist() == ["negative", None]
    assert "journey_stage" not in frame


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"comment": ["x"], "sentiment": ["negative"]}), "no 'text' column"),
        (pd.DataFrame({"text": ["x"], "rating": [3]}), "none of the label columns"),
        (pd.DataFrame({"text": ["x", " "], "sentiment": ["negative", "neutral"]}), "row(s) 2 have no text"),
        (pd.DataFrame({"text": ["x"], "kind": ["tweet"], "sentiment": ["negative"]}), "unknown kind ('tweet')"),
    ],
)
def test_normalise_labelled_refuses_bad_tables(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError) as info:
        normalise_labelled(frame)
    assert message in str(info.value)


def test_retrain_refuses_labels_outside_the_taxonomy(fake_pipeline: FeedbackPipeline) -> None:
    labelled = _labelled()
    labelled.loc[4, "sentiment"] = "angry"
    with pytest.raises(DataError) as info:
        retrain_heads(fake_pipeline, labelled)
    assert "row(s) 5" in str(info.value) and "'angry'" in str(info.value) and "positive" in str(info.value)

    labelled = _labelled()
    labelled.at[0, "touchpoints"] = ["carrier_pigeon"]
    with pytest.raises(DataError, match="carrier_pigeon"):
        retrain_heads(fake_pipeline, labelled)


def test_retrain_refuses_a_single_label_head(fake_pipeline: FeedbackPipeline) -> None:
    labelled = pd.DataFrame({"text": [t for t, *_ in TINY_EXAMPLES], "sentiment": "positive"})
    with pytest.raises(DataError, match="at least two"):
        retrain_heads(fake_pipeline, labelled)


def test_retrain_learns_the_new_labels(fake_pipeline: FeedbackPipeline) -> None:
    # The swapped labels contradict the bundle's heads: only refitted heads predict them.
    before = fake_pipeline.predict_texts(["I love the app, it is great"], kind="review")[0]
    assert before.sentiment.label == "positive"

    result = retrain_heads(fake_pipeline, _labelled(swap_sentiment=True), C=20.0, eval_fraction=0.2)

    after = result.pipeline.predict_texts(["I love the app, it is great"], kind="review")[0]
    assert after.sentiment.label == "negative"
    check_contract(after)
    assert result.retrained == ["sentiment", "journey_stage", "touchpoints"]
    assert result.n_train + result.n_eval == 3 * len(TINY_EXAMPLES) and result.n_eval > 0
    assert set(result.held_out) == {"sentiment", "journey_stage", "touchpoints"}
    assert result.held_out["sentiment"]["n"] == result.n_eval
    assert result.pipeline.encoder is fake_pipeline.encoder
    # The original pipeline is untouched.
    assert fake_pipeline.predict_texts(["I love the app, it is great"], kind="review")[0].sentiment.label == "positive"


def test_retrain_keeps_heads_without_a_label_column(fake_pipeline: FeedbackPipeline) -> None:
    labelled = _labelled(swap_sentiment=True).drop(columns=["journey_stage", "touchpoints"])
    result = retrain_heads(fake_pipeline, labelled)
    assert result.retrained == ["sentiment"]
    assert result.heads.stage is fake_pipeline.heads.stage
    assert result.heads.touchpoints is fake_pipeline.heads.touchpoints
    assert result.heads.sentiment is not fake_pipeline.heads.sentiment


def test_retrain_ignores_unknown_labels(fake_pipeline: FeedbackPipeline) -> None:
    labelled = _labelled()
    labelled.loc[::2, "journey_stage"] = None
    labelled["touchpoints"] = [None] * len(labelled)
    labelled.at[0, "touchpoints"] = ["mobile_app"]
    labelled.at[1, "touchpoints"] = []
    result = retrain_heads(fake_pipeline, labelled, eval_fraction=0.3)
    assert "journey_stage" in result.retrained and "touchpoints" in result.retrained
    assert result.held_out["journey_stage"]["n"] < result.n_eval


def test_save_retrained_writes_a_bundle_that_loads(
    fake_pipeline: FeedbackPipeline, tiny_bundle: Path, settings: Settings, tmp_path: Path
) -> None:
    result = retrain_heads(fake_pipeline, _labelled(swap_sentiment=True), C=20.0, name="mine")
    target = save_retrained(result, tiny_bundle, tmp_path / "mine")

    loaded = load_bundle(target, settings, encoder=FakeEncoder())
    texts = ["I love the app, it is great", "The delivery was late, terrible courier"]
    assert [p.model_dump(exclude={"model_version"}) for p in loaded.predict_texts(texts)] == [
        p.model_dump(exclude={"model_version"}) for p in result.pipeline.predict_texts(texts)
    ]
    manifest = read_manifest(target)
    assert manifest["name"] == "mine"
    assert manifest["retrained_heads"] == ["sentiment", "journey_stage", "touchpoints"]
    assert manifest["retrained_from"]["name"] == "tiny"
    assert "Retrained heads" in (target / "README.md").read_text(encoding="utf-8")


def test_save_retrained_refuses_to_overwrite_the_base(fake_pipeline: FeedbackPipeline, tiny_bundle: Path) -> None:
    result = retrain_heads(fake_pipeline, _labelled().drop(columns=["touchpoints", "journey_stage"]))
    with pytest.raises(DataError, match="overwrite the base bundle"):
        save_retrained(result, tiny_bundle, tiny_bundle)


def test_labelled_frame_round_trips_through_csv(tmp_path: Path) -> None:
    labels = Taxonomy.default().touchpoint_labels
    cells = [["delivery"], [], None]
    frame = pd.DataFrame(
        {
            "text": ["Parcel late", "Nice", "So so"],
            "source": "s",
            "kind": ["review", "social", "support_message"],
            "sentiment": ["negative", "positive", None],
            "journey_stage": ["onboarding", None, "usage"],
            "split": "train",
        }
    )
    matrix = touchpoint_matrix(cells, labels)
    matrix[1, labels.index("product")] = np.nan  # partly unknown: the whole row becomes unknown
    table = TrainingTable(frame, matrix, labels, {})

    labelled = labelled_frame(table)
    assert labelled["touchpoints"].tolist() == [["delivery"], None, None]

    back = read_labelled(write_labelled_csv(labelled, tmp_path / "out.csv"))
    assert back["touchpoints"].tolist() == [["delivery"], None, None]
    assert back["sentiment"].tolist() == ["negative", "positive", None]
    assert back["journey_stage"].tolist() == ["onboarding", None, "usage"]
    assert back["kind"].tolist() == ["review", "social", "survey"]


def test_retrain_keeps_a_stage_head_that_reads_stage_cues(fake_pipeline: FeedbackPipeline) -> None:
    """A bundle whose stage head reads the stage cues gets a refitted stage head that reads them
    too, and keeps them when only other heads are refitted."""
    import copy

    pipeline = copy.copy(fake_pipeline)
    pipeline.heads = copy.deepcopy(fake_pipeline.heads)
    pipeline.heads.stage_cue_features = True
    stages = len(pipeline.taxonomy.stage_labels)
    width = pipeline.heads.stage.coef_.shape[1]
    pipeline.heads.stage.coef_ = np.hstack(
        [pipeline.heads.stage.coef_, np.zeros((len(pipeline.heads.stage.classes_), stages), dtype=np.float32)]
    )
    refit = retrain_heads(pipeline, _labelled(), C=20.0)
    assert refit.heads.stage_cue_features and refit.heads.stage.coef_.shape[1] == width + stages
    check_contract(refit.pipeline.predict_texts(["I tried to buy it but checkout failed"], kind="review")[0])
    kept = retrain_heads(pipeline, _labelled().drop(columns=["journey_stage"]), C=20.0)
    assert kept.heads.stage is pipeline.heads.stage and kept.heads.stage_cue_features


def test_retrain_over_ngram_heads_keeps_the_vocabulary_and_reads_it(fake_pipeline: FeedbackPipeline) -> None:
    """A bundle whose text heads read word n-grams: refitted heads read the same block, kept ones
    keep reading it, and the retrained pipeline predicts through both."""
    import copy

    from feedback_nlp.heads.ngrams import WordNgrams

    pipeline = copy.copy(fake_pipeline)
    heads = pipeline.heads = copy.deepcopy(fake_pipeline.heads)
    heads.ngrams = WordNgrams(["love", "late"], np.ones(2, dtype=np.float32))
    for head in heads.text_heads:
        head.coef_ = np.hstack([head.coef_, np.zeros((len(head.classes_), 2), dtype=np.float32)])
    labelled = _labelled(swap_sentiment=True).drop(columns=["journey_stage"])
    result = retrain_heads(pipeline, labelled, C=20.0)
    assert result.heads.ngrams is heads.ngrams and result.heads.stage is heads.stage
    width = fake_pipeline.heads.sentiment.coef_.shape[1] + 2
    assert result.heads.sentiment.coef_.shape[1] == width
    after = result.pipeline.predict_texts(["I love the app, it is great"], kind="review")[0]
    assert after.sentiment.label == "negative"
    check_contract(after)
