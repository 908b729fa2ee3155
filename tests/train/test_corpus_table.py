"""The default recipe's training table: corpus, native labels and mapped sources, one table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feedback_nlp.train.config import load_config
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
    # The corpus's touchpoints are all known; TweetEval's mapped rows give sentiment only.
    corpus = (frame["origin"] == "corpus").to_numpy()
    assert not np.isnan(table.touchpoints[corpus]).any()
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

    per_round = {r: sum(1 for a in load_annotations() if a.round == r) for r in (1, 2)}
    options = {"weight": 1.0, "eval_fraction": 0.15, "seed": 42}
    everything = corpus_table(data_dir, load_taxonomy(), **options).frame
    first = corpus_table(data_dir, load_taxonomy(), rounds=[1], **options).frame
    assert len(everything) == per_round[1] + per_round[2]
    assert len(first) == per_round[1] and set(first["round"]) == {1}
    with pytest.raises(DataError, match=r"rounds \[9\]"):
        corpus_table(data_dir, load_taxonomy(), rounds=[9], **options)
