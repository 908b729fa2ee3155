"""``feedback-nlp topics fit|update|show|deploy`` and ``feedback-nlp report topics`` on the fake pipeline.

One topic model is fitted through the command line per module (4 groups x 20 synthetic texts plus
two bad rows) and the other commands work on copies of it. Caches, the deployed model and the
database live under tmp folders.
"""

from __future__ import annotations

import csv
import html
import json
import logging
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import topic_corpus
from typer.testing import CliRunner

import feedback_nlp.storage.loading
from feedback_nlp.cli import app
from feedback_nlp.cli.errors import EXIT_ROWS_FAILED
from feedback_nlp.settings import get_settings
from feedback_nlp.topics.manifest import TOPICS_FORMAT
from feedback_nlp.topics.model import MANIFEST, OUTLIER_LABEL, TopicModel
from tests.topic_space import _pipeline_topic_space  # noqa: F401  (autouse: topic models in the fake pipeline's space)

runner = CliRunner()
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
GROUPS = ("delivery", "refund", "app", "staff")
MIN_TOPIC_SIZE = "5"


def _write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _feedback_rows(groups: tuple[str, ...], per_group: int, *, seed: int, prefix: str) -> list[dict[str, str]]:
    texts, _ = topic_corpus(groups, per_group, seed=seed)
    step = timedelta(days=28) / len(texts)  # four weeks
    return [
        {"id": f"{prefix}{i}", "kind": "review", "text": text, "created_at": (START + i * step).isoformat()}
        for i, text in enumerate(texts)
    ]


def _invoke(*args: str):  # noqa: ANN202
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


