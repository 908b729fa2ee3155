"""The annotated CX corpus: labels keyed to shared rows, joined and checked by hash."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from feedback_nlp.corpus import load_annotations, load_cx_corpus, text_sha256
from feedback_nlp.corpus.annotations import CORPUS_LABELS
from feedback_nlp.corpus.sources import is_travel, read_source
from feedback_nlp.errors import DataError
from feedback_nlp.taxonomy.labels import load_taxonomy
from feedback_nlp.train.data import gold_key
from feedback_nlp.train.datasets import load_gold

ROOT = Path(__file__).resolve().parents[2]
FILE = "brand_support_tweets/inbound_tweets.csv"


def _shared(tmp_path: Path, texts: list[str]) -> Path:
    folder = tmp_path / "data" / "brand_support_tweets"
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "corpus": "twcs",
            "tweet_id": [str(100 + i) for i in range(len(texts))],
            "brand": "AmazonHelp",
            "created_at": "Wed Oct 04 13:59:33 +0000 2017",
            "in_response_to_tweet_id": "",
            "text": texts,
        }
    ).to_csv(folder / "inbound_tweets.csv", index=False)
    return tmp_path / "data"


def _label(row_id: str, text: str, **labels: object) -> dict[str, object]:
    return {
        "file": FILE,
        "row_id": row_id,
        "sha256": text_sha256(text),
        "source": "brand_support_tweets",
        "kind": "social",
        "industry": "retail",
        "sentiment": "negative",
        "journey_stage": "onboarding",
        "touchpoints": ["delivery"],
        "annotators": ["a1"],
        **labels,
    }


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_loader_joins_labels_with_their_texts(tmp_path: Path) -> None:
    texts = ["@AmazonHelp my parcel never came", "@AmazonHelp thanks, all sorted!"]
    data = _shared(tmp_path, texts)
    labels = _write(
        tmp_path / "labels.jsonl", [_label("twcs:100", texts[0]), _label("twcs:101", texts[1], sentiment="positive")]
    )
    corpus = load_cx_corpus(data, labels)
    assert corpus.missing == [] and corpus.changed == []
    assert list(corpus.frame["text"]) == texts
    assert list(corpus.frame["sentiment"]) == ["negative", "positive"]


def test_loader_reports_changed_and_missing_texts(tmp_path: Path) -> None:
    data = _shared(tmp_path, ["@AmazonHelp my parcel never came"])
    labels = _write(
        tmp_path / "labels.jsonl",
        [_label("twcs:100", "a different text than the file holds"), _label("twcs:999", "gone")],
    )
    corpus = load_cx_corpus(data, labels)
    assert corpus.changed == [f"{FILE}#twcs:100"]
    assert corpus.missing == [f"{FILE}#twcs:999"]
    assert corpus.frame.empty


def test_bad_label_line_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "labels.jsonl", [_label("twcs:100", "x"), _label("twcs:101", "y", sentiment="angry")])
    with pytest.raises(DataError, match=r"labels.jsonl:2"):
        load_annotations(path)


def test_travel_texts_are_held_out() -> None:
    assert is_travel("@united my flight was cancelled")
    assert is_travel("Lost luggage at the airport again")
    assert not is_travel("@AmazonHelp my parcel never came")
    assert is_travel("@Uber_Support my driver was doing 52mph")  # a handle's underscore ends no word
    assert is_travel("Why is your WiFi so slow @HolidayInn?") and is_travel("@IHGService my points")
    assert not is_travel("I was constrained by the training")  # letters around a word do


# ----------------------------------------------------------------------------- the real corpus


@pytest.fixture(scope="module")
def corpus(data_dir: Path) -> pd.DataFrame:
    joined = load_cx_corpus(data_dir)
    assert joined.missing == [] and joined.changed == [], (joined.missing[:3], joined.changed[:3])
    return joined.frame


def test_corpus_file_holds_no_texts() -> None:
    first = json.loads(CORPUS_LABELS.read_text(encoding="utf-8").splitlines()[0])
    assert "text" not in first and len(first["sha256"]) == 64


@pytest.mark.data
def test_corpus_meets_its_specification(corpus: pd.DataFrame) -> None:
    taxonomy = load_taxonomy()
    assert len(corpus) >= 4000
    assert corpus["source"].nunique() >= 10
    assert corpus["industry"].nunique() >= 8
    kinds = Counter(corpus["kind"])
    assert kinds["social"] >= 1000 and kinds["survey"] >= 600 and kinds["transcript"] >= 600 and kinds["review"] >= 800
    stages = Counter(corpus["journey_stage"])
    assert all(stages[s] >= 60 for s in taxonomy.stage_labels), stages
    touchpoints = Counter(t for tps in corpus["touchpoints"] for t in tps)
    assert all(touchpoints[t] >= 60 for t in taxonomy.touchpoint_labels), touchpoints


@pytest.mark.data
def test_mixed_draw_holds_praise_beside_a_problem(corpus: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """Round 5's ``mixed`` draw chose texts with a word of praise and a word of a problem; its labels
    come from reading, so all three sentiments occur."""
    spec = importlib.util.spec_from_file_location("draw_sample", ROOT / "training" / "corpus" / "draw_sample.py")
    assert spec is not None and spec.loader is not None
    draw_sample = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, draw_sample)  # its dataclasses look their module up there
    spec.loader.exec_module(draw_sample)
    mixed = corpus[corpus["draw"] == "mixed"]
    assert len(mixed) >= 500
    assert mixed["text"].str.contains(draw_sample.PRAISE).all()
    assert mixed["text"].str.contains(draw_sample.PROBLEM).all()
    assert set(mixed["sentiment"]) == {"negative", "neutral", "positive"}
    assert not draw_sample.PROBLEM.search("Great service, lovely staff")  # praise alone is not drawn


@pytest.mark.data
def test_corpus_leaves_out_gold_and_travel(corpus: pd.DataFrame, data_dir: Path) -> None:
    gold = {gold_key(t) for t in load_gold(data_dir / "gold" / "dev.jsonl")["text"]}
    assert not corpus["text"].map(gold_key).isin(gold).any()
    assert not corpus["text"].map(is_travel).any()


@pytest.mark.data
def test_sources_read_every_corpus_file(data_dir: Path) -> None:
    rows = read_source("dstc11_call_utterances", data_dir)
    assert set(rows["channel"]) == {"phone"} and set(rows["kind"]) == {"transcript"}
    assert rows["row_id"].is_unique
    complaints = read_source("cfpb_complaints", data_dir)  # narratives only, keyed by Complaint ID
    assert set(complaints["kind"]) == {"survey"} and complaints["row_id"].is_unique
    assert complaints["text"].str.len().min() > 0 and len(complaints) > 1000


def test_no_text_is_labelled_in_two_rounds() -> None:
    """Each round drew only texts no earlier round labelled: every key and every text hash is once in the file."""
    lines = [json.loads(line) for line in CORPUS_LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    keys = Counter((line["file"], line["row_id"]) for line in lines)
    hashes = Counter(line["sha256"] for line in lines)
    assert max(keys.values()) == 1 and max(hashes.values()) == 1
    assert {line.get("round", 1) for line in lines} == {1, 2, 3, 4, 5}
