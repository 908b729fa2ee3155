"""``feedback-nlp taxonomy`` and ``feedback-nlp label``: fit, predict, export, import, refit (fake encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from factories import FakeEncoder
from typer.testing import CliRunner

import feedback_nlp.custom.classifier
import feedback_nlp.storage.loading
from feedback_nlp.cli import app

runner = CliRunner()

SPEC = """name: shop
labels:
  delivery: {description: parcel courier delivery arrived late shipping}
  billing: {description: invoice charged twice bill payment refund money}
  app: {description: app crashes login screen phone update}
"""

FEEDBACK = [
    {"id": "a", "kind": "review", "text": "my parcel delivery arrived late"},
    {"id": "b", "kind": "review", "text": "my parcel delivery arrived late again"},
    {"id": "c", "kind": "survey", "text": "I was charged twice on the invoice"},
    {"id": "d", "kind": "survey", "text": "the app crashes on the login screen"},
    {"id": "e", "kind": "social", "text": "courier and invoice and app all bad"},
    {"id": "f", "kind": "survey", "text": "refund my money for the bill"},
    {"id": "g", "kind": "review", "text": "after the update the app crashes"},
    {"id": "h", "kind": "review", "text": "the courier lost my parcel"},
]


@pytest.fixture(autouse=True)
def fake_models(fake_pipeline, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The configured encoder is the fake one; the pipeline is the tiny fake bundle."""
    monkeypatch.setattr(feedback_nlp.custom.classifier, "default_encoder", lambda settings=None: FakeEncoder())
    monkeypatch.setattr(feedback_nlp.storage.loading, "load_pipeline", lambda model_dir=None, **_: fake_pipeline)


def _invoke(*args: str):  # noqa: ANN202
    return runner.invoke(app, [str(a) for a in args])


def _files(tmp_path: Path) -> tuple[Path, Path]:
    spec = tmp_path / "shop.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text("".join(json.dumps(r) + "\n" for r in FEEDBACK), encoding="utf-8")
    return spec, feedback


def test_taxonomy_fit_predict_show_zero_shot(tmp_path: Path) -> None:
    spec, feedback = _files(tmp_path)
    result = _invoke("taxonomy", "fit", spec, "-o", tmp_path / "clf")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["method"] == "zero-shot"
    out = tmp_path / "pred.jsonl"
    result = _invoke("taxonomy", "predict", tmp_path / "clf", feedback, "-o", out, "--top", "2")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in FEEDBACK]
    assert [r["label"] for r in rows[:4]] == ["delivery", "delivery", "billing", "app"]
    assert len(rows[0]["top"]) == 2 and rows[0]["model_version"].startswith("shop:")
    shown = _invoke("taxonomy", "show", tmp_path / "clf")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["labels"] == ["delivery", "billing", "app"]


def test_taxonomy_fit_reports_bad_examples_without_a_traceback(tmp_path: Path) -> None:
    spec, _ = _files(tmp_path)
    examples = tmp_path / "ex.csv"
    examples.write_text("text,label\nlate parcel,shipping\n", encoding="utf-8")
    result = _invoke("taxonomy", "fit", spec, "-o", tmp_path / "clf", "--examples", examples)
    assert result.exit_code == 1
    assert "'shipping'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "clf").exists()