@dataclass
class Fit:
    root: Path
    csv: Path
    rows: list[dict[str, str]]  # the valid rows, in file order
    bad_lines: list[int]
    model_dir: Path
    stderr: str
    output: str


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (each CliRunner call swaps it)."""

    @property
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001
        pass


@pytest.fixture(scope="module")
def cli_root(fake_pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:  # noqa: ANN001
    """For the whole module: every ``load_pipeline`` gives the fake pipeline; cache and models under tmp."""
    root = tmp_path_factory.mktemp("topics-cli")
    # `topics fit` logs BERTopic's steps (verbose). BERTopic keeps the first handler it ever added,
    # bound to the sys.stderr of that moment: inside CliRunner that stream is closed after the
    # call, and later calls would print logging errors. Give it one that follows sys.stderr.
    bertopic_logger = logging.getLogger("BERTopic")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bertopic_logger, "handlers", [_CurrentStderr()])
        mp.setenv("FEEDBACK_NLP_CACHE_DIR", str(root / "cache"))
        mp.setenv("FEEDBACK_NLP_TOPIC_MODEL_DIR", str(root / "deployed"))
        mp.delenv("DATABASE_URL", raising=False)
        mp.delenv("FEEDBACK_NLP_DATABASE_URL", raising=False)
        mp.setattr(feedback_nlp.storage.loading, "load_pipeline", lambda model_dir=None, *, topics=True: fake_pipeline)
        mp.chdir(root)  # a command falling back on ./feedback-nlp.db writes it here, not in the repository
        get_settings.cache_clear()
        yield root
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _isolated(
    cli_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_pipeline,  # noqa: ANN001
) -> Iterator[None]:
    """Each test deploys into its own folder; the fake pipeline carries no topic model."""
    monkeypatch.setenv("FEEDBACK_NLP_TOPIC_MODEL_DIR", str(tmp_path / "deployed"))
    get_settings.cache_clear()
    assert fake_pipeline.topic_model is None
    yield
    fake_pipeline.use_topics(None)
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def fitted(cli_root: Path) -> Fit:
    """``topics fit FILE.csv -o DIR --min-topic-size 5`` on 80 good rows and two bad ones."""
    rows = _feedback_rows(GROUPS, 20, seed=3, prefix="r")
    bad = [
        {"id": "no-text", "kind": "review", "text": "", "created_at": START.isoformat()},
        {"id": "bad-kind", "kind": "tweet", "text": "late delivery again", "created_at": START.isoformat()},
    ]
    # Bad rows at data rows 5 and 31: file lines 6 and 32 (the header is line 1).
    all_rows = [*rows[:4], bad[0], *rows[4:29], bad[1], *rows[29:]]
    path = _write_csv(cli_root / "feedback.csv", all_rows, ["id", "kind", "text", "created_at"])
    model_dir = cli_root / "model"
    get_settings.cache_clear()
    result = runner.invoke(app, ["topics", "fit", str(path), "-o", str(model_dir), "--min-topic-size", MIN_TOPIC_SIZE])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return Fit(cli_root, path, rows, [6, 32], model_dir, result.stderr, result.output)


def _copy_model(fit: Fit, tmp_path: Path) -> Path:
    return Path(shutil.copytree(fit.model_dir, tmp_path / "model"))


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


# -- topics fit --------------------------------------------------------------------------------


def test_fit_writes_the_model_and_one_assignment_per_valid_row(fitted: Fit) -> None:
    manifest = _manifest(fitted.model_dir)
    assert manifest["format"] == TOPICS_FORMAT and manifest["source"] == str(fitted.csv)
    assert manifest["corpus"]["n_texts"] == len(fitted.rows)
    assert manifest["config"]["min_topic_size"] == int(MIN_TOPIC_SIZE)
    labels = {t["id"]: t["label"] for t in manifest["topics"]}
    assert len(labels) >= 3
    lines = (fitted.model_dir / "assignments.jsonl").read_text(encoding="utf-8").splitlines()
    assignments = [json.loads(line) for line in lines]
    assert [a["id"] for a in assignments] == [row["id"] for row in fitted.rows]
    for a in assignments:
        assert set(a) == {"id", "topic", "label", "confidence"}
        assert a["label"] == (OUTLIER_LABEL if a["topic"] == -1 else labels[a["topic"]])
        assert 0.0 <= a["confidence"] <= 1.0
    assert sum(a["topic"] == -1 for a in assignments) <= 0.15 * len(assignments)
    # Topic counts in the manifest are the assignments'.
    for topic_id, _ in labels.items():
        count = next(t["count"] for t in manifest["topics"] if t["id"] == topic_id)
        assert count == sum(a["topic"] == topic_id for a in assignments)


def test_fit_reports_bad_rows_with_their_line_numbers(fitted: Fit) -> None:
    reported = [line for line in fitted.stderr.splitlines() if line.startswith("line ")]
    assert [line.split(":")[0] for line in reported] == [f"line {n}" for n in fitted.bad_lines]
    assert "tweet" in reported[1]


def test_fit_prints_the_topics_and_the_unassigned_share(fitted: Fit) -> None:
    model = TopicModel.load(fitted.model_dir)
    for topic in model.topics:
        assert topic.label in fitted.output
    assert f"wrote {fitted.model_dir}" in fitted.stderr and "unassigned" in fitted.stderr


def test_fit_caches_embeddings_under_the_cache_dir(
    fitted: Fit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback_nlp.topics.embeddings import EmbeddingCache

    assert (fitted.root / "cache" / "embeddings.sqlite").is_file()
    # A second fit on the same file computes no corpus embedding: every text comes from the cache.
    stored: list[str] = []
    real_put = EmbeddingCache.put

    def put(self, keys, vectors) -> None:  # noqa: ANN001
        stored.extend(keys)
        real_put(self, keys, vectors)

    monkeypatch.setattr(EmbeddingCache, "put", put)
    result = _invoke("topics", "fit", fitted.csv, "-o", tmp_path / "again", "--min-topic-size", MIN_TOPIC_SIZE)
    assert result.exit_code == 0, result.output
    assert stored == []
    # Same corpus, same embeddings, same model.
    assert _manifest(tmp_path / "again")["topics"] == _manifest(fitted.model_dir)["topics"]


@pytest.mark.parametrize("command", [["topics", "fit"], ["topics", "update"], ["report", "topics"]])
@pytest.mark.parametrize("inputs", ["neither", "both"])
def test_input_file_or_database_exactly_one(command: list[str], inputs: str, fitted: Fit, tmp_path: Path) -> None:
    args = [*command, "-o", str(tmp_path / "out")]
    if inputs == "both":
        args = [*command, str(fitted.csv), "--from-db", "-o", str(tmp_path / "out")]
    if command[0] == "topics" and command[1] == "update":
        args += ["--model", str(fitted.model_dir)]
    result = _invoke(*args)
    assert result.exit_code != 0
    assert "give either an INPUT file or --from-db" in result.stderr
    assert not (tmp_path / "out").exists()


def test_fit_shows_its_stages_and_none_of_bertopics_warnings(fitted: Fit) -> None:
    assert "topic fit: reduce (UMAP)" in fitted.stderr or "topic fit: name" in fitted.stderr
    assert "custom list of topic assignments" not in fitted.stderr
    assert "without explicitly defining an embedding model" not in fitted.stderr


def _no_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the pipeline is the first expensive step: a test of a check made before it fails if it runs."""

    def refuse(model_dir=None, *, topics=True):  # noqa: ANN001, ANN202
        raise AssertionError("the pipeline was loaded before the input was checked")

    monkeypatch.setattr(feedback_nlp.storage.loading, "load_pipeline", refuse)


