"""Error analysis: prediction frames, confident mistakes, metrics per group, comparisons."""

from __future__ import annotations

import pandas as pd
import pytest
from factories import TINY_EXAMPLES

from feedback_nlp.errors import InputError
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.taxonomy.labels import Taxonomy
from feedback_nlp.train.analysis import (
    compare_classifiers,
    compare_headlines,
    compare_per_label,
    confident_mistakes,
    confusion_frame,
    frame_report,
    metrics_by,
    per_label_f1,
    prediction_frame,
    sample_gold,
    touchpoint_counts,
)
from feedback_nlp.train.evaluate import evaluate_predictions, gold_records, prepare_gold

TAXONOMY = Taxonomy.default()


@pytest.fixture(scope="module")
def gold() -> pd.DataFrame:
    """The tiny examples as a gold table, with some labels deliberately wrong."""
    rows = []
    for i, (text, sentiment, stage, touchpoints) in enumerate(TINY_EXAMPLES):
        rows.append(
            {"id": f"g{i}", "source": "a" if i % 2 else "b", "kind": "review" if i % 3 else "social",
             "text": text, "sentiment": sentiment, "journey_stage": stage, "touchpoints": touchpoints or []}
        )  # fmt: skip
    frame = prepare_gold(pd.DataFrame(rows))
    frame.loc[0, "sentiment"] = "negative"  # "I love the app, it is great"
    frame.loc[14, "sentiment"] = "positive"  # "Terrible app, it crashes all the time, awful"
    return frame


@pytest.fixture(scope="module")
def frame(gold: pd.DataFrame, fake_pipeline: FeedbackPipeline) -> pd.DataFrame:
    return prediction_frame(gold, fake_pipeline.predict(gold_records(gold)))


def test_prediction_frame_lines_up_gold_and_predictions(gold: pd.DataFrame, frame: pd.DataFrame) -> None:
    assert len(frame) == len(gold)
    assert frame["id"].tolist() == gold["id"].tolist()
    first = frame.iloc[0]
    assert first["sentiment"] == "negative" and first["sentiment_pred"] == "positive"
    assert not first["sentiment_correct"]
    assert 0.0 < first["sentiment_confidence"] <= 1.0
    for row in frame.itertuples():
        assert set(row.touchpoints_missed) == set(row.touchpoints) - set(row.touchpoints_pred)
        assert set(row.touchpoints_extra) == set(row.touchpoints_pred) - set(row.touchpoints)


def test_prediction_frame_refuses_misaligned_input(gold: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="one prediction per gold row"):
        prediction_frame(gold, [])


def test_confident_mistakes_are_wrong_and_sorted(frame: pd.DataFrame) -> None:
    mistakes = confident_mistakes(frame, "sentiment", n=50)
    assert len(mistakes) == (~frame["sentiment_correct"]).sum() >= 2
    assert (mistakes["gold"] != mistakes["predicted"]).all()
    assert mistakes["confidence"].is_monotonic_decreasing
    assert {"g0", "g14"} <= set(mistakes["id"])
    assert len(confident_mistakes(frame, "journey_stage", n=1)) <= 1
    with pytest.raises(InputError, match="task must be one of"):
        confident_mistakes(frame, "touchpoints")  # type: ignore[arg-type]


def test_frame_report_matches_evaluate_predictions(
    gold: pd.DataFrame, frame: pd.DataFrame, fake_pipeline: FeedbackPipeline
) -> None:
    predictions = fake_pipeline.predict(gold_records(gold))
    expected = evaluate_predictions(gold, predictions, TAXONOMY.stage_labels, TAXONOMY.touchpoint_labels)
    report = frame_report(frame, TAXONOMY.stage_labels, TAXONOMY.touchpoint_labels)
    for task in ("sentiment", "journey_stage", "touchpoints"):
        assert report[task] == expected[task]
    assert set(expected["by_source"]) == {"a", "b"}


