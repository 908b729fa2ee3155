"""Records frames and mentions: validation, the segment rule, what mention rows carry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from scoring_example import row

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import add_period
from feedback_nlp.scoring.frame import (
    MENTION_COLUMNS,
    RECORD_COLUMNS,
    mentions,
    record_touchpoints,
    records_from_frame,
    records_from_predictions,
    records_from_rows,
    segment_sentiment,
    with_fields,
)
from feedback_nlp.taxonomy.records import (
    FeedbackRecord,
    LabelScore,
    Prediction,
    SegmentPrediction,
    SentimentResult,
    TopicResult,
)


def _seg(label: str, score: float, *touchpoints: str) -> dict:
    tps = [{"label": t, "confidence": 0.7} for t in touchpoints]
    return {"sentiment": {"label": label, "score": score}, "touchpoints": tps}


def _mention(frame: pd.DataFrame, id: str, touchpoint: str) -> pd.Series:
    hits = frame[(frame["id"] == id) & (frame["touchpoint"] == touchpoint)]
    assert len(hits) == 1, hits
    return hits.iloc[0]


# ---------------------------------------------------------------------------- building


def test_records_from_predictions_love_the_app_late_delivery() -> None:
    record = FeedbackRecord(
        id="a1", kind="review", text="Love the app, but delivery was late", source="store",
        created_at=datetime(2024, 3, 5, 9, tzinfo=UTC), rating=3, metadata={"region": "south"},
    )  # fmt: skip
    prediction = Prediction(
        id="a1",
        kind="review",
        sentiment=SentimentResult(label="negative", score=-0.2),
        journey_stage=LabelScore(label="onboarding", confidence=0.8),
        touchpoints=[LabelScore(label="mobile_app", confidence=0.9), LabelScore(label="delivery", confidence=0.8)],
        topic=TopicResult(id=3, label="delivery delay", confidence=0.7),
        segments=[
            SegmentPrediction(
                text="Love the app,",
                start=0,
                end=13,
                sentiment=SentimentResult(label="positive", score=0.9),
                touchpoints=[LabelScore(label="mobile_app", confidence=0.95)],
            ),
            SegmentPrediction(
                text="but delivery was late",
                start=14,
                end=35,
                sentiment=SentimentResult(label="negative", score=-0.8),
                touchpoints=[LabelScore(label="delivery", confidence=0.9)],
            ),
        ],  # fmt: skip
        model_version="test",
    )
    records = records_from_predictions([record], [prediction])
    assert list(records.columns) == list(RECORD_COLUMNS)
    assert records.loc[0, "topic_label"] == "delivery delay"
    assert records.loc[0, "created_at"] == pd.Timestamp("2024-03-05T09:00:00Z")
    table = mentions(records)
    app, delivery = _mention(table, "a1", "mobile_app"), _mention(table, "a1", "delivery")
    assert (app["sentiment_label"], app["sentiment_score"], app["sentiment_from"]) == ("positive", 0.9, "segments")
    assert (delivery["sentiment_label"], delivery["sentiment_score"]) == ("negative", -0.8)
    assert app["touchpoint_confidence"] == 0.9  # the whole-text confidence wins over the segment's


def test_records_from_predictions_fills_missing_ids_by_position() -> None:
    record = FeedbackRecord(kind="survey", text="fine")
    prediction = Prediction(
        kind="survey", sentiment=SentimentResult(label="neutral", score=0.0),
        journey_stage=LabelScore(label="none", confidence=0.5), model_version="test",
    )  # fmt: skip
    records = records_from_predictions([record, record], [prediction, prediction])
    assert records["id"].tolist() == ["row-0", "row-1"]
    assert records["created_at"].isna().all()


def test_records_from_predictions_refuses_mismatched_lengths() -> None:
    with pytest.raises(InputError, match="one prediction per record"):
        records_from_predictions([FeedbackRecord(kind="survey", text="x")], [])


def test_records_from_rows_reads_json_text_numpy_lists_and_naive_times() -> None:
    records = records_from_rows(
        [
            {
                "id": 7, "kind": "survey", "created_at": "2024-03-05T10:00:00", "metadata": '{"plan": "pro"}',
                "sentiment_label": "positive", "sentiment_score": 0.5, "journey_stage": "usage",
                "touchpoints": np.array([{"label": "website", "confidence": 0.8}], dtype=object), "nps": 9,
                "text": "ignored",
            }
        ]
    )  # fmt: skip
    assert records.loc[0, "id"] == "7"
    assert records.loc[0, "created_at"] == pd.Timestamp("2024-03-05T10:00:00Z")  # naive is UTC
    assert records.loc[0, "metadata"] == {"plan": "pro"}
    assert records.loc[0, "touchpoints"] == [{"label": "website", "confidence": 0.8}]
    assert records.loc[0, "segments"] == [] and records.loc[0, "topic"] is None
    assert np.isnan(records.loc[0, "rating"]) and records.loc[0, "nps"] == 9.0


def test_records_from_rows_converts_offsets_to_utc() -> None:
    records = records_from_rows([row("x", 1, "neutral", 0.0) | {"created_at": "2024-03-10T23:30:00-02:00"}])
    assert records.loc[0, "created_at"] == pd.Timestamp("2024-03-11T01:30:00Z")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sentiment_label": "pos"}, "sentiment_label must be one of"),
        ({"sentiment_score": 1.5}, r"sentiment_score must be a number in \[-1, 1\]"),
        ({"rating": 7}, r"rating must be a number in \[1, 5\]"),
        ({"nps": 11}, r"nps must be a number in \[0, 10\]"),
        ({"nps": 7.5}, "nps must be a whole number"),
        ({"kind": None}, "kind must be given"),
        ({"touchpoints": [{"confidence": 0.2}]}, "touchpoints of row 0"),
        ({"segments": [{"sentiment": {"label": "happy", "score": 0.1}}]}, "segments of row 0"),
    ],
)
def test_records_from_rows_refuses_bad_values(change: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        records_from_rows([row("bad", 1, "neutral", 0.0) | change])


def test_records_from_rows_names_missing_keys() -> None:
    with pytest.raises(InputError, match=r"row 1 lacks \['journey_stage'\]"):
        records_from_rows([row("a", 1, "neutral", 0.0), {"id": "b", "kind": "survey", "sentiment_label": "neutral",
                                                          "sentiment_score": 0.0}])  # fmt: skip


def test_records_from_frame_keeps_extra_columns_and_needs_required_ones() -> None:
    frame = pd.DataFrame([row("a", 1, "neutral", 0.0)]).assign(team="blue")
    assert records_from_frame(frame)["team"].tolist() == ["blue"]
    with pytest.raises(InputError, match="lacks column"):
        records_from_frame(frame.drop(columns="sentiment_score"))


def test_records_from_rows_empty_gives_empty_frame() -> None:
    records = records_from_rows([])
    assert records.empty and list(records.columns) == list(RECORD_COLUMNS)
    assert mentions(records).empty


# ---------------------------------------------------------------------------- mentions


@pytest.mark.parametrize(
    ("labels", "scores", "expected"),
    [
        (["positive"], [0.9], ("positive", 0.9)),
        (["positive", "negative"], [0.5, -0.25], ("negative", 0.125)),  # tie: the later segment
        (["negative", "positive"], [-0.25, 0.5], ("positive", 0.125)),
        (["negative", "negative", "positive"], [-0.5, -0.25, 0.75], ("negative", 0.0)),  # majority
        (["positive", "neutral", "negative", "neutral"], [0.5, 0.0, -0.5, 0.0], ("neutral", 0.0)),
    ],
)
def test_segment_sentiment_majority_then_latest(labels: list, scores: list, expected: tuple) -> None:
    segments = [_seg(label, score) for label, score in zip(labels, scores, strict=True)]
    assert segment_sentiment(segments) == expected


def test_mentions_one_row_per_touchpoint_with_segment_or_text_sentiment() -> None:
    records = records_from_rows(
        [
            row("a", 4, "neutral", 0.1, ("mobile_app",),
                segments=[_seg("positive", 0.5, "mobile_app"), _seg("negative", -0.25, "mobile_app", "mobile_app"),
                          _seg("positive", 0.5, "phone")]),
            row("b", 5, "negative", -0.6, ("delivery", "billing")),
            row("c", 6, "positive", 0.4),
        ]
    )  # fmt: skip
    table = mentions(records)
    assert list(table.columns[: len(MENTION_COLUMNS)]) == list(MENTION_COLUMNS)
    assert list(zip(table["id"], table["touchpoint"], strict=True)) == [
        ("a", "mobile_app"), ("a", "phone"), ("b", "billing"), ("b", "delivery"),
    ]  # fmt: skip
    app, phone = _mention(table, "a", "mobile_app"), _mention(table, "a", "phone")
    assert (app["sentiment_label"], app["sentiment_score"]) == ("negative", 0.125)  # tie -> later segment
    assert (phone["sentiment_label"], phone["sentiment_from"], phone["touchpoint_confidence"]) == (
        "positive", "segments", 0.7,
    )  # fmt: skip  # a touchpoint that only a segment carries still counts
    billing = _mention(table, "b", "billing")
    assert (billing["sentiment_label"], billing["sentiment_score"], billing["sentiment_from"]) == (
        "negative", -0.6, "text",
    )  # fmt: skip
    assert record_touchpoints(records).tolist() == [["mobile_app", "phone"], ["billing", "delivery"], []]


def test_mentions_carry_record_columns_period_and_metadata_keys() -> None:
    records = add_period(records_from_rows([row("a", 7, "positive", 0.3, ("phone",), nps=9, rating=4,
                                                metadata={"region": "north", "tier": 2})]), "week")  # fmt: skip
    table = mentions(records, metadata_keys=["region", "tier"])
    first = table.iloc[0]
    assert first["period"] == date(2024, 3, 4)
    assert (first["nps"], first["rating"], first["journey_stage"], first["source"]) == (9.0, 4.0, "usage", "web")
    assert (first["region"], first["tier"]) == ("north", "2")  # metadata values grouped as text
    assert "segments" not in table.columns and "metadata" not in table.columns
    with pytest.raises(InputError, match="already columns"):
        mentions(records, metadata_keys=["source"])


def test_with_fields_reads_metadata_and_names_unknown_keys() -> None:
    records = records_from_rows([row("a", 1, "neutral", 0.0, metadata={"vip": True}), row("b", 1, "neutral", 0.0)])
    assert with_fields(records, ["vip"])["vip"].tolist() == ["true", None]
    assert with_fields(records, ["source"]) is records
    with pytest.raises(InputError, match=r"cannot group by \['regoin'\].*\['vip'\]"):
        with_fields(records, ["regoin"])