def test_fit_into_a_folder_of_other_files_is_refused_before_any_work(
    fitted: Fit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "important.txt").write_text("keep me", encoding="utf-8")
    _no_pipeline(monkeypatch)
    result = _invoke("topics", "fit", fitted.csv, "-o", out, "--min-topic-size", MIN_TOPIC_SIZE)
    assert result.exit_code == 1 and "error:" in result.stderr
    assert "important.txt" in result.stderr and "give an empty or new folder" in result.stderr
    assert (out / "important.txt").read_text(encoding="utf-8") == "keep me"


def test_fit_on_too_few_texts_is_refused_before_embedding(
    fitted: Fit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedback_nlp.topics.corpus

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("embedded before the size was checked")

    monkeypatch.setattr(feedback_nlp.topics.corpus, "embed_corpus", refuse)
    path = _write_csv(tmp_path / "few.csv", fitted.rows[:12], ["id", "kind", "text", "created_at"])
    result = _invoke("topics", "fit", path, "-o", tmp_path / "m")  # default --min-topic-size 15: needs 30
    assert result.exit_code == 1
    assert "at least 30 texts" in result.stderr and "got 12" in result.stderr and "--min-topic-size 2" in result.stderr


def test_fit_on_too_few_rows_names_the_option(fitted: Fit, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "few.csv", fitted.rows[:6], ["id", "kind", "text", "created_at"])
    result = _invoke("topics", "fit", path, "-o", tmp_path / "m", "--min-topic-size", MIN_TOPIC_SIZE)
    assert result.exit_code == 1
    assert "--min-topic-size" in result.stderr and "error:" in result.stderr
    assert not (tmp_path / "m").exists()


def test_fit_on_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _invoke("topics", "fit", tmp_path / "nope.csv", "-o", tmp_path / "m")
    assert result.exit_code == 1 and "nope.csv" in result.stderr


# -- topics show -------------------------------------------------------------------------------


def test_show_json_prints_the_topic_table(fitted: Fit) -> None:
    result = _invoke("topics", "show", fitted.model_dir, "--json")
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)
    assert table == _manifest(fitted.model_dir)["topics"]
    assert all(set(row) >= {"id", "label", "count", "seeded", "is_new", "words"} for row in table)


def test_show_lists_topics_largest_first(fitted: Fit) -> None:
    result = _invoke("topics", "show", fitted.model_dir)
    assert result.exit_code == 0, result.output
    topics = sorted(_manifest(fitted.model_dir)["topics"], key=lambda t: -t["count"])
    positions = [result.stdout.index(t["label"]) for t in topics]
    assert positions == sorted(positions)


def test_show_of_a_folder_without_a_model_is_a_clear_error(tmp_path: Path) -> None:
    result = _invoke("topics", "show", tmp_path)
    assert result.exit_code == 1
    assert "Expected a topic model" in result.stderr


# -- topics deploy -----------------------------------------------------------------------------


def test_deploy_copies_the_model_where_the_setting_points(
    fitted: Fit,
    tmp_path: Path,
    fake_pipeline,  # noqa: ANN001
) -> None:
    from feedback_nlp.topics.deploy import attach_deployed

    deployed = tmp_path / "deployed"
    assert not deployed.exists()
    result = _invoke("topics", "deploy", fitted.model_dir)
    assert result.exit_code == 0, result.output
    assert _manifest(deployed) == _manifest(fitted.model_dir)
    shown = _invoke("topics", "show", "--json")  # no folder: the deployed one
    assert json.loads(shown.stdout) == _manifest(fitted.model_dir)["topics"]
    model = attach_deployed(fake_pipeline)
    assert model is not None and fake_pipeline.topic_model is model


