"""Labelling files: what export writes, and reading real-format exports of Label Studio and Argilla back."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from feedback_nlp.errors import InputError
from feedback_nlp.labelling.export_formats import BatchItem, TaskInfo, write_batch
from feedback_nlp.labelling.import_formats import COLUMNS, detect_format, read_labels, validate_labels

EXPORTS = Path(__file__).parent / "exports"
STAGES = ["awareness", "consideration", "purchase", "onboarding", "usage", "billing", "support", "retention", "none"]


def _by_id(frame: pd.DataFrame) -> dict[str, dict]:
    return {row["id"]: row for row in frame.to_dict("records")}


def test_label_studio_json_export() -> None:
    result = read_labels(EXPORTS / "label_studio_export.json", allowed=STAGES)
    assert result.source_format == "label_studio" and result.task == "journey_stage"
    rows = _by_id(result.frame)
    assert list(result.frame.columns) == [*COLUMNS, "journey_stage"]
    assert rows["r1"]["label"] == "billing" and rows["r1"]["annotators"] == 2 and rows["r1"]["agreement"] == 1.0
    assert rows["r1"]["kind"] == "review" and rows["r1"]["journey_stage"] == "billing"
    assert rows["r2"]["label"] == "onboarding" and rows["r2"]["annotators"] == 1  # the skipped annotation ignored
    assert rows["r4"]["label"] == "billing" and rows["r4"]["agreement"] == 0.5  # ground truth decides
    assert "r3" not in rows and "r5" not in rows
    assert (result.conflicts, result.unlabelled) == (1, 1)  # r3 tied, r5 never annotated


def test_label_studio_json_min_multi_label_majority_per_label() -> None:
    result = read_labels(EXPORTS / "label_studio_min.json")
    assert result.source_format == "json_rows" and result.task == "touchpoints"
    rows = _by_id(result.frame)
    assert rows["201"]["label"] == "mobile_app|website"  # website: 2 of 3 annotators
    assert rows["201"]["annotators"] == 3 and rows["201"]["agreement"] == pytest.approx(2 / 3, abs=1e-3)
    assert rows["202"]["label"] == "delivery"
    assert rows["201"]["touchpoints"] == "mobile_app|website"


def test_label_studio_csv_export() -> None:
    result = read_labels(EXPORTS / "label_studio.csv", allowed=["negative", "neutral", "positive"])
    assert result.source_format == "csv" and result.task == "sentiment"
    assert result.frame[["id", "label", "kind"]].values.tolist() == [
        ["11", "positive", "review"],
        ["12", "negative", "review"],
    ]
    assert result.unlabelled == 1


def test_argilla_records_json_counts_only_submitted_answers() -> None:
    result = read_labels(EXPORTS / "argilla_records.json")
    assert result.source_format == "argilla" and result.task == "custom:hotel-stay"
    rows = _by_id(result.frame)
    assert rows["r1"]["label"] == "problem" and rows["r1"]["annotators"] == 2  # not the suggestion
    assert rows["r2"]["label"] == "amenities" and rows["r2"]["annotators"] == 1  # discarded answer ignored
    assert set(rows) == {"r1", "r2"} and result.unlabelled == 2  # a draft and no answer


def test_argilla_flat_jsonl() -> None:
    result = read_labels(EXPORTS / "argilla_flat.jsonl")
    assert result.source_format == "argilla_flat"
    rows = _by_id(result.frame)
    assert rows["r1"]["label"] == "problem"
    assert rows["r2"]["label"] == "amenities" and rows["r2"]["agreement"] == pytest.approx(2 / 3, abs=1e-3)
    assert "r3" not in rows


def test_argilla_v1_export() -> None:
    result = read_labels(EXPORTS / "argilla_v1.json", task="sentiment")
    assert result.source_format == "argilla_flat"
    assert result.frame[["id", "label", "sentiment"]].values.tolist() == [["11", "positive", "positive"]]


def test_plain_csv_with_own_column_names(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("comment,stage\nwhere is my parcel,onboarding\nbill too high,billing\n", encoding="utf-8")
    result = read_labels(path, task="journey_stage", text_column="comment", label_column="stage")
    assert result.frame["label"].tolist() == ["onboarding", "billing"]
    with pytest.raises(InputError, match="no column 'text'.*--text-column"):
        read_labels(path)


def test_unknown_labels_are_named_with_their_ids() -> None:
    result = read_labels(EXPORTS / "label_studio_export.json")
    with pytest.raises(InputError, match=r"'billing' \(ids r1, r4\).*--task"):
        validate_labels(result, ["onboarding", "support"], "export.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('{"a": 1}', "Expected a JSON list"), ("[]", "empty")],
)
def test_unreadable_exports_say_what_was_expected(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_labels(path)


def test_wrong_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_labels(tmp_path / "nope.json")
    (tmp_path / "x.xlsx").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match=r"\.json or \.jsonl.*\.csv"):
        read_labels(tmp_path / "x.xlsx")


def test_detect_format() -> None:
    assert detect_format([{"data": {"text": "a"}, "annotations": []}]) == "label_studio"
    assert detect_format([{"fields": {"text": "a"}, "responses": {}}]) == "argilla"
    assert detect_format([{"text": "a", "label.responses": ["x"]}]) == "argilla_flat"
    assert detect_format([{"text": "a", "label": "x"}]) == "rows"


# ------------------------------------------------------------------------------------ export


def _batch(tmp_path: Path, multi_label: bool = False) -> dict[str, Path]:
    info = TaskInfo(
        "journey_stage",
        ["billing", "support"],
        {"billing": 'money <after> "purchase"', "support": "help"},
        multi_label,
        "default:1",
    )
    items = [
        BatchItem(1, "r1", "Charged twice, help!", ["billing"], 0.51, 0.9, "review"),
        BatchItem(
            2,
            "r2",
            "Agent never called back",
            ["support", "billing"] if multi_label else ["support"],
            0.55,
            0.8,
            "survey",
        ),
    ]
    return write_batch(tmp_path / "batch", items, info, {"strategy": "diverse"})


def test_export_writes_csv_label_studio_and_argilla_files(tmp_path: Path) -> None:
    paths = _batch(tmp_path)
    with paths["csv"].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["r1", "r2"] and rows[0]["label"] == "" and rows[0]["suggestion"] == "billing"
    config = ET.fromstring(paths["label_studio_config"].read_text(encoding="utf-8"))
    choices = config.find("Choices")
    assert choices is not None and choices.get("name") == "label" and choices.get("toName") == "text"
    assert choices.get("choice") == "single-radio"
    assert [c.get("value") for c in choices.findall("Choice")] == ["billing", "support"]
    assert choices.findall("Choice")[0].get("hint") == 'money <after> "purchase"'  # escaped, read back intact
    assert config.find("Text").get("value") == "$text"  # type: ignore[union-attr]
    tasks = json.loads(paths["label_studio_tasks"].read_text(encoding="utf-8"))
    assert tasks[0]["data"]["text"] == "Charged twice, help!"
    result = tasks[0]["predictions"][0]["result"][0]
    assert result == {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["billing"]}}
    records = json.loads(paths["argilla_records"].read_text(encoding="utf-8"))
    assert records[1]["label.suggestion"] == "support" and records[1]["label.suggestion.agent"] == "default:1"
    manifest = json.loads(paths["manifest"].read_text(encoding="utf-8"))
    assert manifest["task"] == "journey_stage" and manifest["items"] == 2 and manifest["strategy"] == "diverse"


def test_multi_label_export_uses_multiple_choices_and_lists(tmp_path: Path) -> None:
    paths = _batch(tmp_path, multi_label=True)
    config = ET.fromstring(paths["label_studio_config"].read_text(encoding="utf-8"))
    assert config.find("Choices").get("choice") == "multiple"  # type: ignore[union-attr]
    records = json.loads(paths["argilla_records"].read_text(encoding="utf-8"))
    assert records[1]["label.suggestion"] == ["support", "billing"]


def test_round_trip_through_label_studio(tmp_path: Path) -> None:
    """Export, annotate as Label Studio stores it (accepting one guess, correcting one), import."""
    paths = _batch(tmp_path)
    tasks = json.loads(paths["label_studio_tasks"].read_text(encoding="utf-8"))
    answers = {"r1": "billing", "r2": "billing"}
    exported = []
    for number, task in enumerate(tasks, start=1):
        choice = answers[task["data"]["id"]]
        exported.append(
            {
                "id": number,
                "data": task["data"],
                "predictions": [number],
                "annotations": [
                    {
                        "id": 100 + number,
                        "completed_by": 1,
                        "was_cancelled": False,
                        "ground_truth": False,
                        "result": [
                            {
                                "from_name": "label",
                                "to_name": "text",
                                "type": "choices",
                                "origin": "manual",
                                "value": {"choices": [choice]},
                            }
                        ],
                    }
                ],
            }
        )
    path = tmp_path / "project-1-at-2026-01-12.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    result = read_labels(path, allowed=["billing", "support"])
    assert dict(zip(result.frame["id"], result.frame["label"], strict=True)) == answers
    assert result.frame["kind"].tolist() == ["review", "survey"] and result.task == "journey_stage"


def test_round_trip_through_argilla(tmp_path: Path) -> None:
    """Export, then the records as Argilla's ``to_disk`` writes them once annotated, then import."""
    paths = _batch(tmp_path)
    logged = json.loads(paths["argilla_records"].read_text(encoding="utf-8"))
    stored = [
        {
            "id": r["id"],
            "fields": {"text": r["text"]},
            "metadata": {"rank": r["rank"], "uncertainty": r["uncertainty"], "kind": r["kind"], "task": r["task"]},
            "suggestions": {
                "label": {
                    "value": r["label.suggestion"],
                    "score": r["label.suggestion.score"],
                    "agent": r["label.suggestion.agent"],
                }
            },
            "responses": {"label": [{"value": r["label.suggestion"], "user_id": "u1", "status": "submitted"}]},
            "vectors": {},
            "_server_id": None,
        }
        for r in logged
    ]
    path = tmp_path / "records.json"
    path.write_text(json.dumps(stored), encoding="utf-8")
    result = read_labels(path)
    assert result.frame["label"].tolist() == ["billing", "support"] and result.task == "journey_stage"
