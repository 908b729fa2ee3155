"""The command line: classify and evaluate, with the fake pipeline in place of the real encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import check_contract
from typer.testing import CliRunner

import feedback_nlp.storage.loading
from feedback_nlp.cli import EXIT_ROWS_FAILED, app
from feedback_nlp.settings import PROJECT_ROOT, get_settings
from feedback_nlp.taxonomy.records import Prediction

runner = CliRunner()
#: The real loader, kept before any test replaces it with the fake one.
REAL_LOAD_PIPELINE = feedback_nlp.storage.loading.load_pipeline

GOOD = [
    {"id": "a", "kind": "review", "text": "I love the app, it is great"},
    {"id": "b", "kind": "survey", "text": "The delivery was late, terrible courier"},
    {"id": "c", "kind": "transcript", "text": "Agent: Hi there\nCustomer: I was charged twice on my bill"},
    {"id": "d", "kind": "social", "text": "@shop where is my invoice? #help"},
]


@pytest.fixture(autouse=True)
def fake_loader(fake_pipeline, monkeypatch: pytest.MonkeyPatch) -> list:  # noqa: ANN001
    """Every ``load_pipeline`` call in the CLI returns the tiny fake pipeline."""
    calls: list = []

    def load(model_dir=None):  # noqa: ANN001, ANN202
        calls.append(model_dir)
        return fake_pipeline

    monkeypatch.setattr(feedback_nlp.storage.loading, "load_pipeline", load)
    return calls


def _jsonl(path: Path, rows: list) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _predictions(text: str) -> list[Prediction]:
    return [Prediction.model_validate_json(line) for line in text.splitlines() if line.strip()]


def _invoke(*args: str, **kwargs):  # noqa: ANN202
    return runner.invoke(app, list(args), **kwargs)


# ------------------------------------------------------------------------------ classify


def test_cli_classify_jsonl_file(tmp_path: Path, fake_loader: list) -> None:
    source = _jsonl(tmp_path / "in.jsonl", GOOD)
    out = tmp_path / "out" / "pred.jsonl"
    result = _invoke("classify", str(source), "-o", str(out), "--no-progress", "--model", str(tmp_path))
    assert result.exit_code == 0, result.output
    predictions = _predictions(out.read_text(encoding="utf-8"))
    assert [p.id for p in predictions] == ["a", "b", "c", "d"]
    assert [p.kind.value for p in predictions] == [row["kind"] for row in GOOD]
    for prediction in predictions:
        check_contract(prediction)
    assert predictions[0].sentiment.label == "positive"
    assert predictions[1].sentiment.label == "negative"
    assert fake_loader == [tmp_path]  # --model reaches load_pipeline
    assert result.stdout == ""


def test_cli_classify_to_stdout_is_jsonl_only(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "in.jsonl", GOOD[:2])
    result = _invoke("classify", str(source))  # progress bar on: it must go to stderr
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(json.loads(line)["model_version"] == "tiny:20240101T000000Z" for line in lines)


def test_cli_classify_progress_ends_at_the_records_read(tmp_path: Path) -> None:
    # 5 lines after the header but 3 records: a quoted review spans three lines.
    source = tmp_path / "in.csv"
    source.write_text('id,text\n1,"Great fit,\nlovely fabric,\nfast delivery"\n2,Too small\n3,Late again\n')
    result = _invoke("classify", str(source), "--kind", "review")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    assert "3/3" in result.stderr and "3/5" not in result.stderr.splitlines()[-1], result.stderr


@pytest.mark.parametrize("batch_size", ["1", "3", "256"])
def test_cli_classify_batches_keep_order(tmp_path: Path, batch_size: str) -> None:
    rows = [{"id": str(i), "kind": "review", "text": GOOD[i % 4]["text"]} for i in range(7)]
    source = _jsonl(tmp_path / "in.jsonl", rows)
    result = _invoke("classify", str(source), "--batch-size", batch_size, "--no-progress")
    assert result.exit_code == 0, result.output
    assert [p.id for p in _predictions(result.stdout)] == [str(i) for i in range(7)]


def test_cli_classify_bad_rows_reported_others_written(tmp_path: Path) -> None:
    source = _jsonl(
        tmp_path / "in.jsonl",
        [
            GOOD[0],
            {"id": "no-text", "kind": "survey"},
            {"id": "bad-kind", "kind": "tweet", "text": "hello"},
            '{"id": "broken", "kind": ',
            GOOD[1],
        ],
    )
    out = tmp_path / "out.jsonl"
    result = _invoke("classify", str(source), "-o", str(out), "--no-progress")
    assert result.exit_code == EXIT_ROWS_FAILED
    assert [p.id for p in _predictions(out.read_text(encoding="utf-8"))] == ["a", "b"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert [line.split(":")[0] for line in errors] == ["line 2", "line 3", "line 4"]
    assert "text" in errors[0]
    assert "tweet" in errors[1]
    assert "invalid JSON" in errors[2]
    assert "3 row(s) failed, 2 classified." in result.stderr
    assert "Traceback" not in result.output


def test_cli_classify_missing_kind_uses_option(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "in.jsonl", [{"id": "1", "text": "great app"}, {"id": "2", "text": "late"}])
    failed = _invoke("classify", str(source), "--no-progress")
    assert failed.exit_code == EXIT_ROWS_FAILED
    assert "line 1: kind: missing" in failed.stderr
    ok = _invoke("classify", str(source), "--no-progress", "--kind", "social")
    assert ok.exit_code == 0, ok.output
    assert [p.kind.value for p in _predictions(ok.stdout)] == ["social", "social"]


def test_cli_classify_csv_text_column(tmp_path: Path) -> None:
    source = tmp_path / "reviews.csv"
    source.write_text(
        'ref,comment,stars\nr1,"Love the app, but the delivery took two weeks",3\nr2,Terrible quality,1\n',
        encoding="utf-8",
    )
    result = _invoke(
        "classify", str(source), "--text-column", "comment", "--id-column", "ref", "--kind", "review", "--no-progress"
    )
    assert result.exit_code == 0, result.output
    predictions = _predictions(result.stdout)
    assert [p.id for p in predictions] == ["r1", "r2"]
    assert [s.text for s in predictions[0].segments] == ["Love the app,", "but the delivery took two weeks"]
    for prediction in predictions:
        check_contract(prediction)


def test_cli_classify_csv_without_text_column(tmp_path: Path) -> None:
    source = tmp_path / "reviews.csv"
    source.write_text("ref,comment\nr1,great\n", encoding="utf-8")
    result = _invoke("classify", str(source), "--kind", "review", "--no-progress")
    assert result.exit_code == 1
    assert "--text-column" in result.stderr
    assert "Traceback" not in result.output


def test_cli_classify_missing_file(tmp_path: Path) -> None:
    result = _invoke("classify", str(tmp_path / "absent.jsonl"), "--no-progress")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: input file not found")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["feedback.txt", "feedback.xls", "feedback"])
def test_cli_classify_unsupported_extension(tmp_path: Path, name: str) -> None:
    source = tmp_path / name
    source.write_text("text\nhello\n", encoding="utf-8")
    result = _invoke("classify", str(source), "--no-progress")
    assert result.exit_code == 1
    assert "unsupported extension" in result.stderr
    assert ".csv, .tsv, .json, .jsonl" in result.stderr
    assert "Traceback" not in result.output


def test_cli_classify_bad_kind_option(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "in.jsonl", GOOD[:1])
    result = _invoke("classify", str(source), "--kind", "tweet", "--no-progress")
    assert result.exit_code == 1
    assert "--kind must be one of" in result.stderr


def test_cli_classify_stdin(tmp_path: Path) -> None:
    data = "\n".join(json.dumps(row) for row in GOOD[:3]) + "\n"
    result = _invoke("classify", "-", input=data)
    assert result.exit_code == 0, result.output
    predictions = _predictions(result.stdout)
    assert [p.id for p in predictions] == ["a", "b", "c"]
    for prediction in predictions:
        check_contract(prediction)


def test_cli_classify_output_has_no_pii(tmp_path: Path) -> None:
    row = {"id": "p", "kind": "survey", "text": "Email jane.doe@example.com, card 4111 1111 1111 1111 charged twice"}
    result = _invoke("classify", "-", input=json.dumps(row) + "\n")
    assert result.exit_code == 0, result.output
    assert "jane.doe@example.com" not in result.output
    assert "4111 1111 1111 1111" not in result.output
    assert "[EMAIL]" in result.stdout


def test_cli_classify_agent_only_transcript_is_a_bad_row(tmp_path: Path) -> None:
    source = _jsonl(
        tmp_path / "in.jsonl",
        [GOOD[0], {"id": "agent", "kind": "transcript", "text": "Agent: Hello, how can I help?"}, GOOD[1]],
    )
    out = tmp_path / "out.jsonl"
    result = _invoke("classify", str(source), "-o", str(out), "--no-progress")
    assert result.exit_code == EXIT_ROWS_FAILED
    assert "line 2:" in result.stderr
    assert [p.id for p in _predictions(out.read_text(encoding="utf-8"))] == ["a", "b"]


QUALTRICS = (
    "RecordedDate,ResponseId,Q1,Q2\n"
    "Recorded Date,Response ID,How likely are you to recommend us?,Why?\n"
    '"{""ImportId"":""recordedDate""}","{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}","{""ImportId"":""QID2_TEXT""}"\n'
    "02/11/2026 10:17,R_1,9,Quick delivery\n"
    "03/11/2026 08:04,R_2,2,Charged twice\n"
    "31/31/2026 08:04,R_3,5,Fine\n"
)


def _qualtrics_args(source: Path, *extra: str) -> list[str]:
    return [
        "classify",
        str(source),
        "--no-progress",
        "--kind",
        "survey",
        "--skip-rows",
        "2",
        "--text-column",
        "Q2",
        "--id-column",
        "ResponseId",
        "--created-at-column",
        "RecordedDate",
        "--nps-column",
        "Q1",
        *extra,
    ]


def test_cli_classify_qualtrics_export_with_mapped_columns_and_a_date_format(tmp_path: Path) -> None:
    source = tmp_path / "qualtrics.csv"
    source.write_text(QUALTRICS, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = _invoke(*_qualtrics_args(source, "--date-format", "%d/%m/%Y %H:%M", "-o", str(out)))
    assert result.exit_code == EXIT_ROWS_FAILED
    # The bad row names the line, the column (and the field it fills) and the value.
    assert "line 6: RecordedDate (created_at): '31/31/2026 08:04' does not match --date-format" in result.stderr
    assert [p.id for p in _predictions(out.read_text(encoding="utf-8"))] == ["R_1", "R_2"]


def test_cli_classify_ambiguous_slashed_dates_without_a_format_say_so(tmp_path: Path) -> None:
    source = tmp_path / "qualtrics.csv"
    source.write_text(QUALTRICS, encoding="utf-8")
    result = _invoke(*_qualtrics_args(source))
    assert result.exit_code == EXIT_ROWS_FAILED
    assert "line 4: RecordedDate (created_at): '02/11/2026 10:17' is a slashed date (ambiguous" in result.stderr
    assert "--date-format %d/%m/%Y" in result.stderr


def test_cli_classify_on_bad_date_null_keeps_the_rows(tmp_path: Path) -> None:
    source = tmp_path / "qualtrics.csv"
    source.write_text(QUALTRICS, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = _invoke(*_qualtrics_args(source, "--on-bad-date", "null", "-o", str(out)))
    assert result.exit_code == 0, result.stderr
    assert [p.id for p in _predictions(out.read_text(encoding="utf-8"))] == ["R_1", "R_2", "R_3"]


def test_cli_classify_excel_workbook(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.append(["id", "comment", "stars"])
    workbook.active.append(["x1", "The courier lost my parcel", 1])
    workbook.save(tmp_path / "in.xlsx")
    out = tmp_path / "out.jsonl"
    result = _invoke(
        "classify",
        str(tmp_path / "in.xlsx"),
        "--kind",
        "review",
        "--text-column",
        "comment",
        "--rating-column",
        "stars",
        "-o",
        str(out),
        "--no-progress",
    )
    assert result.exit_code == 0, result.stderr
    assert [p.id for p in _predictions(out.read_text(encoding="utf-8"))] == ["x1"]


# ------------------------------------------------------------------------------ evaluate

GOLD = [
    {"id": "g1", "source": "reviews", "kind": "review", "text": "I love the app, it is great",
     "sentiment": "positive", "journey_stage": "usage", "touchpoints": ["mobile_app"]},
    {"id": "g2", "source": "reviews", "kind": "review", "text": "The delivery was late, terrible courier",
     "sentiment": "negative", "journey_stage": "onboarding", "touchpoints": ["delivery"]},
    {"id": "g3", "source": "support", "kind": "support_message", "text": "Where is my invoice for March?",
     "sentiment": "neutral", "journey_stage": "billing", "touchpoints": ["billing"]},
    {"id": "g4", "source": "support", "kind": "complaint", "text": "Where is my invoice for March?",
     "sentiment": "negative", "journey_stage": "support", "touchpoints": []},
]  # fmt: skip


def test_cli_evaluate_json(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", GOLD)
    result = _invoke("evaluate", "--gold", str(gold), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["sentiment"]["n"] == 4
    # The tiny heads get the first three right; g4 repeats g3's text with other labels.
    assert report["sentiment"]["accuracy"] == pytest.approx(3 / 4)
    assert report["journey_stage"]["accuracy"] == pytest.approx(3 / 4)
    assert set(report["headline"]) == {
        "sentiment_macro_f1", "sentiment_accuracy", "journey_stage_macro_f1",
        "journey_stage_accuracy", "touchpoints_micro_f1", "touchpoints_macro_f1",
        "sentiment_ece", "journey_stage_ece",
    }  # fmt: skip
    assert 0.0 <= report["headline"]["sentiment_ece"] <= 1.0
    assert set(report["by_source"]) == {"reviews", "support"}
    assert set(report["by_kind"]) == {row.get("kind", "survey") for row in GOLD}
    assert all(0.0 <= row["none_rate_predicted"] <= 1.0 for row in report["by_kind"].values())
    assert report["by_source"]["reviews"]["sentiment_accuracy"] == 1.0
    assert report["by_source"]["support"]["sentiment_accuracy"] == 0.5
    # tp 3 (mobile_app, delivery, billing), fp 1 (billing again on g4), fn 0 -> 6/7
    assert report["touchpoints"]["micro_f1"] == pytest.approx(6 / 7)


def test_cli_evaluate_table(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", GOLD)
    result = _invoke("evaluate", "--gold", str(gold))
    assert result.exit_code == 0, result.output
    assert "model tiny:20240101T000000Z" in result.stdout
    assert "(4 texts)" in result.stdout
    assert "sentiment_accuracy" in result.stdout and "0.750" in result.stdout
    assert "reviews" in result.stdout and "support" in result.stdout


def test_cli_evaluate_missing_gold(tmp_path: Path) -> None:
    result = _invoke("evaluate", "--gold", str(tmp_path / "absent.jsonl"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Expected the dataset file")
    assert "Traceback" not in result.output


def test_cli_evaluate_gold_with_documented_fields_only(tmp_path: Path) -> None:
    fields = ("text", "sentiment", "journey_stage", "touchpoints")
    gold = _jsonl(tmp_path / "gold.jsonl", [{k: row[k] for k in fields} for row in GOLD])
    result = _invoke("evaluate", "--gold", str(gold), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sentiment"]["n"] == 4


# ---------------------------------------------------------------------------------- info


def _invoke_with_model_dir(model_dir: Path, monkeypatch: pytest.MonkeyPatch, *args: str):  # noqa: ANN202
    """Run the CLI with the FEEDBACK_NLP_MODEL_DIR setting at ``model_dir``."""
    monkeypatch.setenv("FEEDBACK_NLP_MODEL_DIR", str(model_dir))
    get_settings.cache_clear()
    try:
        return _invoke(*args)
    finally:
        get_settings.cache_clear()


def test_cli_info_shows_bundle(tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _invoke_with_model_dir(tiny_bundle, monkeypatch, "info")
    assert result.exit_code == 0, result.output
    assert str(tiny_bundle) in result.stdout
    assert "bundle tiny:20240101T000000Z taxonomy v1" in result.stdout


def test_cli_info_missing_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _invoke_with_model_dir(tmp_path / "none", monkeypatch, "info")
    assert result.exit_code == 1
    assert "error: Expected a model bundle" in result.stderr


def test_cli_info_masks_the_database_password(tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://cx:s3cret@db.example/feedback")
    result = _invoke_with_model_dir(tiny_bundle, monkeypatch, "info")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.stdout
    assert "postgresql://cx:***@db.example/feedback" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("FEEDBACK_NLP_BATCH_SIZE", "abc", "FEEDBACK_NLP_BATCH_SIZE='abc': Input should be a valid integer"),
        ("FEEDBACK_NLP_ENCODER_BACKEND", "gpu", "FEEDBACK_NLP_ENCODER_BACKEND='gpu': Input should be 'auto'"),
        ("FEEDBACK_NLP_MAX_RECORDS", "0", "FEEDBACK_NLP_MAX_RECORDS='0'"),
    ],
)
def test_a_setting_that_cannot_be_read_is_a_message_not_a_traceback(
    tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = _invoke_with_model_dir(tiny_bundle, monkeypatch, "info")
    assert result.exit_code == 1
    assert f"error: invalid setting: {expected}" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
        ('["https://a.example"]', ["https://a.example"]),
        ("", []),
    ],
)
def test_cors_origins_are_read_comma_separated_or_as_json(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: list[str]
) -> None:
    monkeypatch.setenv("FEEDBACK_NLP_CORS_ORIGINS", value)
    get_settings.cache_clear()
    try:
        assert get_settings().cors_origins == origins
    finally:
        get_settings.cache_clear()


# --------------------------------------------------------------------- the real bundle

REAL_BUNDLE = PROJECT_ROOT / "models" / "default"
REAL_RECORDS = [
    {"id": "s1", "kind": "survey", "text": "The checkout was quick and the staff were lovely."},
    {"id": "s2", "kind": "survey", "text": "I was charged twice for the same order and nobody answers my emails."},
    {"id": "s3", "kind": "survey", "text": "How do I change the address on my account?"},
    {"id": "r1", "kind": "review", "text": "Love the dress, but the delivery took two weeks."},
    {"id": "r2", "kind": "review", "text": "Terrible quality, the fabric ripped after one wash."},
    {"id": "r3", "kind": "review", "text": "Fits true to size. Would buy again."},
    {"id": "x1", "kind": "social", "text": "@airline lost my bag AGAIN #NeverFlyingWithYou"},
    {"id": "x2", "kind": "social", "text": "Shoutout to @bank for sorting my card in 5 minutes on live chat!"},
    {"id": "x3", "kind": "social", "text": "watching the game tonight with friends"},
    {"id": "t1", "kind": "transcript", "text": "Agent: Hello, how can I help?\nCustomer: My card has not arrived yet."},
    {"id": "t2", "kind": "transcript", "text": "Customer: I want to cancel my subscription.\nAgent: Sorry to hear."},
    {"id": "t3", "kind": "transcript", "text": "Agent: Anything else?\nCustomer: No, thanks, you were really helpful!"},
]  # fmt: skip


def classify_with_real_bundle(bundle: Path, tmp_path: Path) -> list[Prediction]:
    """Run ``classify`` through the real loader and encoder; return the checked predictions."""
    source = _jsonl(tmp_path / "real.jsonl", REAL_RECORDS)
    result = _invoke("classify", str(source), "--model", str(bundle), "--no-progress")
    assert result.exit_code == 0, result.output
    predictions = _predictions(result.stdout)
    assert [p.id for p in predictions] == [row["id"] for row in REAL_RECORDS]
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    for prediction in predictions:
        check_contract(prediction)
        assert prediction.model_version == f"{manifest['name']}:{manifest['version']}"
    return predictions


@pytest.mark.skipif(not (REAL_BUNDLE / "manifest.json").is_file(), reason="models/default not trained yet")
def test_cli_classify_real_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedback_nlp.storage.loading, "load_pipeline", REAL_LOAD_PIPELINE)
    classify_with_real_bundle(REAL_BUNDLE, tmp_path)


def test_cli_classify_an_input_without_records_says_so(tmp_path: Path) -> None:
    source = tmp_path / "header_only.csv"
    source.write_text("id,text,kind\n", encoding="utf-8")
    result = _invoke("classify", str(source), "-o", str(tmp_path / "out.jsonl"), "--no-progress")
    assert result.exit_code == 0
    assert "holds no records: nothing was classified" in result.stderr


def _forbid_training(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """Make ``Trainer.<method>`` fail the test if a command reaches it."""
    import feedback_nlp.train.trainer

    def never(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError(f"no training work may start (Trainer.{method} was called)")

    monkeypatch.setattr(feedback_nlp.train.trainer.Trainer, method, never)


def test_cli_train_with_a_config_that_is_not_there_is_an_error_not_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It once trained the built-in defaults (a fine-tuning epoch) and wrote them over models/default.
    _forbid_training(monkeypatch, "train")
    result = _invoke("train", "--config", str(tmp_path / "defualt.toml"))
    assert result.exit_code == 1
    assert "defualt.toml does not exist" in result.stderr


def test_cli_card_defaults_to_the_model_dir_setting(
    tiny_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    result = _invoke_with_model_dir(bundle, monkeypatch, "card")
    assert result.exit_code == 0, result.output
    assert f"Wrote {bundle / 'README.md'}" in result.output


# ------------------------------------------------------- evaluate, train and card: the researcher's checks


def test_cli_evaluate_refuses_labels_outside_the_taxonomy_in_one_line(tmp_path: Path) -> None:
    rows = [dict(GOLD[0]), dict(GOLD[1], journey_stage="checkout")]
    result = _invoke("evaluate", "--gold", str(_jsonl(tmp_path / "gold.jsonl", rows)))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {tmp_path / 'gold.jsonl'}, line 2: journey_stage 'checkout' is not")
    assert "expected one of ['awareness'," in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_cli_evaluate_names_a_line_that_is_not_json(tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "gold.jsonl", [GOLD[0], '{"text": "cut short'])
    result = _invoke("evaluate", "--gold", str(gold))
    assert result.exit_code == 1
    assert "gold.jsonl, line 2: not valid JSON" in result.stderr and "Traceback" not in result.output


def test_cli_evaluate_reads_touchpoints_given_as_one_string(tmp_path: Path) -> None:
    as_list = _invoke("evaluate", "--gold", str(_jsonl(tmp_path / "list.jsonl", GOLD)), "--json")
    rows = [dict(row, touchpoints=";".join(row["touchpoints"])) for row in GOLD]
    as_text = _invoke("evaluate", "--gold", str(_jsonl(tmp_path / "text.jsonl", rows)), "--json")
    assert as_list.exit_code == as_text.exit_code == 0, as_text.output
    assert json.loads(as_text.stdout)["touchpoints"]["micro_f1"] == pytest.approx(6 / 7)


def test_cli_evaluate_says_n_a_for_touchpoints_nobody_gave(tmp_path: Path) -> None:
    rows = [{"text": "Nice weather today", "sentiment": "positive", "journey_stage": "none", "touchpoints": []}]
    result = _invoke("evaluate", "--gold", str(_jsonl(tmp_path / "gold.jsonl", rows)))
    assert result.exit_code == 0, result.output
    assert "touchpoints_micro_f1       n/a (no touchpoint in the gold set or the predictions)" in result.stdout
    assert (
        json.loads(_invoke("evaluate", "--gold", str(tmp_path / "gold.jsonl"), "--json").stdout)["touchpoints"][
            "labels_scored"
        ]
        == 0
    )


def test_cli_train_refuses_an_output_folder_of_other_files_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _forbid_training(monkeypatch, "training_table")
    output = tmp_path / "reports"
    output.mkdir()
    (output / "notes.txt").write_text("mine", encoding="utf-8")
    config = tmp_path / "run.toml"
    config.write_text(f"[paths]\noutput = {json.dumps(str(output))}\n", encoding="utf-8")
    result = _invoke("train", "--config", str(config), "--quiet")
    assert result.exit_code == 1
    assert "already holds other files (notes.txt)" in result.stderr


@pytest.mark.parametrize(
    ("option", "content", "message"),
    [
        ("--baselines", "[1, 2]", "must be the JSON benchmarks/baselines.py writes"),
        ("--baselines", '{"foo": 1}', "has no 'rows' list (found the keys ['foo'])"),
        ("--baselines", "{oops", "the baselines report is not valid JSON"),
        ("--speed", '{"foo": 1}', "holds no measurement"),
        ("--speed", "[1, 2]", "must be the JSON object benchmarks/classify_speed.py writes"),
    ],
)
def test_cli_card_refuses_a_report_of_another_shape(
    tiny_bundle: Path, tmp_path: Path, option: str, content: str, message: str
) -> None:
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    report = tmp_path / "report.json"
    report.write_text(content, encoding="utf-8")
    before = (bundle / "manifest.json").read_bytes()
    result = _invoke("card", "--model", str(bundle), option, str(report))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert (bundle / "manifest.json").read_bytes() == before


def test_cli_card_gold_names_the_file_and_keeps_the_training_figures(tiny_bundle: Path, tmp_path: Path) -> None:
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    before = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    gold = _jsonl(tmp_path / "survey_gold.jsonl", GOLD)
    result = _invoke("card", "--model", str(bundle), "--gold", str(gold))
    assert result.exit_code == 0, result.output
    card = (bundle / "README.md").read_text(encoding="utf-8")
    assert "## Results on the gold set (`survey_gold.jsonl`, 4 texts)" in card
    after = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert after.get("metrics") == before.get("metrics")


def test_cli_card_refuses_a_registered_version_unless_written_elsewhere(
    tiny_bundle: Path, tmp_path: Path, fake_loader: list
) -> None:
    from feedback_nlp.model_registry import ModelRegistry

    entry, _ = ModelRegistry(tmp_path / "registry").register(tiny_bundle, version="v1")
    manifest = (entry.bundle / "manifest.json").read_bytes()
    gold = _jsonl(tmp_path / "gold.jsonl", GOLD)
    refused = _invoke("card", "--model", str(entry.bundle), "--gold", str(gold))
    assert refused.exit_code == 1
    assert "is a registered model version" in refused.stderr and "--output FILE" in refused.stderr
    assert fake_loader == []  # refused before the gold set was measured
    out = tmp_path / "card.md"
    written = _invoke("card", "--model", str(entry.bundle), "--gold", str(gold), "--output", str(out))
    assert written.exit_code == 0, written.output
    assert "(`gold.jsonl`, 4 texts)" in out.read_text(encoding="utf-8")
    assert (entry.bundle / "manifest.json").read_bytes() == manifest