def test_deploy_refuses_a_damaged_model_and_keeps_the_deployed_one(fitted: Fit, tmp_path: Path) -> None:
    assert _invoke("topics", "deploy", fitted.model_dir).exit_code == 0
    damaged = _copy_model(fitted, tmp_path)
    with (damaged / "centroids.safetensors").open("ab") as fh:
        fh.write(b"\0")
    result = _invoke("topics", "deploy", damaged)
    assert result.exit_code == 1
    assert "sha256 mismatch" in result.stderr
    TopicModel.load(tmp_path / "deployed")  # still intact


def test_deploy_refuses_a_model_of_another_encoder_and_keeps_the_deployed_one(fitted: Fit, tmp_path: Path) -> None:
    assert _invoke("topics", "deploy", fitted.model_dir).exit_code == 0
    before = _manifest(tmp_path / "deployed")
    other = _copy_model(fitted, tmp_path)
    manifest = _manifest(other)
    manifest["encoder"] = "0" * 64  # fitted on another bundle's encoder
    (other / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    result = _invoke("topics", "deploy", other)
    assert result.exit_code == 1
    assert "other encoder" in result.stderr and "is unchanged" in result.stderr
    assert _manifest(tmp_path / "deployed") == before


# -- topics update -----------------------------------------------------------------------------


def test_update_folds_a_new_batch_into_the_model(fitted: Fit, tmp_path: Path) -> None:
    model_dir = _copy_model(fitted, tmp_path)
    before = _manifest(model_dir)
    rows = _feedback_rows(("delivery", "parking", "billing"), 15, seed=21, prefix="u")
    path = _write_csv(tmp_path / "batch.csv", rows, ["id", "kind", "text", "created_at"])
    result = _invoke("topics", "update", path, "--model", model_dir)
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} texts folded in" in result.stderr
    after = _manifest(model_dir)
    [entry] = after["updates"]
    assert entry["n_texts"] == len(rows)
    assert after["corpus"]["n_texts"] == before["corpus"]["n_texts"] + len(rows)
    old = {t["id"]: t["label"] for t in before["topics"]}
    assert {t["id"]: t["label"] for t in after["topics"] if t["id"] in old} == old
    assert entry["new_topics"] == [t["id"] for t in after["topics"] if t["is_new"]]
    [written] = list(model_dir.glob("assignments-update-*.jsonl"))
    lines = [json.loads(line) for line in written.read_text(encoding="utf-8").splitlines()]
    assert [a["id"] for a in lines] == [row["id"] for row in rows]
    TopicModel.load(model_dir)  # saved whole, hashes right


def test_update_in_place_keeps_the_earlier_assignments(fitted: Fit, tmp_path: Path) -> None:
    model_dir = _copy_model(fitted, tmp_path)
    assert (model_dir / "assignments.jsonl").is_file()
    rows = _feedback_rows(("delivery",), 10, seed=22, prefix="v")
    path = _write_csv(tmp_path / "batch.csv", rows, ["id", "kind", "text", "created_at"])
    assert _invoke("topics", "update", path, "--model", model_dir).exit_code == 0
    assert (model_dir / "assignments.jsonl").is_file(), sorted(p.name for p in model_dir.iterdir())


def test_update_to_another_folder_leaves_the_model_as_it_was(fitted: Fit, tmp_path: Path) -> None:
    model_dir = _copy_model(fitted, tmp_path)
    before = {p.relative_to(model_dir): p.read_bytes() for p in model_dir.rglob("*") if p.is_file()}
    rows = _feedback_rows(("delivery",), 10, seed=22, prefix="v")
    path = _write_csv(tmp_path / "batch.csv", rows, ["id", "kind", "text", "created_at"])
    result = _invoke("topics", "update", path, "--model", model_dir, "-o", tmp_path / "updated")
    assert result.exit_code == 0, result.output
    assert {p.relative_to(model_dir): p.read_bytes() for p in model_dir.rglob("*") if p.is_file()} == before
    assert _manifest(tmp_path / "updated")["updates"][0]["n_texts"] == len(rows)
    assert list((tmp_path / "updated").glob("assignments-update-*.jsonl"))


