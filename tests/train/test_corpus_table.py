"""The default recipe's training table: corpus, native labels and mapped sources, one table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feedback_nlp.train.config import load_config
from feedback_nlp.train.corpus_data import source_balanced_weights
from feedback_nlp.train.trainer import Trainer

CONFIG = Path(__file__).resolve().parents[2] / "training" / "configs" / "default.toml"


@pytest.mark.data
def test_default_table_mixes_corpus_native_and_mapped_rows(data_dir: Path) -> None:
    config = load_config(CONFIG, [f'paths.data_dir="{data_dir.as_posix()}"', 'data.exclude_sources=["mams"]'])
    table = Trainer(config).training_table()
    frame = table.frame
    assert set(frame["origin"]) == {"corpus", "native", "mapped", "augmented"}
    # One invariance copy of each corpus training row, with its weight, never calibrated on.
    augmented = frame[frame["origin"] == "augmented"]
    corpus_train = frame[(frame["origin"] == "corpus") & (frame["split"] == "train")]
    assert len(augmented) == config.data.invariance_copies * len(corpus_train)
    assert (augmented["split"] == "train").all()
    assert (augmented["weight"] == config.data.corpus_weight).all()
    assert augmented["sentiment"].tolist() == corpus_train["sentiment"].tolist() * config.data.invariance_copies
    # Calibration and thresholds use the corpus's held-out share only.
    assert set(frame.loc[frame["split"] == "eval", "origin"]) == {"corpus"}
    assert (frame.loc[frame["origin"] == "corpus", "weight"] == config.data.corpus_weight).all()
    assert (frame.loc[frame["origin"] == "native", "weight"] == config.data.native_weight).all()
    # The corpus's touchpoints are all known but a transcript's declared channel, left to the
    # record unless the text names it (data.channel_from_record); TweetEval's mapped rows give
    # sentiment only.
    corpus = (frame["origin"] == "corpus").to_numpy()
    unknown = np.isnan(table.touchpoints[corpus])
    channels = {table.touchpoint_labels.index("phone"), table.touchpoint_labels.index("chat")}
    assert unknown.any() and set(np.flatnonzero(unknown.any(axis=0))) <= channels
    left = frame[corpus][unknown.any(axis=1)]
    assert (left["kind"] == "transcript").all() and set(left["channel"]) <= {"phone", "chat"}
    tweeteval = ((frame["origin"] == "mapped") & (frame["source"] == "tweeteval_sentiment")).to_numpy()
    assert tweeteval.any() and frame.loc[tweeteval, "journey_stage"].isna().all()
    assert np.isnan(table.touchpoints[tweeteval]).all()
    # A left-out source is gone from every part of the table; no text appears twice across origins.
    assert "mams" not in set(frame["source"])
    assert not frame.loc[~corpus, "text"].isin(set(frame.loc[corpus, "text"])).any()  # copies are changed texts


@pytest.mark.data
def test_corpus_rounds_choose_the_labelling_rounds_trained_on(data_dir: Path) -> None:
    from feedback_nlp.corpus.annotations import load_annotations
    from feedback_nlp.errors import DataError
    from feedback_nlp.taxonomy.labels import load_taxonomy
    from feedback_nlp.train.corpus_data import corpus_table

    per_round = Counter(a.round for a in load_annotations())
    options = {"weight": 1.0, "eval_fraction": 0.15, "seed": 42}
    everything = corpus_table(data_dir, load_taxonomy(), **options).frame
    first = corpus_table(data_dir, load_taxonomy(), rounds=[1], **options).frame
    first_two = corpus_table(data_dir, load_taxonomy(), rounds=[1, 2], **options).frame
    assert len(everything) == sum(per_round.values()) and len(per_round) >= 2
    assert len(first) == per_round[1] and set(first["round"]) == {1}
    assert len(first_two) == per_round[1] + per_round[2] and set(first_two["round"]) == {1, 2}
    with pytest.raises(DataError, match=r"rounds \[9\]"):
        corpus_table(data_dir, load_taxonomy(), rounds=[9], **options)


def test_channel_from_record_leaves_a_declared_channel_unknown_unless_the_text_names_it() -> None:
    import pandas as pd

    from feedback_nlp.taxonomy.labels import Taxonomy
    from feedback_nlp.train.corpus_data import channel_from_record
    from feedback_nlp.train.data import TrainingTable

    taxonomy = Taxonomy.default()
    labels = taxonomy.touchpoint_labels
    frame = pd.DataFrame(
        {
            "text": [
                "Customer: I need to move my booking to Friday",
                "Customer: I called twice and nobody picked up",
                "Customer: where is my parcel",
                "I phoned and waited an hour",
                "Customer: hello",
            ],
            "kind": ["transcript", "transcript", "transcript", "survey", "transcript"],
            "channel": ["phone", "phone", "chat", "phone", "fax"],
        }
    )
    Y = np.zeros((5, len(labels)), dtype=np.float32)
    phone, chat, delivery = labels.index("phone"), labels.index("chat"), labels.index("delivery")
    Y[[0, 1, 3], phone] = 1
    Y[2, [chat, delivery]] = 1
    out = channel_from_record(TrainingTable(frame, Y, labels, {}), taxonomy)
    assert np.isnan(out.touchpoints[0, phone])  # a call that never says so: left to the record
    assert out.touchpoints[1, phone] == 1  # "I called": the text names the channel
    assert np.isnan(out.touchpoints[2, chat]) and out.touchpoints[2, delivery] == 1
    assert out.touchpoints[3, phone] == 1  # not a transcript: its labels are the text's
    np.testing.assert_array_equal(out.touchpoints[4], Y[4])  # no touchpoint for a "fax" channel
    assert np.isnan(out.touchpoints).sum() == 2
    np.testing.assert_array_equal(Y[0, phone], 1)  # the input table is not changed


def test_source_balance_evens_out_the_sources_and_keeps_the_total_weight() -> None:
    sources = pd.Series(["tweets"] * 6 + ["surveys"] * 2)
    assert source_balanced_weights(sources, 0.0).tolist() == [1.0] * 8
    even = source_balanced_weights(sources, 1.0)
    # Every source carries the same total weight; the mean row weight stays 1.
    assert even[:6].sum() == pytest.approx(even[6:].sum()) and even.mean() == pytest.approx(1.0)
    half = source_balanced_weights(sources, 0.5)
    assert even[6] > half[6] > 1.0 > half[0] > even[0]  # the smaller source gains, less than fully
    assert half.mean() == pytest.approx(1.0)


@pytest.mark.data
def test_corpus_source_balance_weighs_the_smaller_sources_up(data_dir: Path) -> None:
    overrides = [f'paths.data_dir="{data_dir.as_posix()}"', "data.invariance_copies=0"]
    balanced = Trainer(load_config(CONFIG, [*overrides, "data.corpus_source_balance=0.5"])).training_table().frame
    corpus = balanced[balanced["origin"] == "corpus"]
    per_row = corpus.groupby("source")["weight"].first()
    sizes = corpus["source"].value_counts()
    assert per_row[sizes.idxmin()] > per_row[sizes.idxmax()]
    assert corpus["weight"].mean() == pytest.approx(load_config(CONFIG).data.corpus_weight)


HOTEL_TAXONOMY = {
    "name": "hotel-cx",
    "version": 3,
    "sentiment": {"negative": "unhappy", "neutral": "no opinion", "positive": "happy"},
    "journey_stages": {"purchase": "booking the stay", "stay": "the stay itself", "none": "no stage"},
    "touchpoints": {
        "room": {"description": "the room and the food", "keywords": ["room", "breakfast"]},
        "in_person": {"description": "staff and front desk", "keywords": ["staff", "reception"]},
    },
}


def test_corpus_labels_are_kept_to_the_taxonomy_trained_for(monkeypatch: pytest.MonkeyPatch) -> None:
    # The corpus is labelled with the default taxonomy; with a custom one its `billing` stage reached
    # the stage head and training failed after embedding ("labels ['billing'] are not among the head's classes").
    import feedback_nlp.train.corpus_data as corpus_data
    from feedback_nlp.corpus.annotations import AnnotatedCorpus
    from feedback_nlp.taxonomy.labels import Taxonomy

    frame = pd.DataFrame(
        {
            "text": ["The bill was wrong", "Booked a room, lovely staff", "Nothing to say"],
            "source": ["a", "b", "b"],
            "kind": ["survey", "review", "social"],
            "sentiment": ["negative", "positive", "neutral"],
            "journey_stage": ["billing", "purchase", "none"],
            "touchpoints": [["billing", "phone"], ["in_person"], []],
            "industry": ["banking", "hotels", "general"],
            "channel": ["", "", ""],
            "round": [1, 1, 1],
        }
    )
    monkeypatch.setattr(corpus_data, "load_cx_corpus", lambda data_dir, path: AnnotatedCorpus(frame, [], []))
    hotel = Taxonomy.from_dict(HOTEL_TAXONOMY)
    table = corpus_data.corpus_table(Path("unused"), hotel, weight=1.0, eval_fraction=0.0, seed=0)
    assert table.frame["journey_stage"].tolist() == [None, "purchase", "none"]
    assert table.touchpoint_labels == ["room", "in_person"]
    # in_person was annotated (a default touchpoint): 0 or 1; `room` never was: unknown, not absent.
    np.testing.assert_array_equal(table.touchpoints[:, 1], [0.0, 1.0, 0.0])
    assert np.isnan(table.touchpoints[:, 0]).all()
    # With the default taxonomy nothing changes: every label kept, every touchpoint known.
    default = corpus_data.corpus_table(Path("unused"), Taxonomy.default(), weight=1.0, eval_fraction=0.0, seed=0)
    assert default.frame["journey_stage"].tolist() == ["billing", "purchase", "none"]
    assert not np.isnan(default.touchpoints).any()
    assert default.touchpoints.sum() == 3
