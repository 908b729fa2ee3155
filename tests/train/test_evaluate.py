"""Gold-set evaluation: the file is read and checked before anything is scored, and its rows become
the records ``classify`` would read, so ``evaluate`` scores what the service answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from feedback_nlp.errors import DataError, InputError
from feedback_nlp.fileio import read_records
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.taxonomy.labels import Taxonomy
from feedback_nlp.train.datasets import load_gold
from feedback_nlp.train.evaluate import (
    evaluate_gold,
    evaluate_predictions,
    gold_records,
    labels_outside,
    prepare_gold,
    read_gold,
)

TAXONOMY = Taxonomy.default()

ROWS: list[dict[str, Any]] = [
    {"id": "g1", "source": "reviews", "kind": "review", "text": "I love the app, it is great",
     "sentiment": "positive", "journey_stage": "usage", "touchpoints": ["mobile_app"]},
    {"id": "g2", "source": "reviews", "kind": "review", "text": "The delivery was late, terrible courier",
     "sentiment": "negative", "journey_stage": "onboarding", "touchpoints": ["delivery"]},
    {"id": "g3", "source": "support", "kind": "support_message", "text": "Where is my invoice for March?",
     "sentiment": "neutral", "journey_stage": "billing", "touchpoints": ["billing", "phone"]},
]  # fmt: skip


def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _with(index: int, **changes: Any) -> list[dict[str, Any]]:  # noqa: ANN401
    rows = [dict(row) for row in ROWS]
    rows[index].update(changes)
    return rows


# ------------------------------------------------------------------------------ labels


def test_touchpoints_given_as_one_string_score_as_the_list(tmp_path: Path, fake_pipeline: FeedbackPipeline) -> None:
    # "billing;phone" was iterated letter by letter: touchpoints micro-F1 fell to 0.
    as_list = evaluate_gold(fake_pipeline, _jsonl(tmp_path / "list.jsonl", ROWS))
    as_text = evaluate_gold(fake_pipeline, _jsonl(tmp_path / "text.jsonl", _with(2, touchpoints="billing;phone")))
    comma = evaluate_gold(fake_pipeline, _jsonl(tmp_path / "comma.jsonl", _with(2, touchpoints="billing, phone")))
    assert as_list["touchpoints"]["micro_f1"] > 0.0
    assert as_text["touchpoints"] == as_list["touchpoints"] == comma["touchpoints"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sentiment": "very_negative"}, "sentiment 'very_negative' is not a label; expected one of ['negative'"),
        ({"journey_stage": "checkout"}, "journey_stage 'checkout' is not a label of the model's taxonomy"),
        ({"touchpoints": ["app"]}, "touchpoints ['app'] are not labels of the model's taxonomy"),
        ({"touchpoints": "app;phone"}, "touchpoints ['app'] are not labels"),
        ({"sentiment": None}, "sentiment is missing; every gold row needs one of ['negative', 'neutral', 'positive']"),
        ({"sentiment": ""}, "sentiment is missing"),
        ({"journey_stage": None}, "journey_stage is missing"),
        ({"touchpoints": None}, "touchpoints is null; a gold row gives the list of its touchpoints, [] when none"),
        ({"touchpoints": "?"}, "touchpoints is '?' (unknown)"),
        ({"touchpoints": [1, 2]}, "touchpoints [1, 2] must be a list of labels (strings)"),
        ({"sentiment": "Negative"}, "did you mean 'negative'?"),
        ({"journey_stage": "USAGE"}, "did you mean 'usage'?"),
        ({"kind": "chat"}, "kind 'chat' is not a kind (a chat is kind 'transcript' with channel 'chat')"),
        ({"kind": "tweet"}, "kind 'tweet' is not a kind (a post is kind 'social'); expected one of survey, review"),
        ({"text": ""}, "text: missing or empty"),
        ({"text": None}, "text: missing or empty"),
    ],
)
def test_a_bad_gold_row_is_refused_naming_the_file_line_value_and_allowed_labels(
    tmp_path: Path, fake_pipeline: FeedbackPipeline, changes: dict[str, Any], expected: str
) -> None:
    path = _jsonl(tmp_path / "gold.jsonl", ["", *_with(1, **changes)])  # a blank first line: row 2 is line 3
    with pytest.raises(DataError) as caught:
        evaluate_gold(fake_pipeline, path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 3: ")
    assert expected in message
    if "taxonomy" in expected:
        assert f"({TAXONOMY.name} v{TAXONOMY.version})" in message


def test_a_row_without_touchpoints_is_an_error_not_a_crash(tmp_path: Path, fake_pipeline: FeedbackPipeline) -> None:
    rows = _with(0)
    del rows[0]["touchpoints"]
    with pytest.raises(DataError, match=r"line 1: touchpoints is null"):
        evaluate_gold(fake_pipeline, _jsonl(tmp_path / "gold.jsonl", rows))


def test_every_problem_is_counted_and_the_first_shown(tmp_path: Path) -> None:
    rows = [dict(row, sentiment="awful") for row in ROWS * 2]
    with pytest.raises(DataError, match=r"line 1: .*; line 2: .*; line 3: .*; and 3 more problem\(s\)"):
        read_gold(_jsonl(tmp_path / "gold.jsonl", rows), TAXONOMY)


def test_kinds_are_read_in_any_case(tmp_path: Path, fake_pipeline: FeedbackPipeline) -> None:
    lower = evaluate_gold(fake_pipeline, _jsonl(tmp_path / "lower.jsonl", ROWS))
    upper = evaluate_gold(fake_pipeline, _jsonl(tmp_path / "upper.jsonl", _with(0, kind=" Review")))
    assert upper["by_kind"] == lower["by_kind"]
    assert set(upper["by_kind"]) == {"review", "support_message"}


def test_a_gold_row_becomes_the_record_classify_reads(tmp_path: Path) -> None:
    row = {
        "id": 7,
        "kind": "Transcript",
        "channel": "phone",
        "created_at": "2026-11-02T10:15:00Z",
        "turns": [{"speaker": "caller", "text": "My card was declined."}, {"speaker": "agent", "text": "Checking."}],
        "annotator": "bob",
        "sentiment": "negative",
        "journey_stage": "usage",
        "touchpoints": ["phone"],
    }
    gold = read_gold(_jsonl(tmp_path / "gold.jsonl", [row]), TAXONOMY)
    [record] = gold_records(gold)
    [classify] = [r.record for r in read_records(tmp_path / "gold.jsonl")]
    assert classify is not None
    expected = classify.model_copy(update={"kind": record.kind, "metadata": {"annotator": "bob"}})
    assert record == expected  # labels are not metadata; everything else is as classify reads it
    assert record.id == "7" and record.channel == "phone" and record.turns is not None
    assert record.created_at is not None


def test_evaluate_scores_what_classify_predicts(tmp_path: Path, fake_pipeline: FeedbackPipeline) -> None:
    # A call's `phone` comes from its declared channel (serving adds it): evaluate dropped the
    # channel and scored the transcript without it.
    rows = [
        {"id": "t1", "kind": "transcript", "channel": "phone", "text": "Agent: Hello\nCustomer: I love the app",
         "sentiment": "positive", "journey_stage": "usage", "touchpoints": ["mobile_app", "phone"]},
        *ROWS[:2],  # classify reads record kinds only (not the gold set's support_message)
    ]  # fmt: skip
    path = _jsonl(tmp_path / "gold.jsonl", rows)
    report = evaluate_gold(fake_pipeline, path)
    gold = read_gold(path, TAXONOMY)
    classified = fake_pipeline.predict([r.record for r in read_records(path) if r.record is not None])
    expected = evaluate_predictions(gold, classified, TAXONOMY.stage_labels, TAXONOMY.touchpoint_labels)
    assert "phone" in {t.label for t in classified[0].touchpoints}
    assert report["touchpoints"] == expected["touchpoints"]
    assert report["touchpoints"]["per_label"]["phone"]["recall"] == 1.0
    assert report["gold_file"] == {"name": "gold.jsonl", "rows": 3}


def test_labels_outside_a_taxonomy() -> None:
    gold = prepare_gold(pd.DataFrame(ROWS))
    hotel = Taxonomy.from_dict(
        {
            "name": "hotel",
            "version": 1,
            "sentiment": {"negative": "", "neutral": "", "positive": ""},
            "journey_stages": {"usage": "", "none": ""},
            "touchpoints": {"phone": {"description": ""}},
        }
    )
    assert labels_outside(gold, hotel) == {
        "journey_stage": ["billing", "onboarding"],
        "touchpoints": ["billing", "delivery", "mobile_app"],
    }
    assert labels_outside(gold, TAXONOMY) == {}


# ------------------------------------------------------------------------------ the file


def test_a_byte_order_mark_is_read(tmp_path: Path, fake_pipeline: FeedbackPipeline) -> None:
    plain = _jsonl(tmp_path / "plain.jsonl", ROWS)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert evaluate_gold(fake_pipeline, bom)["headline"] == evaluate_gold(fake_pipeline, plain)["headline"]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([json.dumps(ROWS[0]), "", '{"id": "g2", "text": "truncated'], r"gold\.jsonl, line 3: not valid JSON"),
        ([json.dumps(ROWS[0]), "[1, 2]"], r"line 2: expected a JSON object .* got list \(a JSON array"),
        (["id,text,sentiment", "1,hello,positive"], r"line 1: not valid JSON .* This looks like CSV: name the file"),
        (["", "  "], r"gold\.jsonl holds no rows"),
    ],
)
def test_a_gold_file_that_is_not_json_lines_is_an_input_error_naming_the_line(
    tmp_path: Path, lines: list[str], expected: str
) -> None:
    with pytest.raises(InputError, match=expected):
        load_gold(_jsonl(tmp_path / "gold.jsonl", lines))


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_bytes(json.dumps(ROWS[0]).encode() + b'\n{"text": "caf\xe9"}\n')
    with pytest.raises(InputError, match=r"gold\.jsonl, line 2: expected UTF-8 text, got byte 0xe9"):
        load_gold(path)


def test_a_missing_gold_file_is_said_to_be_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_gold(tmp_path / "nope.jsonl")
    assert "found nothing there; check the path" in str(caught.value)
    assert "FEEDBACK_NLP_DATA_DIR" not in str(caught.value)  # it is the user's file, not the shared datasets


def test_a_json_array_and_a_csv_table_read_as_the_jsonl(tmp_path: Path, fake_pipeline: FeedbackPipeline) -> None:
    expected = evaluate_gold(fake_pipeline, _jsonl(tmp_path / "gold.jsonl", ROWS))["headline"]
    array = tmp_path / "gold.json"
    array.write_text(json.dumps(ROWS, indent=2), encoding="utf-8")
    table = tmp_path / "gold.csv"
    pd.DataFrame([dict(row, touchpoints=";".join(row["touchpoints"])) for row in ROWS]).to_csv(table, index=False)
    assert evaluate_gold(fake_pipeline, array)["headline"] == expected
    assert evaluate_gold(fake_pipeline, table)["headline"] == expected


def test_csv_problems_name_the_file_line(tmp_path: Path) -> None:
    table = tmp_path / "gold.csv"
    table.write_text(
        'text,sentiment,journey_stage,touchpoints\n"two\nlines",neutral,usage,\nhello,Positive,usage,phone\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"gold\.csv, line 4: sentiment 'Positive'"):
        read_gold(table, TAXONOMY)
    # An empty touchpoints cell in a table means none apply.
    table.write_text("text,sentiment,journey_stage,touchpoints\nhello,positive,usage,\n", encoding="utf-8")
    assert read_gold(table, TAXONOMY)["touchpoints"].tolist() == [[]]