def test_two_updates_of_one_model_both_count(fitted: Fit, tmp_path: Path) -> None:
    """Each update reads the model the one before wrote (under the model's lock) and writes its
    own assignment file: none is lost, even within the same second."""
    model_dir = _copy_model(fitted, tmp_path)
    before = _manifest(model_dir)["corpus"]["n_texts"]
    batches = []
    for seed, prefix in ((31, "a"), (32, "b")):
        rows = _feedback_rows(("delivery", "refund"), 6, seed=seed, prefix=prefix)
        batches.append(rows)
        path = _write_csv(tmp_path / f"{prefix}.csv", rows, ["id", "kind", "text", "created_at"])
        assert _invoke("topics", "update", path, "--model", model_dir).exit_code == 0
    after = _manifest(model_dir)
    assert after["corpus"]["n_texts"] == before + sum(len(b) for b in batches)
    assert [u["n_texts"] for u in after["updates"]] == [len(b) for b in batches]
    written = sorted(model_dir.glob("assignments-update-*.jsonl"))
    assert len(written) == 2
    ids = {json.loads(line)["id"][0] for f in written for line in f.read_text(encoding="utf-8").splitlines()}
    assert ids == {"a", "b"}


def test_update_assignment_files_never_collide() -> None:
    from feedback_nlp.cli.topics import update_assignments_name

    moment = datetime(2026, 12, 7, 23, 9, 3)
    names = {update_assignments_name(moment) for _ in range(50)}
    assert len(names) == 50 and all(n.startswith("assignments-update-20261207T230903.") for n in names)