def test_label_export_default_task_writes_every_file(tmp_path: Path) -> None:
    _, feedback = _files(tmp_path)
    result = _invoke(
        "label", "export", feedback, "-n", "3", "-o", tmp_path / "batch", "--task", "sentiment", "--no-cache"
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "batch").iterdir())
    assert names == [
        "argilla_records.json",
        "label_studio_config.xml",
        "label_studio_tasks.json",
        "manifest.json",
        "to_label.csv",
    ]
    table = pd.read_csv(tmp_path / "batch" / "to_label.csv", dtype=str, keep_default_na=False)
    assert len(table) == 3 and set(table["suggestion"]) <= {"negative", "neutral", "positive"}
    assert table["id"].is_unique and set(table["id"]) <= {r["id"] for r in FEEDBACK}
    manifest = json.loads((tmp_path / "batch" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["task"] == "sentiment" and manifest["pool"] == len(FEEDBACK)


def test_label_export_touchpoints_and_a_bad_task(tmp_path: Path) -> None:
    _, feedback = _files(tmp_path)
    result = _invoke(
        "label", "export", feedback, "-n", "2", "-o", tmp_path / "tp", "--task", "touchpoints", "--no-cache"
    )
    assert result.exit_code == 0, result.output
    config = (tmp_path / "tp" / "label_studio_config.xml").read_text(encoding="utf-8")
    assert 'choice="multiple"' in config and 'value="delivery"' in config
    result = _invoke("label", "export", feedback, "-o", tmp_path / "x", "--task", "mood", "--no-cache")
    assert result.exit_code == 1 and "sentiment, journey_stage or touchpoints" in result.output


def test_label_round_trip_custom_taxonomy(tmp_path: Path) -> None:
    """zero-shot fit -> export -> annotate in Label Studio -> import -> few-shot fit on the labels."""
    spec, feedback = _files(tmp_path)
    assert _invoke("taxonomy", "fit", spec, "-o", tmp_path / "clf").exit_code == 0
    result = _invoke(
        "label", "export", feedback, "-n", "4", "-o", tmp_path / "batch", "--classifier", tmp_path / "clf", "--no-cache"
    )
    assert result.exit_code == 0, result.output
    tasks = json.loads((tmp_path / "batch" / "label_studio_tasks.json").read_text(encoding="utf-8"))
    assert len(tasks) == 4 and tasks[0]["data"]["task"] == "custom:shop"
    truth = {
        "a": "delivery",
        "b": "delivery",
        "c": "billing",
        "d": "app",
        "e": "billing",
        "f": "billing",
        "g": "app",
        "h": "delivery",
    }
    exported = [
        {
            "id": i,
            "data": t["data"],
            "annotations": [
                {
                    "id": i,
                    "was_cancelled": False,
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [truth[t["data"]["id"]]]},
                        }
                    ],
                }
            ],
        }
        for i, t in enumerate(tasks)
    ]
    (tmp_path / "ls.json").write_text(json.dumps(exported), encoding="utf-8")
    result = _invoke("label", "import", tmp_path / "ls.json", "-o", tmp_path / "labels.csv", "--spec", spec)
    assert result.exit_code == 0, result.output
    labels = pd.read_csv(tmp_path / "labels.csv", dtype=str)
    assert dict(zip(labels["id"], labels["label"], strict=True)) == {i: truth[i] for i in labels["id"]}
    assert set(labels["task"]) == {"custom:shop"}
    result = _invoke("taxonomy", "fit", spec, "-o", tmp_path / "clf2", "--examples", tmp_path / "labels.csv")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["method"] == "few-shot"
    # The labelled texts are not offered again.
    result = _invoke(
        "label",
        "export",
        feedback,
        "-n",
        "8",
        "-o",
        tmp_path / "next",
        "--classifier",
        tmp_path / "clf2",
        "--labelled",
        tmp_path / "labels.csv",
        "--no-cache",
    )
    assert result.exit_code == 0, result.output
    again = pd.read_csv(tmp_path / "next" / "to_label.csv", dtype=str)
    assert not set(again["id"]) & set(labels["id"])


def test_label_import_refuses_labels_outside_the_task(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("text,label\nwhere is my parcel,shipping\n", encoding="utf-8")
    result = _invoke("label", "import", path, "--task", "journey_stage", "-o", tmp_path / "out.csv")
    assert result.exit_code == 1 and "'shipping'" in result.output and "awareness" in result.output
    result = _invoke("label", "import", path, "-o", tmp_path / "out.csv")  # custom task: nothing to check against
    assert result.exit_code == 0, result.output


def test_imported_default_task_labels_feed_heads_only_retraining(tmp_path: Path) -> None:
    retrain = pytest.importorskip("feedback_nlp.train.retrain")
    path = tmp_path / "labels.csv"
    path.write_text("text,label,kind\nLove it,positive,review\nAwful service,negative,survey\n", encoding="utf-8")
    assert _invoke("label", "import", path, "--task", "sentiment", "-o", tmp_path / "out.csv").exit_code == 0
    table = retrain.read_labelled(tmp_path / "out.csv")
    assert table["sentiment"].tolist() == ["positive", "negative"]
    assert table["kind"].tolist() == ["review", "survey"]