def test_metrics_by_groups_every_row(frame: pd.DataFrame) -> None:
    table = metrics_by(frame, "kind", TAXONOMY.stage_labels, TAXONOMY.touchpoint_labels)
    assert table["kind"].tolist() == ["review", "social"]
    assert table["n"].sum() == len(frame)
    assert table["sentiment_accuracy"].between(0, 1).all()
    with pytest.raises(InputError, match="cannot group by"):
        metrics_by(frame, "channel", TAXONOMY.stage_labels, TAXONOMY.touchpoint_labels)


def test_touchpoint_counts_add_up(frame: pd.DataFrame) -> None:
    counts = touchpoint_counts(frame, TAXONOMY.touchpoint_labels).set_index("touchpoint")
    for label, row in counts.iterrows():
        assert row["tp"] + row["fn"] == row["support"] == sum(label in t for t in frame["touchpoints"])
        assert row["tp"] + row["fp"] == sum(label in t for t in frame["touchpoints_pred"])


def test_confusion_frame_has_gold_rows(frame: pd.DataFrame) -> None:
    report = frame_report(frame, TAXONOMY.stage_labels, TAXONOMY.touchpoint_labels)
    table = confusion_frame(report["sentiment"])
    assert table.loc["negative", "positive"] >= 1  # g0: gold negative, predicted positive
    assert table.to_numpy().sum() == len(frame)


def test_compare_per_label_and_headlines(frame: pd.DataFrame) -> None:
    report = frame_report(frame, TAXONOMY.stage_labels, TAXONOMY.touchpoint_labels)
    perfect = frame.assign(sentiment_pred=frame["sentiment"])
    better = frame_report(perfect, TAXONOMY.stage_labels, TAXONOMY.touchpoint_labels)
    table = compare_per_label({"current": report, "better": better})
    sentiment = table[table["task"] == "sentiment"].set_index("label")
    assert (sentiment["f1_better"] == 1.0).all()
    assert (sentiment["delta"] == sentiment["f1_better"] - sentiment["f1_current"]).all()
    assert set(table["task"]) == {"sentiment", "journey_stage", "touchpoints"}
    headlines = compare_headlines({"current": report, "better": better})
    assert headlines.loc["sentiment_accuracy", "better"] == 1.0
    assert headlines.loc["sentiment_accuracy", "current"] < 1.0


def test_sample_gold_caps_each_source(gold: pd.DataFrame) -> None:
    sample = sample_gold(gold, 3)
    assert sample["source"].value_counts().to_dict() == {"a": 3, "b": 3}
    assert sample_gold(gold, None).equals(gold.reset_index(drop=True))
    with pytest.raises(InputError, match="at least 1"):
        sample_gold(gold, 0)


class _Constant:
    def __init__(self, label: str) -> None:
        self.label = label

    def predict(self, texts: list[str]) -> list[str]:
        return [self.label] * len(texts)


class _Echo:
    def predict(self, texts: list[str]) -> list[str]:
        return [text.split()[0] for text in texts]


def test_compare_classifiers_scores_each_one() -> None:
    texts = ["spa please", "gym hours", "spa prices", "wifi password"]
    labels = ["spa", "gym", "spa", "wifi"]
    reports, table = compare_classifiers(
        {"echo": _Echo(), "always spa": _Constant("spa")}, texts, labels, ["spa", "gym", "wifi"]
    )
    assert list(table.columns) == ["echo", "always spa"]
    assert table.loc["accuracy", "echo"] == 1.0
    assert table.loc["accuracy", "always spa"] == 0.5
    f1 = per_label_f1(reports)
    assert f1.loc["spa", "echo"] == 1.0 and f1.loc["gym", "always spa"] == 0.0
    with pytest.raises(InputError, match="one label per text"):
        compare_classifiers({"echo": _Echo()}, texts, labels[:2], ["spa"])