def test_update_waits_for_the_models_lock_and_says_so(
    fitted: Fit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filelock import FileLock

    from feedback_nlp.topics import deploy

    model_dir = _copy_model(fitted, tmp_path)
    before = _manifest(model_dir)
    rows = _feedback_rows(("delivery",), 6, seed=33, prefix="c")
    path = _write_csv(tmp_path / "c.csv", rows, ["id", "kind", "text", "created_at"])
    monkeypatch.setattr(deploy, "LOCK_TIMEOUT_S", 0.2)
    with FileLock(str(deploy.lock_path(model_dir))):  # another update is writing this model
        result = _invoke("topics", "update", path, "--model", model_dir)
    assert result.exit_code == 1 and "another feedback-nlp process has held its lock" in result.stderr
    assert _manifest(model_dir) == before


def test_update_of_a_missing_model_is_a_clear_error(fitted: Fit, tmp_path: Path) -> None:
    result = _invoke("topics", "update", fitted.csv, "--model", tmp_path / "none")
    assert result.exit_code == 1 and "Expected a topic model" in result.stderr
    assert "`feedback-nlp topics deploy DIR`" in " ".join(result.stderr.split())  # how to get one there


# -- topics fit --from-db ----------------------------------------------------------------------


def _store(fake_pipeline, url: str, rows: list[dict[str, str]]) -> None:  # noqa: ANN001
    from feedback_nlp.storage import feedback_repo
    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.taxonomy.records import FeedbackRecord

    records = [FeedbackRecord.model_validate(row) for row in rows]
    items = list(zip(records, fake_pipeline.predict(records), fake_pipeline.customer_texts(records), strict=True))
    engine = init_db(url)
    try:
        with make_session_factory(engine)() as session:
            feedback_repo.ingest(session, items, default_source="tests")
    finally:
        engine.dispose()


def test_fit_from_an_empty_database_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    result = _invoke("topics", "fit", "--from-db", "-o", tmp_path / "m")
    assert result.exit_code == 1
    assert "holds no feedback" in result.stderr


def test_fit_from_db_reads_the_configured_database(
    fitted: Fit,
    fake_pipeline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    _store(fake_pipeline, url, fitted.rows)
    monkeypatch.setenv("FEEDBACK_NLP_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    assert get_settings().database_url == url
    result = _invoke("topics", "fit", "--from-db", "-o", tmp_path / "m", "--min-topic-size", MIN_TOPIC_SIZE)
    assert result.exit_code == 0, result.output
    assert _manifest(tmp_path / "m")["corpus"]["n_texts"] == len(fitted.rows)
    assert not (tmp_path / "feedback-nlp.db").exists()


def test_fit_from_db_reads_database_url(
    fitted: Fit,
    fake_pipeline,
    tmp_path: Path,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    _store(fake_pipeline, url, fitted.rows)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    result = _invoke("topics", "fit", "--from-db", "-o", tmp_path / "m", "--min-topic-size", MIN_TOPIC_SIZE)
    assert result.exit_code == 0, result.output
    assert _manifest(tmp_path / "m")["source"] == "database"
    lines = (tmp_path / "m" / "assignments.jsonl").read_text(encoding="utf-8").splitlines()
    ids = [json.loads(line)["id"] for line in lines]  # the stored records' ids
    assert len(ids) == len(set(ids)) == len(fitted.rows)


# -- report topics -----------------------------------------------------------------------------


def test_report_topics_writes_html_with_the_topic_labels(fitted: Fit, tmp_path: Path) -> None:
    out = tmp_path / "out.html"
    result = _invoke("report", "topics", fitted.csv, "--topics", fitted.model_dir, "-o", out)
    # Written from the rows that could be read; the status and a summary say that some could not.
    assert result.exit_code == EXIT_ROWS_FAILED, result.output
    assert f"{len(fitted.bad_lines)} row(s) could not be read and are not in the report." in result.stderr
    page = out.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    model = TopicModel.load(fitted.model_dir)
    for topic in model.topics:
        assert html.escape(topic.label) in page, topic.label
    assert f"wrote {out}" in result.stderr
    assert [line.split(":")[0] for line in result.stderr.splitlines() if line.startswith("line ")] == [
        f"line {n}" for n in fitted.bad_lines
    ]


def test_report_topics_without_created_at_is_a_clear_error(fitted: Fit, tmp_path: Path) -> None:
    rows = [{k: v for k, v in row.items() if k != "created_at"} for row in fitted.rows]
    path = _write_csv(tmp_path / "undated.csv", rows, ["id", "kind", "text"])
    out = tmp_path / "out.html"
    result = _invoke("report", "topics", path, "--topics", fitted.model_dir, "-o", out)
    assert result.exit_code == 1
    assert "created_at" in result.stderr and "error:" in result.stderr
    assert not out.exists()


def test_report_input_problems_are_found_before_any_work(
    fitted: Fit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback_nlp.reports import chromium

    rows = [{k: v for k, v in row.items() if k != "created_at"} for row in fitted.rows]
    undated = _write_csv(tmp_path / "undated.csv", rows, ["id", "kind", "text"])
    monkeypatch.setattr(chromium, "CANDIDATES", (str(tmp_path / "no-chromium"),))
    _no_pipeline(monkeypatch)
    out = tmp_path / "out.html"
    cases = {
        "created_at": ["report", "topics", undated, "-o", out],
        "must come before --to": ["report", "topics", fitted.csv, "--from", "2024-02-01", "--to", "2024-01-01"],
        "--chromium PATH": ["report", "topics", fitted.csv, "--format", "pdf", "-o", tmp_path / "r.pdf"],
        "no executable file": ["report", "topics", fitted.csv, "--format", "png", "--chromium", tmp_path / "none"],
    }
    for expected, args in cases.items():
        result = _invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.stderr and "error:" in result.stderr, (args, result.stderr)
    assert not out.exists()


def test_report_with_every_text_unassigned_warns(fitted: Fit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from feedback_nlp.topics.model import TopicModel as Model

    def nowhere(self, embeddings):  # noqa: ANN001, ANN202
        from feedback_nlp.topics.model import Assignment

        return [Assignment(-1, OUTLIER_LABEL, 0.0) for _ in range(len(embeddings))]

    monkeypatch.setattr(Model, "assign", nowhere)
    out = tmp_path / "out.html"
    result = _invoke("report", "topics", fitted.csv, "--topics", fitted.model_dir, "-o", out)
    assert result.exit_code == EXIT_ROWS_FAILED, result.output
    assert "warning: no text in the report was assigned to a topic (100% unassigned)" in result.stderr
    page = out.read_text(encoding="utf-8")
    assert "No text names a touchpoint" not in page and "beyond what chance would explain" not in page


def test_report_topics_with_a_damaged_model_is_a_clear_error(fitted: Fit, tmp_path: Path) -> None:
    model_dir = _copy_model(fitted, tmp_path)
    (model_dir / "centroids.safetensors").unlink()
    result = _invoke("report", "topics", fitted.csv, "--topics", model_dir, "-o", tmp_path / "out.html")
    assert result.exit_code == 1
    assert "missing" in result.stderr
